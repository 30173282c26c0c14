"""Convolution (PyTorch's cross-correlation: the kernel is not flipped), fast paths."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from app.core._arrays import batched, bias_vector, check_groups, conv_weight, float_array
from app.core.geometry import (
    Geometry,
    ParamError,
    conv_geometry,
    conv_transpose_geometry,
)
from app.core.padding import pad


def conv2d_geometry(
    input_shape: tuple[int, ...],
    weight_shape: tuple[int, ...],
    *,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
) -> Geometry:
    """The geometry of ``conv2d`` for these shapes (no data needed)."""
    return conv_geometry(
        (input_shape[-2], input_shape[-1]),
        (weight_shape[-2], weight_shape[-1]),
        stride=stride,
        padding=padding,
        dilation=dilation,
    )


def conv2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    *,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """2-D cross-correlation, as ``torch.nn.functional.conv2d`` (the kernel is not flipped).

    Parameters
    ----------
    input : (C, H, W) or (N, C, H, W)
    weight : (O, C / groups, kh, kw)
    bias : None, a number, or (O,)
    padding : p, [ph, pw], [top, bottom, left, right], "valid", "same" or "full"
    padding_mode : "zeros", "reflect", "replicate" or "circular"

    Returns
    -------
    (O, H', W') or (N, O, H', W'), float32 for float32 input, else float64.
    """
    x, added = batched(float_array(input, "input"), "input")
    w, g = conv_weight(weight, x.shape[1], groups, x.dtype)
    o = w.shape[0]
    b = bias_vector(bias, o, x.dtype)
    geo = conv2d_geometry(x.shape, w.shape, stride=stride, padding=padding, dilation=dilation)
    xp = pad(x, geo.padding, padding_mode)
    out = _correlate(xp, w, geo, g)
    if bias is not None:  # no pass over the output for an absent bias
        out += b[None, :, None, None]
    return out[0] if added else out


# --- fast paths -----------------------------------------------------------------------
#
# ``_correlate`` picks one strategy per call (``_choose_strategy``); every strategy takes the
# padded input (N, C, Hp, Wp) and returns (N, O, H', W') in the input's dtype.
#
#   taps     one (O_g, C_g) @ (C_g, H'W') matmul per kernel tap; float64 and tiny inputs
#            (the exact path: float64 results stay within rounding of PyTorch's).
#   shift    one filter per group (gray, RGB summed, depthwise): shifted multiply-adds into
#            a preallocated output, in row blocks that stay in cache. Only numpy ufuncs, no
#            BLAS: its speed holds when other processes or requests share the cores.
#   fft      float32, one filter per group, stride 1, no dilation, kernels of 11x11 or more
#            on images up to about 1 MP: products of rfft2 spectra (float32 rounding).
#   banded   one filter per group, kernels larger than 7x7 that the FFT does not take
#            (stride, dilation, very large images): per chunk of output rows one BLAS
#            product of a banded (Toeplitz) matrix built from the kernel with the input
#            rows, then one shifted add per kernel column.
#   einsum   dilation > 1 with kernels up to 7x7: ``sliding_window_view`` + ``einsum`` over
#            the dilated windows (no copy; ahead of shift-adds and im2col there).
#   im2col   several filters per group: im2col in chunks of output rows (a reused buffer of
#            about 8 MB) and one BLAS matmul per chunk.
#
# BLAS-based paths are 2-4x faster than shift-adds for larger kernels on an idle machine,
# but multi-threaded OpenBLAS makes many calls collapse (10x and worse) when the cores are
# oversubscribed, so the single-filter cases with small kernels avoid BLAS altogether, and
# the BLAS paths make few, large calls. The ``convscope`` server gives each process one BLAS
# thread (OPENBLAS_NUM_THREADS=1): there, parallelism comes from concurrent requests.

_BLOCK_BYTES = 1 << 19  # output rows per shift-add block (with its scratch, fits in L2)
_IM2COL_BYTES = 8 << 20  # im2col buffer per chunk
_IM2COL_MIN_COLS = 16384  # ... but at least this many output cells per chunk
_BAND_ROWS = 16  # output rows per block of the banded product
_BAND_BYTES = 16 << 20  # product and gathered input per banded BLAS call (few, large calls)
_BAND_MIN_TAPS = 5 * 5  # the banded product takes one-filter kernels at least this large
_FFT_MIN_TAPS = 11 * 11  # one-filter kernels at least this large go through the FFT
_FFT_MAX_PIXELS = 1200 * 1000  # ... on padded images up to this size (float32 only)
_EINSUM_MAX_TAPS = 7 * 7  # dilated kernels up to this size go through einsum
_TAPS_MAX_WORK = 1 << 16  # below this many multiply-adds the per-tap loop is the fastest


def _choose_strategy(xp: np.ndarray, w: np.ndarray, geo: Geometry, groups: int) -> str:
    """Which fast path ``_correlate`` uses for these shapes (see the table above)."""
    n, _c, hp, wp = xp.shape
    o, cg, kh, kw = w.shape
    og = o // groups
    ho, wo = geo.output
    work = n * o * cg * kh * kw * ho * wo
    if xp.dtype != np.float32 or work < _TAPS_MAX_WORK:
        return "taps"
    if geo.dilation != (1, 1) and kh * kw <= _EINSUM_MAX_TAPS:
        return "einsum"
    if og > 1:
        return "im2col"
    if (
        geo.stride == (1, 1)
        and geo.dilation == (1, 1)
        and kh * kw >= _FFT_MIN_TAPS
        and hp * wp <= _FFT_MAX_PIXELS
    ):
        return "fft"
    if kh * kw >= _BAND_MIN_TAPS:
        return "banded"
    return "shift"


def _correlate(
    xp: np.ndarray, w: np.ndarray, geo: Geometry, groups: int, strategy: str | None = None
) -> np.ndarray:
    """Cross-correlate the padded input with ``w``; ``strategy`` forces a path (for tests)."""
    name = strategy or _choose_strategy(xp, w, geo, groups)
    return _STRATEGIES[name](xp, w, geo, groups)


def _correlate_taps(xp: np.ndarray, w: np.ndarray, geo: Geometry, groups: int) -> np.ndarray:
    """Shifted matrix multiply-adds: one (O_g, C_g) @ (C_g, H'W') per kernel tap."""
    n, _c, _, _ = xp.shape
    o, cg, kh, kw = w.shape
    og = o // groups
    (ho, wo), (sh, sw), (dh, dw) = geo.output, geo.stride, geo.dilation
    out = np.zeros((n, o, ho, wo), dtype=xp.dtype)
    for gi in range(groups):
        xg = xp[:, gi * cg : (gi + 1) * cg]
        wg = w[gi * og : (gi + 1) * og]
        acc = out[:, gi * og : (gi + 1) * og].reshape(n, og, ho * wo)
        for a in range(kh):
            for bb in range(kw):
                r0, c0 = a * dh, bb * dw
                # (N, C_g, H', W') window of the padded input this tap sees
                patch = xg[:, :, r0 : r0 + (ho - 1) * sh + 1 : sh, c0 : c0 + (wo - 1) * sw + 1 : sw]
                acc += wg[:, :, a, bb] @ patch.reshape(n, cg, ho * wo)
        out[:, gi * og : (gi + 1) * og] = acc.reshape(n, og, ho, wo)
    return out


def _tap(x: np.ndarray, geo: Geometry, row0: int, rows: int, a: int, b: int) -> np.ndarray:
    """(…, rows, W') view of the cells tap (a, b) reads for output rows row0 .. row0+rows-1."""
    wo, (sh, sw), (dh, dw) = geo.output[1], geo.stride, geo.dilation
    r = row0 * sh + a * dh
    c = b * dw
    return x[..., r : r + (rows - 1) * sh + 1 : sh, c : c + (wo - 1) * sw + 1 : sw]


def _correlate_shift(xp: np.ndarray, w: np.ndarray, geo: Geometry, groups: int) -> np.ndarray:
    """One filter per group: out += w[c, a, b] * shifted input, in cache-sized row blocks."""
    n = xp.shape[0]
    o, cg, kh, kw = w.shape
    ho, wo = geo.output
    out = np.empty((n, o, ho, wo), dtype=xp.dtype)
    rows = max(1, min(ho, _BLOCK_BYTES // (wo * xp.itemsize)))
    scratch = np.empty((rows, wo), dtype=xp.dtype)
    weights = w.tolist()
    for bi in range(n):
        for oi in range(o):  # one filter per group: filter oi reads channels oi*cg ...
            xg = xp[bi, oi * cg : (oi + 1) * cg]
            for r0 in range(0, ho, rows):
                m = min(rows, ho - r0)
                acc, tmp = out[bi, oi, r0 : r0 + m], scratch[:m]
                first = True
                for ci in range(cg):
                    for a in range(kh):
                        for b in range(kw):
                            src = _tap(xg[ci], geo, r0, m, a, b)
                            if first:
                                np.multiply(src, weights[oi][ci][a][b], out=acc)
                                first = False
                            else:
                                np.multiply(src, weights[oi][ci][a][b], out=tmp)
                                acc += tmp
    return out


def _band_matrix(wg: np.ndarray, rows: int, geo: Geometry) -> np.ndarray:
    """(O_g * kw * rows, span * C_g) banded matrix for ``rows`` output rows.

    Row (o, b, i), column (r, c) holds ``w[o, c, a, b]`` where ``r = i * sh + a * dh``, so
    the product with ``span`` input rows laid out (r, c, W) gives, for each kernel column
    b, every output row's sum over a and c at every input column.
    """
    og, cg, kh, kw = wg.shape
    (sh, _), (dh, _) = geo.stride, geo.dilation
    span = (rows - 1) * sh + (kh - 1) * dh + 1
    band = np.zeros((og, kw, rows, span, cg), dtype=wg.dtype)
    taps = wg.transpose(0, 3, 2, 1)  # (O_g, kw, kh, C_g)
    for i in range(rows):
        band[:, :, i, i * sh : i * sh + (kh - 1) * dh + 1 : dh, :] = taps
    return band.reshape(og * kw * rows, span * cg)


def _correlate_banded(xp: np.ndarray, w: np.ndarray, geo: Geometry, groups: int) -> np.ndarray:
    """Banded-matrix BLAS products over chunks of output rows, then one add per kernel column.

    A chunk is ``tiles`` blocks of ``_BAND_ROWS`` output rows; the input rows each block
    reads are gathered side by side (a copy of about ``span / rows`` times the chunk's input)
    so that one BLAS call covers the chunk: few, large calls.
    """
    n, _c, _hp, wp = xp.shape
    o, cg, kh, kw = w.shape
    og = o // groups
    (ho, wo), (sh, sw), (dh, dw) = geo.output, geo.stride, geo.dilation
    rows = min(_BAND_ROWS, ho)
    span = (rows - 1) * sh + (kh - 1) * dh + 1
    per_tile = (og * kw * rows + span * cg) * wp * xp.itemsize
    tiles = max(1, min(_BAND_BYTES // per_tile, ho // rows))
    out = np.empty((n, o, ho, wo), dtype=xp.dtype)
    gathered = np.empty((span, cg, tiles, wp), dtype=xp.dtype)
    prod = np.empty((og * kw * rows, tiles * wp), dtype=xp.dtype)
    cols = [slice(b * dw, b * dw + (wo - 1) * sw + 1, sw) for b in range(kw)]
    full = (ho // rows) * rows
    for gi in range(groups):
        wg = w[gi * og : (gi + 1) * og]
        band = _band_matrix(wg, rows, geo)
        for bi in range(n):
            xg = xp[bi, gi * cg : (gi + 1) * cg]
            og_out = out[bi, gi * og : (gi + 1) * og]
            for r0 in range(0, full, tiles * rows):
                t = min(tiles, (full - r0) // rows)
                g = gathered[:, :, :t]
                for r in range(span):
                    start = r0 * sh + r
                    np.copyto(g[r], xg[:, start : start + (t - 1) * rows * sh + 1 : rows * sh])
                p = prod[:, : t * wp]
                np.matmul(band, g.reshape(span * cg, t * wp), out=p)
                p5 = p.reshape(og, kw, rows, t, wp)
                # output row r0 + tile * rows + i  <-  p5[:, :, i, tile]
                acc = og_out[:, r0 : r0 + t * rows].reshape(og, t, rows, wo).transpose(0, 2, 1, 3)
                _sum_columns(p5, cols, acc)
            if full < ho:  # the last, shorter block
                m = ho - full
                tail = _band_matrix(wg, m, geo)
                tspan = (m - 1) * sh + (kh - 1) * dh + 1
                block = np.ascontiguousarray(
                    xg[:, full * sh : full * sh + tspan].transpose(1, 0, 2)
                ).reshape(tspan * cg, wp)
                p5 = (tail @ block).reshape(og, kw, m, 1, wp)
                _sum_columns(p5, cols, og_out[:, full:, None, :])
    return out


def _sum_columns(p5: np.ndarray, cols: list[slice], acc: np.ndarray) -> None:
    """``acc = sum over b of p5[:, b, ..., cols[b]]`` (one shifted add per kernel column)."""
    if len(cols) == 1:
        np.copyto(acc, p5[:, 0, ..., cols[0]])
        return
    np.add(p5[:, 0, ..., cols[0]], p5[:, 1, ..., cols[1]], out=acc)
    for b in range(2, len(cols)):
        acc += p5[:, b, ..., cols[b]]


def _correlate_im2col(xp: np.ndarray, w: np.ndarray, geo: Geometry, groups: int) -> np.ndarray:
    """im2col into a reused buffer, chunk by chunk of output rows, and one matmul per chunk."""
    n = xp.shape[0]
    o, cg, kh, kw = w.shape
    og = o // groups
    ho, wo = geo.output
    k = cg * kh * kw
    rows = max(_IM2COL_MIN_COLS // wo, _IM2COL_BYTES // (k * wo * xp.itemsize), 1)
    rows = min(rows, ho)
    buf = np.empty((k, rows * wo), dtype=xp.dtype)
    out = np.empty((n, o, ho, wo), dtype=xp.dtype)
    for gi in range(groups):
        wmat = np.ascontiguousarray(w[gi * og : (gi + 1) * og].reshape(og, k))
        for bi in range(n):
            xg = xp[bi, gi * cg : (gi + 1) * cg]
            for r0 in range(0, ho, rows):
                m = min(rows, ho - r0)
                cols = buf[:, : m * wo]
                planes = cols.reshape(cg, kh, kw, m, wo)
                for a in range(kh):
                    for b in range(kw):
                        np.copyto(planes[:, a, b], _tap(xg, geo, r0, m, a, b))
                dst = out[bi, gi * og : (gi + 1) * og, r0 : r0 + m].reshape(og, m * wo)
                np.matmul(wmat, cols, out=dst)
    return out


def _correlate_einsum(xp: np.ndarray, w: np.ndarray, geo: Geometry, groups: int) -> np.ndarray:
    """``einsum`` over a strided view of every (dilated) window, one group at a time."""
    n = xp.shape[0]
    o, cg, _kh, _kw = w.shape
    og = o // groups
    (ho, wo), (sh, sw), (dh, dw) = geo.output, geo.stride, geo.dilation
    windows = sliding_window_view(xp, geo.effective_kernel, axis=(2, 3))
    windows = windows[:, :, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw, ::dh, ::dw]
    out = np.empty((n, o, ho, wo), dtype=xp.dtype)
    for gi in range(groups):
        np.einsum(
            "nchwab,ocab->nohw",
            windows[:, gi * cg : (gi + 1) * cg],
            w[gi * og : (gi + 1) * og],
            out=out[:, gi * og : (gi + 1) * og],
        )
    return out


def _fast_len(n: int) -> int:
    """The smallest 2-3-5-smooth number >= n (cheap FFT sizes)."""
    best = 1 << max(n - 1, 0).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


def _correlate_fft(xp: np.ndarray, w: np.ndarray, geo: Geometry, groups: int) -> np.ndarray:
    """One filter per group, stride 1, no dilation: sum over channels of spectrum products."""
    n, _c, hp, wp = xp.shape
    o, cg, kh, kw = w.shape
    ho, wo = geo.output
    shape = (_fast_len(hp), _fast_len(wp))
    out = np.empty((n, o, ho, wo), dtype=xp.dtype)
    # correlation = convolution with the flipped kernel, read at offset (kh - 1, kw - 1)
    spectra = np.fft.rfft2(w[:, :, ::-1, ::-1], shape)
    for bi in range(n):
        for oi in range(o):
            xs = np.fft.rfft2(xp[bi, oi * cg : (oi + 1) * cg], shape)
            xs *= spectra[oi]
            total = xs.sum(axis=0) if cg > 1 else xs[0]
            full = np.fft.irfft2(total, shape)
            out[bi, oi] = full[kh - 1 : kh - 1 + ho, kw - 1 : kw - 1 + wo]
    return out


_STRATEGIES = {
    "taps": _correlate_taps,
    "shift": _correlate_shift,
    "banded": _correlate_banded,
    "im2col": _correlate_im2col,
    "einsum": _correlate_einsum,
    "fft": _correlate_fft,
}


def conv_transpose2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    *,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> np.ndarray:
    """Transposed convolution, as ``torch.nn.functional.conv_transpose2d``.

    Parameters
    ----------
    input : (C, H, W) or (N, C, H, W)
    weight : (C, O / groups, kh, kw)
    padding : p or [ph, pw] (cropped from each side of the full output)

    Each input cell scatters ``value * kernel`` into the output, at stride steps.
    """
    x, added = batched(float_array(input, "input"), "input")
    w = float_array(weight, "weight").astype(x.dtype, copy=False)
    if w.ndim != 4:
        raise ParamError(
            "weight", f"weight must be 4-D (C, O/groups, kh, kw), got shape {list(w.shape)}"
        )
    n, c, h, wd = x.shape
    cw, og, kh, kw = w.shape
    if cw != c:
        raise ParamError(
            "weight", f"weight's first axis ({cw}) must equal the input channels ({c})"
        )
    g = check_groups(groups, c, og * groups)
    cg = c // g
    o = og * g
    b = bias_vector(bias, o, x.dtype)
    geo = conv_transpose_geometry(
        (h, wd),
        (kh, kw),
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
    )
    (sh, sw), (dh, dw), (ekh, ekw) = geo.stride, geo.dilation, geo.effective_kernel
    ph, pw = geo.padding[0], geo.padding[2]
    ho, wo = geo.output
    full_h = max((h - 1) * sh + ekh, ph + ho)
    full_w = max((wd - 1) * sw + ekw, pw + wo)
    full = np.zeros((n, o, full_h, full_w), dtype=x.dtype)
    for gi in range(g):
        xg = x[:, gi * cg : (gi + 1) * cg].reshape(n, cg, h * wd)
        wg = w[gi * cg : (gi + 1) * cg]  # (C_g, O_g, kh, kw)
        for a in range(kh):
            for bb in range(kw):
                # (O_g, C_g) @ (N, C_g, H*W) -> (N, O_g, H, W), scattered at stride steps
                contrib = (wg[:, :, a, bb].T @ xg).reshape(n, og, h, wd)
                r0, c0 = a * dh, bb * dw
                full[
                    :,
                    gi * og : (gi + 1) * og,
                    r0 : r0 + (h - 1) * sh + 1 : sh,
                    c0 : c0 + (wd - 1) * sw + 1 : sw,
                ] += contrib
    out = full[:, :, ph : ph + ho, pw : pw + wo] + b[None, :, None, None]
    return out[0] if added else out
