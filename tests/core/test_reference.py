"""The loop references' own building blocks (their results vs torch are in test_vs_torch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from app.core.reference import (
    conv2d_reference,
    max_pool2d_reference,
    padded_index,
)

# tiny tensors: with several threads, torch's hand-offs cost far more than the maths
torch.set_num_threads(1)

TORCH_MODE = {"reflect": "reflect", "replicate": "replicate", "circular": "circular"}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # n = 4 (a b c d = 0 1 2 3), coordinates -2 .. 5
        ("reflect", [2, 1, 0, 1, 2, 3, 2, 1]),
        ("replicate", [0, 0, 0, 1, 2, 3, 3, 3]),
        ("circular", [2, 3, 0, 1, 2, 3, 0, 1]),
        ("zeros", [None, None, 0, 1, 2, 3, None, None]),
    ],
)
def test_padded_index_worked(mode, expected) -> None:
    assert [padded_index(i, 4, mode) for i in range(-2, 6)] == expected


@pytest.mark.parametrize("mode", list(TORCH_MODE))
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_padded_index_matches_torch_pad(mode, n) -> None:
    # pad an arange by the most torch allows and read back which index each cell copies
    p = n - 1 if mode == "reflect" else n
    row = torch.arange(float(n), dtype=torch.float64).reshape(1, 1, n)
    padded = F.pad(row, (p, p), mode=TORCH_MODE[mode])[0, 0].tolist()
    assert [padded_index(i, n, mode) for i in range(-p, n + p)] == [int(v) for v in padded]


def test_padded_index_unknown_mode() -> None:
    with pytest.raises(ValueError, match="unknown padding_mode"):
        padded_index(-1, 3, "mirror")


def test_max_reference_marks_windows_over_only_padding() -> None:
    # 1 col, kernel (1, 2), dilation 2, padding (0, 1): taps at cols -1 and 1, both outside
    out, idx = max_pool2d_reference(np.ones((1, 1, 1)), (1, 2), padding=(0, 1), dilation=2)
    assert np.isneginf(out).all()
    assert (idx == -1).all()


def test_conv_reference_accepts_lists_and_returns_float64() -> None:
    out = conv2d_reference([[[0, 1, 2], [3, 4, 5], [6, 7, 8]]], [[[[0, 1], [2, 3]]]], bias=1)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[[20, 26], [38, 44]]])
