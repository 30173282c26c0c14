"""Shape arithmetic: padding forms, output sizes, receptive fields, and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.geometry import (
    ParamError,
    conv_geometry,
    conv_transpose_geometry,
    pair,
    pool_geometry,
    receptive_fields,
    resolve_padding,
)

# tiny tensors: with several threads, torch's hand-offs cost far more than the maths
torch.set_num_threads(1)

SETTINGS = settings(max_examples=60, deadline=None)
pairs = st.tuples(st.integers(1, 4), st.integers(1, 4))


# --- pair ---------------------------------------------------------------------


def test_pair_forms() -> None:
    assert pair(3, "stride") == (3, 3)
    assert pair([2, 5], "stride") == (2, 5)
    assert pair((1, 4), "stride") == (1, 4)
    assert pair(np.int64(2), "stride") == (2, 2)
    assert pair(0, "output_padding", minimum=0) == (0, 0)


@pytest.mark.parametrize("value", [0, -1, [1, 0], True, 1.5, "2", [1, 2, 3], [1.0, 2.0], None])
def test_pair_rejects(value) -> None:
    with pytest.raises(ParamError) as err:
        pair(value, "stride")
    assert err.value.field == "stride"
    assert "stride" in str(err.value)
    assert isinstance(err.value, ValueError)


# --- resolve_padding ------------------------------------------------------------


def rp(padding, size=(5, 5), kernel=(3, 3), stride=(1, 1), dilation=(1, 1)):
    return resolve_padding(padding, size, kernel, stride, dilation)


def test_padding_numeric_forms() -> None:
    assert rp(2) == (2, 2, 2, 2)
    assert rp([1, 3]) == (1, 1, 3, 3)
    assert rp((1, 3)) == (1, 1, 3, 3)
    assert rp([1, 2, 3, 4]) == (1, 2, 3, 4)  # top, bottom, left, right
    assert rp(0) == rp("valid") == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "dilation", "expected"),
    [
        # stride 1, odd kernel: total k - 1 = 2, split evenly
        ((5, 5), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1)),
        # even kernel 2: total 1, the odd cell goes bottom/right
        ((5, 5), (2, 2), (1, 1), (1, 1), (0, 1, 0, 1)),
        # kernel 4: total 3 -> 1 | 2
        ((5, 5), (4, 4), (1, 1), (1, 1), (1, 2, 1, 2)),
        # dilation 2, kernel 2 -> eff 3, total 2 -> 1 | 1
        ((5, 5), (2, 2), (1, 1), (2, 2), (1, 1, 1, 1)),
        # n=5, k=3, s=2: out ceil(5/2) = 3, total (3-1)*2 + 3 - 5 = 2 -> 1 | 1
        ((5, 5), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1)),
        # n=6, k=3, s=2: out 3, total (3-1)*2 + 3 - 6 = 1 -> 0 | 1 (TensorFlow's split)
        ((6, 6), (3, 3), (2, 2), (1, 1), (0, 1, 0, 1)),
        # n=7, k=4, s=3: out 3, total (3-1)*3 + 4 - 7 = 3 -> 1 | 2
        ((7, 7), (4, 4), (3, 3), (1, 1), (1, 2, 1, 2)),
        # n=2, k=1, s=3: out 1, total max(0 + 1 - 2, 0) = 0
        ((2, 2), (1, 1), (3, 3), (1, 1), (0, 0, 0, 0)),
        # per axis: rows n=6 k=3 s=2 -> 0 | 1, cols n=5 k=2 s=1 -> 0 | 1
        ((6, 5), (3, 2), (2, 1), (1, 1), (0, 1, 0, 1)),
    ],
)
def test_same_padding_worked(size, kernel, stride, dilation, expected) -> None:
    assert rp("same", size, kernel, stride, dilation) == expected


@SETTINGS
@given(
    pairs.map(lambda p: (p[0] + 2, p[1] + 3)),
    pairs,
    pairs,
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
)
def test_same_gives_ceil_in_over_stride(size, kernel, stride, dilation) -> None:
    geo = conv_geometry(size, kernel, stride=stride, padding="same", dilation=dilation)
    top, bottom, left, right = geo.padding
    for axis, (before, after) in enumerate(((top, bottom), (left, right))):
        assert geo.output[axis] == math.ceil(size[axis] / stride[axis])
        assert after - before in (0, 1)  # the extra cell, if any, at the bottom/right
        ek = dilation[axis] * (kernel[axis] - 1) + 1
        # the least total padding that reaches that many outputs
        total = before + after
        assert total == max((geo.output[axis] - 1) * stride[axis] + ek - size[axis], 0)


@settings(max_examples=40, deadline=None)
@given(
    st.tuples(st.integers(1, 9), st.integers(1, 9)),
    pairs,
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
)
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning")
def test_same_at_stride_1_matches_torch_shape_and_split(size, kernel, dilation) -> None:
    # torch's padding="same" keeps the size; probing with one-hot kernels shows the split
    geo = conv_geometry(size, kernel, padding="same", dilation=dilation)
    assert geo.output == size
    x = torch.arange(1.0, 1 + size[0] * size[1], dtype=torch.float64).reshape(1, 1, *size)
    w = torch.zeros(1, 1, *kernel, dtype=torch.float64)
    w[0, 0, 0, 0] = 1  # out[i, j] = padded[i, j] = x[i - top, j - left]
    out = F.conv2d(x, w, padding="same", dilation=dilation)[0, 0]
    padded = F.pad(x, (geo.padding[2], geo.padding[3], geo.padding[0], geo.padding[1]))[0, 0]
    torch.testing.assert_close(out, padded[: size[0], : size[1]], rtol=0, atol=0)


@given(pairs, pairs, st.tuples(st.integers(1, 3), st.integers(1, 3)))
@settings(max_examples=30, deadline=None)
def test_full_is_effective_kernel_minus_one(kernel, stride, dilation) -> None:
    ek = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    assert rp("full", (3, 3), kernel, stride, dilation) == (
        ek[0] - 1,
        ek[0] - 1,
        ek[1] - 1,
        ek[1] - 1,
    )


def test_full_worked() -> None:
    # k = 3, dilation 2 -> eff 5 -> 4 on each side; output at stride 1 is n + eff - 1
    geo = conv_geometry((3, 3), 3, padding="full", dilation=2)
    assert geo.padding == (4, 4, 4, 4)
    assert geo.output == (3 + 5 - 1, 3 + 5 - 1)


@pytest.mark.parametrize(
    "padding", [-1, [0, -1], [0, 0, 0, -2], "SAME", "half", [1, 2, 3], [1.5, 1], True, 1.0, None]
)
def test_padding_rejects(padding) -> None:
    with pytest.raises(ParamError) as err:
        rp(padding)
    assert err.value.field == "padding"
    assert "padding" in str(err.value)


def test_negative_padding_message() -> None:
    with pytest.raises(ParamError, match=r"padding must be >= 0"):
        conv_geometry((5, 5), 3, padding=-1)


# --- conv_geometry ----------------------------------------------------------------


def test_conv_geometry_worked() -> None:
    # (7 + 1 + 2 - eff 5) // 2 + 1 = 3 rows; (8 + 0 + 0 - 3) // 3 + 1 = 2 cols
    geo = conv_geometry((7, 8), (3, 2), stride=(2, 3), padding=[1, 2, 0, 0], dilation=(2, 2))
    assert geo.effective_kernel == (5, 3)
    assert geo.padded == (10, 8)
    assert geo.output == (3, 2)
    assert geo.as_dict() == {
        "input": [7, 8],
        "padding": [1, 2, 0, 0],
        "kernel": [3, 2],
        "effective_kernel": [5, 3],
        "stride": [2, 3],
        "dilation": [2, 2],
        "output": [3, 2],
        "formula": {
            "general": "out = ⌊(in + pad_before + pad_after − dilation·(kernel − 1) − 1) "
            "/ stride⌋ + 1",
            # (10 - 4 - 1) / 2 = 2.5 -> 2, + 1 = 3;  (8 - 2 - 1) / 3 = 1.67 -> 1, + 1 = 2
            "rows": "⌊(7 + 1 + 2 − 2·(3 − 1) − 1) / 2⌋ + 1 = 3",
            "cols": "⌊(8 + 0 + 0 − 2·(2 − 1) − 1) / 3⌋ + 1 = 2",
        },
    }


@SETTINGS
@given(
    st.tuples(st.integers(1, 9), st.integers(1, 9)),
    pairs,
    pairs,
    st.lists(st.integers(0, 2), min_size=4, max_size=4),
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
)
def test_conv_geometry_matches_torch(size, kernel, stride, padding, dilation) -> None:
    x = torch.zeros(1, 1, *size, dtype=torch.float64)
    x = F.pad(x, (padding[2], padding[3], padding[0], padding[1]))
    w = torch.zeros(1, 1, *kernel, dtype=torch.float64)
    try:
        shape = F.conv2d(x, w, stride=stride, dilation=dilation).shape[-2:]
    except RuntimeError:
        with pytest.raises(ParamError) as err:
            conv_geometry(size, kernel, stride=stride, padding=padding, dilation=dilation)
        assert err.value.field == "kernel"
        assert "larger than the padded input" in str(err.value)
        return
    geo = conv_geometry(size, kernel, stride=stride, padding=padding, dilation=dilation)
    assert geo.output == tuple(shape)


def test_kernel_larger_than_padded_input_message() -> None:
    # 5x5 input + padding 1 = 7x7; 5x5 kernel at dilation 2 spans 9x9
    with pytest.raises(ParamError) as err:
        conv_geometry((5, 5), 5, padding=1, dilation=2)
    assert err.value.field == "kernel"
    assert str(err.value) == "kernel (5x5, dilation 2 -> 9x9) is larger than the padded input (7x7)"
    with pytest.raises(ParamError, match=r"kernel \(4x2\) is larger than the padded input \(3x3\)"):
        conv_geometry((3, 3), (4, 2))
    with pytest.raises(ParamError, match=r"dilation 1x3 -> 3x4.*\(3x3\)"):
        conv_geometry((3, 3), (3, 2), dilation=(1, 3))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"stride": 0}, "stride"),
        ({"stride": [1, 0]}, "stride"),
        ({"stride": -2}, "stride"),
        ({"dilation": 0}, "dilation"),
        ({"kernel_size": 0}, "kernel_size"),
        ({"kernel_size": [3, -1]}, "kernel_size"),
        ({"padding": -1}, "padding"),
    ],
)
def test_conv_geometry_errors(kwargs, field) -> None:
    kw = {"kernel_size": 3, **kwargs}
    with pytest.raises(ParamError) as err:
        conv_geometry((5, 5), kw.pop("kernel_size"), **kw)
    assert err.value.field == field
    assert field in str(err.value)


def test_stride_zero_message() -> None:
    with pytest.raises(ParamError, match=r"stride must be >= 1, got \[0, 0\]"):
        conv_geometry((5, 5), 3, stride=0)


# --- pool_geometry ----------------------------------------------------------------


def test_pool_stride_defaults_to_kernel() -> None:
    geo = pool_geometry((6, 6), (2, 3))
    assert geo.stride == (2, 3)
    assert geo.output == (3, 2)


@pytest.mark.parametrize(
    ("n", "k", "s", "p", "ceil", "expected"),
    [
        # floor((5 - 2) / 2) + 1 = 2; ceil((5 - 2) / 2) + 1 = 3 (last window holds col 4)
        (5, 2, 2, 0, False, 2),
        (5, 2, 2, 0, True, 3),
        # n=6, k=3, s=2, p=1: floor (6+2-3)/2 + 1 = 3; ceil -> 4, start 3*2 - 1 = 5 < 6 + 1 keeps it
        (6, 3, 2, 1, False, 3),
        (6, 3, 2, 1, True, 4),
        # n=5, k=3, s=2, p=1: ceil((5+2-3)/2) + 1 = 3 either way
        (5, 3, 2, 1, True, 3),
        # n=4, k=2, s=3, p=1: ceil((4+2-2)/3) + 1 = 3 but that window would start at
        # 2*3 - 1 = 5 >= 4 + 1 (entirely in the right padding), so ATen drops it -> 2
        (4, 2, 3, 1, True, 2),
        (4, 2, 3, 1, False, 2),
    ],
)
def test_pool_ceil_mode_worked(n, k, s, p, ceil, expected) -> None:
    geo = pool_geometry((n, n), k, stride=s, padding=p, ceil_mode=ceil)
    assert geo.output == (expected, expected)
    torch_out = F.max_pool2d(torch.zeros(1, n, n), k, s, p, ceil_mode=ceil).shape[-1]
    assert torch_out == expected


@SETTINGS
@given(
    st.tuples(st.integers(1, 9), st.integers(1, 9)),
    pairs,
    st.one_of(st.none(), pairs),
    st.tuples(st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
    st.booleans(),
)
def test_pool_geometry_matches_torch(size, kernel, stride, padding, dilation, ceil_mode) -> None:
    kw = {"stride": stride, "padding": padding, "dilation": dilation, "ceil_mode": ceil_mode}
    try:
        shape = F.max_pool2d(torch.zeros(1, *size), kernel, **kw).shape[-2:]
    except RuntimeError:
        with pytest.raises(ParamError):
            pool_geometry(size, kernel, **kw)
        return
    assert pool_geometry(size, kernel, **kw).output == tuple(shape)


def test_pool_padding_at_most_half_the_kernel() -> None:
    assert pool_geometry((5, 5), 3, padding=1).padding == (1, 1, 1, 1)
    assert pool_geometry((5, 5), (2, 4), padding=(1, 2)).padding == (1, 1, 2, 2)
    with pytest.raises(ParamError) as err:
        pool_geometry((5, 5), 3, padding=2)
    assert err.value.field == "padding"
    assert "at most half the kernel size" in str(err.value)
    assert "2x2" in str(err.value) and "3x3" in str(err.value)
    with pytest.raises(ParamError, match="half"):
        pool_geometry((5, 5), (2, 1), padding=(1, 1))  # 1 > 1 // 2 on the cols axis
    with pytest.raises(ParamError):
        pool_geometry((5, 5), 2, padding=[0, 0, 0, 0])  # pooling takes an int or a pair


def test_pool_kernel_larger_than_input() -> None:
    with pytest.raises(ParamError) as err:
        pool_geometry((2, 2), 3)
    assert err.value.field == "kernel"
    assert "(3x3)" in str(err.value) and "(2x2)" in str(err.value)


# --- conv_transpose_geometry ------------------------------------------------------


def test_transpose_geometry_worked() -> None:
    # (in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1
    # rows: (3 - 1) * 2 - 2 * 1 + 2 * (3 - 1) + 1 + 1 = 8
    # cols: (4 - 1) * 1 - 0 + 1 * (2 - 1) + 0 + 1 = 5
    geo = conv_transpose_geometry(
        (3, 4), (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0), dilation=(2, 1)
    )
    assert geo.output == (8, 5)
    assert geo.padding == (1, 1, 0, 0)
    assert geo.effective_kernel == (5, 2)


@SETTINGS
@given(
    st.tuples(st.integers(1, 5), st.integers(1, 5)),
    pairs,
    pairs,
    st.tuples(st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
)
def test_transpose_geometry_matches_torch(
    size, kernel, stride, padding, output_padding, dilation
) -> None:
    kw = {
        "stride": stride,
        "padding": padding,
        "output_padding": output_padding,
        "dilation": dilation,
    }
    x = torch.zeros(1, 1, *size, dtype=torch.float64)
    w = torch.zeros(1, 1, *kernel, dtype=torch.float64)
    try:
        shape = F.conv_transpose2d(x, w, **kw).shape[-2:]
    except RuntimeError:
        with pytest.raises(ParamError):
            conv_transpose_geometry(size, kernel, **kw)
        return
    assert conv_transpose_geometry(size, kernel, **kw).output == tuple(shape)


def test_output_padding_rules() -> None:
    # allowed when smaller than the stride or than the dilation
    assert conv_transpose_geometry((3, 3), 3, stride=2, output_padding=1).output == (8, 8)
    assert conv_transpose_geometry((3, 3), 3, stride=1, dilation=2, output_padding=1).output == (
        8,
        8,
    )
    with pytest.raises(ParamError) as err:
        conv_transpose_geometry((3, 3), 3, stride=2, output_padding=2)  # >= stride 2, >= dilation 1
    assert err.value.field == "output_padding"
    assert "smaller than either stride" in str(err.value)
    with pytest.raises(ParamError, match="output_padding"):
        conv_transpose_geometry((3, 3), 3, stride=(2, 1), output_padding=(1, 1))
    with pytest.raises(ParamError, match="output_padding"):
        conv_transpose_geometry((3, 3), 3, output_padding=-1)


def test_transpose_padding_cropping_everything() -> None:
    # (1 - 1) * 1 - 2 * 1 + 1 = -1
    with pytest.raises(ParamError) as err:
        conv_transpose_geometry((1, 1), 1, padding=1)
    assert err.value.field == "padding"
    with pytest.raises(ParamError):
        conv_transpose_geometry((3, 3), 3, padding=[0, 0, 0, 0])


# --- receptive_fields -------------------------------------------------------------


def test_receptive_fields_worked() -> None:
    # n=4, k=3, s=2, p=1: output 2; output row i reads i*2 - 1 + (0, 1, 2)
    geo = conv_geometry((4, 4), 3, stride=2, padding=1)
    fields = receptive_fields(geo)
    assert fields["rows"] == [[-1, 0, 1], [1, 2, 3]]
    assert fields["cols"] == [[-1, 0, 1], [1, 2, 3]]
    # dilation 2 on 5 cols, k=2: out 3 cols reading (j, j + 2)
    geo = conv_geometry((1, 5), (1, 2), dilation=2)
    assert receptive_fields(geo)["cols"] == [[0, 2], [1, 3], [2, 4]]
    # transposed, 2 -> 4 at stride 2, k 2: output col c is fed by input c // 2
    geo = conv_transpose_geometry((2, 2), 2, stride=2)
    assert receptive_fields(geo, transposed=True)["cols"] == [[0], [0], [1], [1]]


def _influence(fn, size) -> np.ndarray:
    """(H', W', H, W) booleans: which input cells each output cell depends on.

    One batched call on every one-hot input: with all-ones weights, one-hot (r, c)
    lands (nonzero) exactly on the outputs that read it.
    """
    n = size[0] * size[1]
    x = torch.eye(n, dtype=torch.float64).reshape(n, 1, *size)
    out = fn(x)[:, 0]  # (H*W, H', W')
    return (out != 0).permute(1, 2, 0).reshape(*out.shape[1:], *size).numpy()


@settings(max_examples=40, deadline=None)
@given(
    st.tuples(st.integers(1, 6), st.integers(1, 6)),
    pairs,
    pairs,
    st.tuples(st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.integers(1, 2), st.integers(1, 2)),
)
def test_receptive_fields_are_what_torch_reads(size, kernel, stride, padding, dilation) -> None:
    # with all-ones weights, output (i, j) has a nonzero gradient exactly on the input
    # cells in its window: rows[i] x cols[j], restricted to the input
    try:
        geo = conv_geometry(size, kernel, stride=stride, padding=padding, dilation=dilation)
    except ParamError:
        return
    fields = receptive_fields(geo)
    w = torch.ones(1, 1, *kernel, dtype=torch.float64)
    deps = _influence(
        lambda x: F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation), size
    )
    assert deps.shape[:2] == geo.output
    for i in range(geo.output[0]):
        for j in range(geo.output[1]):
            expected = np.zeros(size, dtype=bool)
            for r in fields["rows"][i]:
                for c in fields["cols"][j]:
                    if 0 <= r < size[0] and 0 <= c < size[1]:
                        expected[r, c] = True
            np.testing.assert_array_equal(deps[i, j], expected)


@settings(max_examples=30, deadline=None)
@given(
    st.tuples(st.integers(1, 4), st.integers(1, 4)),
    pairs,
    pairs,
    st.tuples(st.integers(0, 1), st.integers(0, 1)),
    st.tuples(st.integers(1, 2), st.integers(1, 2)),
)
def test_transposed_receptive_fields_are_what_torch_reads(
    size, kernel, stride, padding, dilation
) -> None:
    try:
        geo = conv_transpose_geometry(
            size, kernel, stride=stride, padding=padding, dilation=dilation
        )
    except ParamError:
        return
    fields = receptive_fields(geo, transposed=True)
    w = torch.ones(1, 1, *kernel, dtype=torch.float64)
    deps = _influence(
        lambda x: F.conv_transpose2d(x, w, stride=stride, padding=padding, dilation=dilation),
        size,
    )
    assert deps.shape[:2] == geo.output
    for i in range(geo.output[0]):
        for j in range(geo.output[1]):
            expected = np.zeros(size, dtype=bool)
            for r in fields["rows"][i]:
                for c in fields["cols"][j]:
                    expected[r, c] = True
            np.testing.assert_array_equal(deps[i, j], expected)
