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
from app.core.padding import check_padding_mode, pad, pad_rows


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
    check_padding_mode(padding_mode, geo.padding, geo.input)
    out = _correlate(x, w, geo, g, padding_mode)
    if bias is not None and b.any():  # no pass over the output for an absent or zero bias
        out += b[None, :, None, None]
    return out[0] if added else out


# --- fast paths -----------------------------------------------------------------------
#
# ``_correlate`` picks one strategy per call (``_choose_strategy``); every strategy takes the
# unpadded input (N, C, H, W), the padding mode, and returns (N, O, H', W') in the input's
# dtype. ``shift``, ``banded`` and ``im2col`` pad one block of rows at a time into a reused
# buffer (``_RowBlocks``, ``pad_rows``): the whole padded image is never built.
#
#   taps     one (O_g, C_g) @ (C_g, H'W') matmul per kernel tap; float64 and tiny inputs
#            (the exact path: float64 results stay within rounding of PyTorch's).
#   shift    one filter per group, one channel, kernels under 4x4 (gray 3x3, depthwise):
#            shifted multiply-adds into the output, in row blocks that stay in cache; a
#            stride first splits each block into its stride phases, so every read is
#            contiguous.
#   banded   one filter per group, several channels (RGB summed) or kernels from 4x4 up to
#            21x21: per block of 16 output rows, one BLAS product per kernel column of a
#            banded matrix (kernel rows x channels) with a plain strided view of the padded
#            rows: no im2col copy, no gathered input.
#   fft      float32, one filter per group, stride 1, no dilation, kernels of 21x21 or more
#            on images up to about 1 MP: products of rfft2 spectra (float32 rounding).
#   einsum   dilation > 1 with kernels up to 7x7: ``sliding_window_view`` + ``einsum`` over
#            the dilated windows (no copy; ahead of every other path there).
#   grid     stride 1, several filters per group (a training batch of digits, RGB to 8
#            maps) or one filter up to 3x3 (ahead of ``shift`` there): the padded
#            images laid end to end on one flat grid per channel, so every tap is a plain
#            offset along it; contiguous column copies and one BLAS product per chunk of
#            about 2 MB (the grid's border cells are computed, then dropped; the whole
#            product up to 64 MB). The backward pass (``app.core.grad``) uses the same grid.
#   im2col   several filters per group: im2col in chunks of output rows, or of whole images
#            when they are small (a batch of digits), in a reused buffer of about 8 MB, and
#            one BLAS matmul per chunk (ahead of ``banded`` there).
#
# Measured with one BLAS thread, as the ``convscope`` server runs (OPENBLAS_NUM_THREADS=1:
# parallelism comes from concurrent requests). A multi-threaded OpenBLAS on oversubscribed
# cores slows the BLAS paths' many mid-sized calls, so keep one BLAS thread per process.

_BLOCK_BYTES = 1 << 19  # input and output rows per shift-add block (about L2)
_IM2COL_BYTES = 8 << 20  # im2col buffer per chunk
_IM2COL_MIN_COLS = 16384  # ... but at least this many output cells per chunk
_BAND_ROWS = 16  # output rows per block of the banded product
_BAND_MIN_TAPS = 4 * 4  # one-channel kernels at least this large take the banded product
_FFT_MIN_TAPS = 21 * 21  # one-filter kernels at least this large go through the FFT
_FFT_MAX_PIXELS = 1200 * 1000  # ... on padded images up to this size (float32 only)
_EINSUM_MAX_TAPS = 7 * 7  # dilated kernels up to this size go through einsum
_TAPS_MAX_WORK = 1 << 16  # below this many multiply-adds the per-tap loop is the fastest
_GRID_MAX_BYTES = 64 << 20  # the grid path's whole-grid product is at most this large
_GRID_MAX_TAPS = 3 * 3  # one-filter kernels up to this size take the grid path
_GRID_BYTES = 1 << 21  # columns per chunk of the grid product (they stay in cache)


