"""Step-by-step traces: the data a page replays to show one window at a time.

A trace is plain data (lists of numbers), one step per output cell in
row-major order (filter/channel, row, column); for a transposed convolution one step
per input cell (channel, row, column), which scatters its scaled kernel. The browser
draws it; it never recomputes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.geometry import Geometry, Padding4
from app.core.padding import pad
from app.core.pool import avg_divisors
from app.errors import ParamError

Region = tuple[tuple[int, int], tuple[int, int]]


def resolve_region(region: Any, output: tuple[int, int], *, of: str = "output") -> Region:
    """``{"rows": [r0, r1], "cols": [c0, c1]}`` (end-exclusive) checked against ``output``
    (the sizes of the tensor the steps walk over, named ``of``)."""
    if region is None:
        return ((0, output[0]), (0, output[1]))
    spans = []
    for name, size in (("rows", output[0]), ("cols", output[1])):
        lo, hi = region[name]
        if not 0 <= lo < hi <= size:
            raise ParamError(
                "trace_region",
                f"trace_region.{name} [{lo}, {hi}] must satisfy 0 <= start < end <= {size} "
                f"(the {of} has {size} {name}; end is exclusive)",
            )
        spans.append((lo, hi))
    return (spans[0], spans[1])


def step_count(channels: int, region: Region) -> int:
    (r0, r1), (c0, c1) = region
    return channels * (r1 - r0) * (c1 - c0)


def _window(xp: np.ndarray, geo: Geometry, i: int, j: int) -> tuple[list[int], np.ndarray]:
    """Origin (padded coordinates) and the (…, kh, kw) cells the kernel taps there."""
    r, c = i * geo.stride[0], j * geo.stride[1]
    (ekh, ekw), (dh, dw) = geo.effective_kernel, geo.dilation
    return [r, c], xp[..., r : r + ekh : dh, c : c + ekw : dw]


def conv2d_trace(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray,
    geo: Geometry,
    *,
    groups: int = 1,
    padding_mode: str = "zeros",
    region: Region | None = None,
    include_padded: bool = True,
) -> dict[str, Any]:
    """Trace of ``conv2d`` on one (C, H, W) input with (O, C/groups, kh, kw) weights.

    Returns ``{"steps": [...]}`` and, with ``include_padded``, ``"padded_input"``.
    """
    x = np.asarray(input, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    xp = pad(x, geo.padding, padding_mode)
    (r0, r1), (c0, c1) = region or ((0, geo.output[0]), (0, geo.output[1]))
    o, cg = w.shape[:2]
    og = o // groups
    steps = []
    for oi in range(o):
        group = oi // og
        xg = xp[group * cg : (group + 1) * cg]
        for i in range(r0, r1):
            for j in range(c0, c1):
                origin, window = _window(xg, geo, i, j)
                products = window * w[oi]
                b = float(bias[oi])
                steps.append(
                    {
                        "out": [oi, i, j],
                        "origin": origin,
                        "window": window.tolist(),
                        "products": products.tolist(),
                        "channel_sums": products.sum(axis=(1, 2)).tolist(),
                        "bias": b,
                        "sum": float(products.sum()) + b,
                    }
                )
    return {"padded_input": xp.tolist(), "steps": steps} if include_padded else {"steps": steps}


def pool2d_trace(
    input: np.ndarray,
    geo: Geometry,
    *,
    mode: str,
    count_include_pad: bool = True,
    region: Region | None = None,
    include_padded: bool = True,
) -> dict[str, Any]:
    """Trace of max or avg pooling on (C, H, W). Window cells outside the input that do
    not count (max: all padding; both: past the padded input) are ``None``."""
    x = np.asarray(input, dtype=np.float64)
    (r0, r1), (c0, c1) = region or ((0, geo.output[0]), (0, geo.output[1]))
    h, w = geo.input
    top, left = geo.padding[0], geo.padding[2]
    row_div, col_div = avg_divisors(geo, count_include_pad)
    steps = []
    for ch in range(x.shape[0]):
        for i in range(r0, r1):
            for j in range(c0, c1):
                window: list[list[float | None]] = []
                best, arg = -np.inf, [0, 0]
                total = 0.0
                for a in range(geo.kernel[0]):
                    row: list[float | None] = []
                    r = i * geo.stride[0] + a * geo.dilation[0] - top
                    for b in range(geo.kernel[1]):
                        c = j * geo.stride[1] + b * geo.dilation[1] - left
                        inside = 0 <= r < h and 0 <= c < w
                        in_pad = -top <= r < h + top and -left <= c < w + left
                        if inside:
                            v = float(x[ch, r, c])
                            total += v
                            if v > best:
                                best, arg = v, [r, c]
                            row.append(v)
                        elif mode == "avg" and in_pad:
                            row.append(0.0)
                        else:
                            row.append(None)
                    window.append(row)
                step: dict[str, Any] = {
                    "out": [ch, i, j],
                    "origin": [i * geo.stride[0], j * geo.stride[1]],
                    "window": window,
                }
                if mode == "max":
                    step["argmax"] = arg
                    step["value"] = best
                else:
                    divisor = int(row_div[i] * col_div[j])
                    step["divisor"] = divisor
                    step["sum"] = total
                    step["value"] = total / divisor
                steps.append(step)
    if not include_padded:
        return {"steps": steps}
    return {"padded_input": pad(x, geo.padding, "zeros").tolist(), "steps": steps}


def zero_insert(x: np.ndarray, stride: tuple[int, int], padding: Padding4) -> np.ndarray:
    """(C, H, W) -> stride - 1 zeros between neighbouring cells, then padded by
    ``(top, bottom, left, right)``; a negative amount crops that side instead."""
    (sh, sw), (c, h, w) = stride, x.shape
    z = np.zeros((c, (h - 1) * sh + 1, (w - 1) * sw + 1), dtype=x.dtype)
    z[:, ::sh, ::sw] = x
    t, b, left, r = padding
    z = np.pad(z, [(0, 0), (max(t, 0), max(b, 0)), (max(left, 0), max(r, 0))])
    rows, cols = z.shape[1], z.shape[2]
    return z[:, max(-t, 0) : rows - max(-b, 0), max(-left, 0) : cols - max(-r, 0)]


def _source_index(size: int, stride: int, before: int, length: int) -> list[int | None]:
    """For each of ``length`` cells of a zero-inserted axis padded by ``before``: the input
    index it holds, or None for an inserted zero or padding."""
    found: list[int | None] = []
    for k in range(length):
        z = k - before
        inside = 0 <= z <= (size - 1) * stride and z % stride == 0
        found.append(z // stride if inside else None)
    return found


def direct_conv_equivalent(
    input: np.ndarray, weight: np.ndarray, geo: Geometry, *, groups: int = 1
) -> dict[str, Any]:
    """The direct convolution that equals ``conv_transpose2d``: the zero-inserted, padded
    input and the flipped kernel, so that ``conv2d(input, weight, stride=1,
    dilation=geo.dilation, groups=groups)`` (+ bias) is the transposed output.

    Padding per side is ``dilation * (k - 1) - padding``, plus ``output_padding`` at the
    bottom and right; a negative amount crops.
    """
    x = np.asarray(input, dtype=np.float64)  # (C, H, W)
    w = np.asarray(weight, dtype=np.float64)  # (C, O/g, kh, kw)
    ekh, ekw = geo.effective_kernel
    oph, opw = geo.output_padding
    top, left = ekh - 1 - geo.padding[0], ekw - 1 - geo.padding[2]
    padding = (top, top + oph, left, left + opw)
    z = zero_insert(x, geo.stride, padding)
    cg = w.shape[0] // groups
    # (C, O/g, kh, kw) -> per group (O/g, C/g, kh, kw), rotated 180 degrees -> (O, C/g, kh, kw)
    flipped = np.concatenate(
        [w[g * cg : (g + 1) * cg].transpose(1, 0, 2, 3)[..., ::-1, ::-1] for g in range(groups)]
    )
    return {
        "input": z.tolist(),
        "kernel": flipped.tolist(),
        "padding": list(padding),
        "rows": _source_index(x.shape[1], geo.stride[0], top, z.shape[1]),
        "cols": _source_index(x.shape[2], geo.stride[1], left, z.shape[2]),
    }


def direct_input_size(channels: int, geo: Geometry) -> int:
    """How many numbers ``direct_conv_equivalent``'s input holds (before it is built): a
    stride-1 convolution with the dilated kernel reads ``output + effective_kernel - 1``
    cells per axis."""
    (ho, wo), (ekh, ekw) = geo.output, geo.effective_kernel
    return channels * (ho + ekh - 1) * (wo + ekw - 1)


def conv_transpose2d_trace(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray,
    geo: Geometry,
    *,
    groups: int = 1,
    region: Region | None = None,
    running: bool = True,
) -> dict[str, Any]:
    """Trace of ``conv_transpose2d`` on one (C, H, W) input with (C, O/groups, kh, kw)
    weights: one step per input cell (channel, row, column) in ``region`` (input
    coordinates).

    Each step holds the cell's ``value``, the kernel ``scaled`` by it (O/groups, kh, kw),
    the output channels it adds into (``out_channels``, end-exclusive), the window's
    top-left cell ``origin`` in the uncropped output, and ``targets``: for each kernel
    tap the output [row, col] it is added into (the uncropped position minus the
    padding, so a cell cropped away lies outside the output) with ``kept`` saying whether
    it survives the crop. With ``running``, each step also holds the output (O, H', W')
    after it: the bias plus every input cell's contribution up to and including this one.
    """
    x = np.asarray(input, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    c, og, kh, kw = w.shape
    cg = c // groups
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    top, left = geo.padding[0], geo.padding[2]
    ho, wo = geo.output
    (r0, r1), (c0, c1) = region or ((0, geo.input[0]), (0, geo.input[1]))
    total = np.empty((og * groups, ho, wo))
    total[:] = np.asarray(bias, dtype=np.float64).reshape(-1, 1, 1)
    steps = []
    for ch in range(c):
        o0 = (ch // cg) * og
        for i in range(geo.input[0]):
            for j in range(geo.input[1]):
                scaled = x[ch, i, j] * w[ch]  # (O/g, kh, kw)
                rows = [i * sh + a * dh - top for a in range(kh)]
                cols = [j * sw + b * dw - left for b in range(kw)]
                keep = np.array([[0 <= r < ho and 0 <= q < wo for q in cols] for r in rows])
                if running:
                    for a, r in enumerate(rows):
                        for b, q in enumerate(cols):
                            if keep[a, b]:
                                total[o0 : o0 + og, r, q] += scaled[:, a, b]
                if r0 <= i < r1 and c0 <= j < c1:
                    step: dict[str, Any] = {
                        "in": [ch, i, j],
                        "value": float(x[ch, i, j]),
                        "scaled": scaled.tolist(),
                        "out_channels": [o0, o0 + og],
                        "origin": [i * sh, j * sw],
                        "targets": [[[r, q] for q in cols] for r in rows],
                        "kept": keep.tolist(),
                    }
                    if running:
                        step["running"] = total.tolist()
                    steps.append(step)
    return {
        "uncropped_shape": [ho + top + geo.padding[1], wo + left + geo.padding[3]],
        "steps": steps,
    }
