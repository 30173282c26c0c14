"""Max and average pooling, as ``torch.nn.functional.max_pool2d`` / ``avg_pool2d``."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core._arrays import batched, float_array
from app.core.geometry import Geometry, ParamError, pool_geometry


def _tap_view(xp: np.ndarray, geo: Geometry, a: int, b: int) -> np.ndarray:
    """(…, H', W') view of the cells that kernel tap (a, b) reads for every output cell."""
    (ho, wo), (sh, sw), (dh, dw) = geo.output, geo.stride, geo.dilation
    r0, c0 = a * dh, b * dw
    return xp[..., r0 : r0 + (ho - 1) * sh + 1 : sh, c0 : c0 + (wo - 1) * sw + 1 : sw]


def _pad_for_windows(x: np.ndarray, geo: Geometry, value: float) -> np.ndarray:
    """Pad by ``padding`` and, for ceil_mode, far enough that every window is in bounds.

    Returns ``x`` itself (no copy) when every window already lies inside it.
    """
    (ho, wo), (sh, sw) = geo.output, geo.stride
    top, _, left, _ = geo.padding
    h, w = geo.input
    need_h = (ho - 1) * sh + geo.effective_kernel[0]
    need_w = (wo - 1) * sw + geo.effective_kernel[1]
    bottom = max(need_h - top - h, 0)
    right = max(need_w - left - w, 0)
    if not (top or bottom or left or right):
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    return np.pad(x, widths, mode="constant", constant_values=value)


_BLOCK_BYTES = 1 << 19  # scratch of the row pass per block (stays in cache)


def _separable(xp: np.ndarray, geo: Geometry, op: np.ufunc, out: np.ndarray) -> None:
    """``out = op``-reduction of every window: along the window's rows, then its columns.

    ``op`` is ``np.maximum`` or ``np.add``. The row pass reduces ``kh`` strided rows into a
    scratch block (one row per output row, all needed columns); the column pass reduces
    ``kw`` strided columns of that block into ``out``. Blocks of planes and output rows keep
    the scratch small and reused.
    """
    (ho, wo), (sh, sw), (dh, dw) = geo.output, geo.stride, geo.dilation
    kh, kw = geo.kernel
    width = (wo - 1) * sw + (kw - 1) * dw + 1
    planes = xp.reshape(-1, xp.shape[-2], xp.shape[-1])
    dst = out.reshape(-1, ho, wo)
    per_plane = ho * width * xp.itemsize
    if per_plane <= _BLOCK_BYTES:
        step_p, step_r = max(1, _BLOCK_BYTES // per_plane), ho
    else:
        step_p, step_r = 1, max(1, _BLOCK_BYTES // (width * xp.itemsize))
    cells = min(step_p * step_r, planes.shape[0] * ho)
    scratch = np.empty(cells * width, xp.dtype)
    phase_w = -(-width // sw)
    used = {(b * dw) % sw for b in range(kw)}
    phase_buf = np.empty(cells * sw * phase_w if sw > 1 and kw > 1 else 0, xp.dtype)
    for p0 in range(0, planes.shape[0], step_p):
        p1 = min(p0 + step_p, planes.shape[0])
        for r0 in range(0, ho, step_r):
            m = min(step_r, ho - r0)

            def rows(a: int, p0: int = p0, p1: int = p1, r0: int = r0, m: int = m) -> np.ndarray:
                start = r0 * sh + a * dh
                return planes[p0:p1, start : start + (m - 1) * sh + 1 : sh, :width]

            if kh == 1:
                acc = rows(0)
            else:
                acc = scratch[: (p1 - p0) * m * width].reshape(p1 - p0, m, width)
                op(rows(0), rows(1), out=acc)
                for a in range(2, kh):
                    op(acc, rows(a), out=acc)
            target = dst[p0:p1, r0 : r0 + m]
            if sw > 1 and kw > 1:  # contiguous copies of the stride phases the taps read
                acc = _phases(acc, sw, used, phase_buf[: (p1 - p0) * m * sw * phase_w])

            def cols(b: int, acc: np.ndarray = acc) -> np.ndarray:
                if sw > 1 and kw > 1:  # tap b reads phase (b*dw % sw) from (b*dw // sw) on
                    q, c0 = (b * dw) % sw, (b * dw) // sw
                    return acc[q, ..., c0 : c0 + wo]
                return acc[..., b * dw : b * dw + (wo - 1) * sw + 1 : sw]

            if kw == 1:
                np.copyto(target, cols(0))
                continue
            op(cols(0), cols(1), out=target)
            for b in range(2, kw):
                op(target, cols(b), out=target)


def _phases(acc: np.ndarray, sw: int, used: set[int], buf: np.ndarray) -> np.ndarray:
    """(sw, …, ceil(width / sw)): contiguous copies of ``acc[..., q::sw]`` for each phase
    q in ``used`` (the others are left unset).

    A strided binary ufunc runs several times slower than a contiguous one; one strided
    copy per phase and contiguous ufuncs after it cost less (the short last column of a
    phase is never read).
    """
    width = acc.shape[-1]
    pw = -(-width // sw)
    out = buf.reshape(sw, *acc.shape[:-1], pw)
    for q in used:
        n = len(range(q, width, sw))
        np.copyto(out[q, ..., :n], acc[..., q::sw])
    return out


def max_pool2d(
    input: Any,
    kernel_size: Any,
    *,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Max over each (dilated) window; padding never wins (it is -inf).

    Parameters
    ----------
    input : (C, H, W) or (N, C, H, W)
    kernel_size, stride, dilation : int or [h, w]; stride defaults to kernel_size
    padding : int or [ph, pw], at most half the kernel
    return_indices : also return the flat index ``r * W + c`` of each maximum
        (the first one in row-major window order on ties, as PyTorch's CPU kernel)
    """
    x, added = batched(float_array(input, "input"), "input")
    geo = pool_geometry(
        x.shape[-2:],
        kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )
    xp = _pad_for_windows(x, geo, -np.inf)
    if return_indices:
        best, tap = _max_with_taps(xp, geo)
    else:
        best = np.empty(x.shape[:2] + geo.output, dtype=x.dtype)
        _separable(xp, geo, np.maximum, best)
    if xp is not x and np.isneginf(best).any():
        raise ParamError(
            "dilation",
            "a max-pooling window covers only padding, so it has no value; "
            "reduce padding or dilation",
        )
    out = best[0] if added else best
    if not return_indices:
        return out
    kw = geo.kernel[1]
    (ho, wo), (sh, sw), (dh, dw) = geo.output, geo.stride, geo.dilation
    rows = np.arange(ho)[:, None] * sh - geo.padding[0] + (tap // kw) * dh
    cols = np.arange(wo)[None, :] * sw - geo.padding[2] + (tap % kw) * dw
    indices = (rows * geo.input[1] + cols).astype(np.int64)
    return out, indices[0] if added else indices


def _max_with_taps(xp: np.ndarray, geo: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Per-tap running maximum and which tap (``a * kw + b``) holds it.

    Only a strictly greater value replaces the best, so ties keep the first tap in
    row-major window order, as PyTorch's CPU kernel does.
    """
    kh, kw = geo.kernel
    best = _tap_view(xp, geo, 0, 0).copy()
    tap = np.zeros(best.shape, dtype=np.int32)
    for a in range(kh):
        for b in range(kw):
            if a == 0 and b == 0:
                continue
            cand = _tap_view(xp, geo, a, b)
            better = cand > best
            np.copyto(best, cand, where=better)
            np.copyto(tap, a * kw + b, where=better)
    return best, tap


def avg_pool2d(
    input: Any,
    kernel_size: Any,
    *,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Mean over each window, with PyTorch's divisor.

    The divisor counts the window's cells inside the padded input
    (``count_include_pad=True``) or inside the input only; cells that ceil_mode
    adds past the padded input never count.
    """
    x, added = batched(float_array(input, "input"), "input")
    geo = pool_geometry(
        x.shape[-2:],
        kernel_size,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
    )
    xp = _pad_for_windows(x, geo, 0.0)
    kh, kw = geo.kernel
    if x.dtype == np.float32:  # separable sums: rows, then columns
        total = np.empty(x.shape[:2] + geo.output, dtype=x.dtype)
        _separable(xp, geo, np.add, total)
    else:  # float64: PyTorch's summation order (row-major over the window)
        total = np.zeros(x.shape[:2] + geo.output, dtype=x.dtype)
        for a in range(kh):
            for b in range(kw):
                total += _tap_view(xp, geo, a, b)
    total /= np.outer(*avg_divisors(geo, count_include_pad)).astype(x.dtype)
    return total[0] if added else total


def avg_divisors(geo: Geometry, count_include_pad: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis window lengths whose outer product is PyTorch's avg-pool divisor."""
    lengths = []
    for axis in (0, 1):
        n, k, s, p = geo.input[axis], geo.kernel[axis], geo.stride[axis], geo.padding[2 * axis]
        start = np.arange(geo.output[axis]) * s - p
        end = np.minimum(start + k, n + p)
        if count_include_pad:
            lengths.append(end - start)
        else:
            lengths.append(np.minimum(end, n) - np.maximum(start, 0))
    return lengths[0], lengths[1]