def _choose_strategy(x: np.ndarray, w: np.ndarray, geo: Geometry, groups: int) -> str:
    """Which fast path ``_correlate`` uses for these shapes (see the table above)."""
    n = x.shape[0]
    hp, wp = geo.padded
    o, cg, kh, kw = w.shape
    og = o // groups
    ho, wo = geo.output
    work = n * o * cg * kh * kw * ho * wo
    if x.dtype != np.float32 or work < _TAPS_MAX_WORK:
        return "taps"
    if geo.dilation != (1, 1) and kh * kw <= _EINSUM_MAX_TAPS:
        return "einsum"
    fits = o * n * hp * wp * x.itemsize <= _GRID_MAX_BYTES
    if geo.stride == (1, 1) and fits and (og > 1 or kh * kw <= _GRID_MAX_TAPS):
        return "grid"
    if og > 1:
        return "im2col"
    if (
        geo.stride == (1, 1)
        and geo.dilation == (1, 1)
        and kh * kw >= _FFT_MIN_TAPS
        and hp * wp <= _FFT_MAX_PIXELS
    ):
        return "fft"
    if cg > 1 or kh * kw >= _BAND_MIN_TAPS:
        return "banded"
    return "shift"


def _correlate(
    x: np.ndarray,
    w: np.ndarray,
    geo: Geometry,
    groups: int,
    mode: str = "zeros",
    strategy: str | None = None,
) -> np.ndarray:
    """Cross-correlate ``x`` padded by ``geo.padding`` in ``mode`` with ``w``; ``strategy``
    forces a path (for tests)."""
    name = strategy or _choose_strategy(x, w, geo, groups)
    return _STRATEGIES[name](x, w, geo, groups, mode)


def _correlate_taps(
    x: np.ndarray, w: np.ndarray, geo: Geometry, groups: int, mode: str
) -> np.ndarray:
    """Shifted matrix multiply-adds: one (O_g, C_g) @ (C_g, H'W') per kernel tap."""
    xp = pad(x, geo.padding, mode)
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


def _span(geo: Geometry, rows: int) -> int:
    """Padded input rows that ``rows`` consecutive output rows read."""
    return (rows - 1) * geo.stride[0] + (geo.kernel[0] - 1) * geo.dilation[0] + 1


class _RowBlocks:
    """The padded input rows that a block of output rows reads, one block at a time.

    Without padding a block is a view of the input; with padding it is built into a
    reused buffer (``pad_rows``), so the whole padded image is never materialised.
    """

    def __init__(self, x: np.ndarray, geo: Geometry, mode: str, rows: int) -> None:
        self.x, self.geo, self.mode = x, geo, mode
        self.plain = not any(geo.padding)
        self.buffer = None
        if not self.plain:  # (…, span, Wp) for the tallest block
            shape = (*x.shape[:-2], _span(geo, rows), geo.padded[1])
            self.buffer = np.empty(shape, dtype=x.dtype)

    def block(self, r0: int, rows: int) -> np.ndarray:
        """(…, span, Wp) padded rows for output rows r0 .. r0 + rows - 1."""
        start, span = r0 * self.geo.stride[0], _span(self.geo, rows)
        if self.buffer is None:
            return self.x[..., start : start + span, :]
        return pad_rows(self.x, self.geo.padding, self.mode, start, self.buffer[..., :span, :])


