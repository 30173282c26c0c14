"""Fast paths and loop references against PyTorch float64, the independent oracle.

Random cases from hypothesis; the padding torch gets is computed here from the
contract's definitions (not from ``resolve_padding``) and applied with
``F.pad``, so asymmetric padding and every padding mode reach torch too.
Where our core refuses a case, torch must refuse it as well (or, for a max
window over only padding, return -inf).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import event, given, settings
from hypothesis import strategies as st

from app.core import (
    ParamError,
    avg_pool2d,
    conv2d,
    conv_transpose2d,
    max_pool2d,
)
from app.core.reference import (
    avg_pool2d_reference,
    conv2d_reference,
    conv_transpose2d_reference,
    max_pool2d_reference,
)

# tiny tensors: with several threads, torch's hand-offs cost far more than the maths
torch.set_num_threads(1)

RTOL = 1e-9
ATOL = 1e-12
SETTINGS = settings(max_examples=60, deadline=None)
TORCH_MODE = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "replicate",
    "circular": "circular",
}


def t(a) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float64))  # a writable copy


def close(actual, expected) -> None:
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


def as_pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def expected_padding(padding, size, kernel, stride, dilation) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) straight from docs/api.md's Conventions."""
    if isinstance(padding, int):
        return (padding,) * 4
    if isinstance(padding, list | tuple):
        if len(padding) == 2:
            return (padding[0], padding[0], padding[1], padding[1])
        return tuple(padding)
    stride, dilation = (as_pair(stride), as_pair(dilation))
    ek = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "full":
        return (ek[0] - 1, ek[0] - 1, ek[1] - 1, ek[1] - 1)
    assert padding == "same"
    sides = []
    for n, s, e in zip(size, stride, ek, strict=True):
        total = max((math.ceil(n / s) - 1) * s + e - n, 0)
        sides += [total // 2, total - total // 2]  # the odd cell at the bottom/right
    return tuple(sides)


def torch_conv2d(x, w, b, *, stride, padding, dilation, groups, padding_mode) -> np.ndarray:
    xt = t(x)
    squeeze = xt.dim() == 3
    if squeeze:
        xt = xt[None]
    top, bottom, left, right = expected_padding(
        padding, xt.shape[-2:], w.shape[-2:], stride, dilation
    )
    mode = TORCH_MODE[padding_mode]
    if any((top, bottom, left, right)):
        xt = F.pad(xt, (left, right, top, bottom), mode=mode)
    bt = None if b is None else t(np.broadcast_to(np.asarray(b, np.float64), (w.shape[0],)))
    out = F.conv2d(xt, t(w), bt, stride=stride, padding=0, dilation=dilation, groups=groups)
    return (out[0] if squeeze else out).numpy()


def _pairs(lo: int, hi: int):
    return st.tuples(st.integers(lo, hi), st.integers(lo, hi))


def _pair(draw, lo, hi):
    return draw(_pairs(lo, hi))


paddings = st.one_of(
    st.integers(0, 2),
    st.lists(st.integers(0, 2), min_size=2, max_size=2),
    st.lists(st.integers(0, 2), min_size=4, max_size=4),
    st.sampled_from(["valid", "same", "full"]),
)


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    c = groups * draw(st.integers(1, 2))
    o = groups * draw(st.integers(1, 2))
    batch = draw(st.sampled_from([None, 1, 2]))
    kh, kw = _pair(draw, 1, 3)
    size = _pair(draw, 1, 6)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (c, *size) if batch is None else (batch, c, *size)
    bias = draw(st.sampled_from(["none", "scalar", "vector"]))
    return {
        "x": rng.standard_normal(shape),
        "w": rng.standard_normal((o, c // groups, kh, kw)),
        "b": {
            "none": None,
            "scalar": float(rng.standard_normal()),
            "vector": rng.standard_normal(o),
        }[bias],
        "kw": {
            "stride": _pair(draw, 1, 3),
            "padding": draw(paddings),
            "dilation": _pair(draw, 1, 2),
            "groups": groups,
            "padding_mode": draw(st.sampled_from(list(TORCH_MODE))),
        },
    }


@SETTINGS
@given(conv_cases())
def test_conv2d_matches_torch(case) -> None:
    x, w, b, kw = case["x"], case["w"], case["b"], case["kw"]
    try:
        expected = torch_conv2d(x, w, b, **kw)
    except RuntimeError:
        event("torch refuses")
        # torch refuses (kernel larger than the padded input, reflect/circular too wide):
        # so must we, with a ParamError rather than anything else
        with pytest.raises(ParamError):
            conv2d(x, w, b, **kw)
        return
    fast = conv2d(x, w, b, **kw)
    assert fast.dtype == np.float64
    assert fast.shape == expected.shape
    close(fast, expected)
    close(conv2d_reference(x, w, b, **kw), expected)


@settings(max_examples=30, deadline=None)
@given(conv_cases())
def test_conv2d_float32_stays_float32(case) -> None:
    x, w, b, kw = case["x"], case["w"], case["b"], case["kw"]
    try:
        expected = torch_conv2d(x, w, b, **kw)
    except RuntimeError:
        return
    out = conv2d(x.astype(np.float32), w.astype(np.float32), b, **kw)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("size", "kernel", "dilation"),
    [
        ((5, 6), (2, 2), (1, 1)),
        ((5, 6), (4, 3), (1, 1)),
        ((6, 7), (2, 3), (3, 2)),
        ((4, 4), (4, 2), (2, 3)),
    ],
)
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning")
def test_same_at_stride_1_equals_torch_same(size, kernel, dilation) -> None:
    # torch's own padding="same" (stride 1 only) also puts the odd cell at the bottom/right
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, *size))
    w = rng.standard_normal((3, 2, *kernel))
    expected = F.conv2d(t(x)[None], t(w), padding="same", dilation=dilation)[0].numpy()
    for conv in (conv2d, conv2d_reference):
        out = conv(x, w, padding="same", dilation=dilation)
        assert out.shape == (3, *size)
        close(out, expected)


