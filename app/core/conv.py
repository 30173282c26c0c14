"""Convolution (PyTorch's cross-correlation: the kernel is not flipped), fast paths."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core._arrays import batched, bias_vector, check_groups, float_array
from app.core.geometry import (
    Geometry,
    ParamError,
    conv_geometry,
    conv_transpose_geometry,
)
from app.core.padding import pad


def _check_weight(weight: np.ndarray, channels: int, groups: int, layout: str) -> None:
    if weight.ndim != 4:
        raise ParamError("weight", f"weight must be 4-D {layout}, got shape {list(weight.shape)}")


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
    w = float_array(weight, "weight").astype(x.dtype, copy=False)
    _check_weight(w, x.shape[1], groups, "(O, C/groups, kh, kw)")
    _n, c, _, _ = x.shape
    o, cg, _kh, _kw = w.shape
    g = check_groups(groups, c, o)
    if cg * g != c:
        raise ParamError(
            "weight",
            f"weight has {cg} input channels per filter but input has {c} channels "
            f"in {g} group(s) ({c // g} per group)",
        )
    b = bias_vector(bias, o, x.dtype)
    geo = conv2d_geometry(x.shape, w.shape, stride=stride, padding=padding, dilation=dilation)
    xp = pad(x, geo.padding, padding_mode)
    out = _correlate(xp, w, geo, g)
    out += b[None, :, None, None]
    return out[0] if added else out


def _correlate(xp: np.ndarray, w: np.ndarray, geo: Geometry, groups: int) -> np.ndarray:
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
    _check_weight(w, x.shape[1], groups, "(C, O/groups, kh, kw)")
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
