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
from app.core.conv import conv2d, conv2d_geometry
from app.core.geometry import Padding4
from app.core.padding import pad
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
    xp = pad(x, geo.padding, padding_mode)
    backward = (
        _correlate_backward_matmul
        if n * geo.output[0] * geo.output[1] >= _MATMUL_CELLS
        else _correlate_backward
    )
    grad_xp, grad_w = backward(go, xp, w, geo.output, geo.stride, geo.dilation, g, input_grad)
    grad_b = go.sum(axis=(0, 2, 3))
    if grad_xp is None:
        return None, grad_w, grad_b
    grad_x = _fold_padding(grad_xp, geo.padding, (h, wd), padding_mode)
    return (grad_x[0] if added else grad_x), grad_w, grad_b


def _correlate_backward(
    go: np.ndarray,
    xp: np.ndarray,
    w: np.ndarray,
    output: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
    input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray]:
    """Per kernel tap: contract dL/d out with the cells the tap saw (the weight's
    gradient) and spread it back, times the tap's weights, onto those cells (the
    padded input's). einsum, not matmul: these skinny products (a 1 x H'W' by
    H'W' x 1) are slower through BLAS."""
    n = xp.shape[0]
    o, cg, kh, kw = w.shape
    og = o // groups
    (ho, wo), (sh, sw), (dh, dw) = output, stride, dilation
    grad_xp = np.zeros_like(xp)
    grad_w = np.zeros_like(w)
    for gi in range(groups):
        go_g = go[:, gi * og : (gi + 1) * og].reshape(n, og, ho * wo)  # (N, O_g, H'W')
        xg = xp[:, gi * cg : (gi + 1) * cg]
        gxg = grad_xp[:, gi * cg : (gi + 1) * cg]
        wg = w[gi * og : (gi + 1) * og]
        for a in range(kh):
            for b in range(kw):
                rows = slice(a * dh, a * dh + (ho - 1) * sh + 1, sh)
                cols = slice(b * dw, b * dw + (wo - 1) * sw + 1, sw)
                # (N, C_g, H', W') -> (N, C_g, H'W'): the cells this tap saw
                patch = xg[:, :, rows, cols].reshape(n, cg, ho * wo)
                grad_w[gi * og : (gi + 1) * og, :, a, b] = np.einsum("nok,nck->oc", go_g, patch)
                if not input_grad:
                    continue
                # (O_g, C_g) x (N, O_g, H'W') -> (N, C_g, H', W'), back onto the tapped cells
                back = np.einsum("oc,nok->nck", wg[:, :, a, b], go_g).reshape(n, cg, ho, wo)
                gxg[:, :, rows, cols] += back
    return (grad_xp if input_grad else None), grad_w


# From this many output cells (N x H' x W', a training batch) the gathered-columns
# product below beats the per-tap einsum: the kernel's taps become one BLAS product.
_MATMUL_CELLS = 4096


def _correlate_backward_matmul(
    go: np.ndarray,
    xp: np.ndarray,
    w: np.ndarray,
    output: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
    input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray]:
    """As ``_correlate_backward``, with every tap's cells gathered once into columns
    ``(C_g * kh * kw, N * H' * W')`` so both gradients are single matrix products."""
    n = xp.shape[0]
    o, cg, kh, kw = w.shape
    og = o // groups
    (ho, wo), (sh, sw), (dh, dw) = output, stride, dilation
    grad_xp = np.zeros_like(xp)
    grad_w = np.empty_like(w)
    taps = [(a, b) for a in range(kh) for b in range(kw)]

    def window(a: int, b: int) -> tuple[slice, slice]:
        return (
            slice(a * dh, a * dh + (ho - 1) * sh + 1, sh),
            slice(b * dw, b * dw + (wo - 1) * sw + 1, sw),
        )

    for gi in range(groups):
        xg = xp[:, gi * cg : (gi + 1) * cg].transpose(1, 0, 2, 3)  # (C_g, N, Hp, Wp) view
        cols = np.empty((cg, kh * kw, n, ho, wo), dtype=xp.dtype)
        for t, (a, b) in enumerate(taps):
            rows, cs = window(a, b)
            cols[:, t] = xg[:, :, rows, cs]
        # (O_g, N, H', W') -> (O_g, N H' W')
        go_g = go[:, gi * og : (gi + 1) * og].transpose(1, 0, 2, 3).reshape(og, -1)
        cols_m = cols.reshape(cg * kh * kw, -1)  # (C_g kh kw, N H' W')
        grad_w[gi * og : (gi + 1) * og] = (go_g @ cols_m.T).reshape(og, cg, kh, kw)
        if not input_grad:
            continue
        wg = w[gi * og : (gi + 1) * og]
        gxg = grad_xp[:, gi * cg : (gi + 1) * cg]
        if (sh, sw) == (1, 1):
            # Stride 1: dL/dxp is the full correlation of dL/d out with the flipped kernel,
            # channels swapped, i.e. one more conv2d (a product over O_g * kh * kw).
            flipped = wg[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C_g, O_g, kh, kw)
            gxg[...] = conv2d(
                go[:, gi * og : (gi + 1) * og],
                np.ascontiguousarray(flipped),
                padding=[dh * (kh - 1), dw * (kw - 1)],
                dilation=[dh, dw],
            )
            continue
        back = (wg.reshape(og, -1).T @ go_g).reshape(cg, kh * kw, n, ho, wo)
        gxg_t = gxg.transpose(1, 0, 2, 3)  # (C_g, N, Hp, Wp) view
        for t, (a, b) in enumerate(taps):
            rows, cs = window(a, b)
            gxg_t[:, :, rows, cs] += back[:, t]
    return (grad_xp if input_grad else None), grad_w


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
