"""Plain-loop reference implementations: slow, obviously right, independent of the fast paths.

They share only the geometry (sizes) with the fast code; padding is read
through an index mapping written here from the mode's definition, and every
output cell is a visible sum over its window. Tests pit the fast paths
against these on random shapes; use them only on small inputs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.core.geometry import conv_geometry, conv_transpose_geometry, pool_geometry


def padded_index(i: int, n: int, mode: str) -> int | None:
    """Which input index a padded coordinate ``i`` (may be <0 or >=n) reads; None for zeros."""
    if 0 <= i < n:
        return i
    if mode == "zeros":
        return None
    if mode == "replicate":
        return 0 if i < 0 else n - 1
    if mode == "circular":
        return i % n
    if mode == "reflect":  # d c b | a b c d | c b a
        return -i if i < 0 else 2 * (n - 1) - i
    raise ValueError(f"unknown padding_mode {mode!r}")


def conv2d_reference(
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
    """``conv2d`` as nested loops over (n, o, i, j, c, a, b). Same shapes as ``conv2d``."""
    x = np.asarray(input, dtype=np.float64)
    squeeze = x.ndim == 3
    x = x[None] if squeeze else x
    w = np.asarray(weight, dtype=np.float64)
    n, _c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    og = o // groups
    b = np.zeros(o) if bias is None else np.broadcast_to(np.asarray(bias, np.float64), (o,))
    geo = conv_geometry((h, wd), (kh, kw), stride=stride, padding=padding, dilation=dilation)
    top, left = geo.padding[0], geo.padding[2]
    out = np.zeros((n, o, *geo.output))
    for bi in range(n):
        for oi in range(o):
            group = oi // og
            for i in range(geo.output[0]):
                for j in range(geo.output[1]):
                    total = float(b[oi])
                    for ci in range(cg):
                        for a in range(kh):
                            for bb in range(kw):
                                r = padded_index(
                                    i * geo.stride[0] + a * geo.dilation[0] - top, h, padding_mode
                                )
                                col = padded_index(
                                    j * geo.stride[1] + bb * geo.dilation[1] - left,
                                    wd,
                                    padding_mode,
                                )
                                if r is None or col is None:
                                    continue
                                total += x[bi, group * cg + ci, r, col] * w[oi, ci, a, bb]
                    out[bi, oi, i, j] = total
    return out[0] if squeeze else out


def conv_transpose2d_reference(
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
    """Each input cell scatters ``x * w`` to ``i * stride + a * dilation - padding``."""
    x = np.asarray(input, dtype=np.float64)
    squeeze = x.ndim == 3
    x = x[None] if squeeze else x
    w = np.asarray(weight, dtype=np.float64)
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    cg = c // groups
    o = og * groups
    geo = conv_transpose_geometry(
        (h, wd),
        (kh, kw),
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
    )
    out = np.zeros((n, o, *geo.output))
    if bias is not None:
        out += np.broadcast_to(np.asarray(bias, np.float64), (o,))[None, :, None, None]
    for bi in range(n):
        for ci in range(c):
            group = ci // cg
            for oj in range(og):
                for i in range(h):
                    for j in range(wd):
                        for a in range(kh):
                            for bb in range(kw):
                                r = i * geo.stride[0] + a * geo.dilation[0] - geo.padding[0]
                                col = j * geo.stride[1] + bb * geo.dilation[1] - geo.padding[2]
                                if 0 <= r < geo.output[0] and 0 <= col < geo.output[1]:
                                    out[bi, group * og + oj, r, col] += (
                                        x[bi, ci, i, j] * w[ci, oj, a, bb]
                                    )
    return out[0] if squeeze else out


def _pool_windows(x: np.ndarray, geo: Any) -> Any:
    """Yield (channel, i, j, [(r, c) inside the input], cells inside the padded input)."""
    h, w = geo.input
    p_h, p_w = geo.padding[0], geo.padding[2]
    for ch in range(x.shape[0]):
        for i in range(geo.output[0]):
            for j in range(geo.output[1]):
                inside, padded_cells = [], 0
                for a in range(geo.kernel[0]):
                    for b in range(geo.kernel[1]):
                        r = i * geo.stride[0] + a * geo.dilation[0] - p_h
                        c = j * geo.stride[1] + b * geo.dilation[1] - p_w
                        if -p_h <= r < h + p_h and -p_w <= c < w + p_w:
                            padded_cells += 1
                        if 0 <= r < h and 0 <= c < w:
                            inside.append((r, c))
                yield ch, i, j, inside, padded_cells


def max_pool2d_reference(
    input: Any,
    kernel_size: Any,
    *,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(C, H, W) -> (values, flat indices); the first maximum in window order wins."""
    x = np.asarray(input, dtype=np.float64)
    geo = pool_geometry(
        x.shape[-2:],
        kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )
    out = np.full((x.shape[0], *geo.output), -math.inf)
    idx = np.full((x.shape[0], *geo.output), -1, dtype=np.int64)
    for ch, i, j, inside, _ in _pool_windows(x, geo):
        for r, c in inside:
            if x[ch, r, c] > out[ch, i, j]:
                out[ch, i, j] = x[ch, r, c]
                idx[ch, i, j] = r * geo.input[1] + c
    return out, idx


def avg_pool2d_reference(
    input: Any,
    kernel_size: Any,
    *,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """(C, H, W) -> mean of each window over its padded-input cells, or its input cells."""
    x = np.asarray(input, dtype=np.float64)
    geo = pool_geometry(
        x.shape[-2:], kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode
    )
    out = np.zeros((x.shape[0], *geo.output))
    for ch, i, j, inside, padded_cells in _pool_windows(x, geo):
        total = sum(x[ch, r, c] for r, c in inside)
        out[ch, i, j] = total / (padded_cells if count_include_pad else len(inside))
    return out
