"""Step-by-step traces: the data a page replays to show one window at a time.

A trace is plain data (lists of numbers), one step per output cell in
row-major order (filter/channel, row, column). The browser draws it; it never
recomputes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.geometry import Geometry
from app.core.padding import pad
from app.core.pool import avg_divisors
from app.errors import ParamError

Region = tuple[tuple[int, int], tuple[int, int]]


def resolve_region(region: Any, output: tuple[int, int]) -> Region:
    """``{"rows": [r0, r1], "cols": [c0, c1]}`` (end-exclusive) checked against ``output``."""
    if region is None:
        return ((0, output[0]), (0, output[1]))
    spans = []
    for name, size in (("rows", output[0]), ("cols", output[1])):
        lo, hi = region[name]
        if not 0 <= lo < hi <= size:
            raise ParamError(
                "trace_region",
                f"trace_region.{name} [{lo}, {hi}] must satisfy 0 <= start < end <= {size} "
                f"(the output has {size} {name}; end is exclusive)",
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
