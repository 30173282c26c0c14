"""geometry.formula: every filled-in formula evaluates to the size it shows, and that size
is PyTorch's."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from app.core.geometry import (
    Geometry,
    ParamError,
    conv_geometry,
    conv_transpose_geometry,
    formula,
    pool_geometry,
)


def evaluate(text: str) -> tuple[int, int]:
    """'⌊(6 + 1 + 1 − 1·(3 − 1) − 1) / 1⌋ + 1 = 6' -> (left side's value, 6)."""
    left, right = text.rsplit(" = ", 1)
    expr = (
        left.replace("⌊", "floor(")
        .replace("⌋", ")")
        .replace("⌈", "ceil(")
        .replace("⌉", ")")
        .replace("·", "*")
        .replace("−", "-")
    )
    assert re.fullmatch(r"[0-9a-z()+\-*/ ]+", expr), expr
    value = eval(expr, {"__builtins__": {}}, {"floor": math.floor, "ceil": math.ceil})
    return value, int(right)


def check(geo: Geometry) -> None:
    f = formula(geo)
    assert set(f) == {"general", "rows", "cols"}
    assert f["general"].startswith("out = ")
    for axis, name in enumerate(("rows", "cols")):
        assert evaluate(f[name]) == (geo.output[axis], geo.output[axis]), f[name]
    assert geo.as_dict()["formula"] == f


def test_contract_example_padding_one() -> None:
    geo = conv_geometry((6, 6), 3, padding=1)
    assert formula(geo)["rows"] == "⌊(6 + 1 + 1 − 1·(3 − 1) − 1) / 1⌋ + 1 = 6"


def test_transposed_example_worked_by_hand() -> None:
    # (3 - 1)*2 - 2*1 + 1*(3 - 1) + 1 + 1 = 4 - 2 + 2 + 2 = 6
    geo = conv_transpose_geometry((3, 3), 3, stride=2, padding=1, output_padding=1)
    assert formula(geo)["cols"] == "(3 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 6"


def test_ceil_mode_correction_is_written_out() -> None:
    # n=5, k=2, s=2, p=1: ceil((5 + 2 - 1 - 1) / 2) + 1 = 4, but the 4th window would start
    # at 6 = n + p (in the padding), so PyTorch gives 3.
    geo = pool_geometry((5, 5), 2, stride=2, padding=1, ceil_mode=True)
    assert geo.output == (3, 3)
    assert formula(geo)["rows"] == "⌈(5 + 2·1 − 1·(2 − 1) − 1) / 2⌉ + 1 − 1 = 3"
    assert formula(geo)["general"].startswith("out = ⌈")


def _torch_conv(geo: Geometry) -> tuple[int, ...]:
    t, b, left, r = geo.padding
    x = F.pad(torch.zeros(1, 1, *geo.input), (left, r, t, b))
    w = torch.zeros(1, 1, *geo.kernel)
    return tuple(F.conv2d(x, w, stride=geo.stride, dilation=geo.dilation).shape[2:])


def _pair(rng: np.random.Generator, lo: int, hi: int) -> tuple[int, int]:
    return (int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1)))


def _one_conv(seed: int) -> None:
    rng = np.random.default_rng(seed)
    padding = [
        int(rng.integers(0, 4)),
        [int(v) for v in rng.integers(0, 4, 2)],
        [int(v) for v in rng.integers(0, 4, 4)],
        "valid",
        "same",
        "full",
    ][seed % 6]
    try:
        geo = conv_geometry(
            _pair(rng, 1, 20),
            _pair(rng, 1, 5),
            stride=_pair(rng, 1, 4),
            padding=padding,
            dilation=_pair(rng, 1, 3),
        )
    except ParamError:
        return
    check(geo)
    assert _torch_conv(geo) == geo.output


def _one_pool(seed: int) -> None:
    rng = np.random.default_rng(seed)
    kernel = _pair(rng, 1, 5)
    padding = (int(rng.integers(0, kernel[0] // 2 + 1)), int(rng.integers(0, kernel[1] // 2 + 1)))
    stride, dilation, ceil_mode = _pair(rng, 1, 4), _pair(rng, 1, 3), bool(seed % 2)
    size = _pair(rng, 1, 20)
    try:
        geo = pool_geometry(
            size, kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
        )
    except ParamError:
        return
    check(geo)
    out = F.max_pool2d(
        torch.zeros(1, 1, *size),
        kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )
    assert tuple(out.shape[2:]) == geo.output


def _one_transposed(seed: int) -> None:
    rng = np.random.default_rng(seed)
    stride, dilation = _pair(rng, 1, 4), _pair(rng, 1, 3)
    output_padding = tuple(
        int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation, strict=True)
    )
    kernel, padding, size = _pair(rng, 1, 5), _pair(rng, 0, 3), _pair(rng, 1, 12)
    try:
        geo = conv_transpose_geometry(
            size,
            kernel,
            stride=stride,
            padding=padding,
            output_padding=output_padding,
            dilation=dilation,
        )
    except ParamError:
        return
    check(geo)
    out = F.conv_transpose2d(
        torch.zeros(1, 1, *size),
        torch.zeros(1, 1, *kernel),
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
    )
    assert tuple(out.shape[2:]) == geo.output


@pytest.mark.parametrize("case", [_one_conv, _one_pool, _one_transposed])
def test_random_formulas_evaluate_to_torch_sizes(case: object) -> None:
    for seed in range(400):
        case(seed)  # type: ignore[operator]
