"""Traces are data the browser replays: they must agree with the operations they show."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import (
    ParamError,
    avg_pool2d,
    conv2d,
    conv_geometry,
    max_pool2d,
    pad,
    pool_geometry,
)
from app.core.trace import conv2d_trace, pool2d_trace, resolve_region, step_count

# tiny tensors: with several threads, torch's hand-offs cost far more than the maths
torch.set_num_threads(1)

SETTINGS = settings(max_examples=60, deadline=None)
pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))


def test_edge_patch_trace() -> None:
    patch = np.array([[[0.6, 0.2, 0.6], [0.1, -0.2, -0.3], [-0.5, -0.1, -0.3]]])
    w = np.array([[[[1.0, 1, 1], [0, 0, 0], [-1, -1, -1]]]])
    geo = conv_geometry((3, 3), 3)
    trace = conv2d_trace(patch, w, np.array([0.0]), geo)
    assert trace["padded_input"] == patch.tolist()
    (step,) = trace["steps"]
    assert step["out"] == [0, 0, 0]
    assert step["origin"] == [0, 0]
    assert step["window"] == patch.tolist()
    np.testing.assert_array_equal(step["products"], patch * w[0])
    assert step["bias"] == 0.0
    assert step["sum"] == pytest.approx(2.3, abs=1e-12)


def test_trace_with_padding_stride_and_dilation_worked() -> None:
    # x = arange(16) 4x4, 2x2 kernel, dilation 2 (eff 3), stride 2, padding 1 -> padded 6x6,
    # output (6 - 3) // 2 + 1 = 2. Step (0, 1, 0): origin (2, 0) in padded coordinates,
    # taps padded (2,0), (2,2), (4,0), (4,2) = input (1,-1), (1,1), (3,-1), (3,1) = 0, 5, 0, 13
    x = np.arange(16.0).reshape(1, 4, 4)
    w = np.ones((1, 1, 2, 2))
    geo = conv_geometry((4, 4), 2, stride=2, padding=1, dilation=2)
    steps = conv2d_trace(x, w, np.array([1.0]), geo)["steps"]
    assert [s["out"] for s in steps] == [[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1]]
    step = steps[2]
    assert step["origin"] == [2, 0]
    assert step["window"] == [[[0, 5], [0, 13]]]
    assert step["sum"] == 0 + 5 + 0 + 13 + 1


@st.composite
def conv_trace_cases(draw):
    groups = draw(st.integers(1, 2))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = draw(pairs)
    size = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kw = {
        "stride": draw(pairs),
        "padding": draw(
            st.one_of(
                st.integers(0, 2),
                st.lists(st.integers(0, 2), min_size=4, max_size=4),
                st.sampled_from(["same", "full", "valid"]),
            )
        ),
        "dilation": draw(st.tuples(st.integers(1, 2), st.integers(1, 2))),
    }
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    x = rng.standard_normal((c, *size))
    w = rng.standard_normal((o, c // groups, *kernel))
    return x, w, rng.standard_normal(o), kw, groups, mode


@SETTINGS
@given(conv_trace_cases())
def test_conv_trace_agrees_with_conv2d(case) -> None:
    x, w, b, kw, groups, mode = case
    try:
        out = conv2d(x, w, b, groups=groups, padding_mode=mode, **kw)
    except ParamError:
        return
    geo = conv_geometry(x.shape[-2:], w.shape[-2:], **kw)
    trace = conv2d_trace(x, w, b, geo, groups=groups, padding_mode=mode)
    padded = np.array(trace["padded_input"])
    np.testing.assert_array_equal(padded, pad(x, geo.padding, mode))
    o, cg, kh, kw_ = w.shape
    ho, wo = geo.output
    steps = trace["steps"]
    assert len(steps) == o * ho * wo == step_count(o, resolve_region(None, geo.output))
    assert [s["out"] for s in steps] == [
        [f, i, j] for f in range(o) for i in range(ho) for j in range(wo)
    ]
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    og = o // groups
    for s in steps:
        f, i, j = s["out"]
        assert s["origin"] == [i * sh, j * sw]
        window = np.array(s["window"])
        assert window.shape == (cg, kh, kw_)
        g = f // og
        r, c = s["origin"]
        np.testing.assert_array_equal(
            window,
            padded[
                g * cg : (g + 1) * cg,
                r : r + (kh - 1) * dh + 1 : dh,
                c : c + (kw_ - 1) * dw + 1 : dw,
            ],
        )
        np.testing.assert_array_equal(np.array(s["products"]), window * w[f])
        assert s["bias"] == b[f]
        assert s["sum"] == pytest.approx(out[f, i, j], rel=1e-12, abs=1e-12)


def test_conv_trace_region_limits_the_steps() -> None:
    x = np.random.default_rng(0).standard_normal((2, 6, 7))
    w = np.random.default_rng(1).standard_normal((3, 2, 2, 2))
    geo = conv_geometry((6, 7), 2)  # output 5x6
    region = resolve_region({"rows": [1, 3], "cols": [4, 6]}, geo.output)
    assert region == ((1, 3), (4, 6))
    trace = conv2d_trace(x, w, np.zeros(3), geo, region=region)
    assert len(trace["steps"]) == step_count(3, region) == 3 * 2 * 2
    assert [s["out"] for s in trace["steps"]] == [
        [f, i, j] for f in range(3) for i in (1, 2) for j in (4, 5)
    ]
    out = conv2d(x, w)
    for s in trace["steps"]:
        assert s["sum"] == pytest.approx(out[tuple(s["out"])], abs=1e-12)
    assert "padded_input" not in conv2d_trace(x, w, np.zeros(3), geo, include_padded=False)


@pytest.mark.parametrize(
    "region",
    [
        {"rows": [0, 0], "cols": [0, 1]},  # empty
        {"rows": [2, 1], "cols": [0, 1]},  # reversed
        {"rows": [-1, 1], "cols": [0, 1]},  # negative
        {"rows": [0, 1], "cols": [0, 7]},  # past the output (6 cols)
    ],
)
def test_resolve_region_rejects(region) -> None:
    with pytest.raises(ParamError) as err:
        resolve_region(region, (5, 6))
    assert err.value.field == "trace_region"
    assert "trace_region." in str(err.value)


def test_resolve_region_full_by_default() -> None:
    assert resolve_region(None, (5, 6)) == ((0, 5), (0, 6))
    assert resolve_region({"rows": [0, 5], "cols": [5, 6]}, (5, 6)) == ((0, 5), (5, 6))


# --- pooling traces ---------------------------------------------------------------


@st.composite
def pool_trace_cases(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    kw = {
        "stride": draw(st.one_of(st.none(), pairs)),
        "padding": (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2))),
        "ceil_mode": draw(st.booleans()),
    }
    size = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    x = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).standard_normal(
        (draw(st.integers(1, 2)), *size)
    )
    return x, kernel, kw


@SETTINGS
@given(pool_trace_cases(), st.tuples(st.integers(1, 2), st.integers(1, 2)))
def test_max_trace_agrees_with_max_pool2d(case, dilation) -> None:
    x, kernel, kw = case
    try:
        out, idx = max_pool2d(x, kernel, dilation=dilation, return_indices=True, **kw)
    except ParamError:
        return
    geo = pool_geometry(x.shape[-2:], kernel, dilation=dilation, **kw)
    steps = pool2d_trace(x, geo, mode="max")["steps"]
    assert len(steps) == out.size
    w = x.shape[-1]
    for s in steps:
        ch, i, j = s["out"]
        assert s["origin"] == [i * geo.stride[0], j * geo.stride[1]]
        assert len(s["window"]) == kernel[0] and all(len(r) == kernel[1] for r in s["window"])
        r, c = s["argmax"]
        assert r * w + c == idx[ch, i, j]
        assert s["value"] == out[ch, i, j]
        assert s["value"] == max(v for row in s["window"] for v in row if v is not None)


@SETTINGS
@given(pool_trace_cases(), st.booleans())
def test_avg_trace_agrees_with_avg_pool2d(case, count_include_pad) -> None:
    x, kernel, kw = case
    try:
        out = avg_pool2d(x, kernel, count_include_pad=count_include_pad, **kw)
    except ParamError:
        return
    geo = pool_geometry(x.shape[-2:], kernel, **kw)
    steps = pool2d_trace(x, geo, mode="avg", count_include_pad=count_include_pad)["steps"]
    # torch's divisor, from an all-ones input: window sum (divisor_override=1) / mean
    ones = torch.ones(1, *x.shape[-2:], dtype=torch.float64)
    tkw = {**kw, "count_include_pad": count_include_pad}
    divisors = (
        F.avg_pool2d(ones, kernel, divisor_override=1, **tkw) / F.avg_pool2d(ones, kernel, **tkw)
    )[0].numpy()
    assert len(steps) == out.size
    for s in steps:
        ch, i, j = s["out"]
        assert s["divisor"] == round(divisors[i, j])
        assert s["value"] == pytest.approx(out[ch, i, j], rel=1e-12, abs=1e-12)
        cells = [v for row in s["window"] for v in row if v is not None]
        assert s["sum"] == pytest.approx(sum(cells), abs=1e-12)
        if count_include_pad:
            assert s["divisor"] == len(cells)  # padding cells (0.0) count, cells past it do not


def test_pool_trace_windows_worked() -> None:
    # row 1..6, kernel (1, 3), stride (1, 2), padding (0, 1), ceil_mode: the last window is
    # input col 5, padding col 6, and col 7 past the padded input
    x = np.array([[[1.0, 2, 3, 4, 5, 6]]])
    geo = pool_geometry((1, 6), (1, 3), stride=(1, 2), padding=(0, 1), ceil_mode=True)
    avg = pool2d_trace(x, geo, mode="avg")["steps"]
    assert avg[0]["window"] == [[0.0, 1.0, 2.0]]
    assert avg[-1]["window"] == [[6.0, 0.0, None]]
    assert [s["divisor"] for s in avg] == [3, 3, 3, 2]
    assert [s["value"] for s in avg] == [1, 3, 5, 3]
    excl = pool2d_trace(x, geo, mode="avg", count_include_pad=False)["steps"]
    assert [s["divisor"] for s in excl] == [2, 3, 3, 1]
    mx = pool2d_trace(x, geo, mode="max")["steps"]
    assert mx[0]["window"] == [[None, 1.0, 2.0]]  # padding never competes in max
    assert mx[-1]["window"] == [[6.0, None, None]]
    assert [s["argmax"] for s in mx] == [[0, 1], [0, 3], [0, 5], [0, 5]]
    assert [s["value"] for s in mx] == [2, 4, 6, 6]
    region = resolve_region({"rows": [0, 1], "cols": [2, 4]}, geo.output)
    limited = pool2d_trace(x, geo, mode="max", region=region)
    assert [s["out"] for s in limited["steps"]] == [[0, 0, 2], [0, 0, 3]]
    assert limited["padded_input"] == [[[0.0, 1, 2, 3, 4, 5, 6, 0]]]
