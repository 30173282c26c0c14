"""``pad_rows``: any block of rows of the padded input, equal to the same rows of ``F.pad``."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.padding import pad_rows, source_index

torch.set_num_threads(1)

TORCH_MODE = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "replicate",
    "circular": "circular",
}


def test_source_index_by_hand() -> None:
    # one row a b c d (indices 0..3) padded by 2 on each side
    assert source_index(4, 2, 2, "zeros").tolist() == [-1, -1, 0, 1, 2, 3, -1, -1]
    assert source_index(4, 2, 2, "reflect").tolist() == [2, 1, 0, 1, 2, 3, 2, 1]
    assert source_index(4, 2, 2, "replicate").tolist() == [0, 0, 0, 1, 2, 3, 3, 3]
    assert source_index(4, 2, 2, "circular").tolist() == [2, 3, 0, 1, 2, 3, 0, 1]


@st.composite
def blocks(draw: st.DrawFn) -> tuple:
    mode = draw(st.sampled_from(list(TORCH_MODE)))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    limit = {"reflect": (h - 1, w - 1), "circular": (h, w)}.get(mode, (3, 3))
    top, bottom = (draw(st.integers(0, min(3, limit[0]))) for _ in range(2))
    left, right = (draw(st.integers(0, min(3, limit[1]))) for _ in range(2))
    height = h + top + bottom
    start = draw(st.integers(0, height - 1))
    rows = draw(st.integers(1, height - start))
    channels = draw(st.integers(1, 3))
    x = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).standard_normal((channels, h, w))
    return x, (top, bottom, left, right), mode, start, rows


@settings(max_examples=200, deadline=None)
@given(blocks())
def test_rows_equal_torch_pad(case: tuple) -> None:
    x, (top, bottom, left, right), mode, start, rows = case
    expected = F.pad(torch.from_numpy(x)[None], (left, right, top, bottom), mode=TORCH_MODE[mode])
    out = np.full((x.shape[0], rows, x.shape[2] + left + right), np.nan)  # NaN: any cell missed
    assert pad_rows(x, (top, bottom, left, right), mode, start, out) is out
    np.testing.assert_array_equal(out, expected[0, :, start : start + rows].numpy())


def test_zeros_fill_value_and_the_input_untouched() -> None:
    x = np.arange(6.0).reshape(1, 2, 3)
    out = np.empty((1, 3, 5))
    pad_rows(x, (1, 1, 1, 1), "zeros", 1, out, value=-np.inf)
    ninf = -np.inf
    assert out.tolist() == [[[ninf, 0, 1, 2, ninf], [ninf, 3, 4, 5, ninf], [ninf] * 5]]
    assert x.tolist() == [[[0, 1, 2], [3, 4, 5]]]
