"""``pad``: the four modes worked by hand, against ``F.pad``, and torch's limits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.padding import check_padding_mode, pad
from app.errors import ParamError

# tiny tensors: with several threads, torch's hand-offs cost far more than the maths
torch.set_num_threads(1)

TORCH_MODE = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "replicate",
    "circular": "circular",
}
ROW = np.array([[[1.0, 2.0, 3.0, 4.0]]])  # a b c d


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("zeros", [0, 0, 1, 2, 3, 4, 0, 0]),
        ("reflect", [3, 2, 1, 2, 3, 4, 3, 2]),  # c b | a b c d | c b
        ("replicate", [1, 1, 1, 2, 3, 4, 4, 4]),  # a a | a b c d | d d
        ("circular", [3, 4, 1, 2, 3, 4, 1, 2]),  # c d | a b c d | a b
    ],
)
def test_modes_on_a_row(mode, expected) -> None:
    np.testing.assert_array_equal(pad(ROW, (0, 0, 2, 2), mode), [[expected]])


def test_asymmetric_sides_and_2d() -> None:
    x = np.arange(1.0, 7.0).reshape(1, 2, 3)  # [[1,2,3],[4,5,6]]
    # top 1, bottom 0, left 0, right 2, circular: the row above is the last row; right wraps
    np.testing.assert_array_equal(
        pad(x, (1, 0, 0, 2), "circular")[0],
        [[4, 5, 6, 4, 5], [1, 2, 3, 1, 2], [4, 5, 6, 4, 5]],
    )
    # replicate corners take the corner value
    np.testing.assert_array_equal(
        pad(x, (1, 1, 1, 1), "replicate")[0],
        [[1, 1, 2, 3, 3], [1, 1, 2, 3, 3], [4, 4, 5, 6, 6], [4, 4, 5, 6, 6]],
    )
    # reflect by 1 on 2 rows: the row mirrored about the edge is the other row
    np.testing.assert_array_equal(
        pad(x, (1, 1, 0, 0), "reflect")[0], [[4, 5, 6], [1, 2, 3], [4, 5, 6], [1, 2, 3]]
    )


def test_zero_padding_is_a_no_op_and_keeps_dtype() -> None:
    x = np.ones((2, 3, 3), dtype=np.float32)
    assert pad(x, (0, 0, 0, 0), "reflect") is x
    assert pad(x, (1, 1, 1, 1), "reflect").dtype == np.float32
    assert pad(x[None], (1, 0, 1, 0)).shape == (1, 2, 4, 4)


@st.composite
def pad_cases(draw):
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    widths = draw(st.lists(st.integers(0, 6), min_size=4, max_size=4))
    mode = draw(st.sampled_from(list(TORCH_MODE)))
    batch = draw(st.sampled_from([(), (2,)]))
    return (
        np.random.default_rng(draw(st.integers(0, 2**32 - 1))).standard_normal((*batch, 2, h, w)),
        tuple(widths),
        mode,
    )


@settings(max_examples=100, deadline=None)
@given(pad_cases())
def test_matches_torch_pad(case) -> None:
    x, (top, bottom, left, right), mode = case
    try:
        expected = F.pad(
            torch.from_numpy(x.copy()), (left, right, top, bottom), mode=TORCH_MODE[mode]
        )
    except RuntimeError:
        # torch refuses reflect >= size and circular > size; so do we, naming the side
        with pytest.raises(ParamError) as err:
            pad(x, (top, bottom, left, right), mode)
        assert err.value.field == "padding"
        assert mode in str(err.value)
        return
    np.testing.assert_array_equal(pad(x, (top, bottom, left, right), mode), expected.numpy())


def test_reflect_limit() -> None:
    # reflect needs pad < size: 3 on a 4-wide row is fine, 4 is not
    assert pad(ROW, (0, 0, 3, 3), "reflect").shape == (1, 1, 10)
    with pytest.raises(ParamError) as err:
        pad(ROW, (0, 0, 4, 0), "reflect")
    assert str(err.value) == (
        "reflect padding (left 4) must be smaller than the input size on that axis (4)"
    )
    # one row: any vertical reflect padding is too much
    with pytest.raises(ParamError, match=r"reflect padding \(top 1\).*\(1\)"):
        pad(ROW, (1, 0, 0, 0), "reflect")


def test_circular_limit() -> None:
    # circular allows pad == size (one full wrap), not more
    np.testing.assert_array_equal(pad(ROW, (0, 0, 4, 0), "circular"), [[[1, 2, 3, 4, 1, 2, 3, 4]]])
    with pytest.raises(ParamError) as err:
        pad(ROW, (0, 0, 0, 5), "circular")
    assert (
        str(err.value)
        == "circular padding (right 5) must be at most the input size on that axis (4)"
    )


def test_replicate_and_zeros_have_no_limit() -> None:
    np.testing.assert_array_equal(pad(ROW, (0, 0, 6, 0), "replicate"), [[[1] * 7 + [2, 3, 4]]])
    assert pad(ROW, (9, 9, 9, 9), "zeros").shape == (1, 19, 22)


def test_unknown_mode() -> None:
    with pytest.raises(ParamError) as err:
        check_padding_mode("constant", (0, 0, 0, 0), (3, 3))
    assert err.value.field == "padding_mode"
    assert "'zeros'" in str(err.value) and "'constant'" in str(err.value)