def _block_rows(geo: Geometry, channels: int, itemsize: int, budget: int) -> int:
    """Output rows per block so that its input rows and output rows fit in ``budget`` bytes."""
    (ho, wo), (sh, _) = geo.output, geo.stride
    per_row = (channels * sh * geo.padded[1] + 2 * wo) * itemsize
    return max(1, min(ho, budget // per_row))


def _correlate_shift(
    x: np.ndarray, w: np.ndarray, geo: Geometry, groups: int, mode: str
) -> np.ndarray:
    """One filter per group: out += w[c, a, b] * shifted input, in cache-sized row blocks.

    With a stride, each block is first split into its stride phases (contiguous copies of
    every ``sh``-th row and ``sw``-th column), so that every tap reads contiguous cells.
    """
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    ho, wo = geo.output
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    rows = _block_rows(geo, cg, x.itemsize, _BLOCK_BYTES)
    out = np.empty((n, o, ho, wo), dtype=x.dtype)
    scratch = np.empty((rows, wo), dtype=x.dtype)
    weights = w.tolist()
    # tap (a, b) reads phase (a*dh % sh, b*dw % sw) at offset (a*dh // sh, b*dw // sw)
    taps = [
        (a, b, (a * dh) % sh, (b * dw) % sw, (a * dh) // sh, (b * dw) // sw)
        for a in range(kh)
        for b in range(kw)
    ]
    phases = sorted({(t[2], t[3]) for t in taps})
    for bi in range(n):
        for oi in range(o):  # one filter per group: filter oi reads channels oi*cg ...
            blocks = _RowBlocks(x[bi, oi * cg : (oi + 1) * cg], geo, mode, rows)
            for r0 in range(0, ho, rows):
                m = min(rows, ho - r0)
                src = blocks.block(r0, m)  # (C_g, span, Wp)
                if sh == sw == 1:
                    planes = {(0, 0): src}
                else:  # (C_g, span / sh, Wp / sw) contiguous copies
                    planes = {(p, q): np.ascontiguousarray(src[:, p::sh, q::sw]) for p, q in phases}
                acc, tmp = out[bi, oi, r0 : r0 + m], scratch[:m]
                first = True
                for ci in range(cg):
                    for a, b, p, q, ro, co in taps:
                        view = planes[p, q][ci, ro : ro + m, co : co + wo]
                        if first:
                            np.multiply(view, weights[oi][ci][a][b], out=acc)
                            first = False
                        else:
                            np.multiply(view, weights[oi][ci][a][b], out=tmp)
                            acc += tmp
    return out


def _band_matrices(wg: np.ndarray, rows: int, geo: Geometry) -> np.ndarray:
    """(kw, O_g * rows, C_g * span) banded matrices, one per kernel column b.

    Row (o, i), column (c, r) of matrix b holds ``w[o, c, a, b]`` where
    ``r = i * sh + a * dh``: the product with the block's ``span`` padded input rows per
    channel, read from column ``b * dw`` on, sums every kernel row and channel of column b.
    """
    og, cg, kh, kw = wg.shape
    (sh, _), (dh, _) = geo.stride, geo.dilation
    span = _span(geo, rows)
    band = np.zeros((kw, og, rows, cg, span), dtype=wg.dtype)
    taps = wg.transpose(3, 0, 1, 2)  # (O_g, C_g, kh, kw) -> (kw, O_g, C_g, kh)
    for i in range(rows):
        band[:, :, i, :, i * sh : i * sh + (kh - 1) * dh + 1 : dh] = taps
    return band.reshape(kw, og * rows, cg * span)


def _correlate_banded(
    x: np.ndarray, w: np.ndarray, geo: Geometry, groups: int, mode: str
) -> np.ndarray:
    """Per block of output rows, one BLAS product per kernel column, summed.

    The block's padded input rows are copied into a buffer laid out (C_g, span, Wp); the
    cells kernel column b reads are then the plain 2-D view ``buffer[:, b*dw : b*dw + W']``
    (row stride Wp, unit column stride: no im2col copy), which multiplies the banded matrix
    of column b (``_band_matrices``). A column stride first splits the buffer into its
    stride phases (contiguous copies of every ``sw``-th column).
    """
    n = x.shape[0]
    o, cg, _kh, kw = w.shape
    og = o // groups
    (ho, wo), (_, sw), (_, dw) = geo.output, geo.stride, geo.dilation
    wp = geo.padded[1]
    rows = max(1, min(ho, _BAND_ROWS))
    span = _span(geo, rows)
    buf = np.empty(cg * span * wp, dtype=x.dtype)
    prod = np.empty((og * rows, wo), dtype=x.dtype)
    acc = np.empty((og * rows, wo), dtype=x.dtype)
    out = np.empty((n, o, ho, wo), dtype=x.dtype)
    # kernel column b reads phase (b*dw % sw) from column (b*dw // sw) on
    reads = [((b * dw) % sw, (b * dw) // sw) for b in range(kw)]
    for gi in range(groups):
        wg = w[gi * og : (gi + 1) * og]
        full = _band_matrices(wg, rows, geo)
        last = full if ho % rows == 0 else _band_matrices(wg, ho % rows, geo)
        xg = x[:, gi * cg : (gi + 1) * cg]
        for bi in range(n):
            for r0 in range(0, ho, rows):
                m = min(rows, ho - r0)
                bands = full if m == rows else last
                block = buf[: cg * _span(geo, m) * wp].reshape(cg, -1, wp)
                start = r0 * geo.stride[0]
                if any(geo.padding):
                    pad_rows(xg[bi], geo.padding, mode, start, block)
                else:
                    np.copyto(block, xg[bi, :, start : start + block.shape[1]])
                flat = block.reshape(-1, wp)  # (C_g * span, Wp)
                if sw == 1:
                    phases = [flat]
                else:
                    phases = [np.ascontiguousarray(flat[:, q::sw]) for q in range(sw)]
                # one filter: the product lands in the output itself
                a = out[bi, gi, r0 : r0 + m] if og == 1 else acc[: og * m]
                t = prod[: og * m]
                for b, (q, c0) in enumerate(reads):
                    view = phases[q][:, c0 : c0 + wo]
                    if b == 0:
                        np.matmul(bands[0], view, out=a)
                    else:
                        np.matmul(bands[b], view, out=t)
                        a += t
                if og > 1:
                    out[bi, gi * og : (gi + 1) * og, r0 : r0 + m] = a.reshape(og, m, wo)
    return out


def _correlate_im2col(
    x: np.ndarray, w: np.ndarray, geo: Geometry, groups: int, mode: str
) -> np.ndarray:
    """im2col into a reused buffer, chunk by chunk, and one matmul per chunk.

    A chunk is a block of output rows of one image or, when a whole image's columns fit
    in the budget, whole images side by side (a batch of small images costs one matmul
    per chunk, not one per image); each output value is the same dot product either way.
    """
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    og = o // groups
    ho, wo = geo.output
    k = cg * kh * kw
    budget = max(_IM2COL_MIN_COLS, _IM2COL_BYTES // (k * x.itemsize))  # columns per chunk
    rows = min(max(budget // wo, 1), ho)
    images = max(budget // (ho * wo), 1) if rows == ho else 1
    images = min(images, n)
    buf = np.empty((k, images * rows * wo), dtype=x.dtype)
    product = np.empty((og, images * rows * wo), dtype=x.dtype) if images > 1 else None
    out = np.empty((n, o, ho, wo), dtype=x.dtype)
    for gi in range(groups):
        wmat = np.ascontiguousarray(w[gi * og : (gi + 1) * og].reshape(og, k))
        for b0 in range(0, n, images):
            nb = min(images, n - b0)
            blocks = _RowBlocks(x[b0 : b0 + nb, gi * cg : (gi + 1) * cg], geo, mode, rows)
            for r0 in range(0, ho, rows):
                m = min(rows, ho - r0)
                src = blocks.block(r0, m)  # (B, C_g, span, Wp)
                cols = buf[:, : nb * m * wo]
                planes = cols.reshape(cg, kh, kw, nb, m, wo)
                for a in range(kh):
                    for b in range(kw):
                        # (B, C_g, m, W') -> (C_g, B, m, W')
                        np.copyto(planes[:, a, b], _tap(src, geo, 0, m, a, b).swapaxes(0, 1))
                dst = out[b0 : b0 + nb, gi * og : (gi + 1) * og, r0 : r0 + m]  # (B, O_g, m, W')
                if product is None:
                    np.matmul(wmat, cols, out=dst.reshape(og, m * wo))
                else:
                    res = np.matmul(wmat, cols, out=product[:, : nb * m * wo])
                    # (O_g, B*m*W') -> (B, O_g, m, W')
                    np.copyto(dst, res.reshape(og, nb, m, wo).swapaxes(0, 1))
    return out


def grid_offsets(geo: Geometry) -> list[int]:
    """Each kernel tap's offset along the flat grid of ``flat_grid`` (row-major taps)."""
    (kh, kw), (dh, dw), wp = geo.kernel, geo.dilation, geo.padded[1]
    return [a * dh * wp + b * dw for a in range(kh) for b in range(kw)]


def flat_grid(x: np.ndarray, geo: Geometry, mode: str, margin: int) -> np.ndarray:
    """(C, N * Hp * Wp + margin): per channel, the N padded images one after the other,
    flattened, then ``margin`` zeros.

    Output cell (n, i, j) sits at grid cell ``p = (n * Hp + i * sh) * Wp + j * sw`` and
    reads ``grid[:, p + offset]`` for each tap's offset (``grid_offsets``): a tap is a
    contiguous slice of the grid. The cells past an image's last output row or column
    read across its edge into the next row or image; they are not outputs.
    """
    n, c = x.shape[:2]
    hp, wp = geo.padded
    size = n * hp * wp
    if mode == "zeros":  # zeros everywhere, then the images inside their padding
        grid = np.zeros((c, size + margin), dtype=x.dtype)
        top, _, left, _ = geo.padding
        (h, w), cells = geo.input, grid[:, :size].reshape(c, n, hp, wp)
        cells[:, :, top : top + h, left : left + w] = x.transpose(1, 0, 2, 3)
        return grid
    grid = np.empty((c, size + margin), dtype=x.dtype)
    grid[:, size:] = 0
    images = grid[:, :size].reshape(c, n, hp, wp).transpose(1, 0, 2, 3)  # (N, C, Hp, Wp)
    pad_rows(x, geo.padding, mode, 0, images)
    return grid


def grid_product(
    wmat: np.ndarray, src: np.ndarray, offsets: list[int], out: np.ndarray
) -> np.ndarray:
    """``out[:, p] = wmat @ column p`` where column p stacks ``src[:, p + offset]``
    for each offset (``wmat``: (O, C * taps) with the taps innermost; ``src``: (C, …);
    ``out``: (O, L)), in chunks of about ``_GRID_BYTES`` of columns. Returns ``out``."""
    c, taps, size = src.shape[0], len(offsets), out.shape[1]
    chunk = min(size, max(256, _GRID_BYTES // (c * taps * src.itemsize)))
    buf = np.empty(c * taps * chunk, dtype=src.dtype)
    for p0 in range(0, size, chunk):
        m = min(chunk, size - p0)
        cols = buf[: c * taps * m].reshape(c, taps, m)
        for t, off in enumerate(offsets):
            q = p0 + off
            np.copyto(cols[:, t], src[:, q : q + m])
        np.matmul(wmat, cols.reshape(c * taps, m), out=out[:, p0 : p0 + m])
    return out


def _correlate_grid(
    x: np.ndarray, w: np.ndarray, geo: Geometry, groups: int, mode: str
) -> np.ndarray:
    """The whole batch on one flat grid (``flat_grid``): one product per chunk of cells,
    then the output cells picked out of the grid (stride 1 only: see ``_choose_strategy``)."""
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    og = o // groups
    (hp, wp), (ho, wo), (sh, sw) = geo.padded, geo.output, geo.stride
    offsets = grid_offsets(geo)
    grid = flat_grid(x, geo, mode, offsets[-1])
    size = n * hp * wp
    result = np.empty((o, size), dtype=x.dtype)
    for gi in range(groups):
        wmat = w[gi * og : (gi + 1) * og].reshape(og, cg * kh * kw)
        grid_product(wmat, grid[gi * cg : (gi + 1) * cg], offsets, result[gi * og : (gi + 1) * og])
    cells = result.reshape(o, n, hp, wp)[:, :, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw]
    return np.ascontiguousarray(cells.transpose(1, 0, 2, 3))


def _correlate_einsum(
    x: np.ndarray, w: np.ndarray, geo: Geometry, groups: int, mode: str
) -> np.ndarray:
    """``einsum`` over a strided view of every (dilated) window, one group at a time."""
    xp = pad(x, geo.padding, mode)
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


def _correlate_fft(
    x: np.ndarray, w: np.ndarray, geo: Geometry, groups: int, mode: str
) -> np.ndarray:
    """One filter per group, stride 1, no dilation: sum over channels of spectrum products."""
    xp = pad(x, geo.padding, mode)
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
    "grid": _correlate_grid,
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