# --- conv_transpose2d -----------------------------------------------------------


@st.composite
def transpose_cases(draw):
    groups = draw(st.integers(1, 3))
    c = groups * draw(st.integers(1, 2))
    og = draw(st.integers(1, 2))
    batch = draw(st.sampled_from([None, 1, 2]))
    kernel = _pair(draw, 1, 3)
    size = _pair(draw, 1, 4)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (c, *size) if batch is None else (batch, c, *size)
    padding = draw(st.one_of(st.integers(0, 1), _pairs(0, 2)))
    stride = _pair(draw, 1, 3)
    dilation = _pair(draw, 1, 2)
    # mostly valid output_padding (< stride or < dilation), sometimes anything up to 2
    valid_op = st.tuples(
        *(st.integers(0, max(s, d) - 1) for s, d in zip(stride, dilation, strict=True))
    )
    output_padding = draw(_pairs(0, 2) if draw(st.integers(0, 4)) == 0 else valid_op)
    return {
        "x": rng.standard_normal(shape),
        "w": rng.standard_normal((c, og, *kernel)),
        "b": draw(st.sampled_from([None, rng.standard_normal(og * groups)])),
        "kw": {
            "stride": stride,
            "padding": padding,
            "output_padding": output_padding,
            "dilation": dilation,
            "groups": groups,
        },
    }


def torch_conv_transpose2d(x, w, b, **kw) -> np.ndarray:
    xt = t(x)
    squeeze = xt.dim() == 3
    if squeeze:
        xt = xt[None]
    bt = None if b is None else t(b)
    out = F.conv_transpose2d(xt, t(w), bt, **kw)
    return (out[0] if squeeze else out).numpy()


@SETTINGS
@given(transpose_cases())
def test_conv_transpose2d_matches_torch(case) -> None:
    x, w, b, kw = case["x"], case["w"], case["b"], case["kw"]
    try:
        expected = torch_conv_transpose2d(x, w, b, **kw)
    except RuntimeError:
        event("torch refuses")
        # output_padding too large, or padding cropping the output to nothing
        with pytest.raises(ParamError):
            conv_transpose2d(x, w, b, **kw)
        return
    fast = conv_transpose2d(x, w, b, **kw)
    assert fast.shape == expected.shape
    close(fast, expected)
    close(conv_transpose2d_reference(x, w, b, **kw), expected)


# --- pooling --------------------------------------------------------------------


