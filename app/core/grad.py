"""The backward pass of ``conv2d``: gradients w.r.t. input, weight and bias.

With ``xp`` the padded input and ``g`` filter ``o``'s group, the forward pass is::

    out[n, o, i, j] = b[o] + sum_{c, a, b} w[o, c, a, b] * xp[n, g*Cg + c, i*sh + a*dh, j*sw + b*dw]

so, given ``go = dL/d out``:

    dL/db[o]          = sum_{n, i, j} go[n, o, i, j]
    dL/dw[o, c, a, b] = sum_{n, i, j} go[n, o, i, j] * xp[n, g*Cg + c, i*sh + a*dh, j*sw + b*dw]
    dL/dxp[n, g*Cg + c, r, s] = sum over the (o, a, b, i, j) that tap (r, s) of go * w

and ``dL/dx`` folds ``dL/dxp`` back through the padding: every padded cell adds its
gradient to the input cell it copies (none for zeros)::

    reflect:    c b | a b c d | c b      padded cells add into b, c
    replicate:  a a | a b c d | d d      into a, d
    circular:   c d | a b c d | a b      into c, d and a, b

These match ``torch.autograd`` through ``F.pad`` + ``F.conv2d``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core._arrays import batched, conv_weight, float_array
from app.core.conv import conv2d_geometry, flat_grid, grid_offsets, grid_product
from app.core.geometry import Geometry, Padding4
from app.core.padding import check_padding_mode
from app.errors import ParamError


def conv2d_backward(
    grad_output: Any,
    input: Any,
    weight: Any,
    *,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
    input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of a loss through ``conv2d`` (cross-correlation, the kernel is not flipped).

    Parameters
    ----------
    grad_output : (O, H', W') or (N, O, H', W'), dL/d(conv2d output)
    input : (C, H, W) or (N, C, H, W), the forward pass's input
    weight : (O, C / groups, kh, kw)
    stride, padding, dilation, groups, padding_mode : as in ``conv2d``
    input_grad : False skips dL/d input (returned as None), as torch does for an input
        that does not require grad (a network's first layer)

    Returns
    -------
    (grad_input, grad_weight, grad_bias) shaped like input, weight and (O,); float32
    when the input is float32, else float64.
    """
    x, added = batched(float_array(input, "input"), "input")
    w, g = conv_weight(weight, x.shape[1], groups, x.dtype)
    n, _c, h, wd = x.shape
    o, _cg, _kh, _kw = w.shape
    geo = conv2d_geometry(x.shape, w.shape, stride=stride, padding=padding, dilation=dilation)
    go = float_array(grad_output, "grad_output").astype(x.dtype, copy=False)
    expected = (n, o, *geo.output)
    if go.shape != (expected[1:] if added else expected):
        want = list(expected[1:]) if added else list(expected)
        raise ParamError(
            "grad_output",
            f"grad_output must have the conv2d output's shape {want}, got {list(go.shape)}",
        )
    go = go.reshape(expected)
    check_padding_mode(padding_mode, geo.padding, geo.input)
    grad_xp, grad_w = _correlate_backward(go, x, w, geo, g, padding_mode, input_grad)
    grad_b = go.sum(axis=(0, 2, 3))
    if grad_xp is None:
        return None, grad_w, grad_b
    grad_x = _fold_padding(grad_xp, geo.padding, (h, wd), padding_mode)
    return (grad_x[0] if added else grad_x), grad_w, grad_b


def _correlate_backward(
    go: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    geo: Geometry,
    groups: int,
    mode: str,
    input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray]:
    """dL/d(padded input) (None unless ``input_grad``) and dL/dw, on the flat grid of
    ``app.core.conv.flat_grid``: the padded images laid end to end per channel, where
    kernel tap t reads the grid at a fixed offset from each output cell.

    ``go`` is spread onto the same grid (zeros at every cell that is not an output), so

    * dL/dw[:, :, t] is one BLAS product of that grid with the input grid shifted by
      tap t's offset;
    * dL/d(padded input) gathers, at each cell, the grid of ``go`` shifted back by every
      tap's offset times the tap's weights: ``grid_product`` with the negated offsets,
      the full correlation with the flipped kernel. Cells outside an image's outputs
      hold zeros, so what a shift reads across an image's edge adds nothing.
    """
    n, c = x.shape[:2]
    o, cg, kh, kw = w.shape
    og, taps = o // groups, kh * kw
    (hp, wp), (ho, wo), (sh, sw) = geo.padded, geo.output, geo.stride
    size = n * hp * wp
    offsets = grid_offsets(geo)
    margin = offsets[-1]
    source = flat_grid(x, geo, mode, margin)  # (C, size + margin)
    spread = np.zeros((o, margin + size), dtype=x.dtype)  # go on the grid, after margin zeros
    cells = spread[:, margin:].reshape(o, n, hp, wp)
    cells[:, :, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw] = go.transpose(1, 0, 2, 3)
    grid_go = spread[:, margin:]
    grad_w = np.empty((o, cg, taps), dtype=x.dtype)
    grad = np.empty((c, size), dtype=x.dtype) if input_grad else None
    back = [margin - off for off in offsets]
    for gi in range(groups):
        outs, ins = slice(gi * og, (gi + 1) * og), slice(gi * cg, (gi + 1) * cg)
        xs = source[ins]
        for t, off in enumerate(offsets):  # (O_g, size) @ (size, C_g)
            grad_w[outs, :, t] = grid_go[outs] @ xs[:, off : off + size].T
        if grad is not None:  # (C_g, O_g * taps): weight [o, c, t] at row c, column (o, t)
            wt = w[outs].reshape(og, cg, taps).transpose(1, 0, 2).reshape(cg, og * taps)
            grid_product(wt, spread[outs], back, grad[ins])
    if grad is None:
        return None, grad_w.reshape(w.shape)
    return grad.reshape(c, n, hp, wp).transpose(1, 0, 2, 3), grad_w.reshape(w.shape)


def _source(i: int, size: int, mode: str) -> int | None:
    """The input index a padded coordinate ``i`` (< 0 or >= size) copies; None for zeros."""
    if mode == "replicate":
        return 0 if i < 0 else size - 1
    if mode == "circular":
        return i % size
    if mode == "reflect":  # d c b | a b c d | c b a
        return -i if i < 0 else 2 * (size - 1) - i
    return None


def _fold_padding(
    grad_xp: np.ndarray, padding: Padding4, size: tuple[int, int], mode: str
) -> np.ndarray:
    """dL/d(padded input) -> dL/d(input): crop, then add each padding row/column's
    gradient onto the cell it copies (rows first, then columns: the mapping is separable)."""
    top, _bottom, left, _right = padding
    h, w = size
    # (N, C, Hp, Wp) -> (N, C, H, Wp): fold the padded rows
    rows = grad_xp[:, :, top : top + h, :].copy()
    for r in [*range(top), *range(top + h, grad_xp.shape[2])]:
        src = _source(r - top, h, mode)
        if src is not None:
            rows[:, :, src, :] += grad_xp[:, :, r, :]
    # (N, C, H, Wp) -> (N, C, H, W): fold the padded columns
    out = rows[:, :, :, left : left + w].copy()
    for col in [*range(left), *range(left + w, grad_xp.shape[3])]:
        src = _source(col - left, w, mode)
        if src is not None:
            out[:, :, :, src] += rows[:, :, :, col]
    return out