@st.composite
def pool_cases(draw, *, dilation: bool, ties: bool = False):
    kernel = _pair(draw, 1, 4)
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = draw(st.tuples(st.integers(0, kernel[0] // 2), st.integers(0, kernel[1] // 2)))
    size = _pair(draw, 1, 8)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    c = draw(st.integers(1, 3))
    batch = draw(st.sampled_from([None, 2]))
    shape = (c, *size) if batch is None else (batch, c, *size)
    x = rng.integers(0, 3, shape).astype(np.float64) if ties else rng.standard_normal(shape)
    kw = {
        "stride": stride,
        "padding": draw(st.sampled_from([padding, padding[0]]))
        if padding[0] == padding[1]
        else padding,
        "ceil_mode": draw(st.booleans()),
    }
    if dilation:
        kw["dilation"] = draw(st.one_of(_pairs(1, 2), _pairs(1, 3)))
    return x, kernel, kw


def torch_max_pool2d(x, kernel, **kw) -> tuple[np.ndarray, np.ndarray]:
    out, idx = F.max_pool2d(t(x), kernel, return_indices=True, **kw)
    return out.numpy(), idx.numpy()


def _check_max(x, kernel, kw) -> None:
    try:
        values, indices = torch_max_pool2d(x, kernel, **kw)
    except RuntimeError:
        event("torch refuses")
        with pytest.raises(ParamError):
            max_pool2d(x, kernel, **kw)
        return
    if np.isneginf(values).any():
        event("window over only padding")
        # torch gives -inf for a window over only padding; JSON has no -inf, so we refuse
        with pytest.raises(ParamError, match="only padding"):
            max_pool2d(x, kernel, **kw)
        return
    out, idx = max_pool2d(x, kernel, return_indices=True, **kw)
    assert out.shape == values.shape
    close(out, values)
    np.testing.assert_array_equal(idx, indices)
    np.testing.assert_array_equal(max_pool2d(x, kernel, **kw), out)
    planes = x.reshape(-1, *x.shape[-2:])
    ref = [max_pool2d_reference(p, kernel, **kw) for p in planes[:, None]]
    close(np.concatenate([r[0] for r in ref]).reshape(values.shape), values)
    np.testing.assert_array_equal(
        np.concatenate([r[1] for r in ref]).reshape(indices.shape), indices
    )


@SETTINGS
@given(pool_cases(dilation=True))
def test_max_pool2d_matches_torch(case) -> None:
    _check_max(*case)


@settings(max_examples=50, deadline=None)
@given(pool_cases(dilation=True, ties=True))
def test_max_pool2d_ties_match_torch_indices(case) -> None:
    # few distinct values: many ties, and torch's CPU kernel keeps the first maximum
    _check_max(*case)


@SETTINGS
@given(pool_cases(dilation=False), st.booleans())
def test_avg_pool2d_matches_torch(case, count_include_pad) -> None:
    x, kernel, kw = case
    kw = {**kw, "count_include_pad": count_include_pad}
    try:
        expected = F.avg_pool2d(t(x), kernel, **kw).numpy()
    except RuntimeError:
        event("torch refuses")
        with pytest.raises(ParamError):
            avg_pool2d(x, kernel, **kw)
        return
    out = avg_pool2d(x, kernel, **kw)
    assert out.shape == expected.shape
    close(out, expected)
    planes = x.reshape(-1, *x.shape[-2:])
    ref = np.concatenate([avg_pool2d_reference(p, kernel, **kw) for p in planes[:, None]])
    close(ref.reshape(expected.shape), expected)


def test_pool_float32_stays_float32() -> None:
    x = np.random.default_rng(1).standard_normal((2, 5, 5)).astype(np.float32)
    assert max_pool2d(x, 2).dtype == np.float32
    assert avg_pool2d(x, 2).dtype == np.float32
    np.testing.assert_allclose(
        avg_pool2d(x, 3, stride=2, padding=1),
        F.avg_pool2d(torch.from_numpy(x), 3, 2, 1).numpy(),
        rtol=1e-6,
    )


# --- float32 image paths ----------------------------------------------------------
# float32 is the image path, where conv2d may switch to other algorithms for large
# inputs; these shapes are large enough for that. Compared with torch in float64, to
# float32 rounding (the error of a K-term sum of unit-scale products grows like sqrt(K)).


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "kw"),
    [
        ((1, 130, 120), (1, 1, 3, 3), {"padding": "same", "padding_mode": "reflect"}),
        ((2, 1, 150, 160), (1, 1, 3, 2), {"stride": 2, "dilation": 2, "padding_mode": "circular"}),
        (
            (1, 80, 90),
            (1, 1, 5, 5),
            {"stride": (1, 2), "dilation": (2, 1), "padding": [1, 2, 3, 0]},
        ),
        ((3, 60, 70), (1, 3, 5, 5), {"padding": "full", "padding_mode": "zeros"}),
        ((3, 64, 64), (3, 1, 7, 7), {"groups": 3, "padding": 3, "padding_mode": "replicate"}),
        ((3, 64, 64), (8, 3, 3, 3), {"stride": 2, "padding": "same"}),
        ((4, 40, 50), (6, 2, 3, 4), {"groups": 2, "dilation": (1, 2), "padding": (1, 2)}),
        ((1, 100, 100), (1, 1, 19, 19), {"padding": "same"}),
        ((3, 70, 80), (1, 3, 21, 21), {"padding": 10, "padding_mode": "reflect"}),
        ((2, 3, 50, 60), (3, 1, 19, 23), {"groups": 3}),
    ],
)
def test_float32_image_paths_match_torch(x_shape, w_shape, kw) -> None:
    rng = np.random.default_rng(sum(x_shape) + sum(w_shape))
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    expected = torch_conv2d(
        x.astype(np.float64),
        w.astype(np.float64),
        b.astype(np.float64),
        stride=kw.get("stride", 1),
        padding=kw.get("padding", 0),
        dilation=kw.get("dilation", 1),
        groups=kw.get("groups", 1),
        padding_mode=kw.get("padding_mode", "zeros"),
    )
    out = conv2d(x, w, b, **kw)
    assert out.dtype == np.float32
    assert out.shape == expected.shape
    taps = w_shape[1] * w_shape[2] * w_shape[3]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=2e-5 * math.sqrt(taps) * 10)
