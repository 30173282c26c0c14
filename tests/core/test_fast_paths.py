"""The fast paths of conv2d and pooling equal the loop references on random small shapes.

Every strategy of ``app.core.conv._correlate`` is also forced directly, and the block
sizes are shrunk at times so that chunking, tiling and the last short block all run.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import conv as conv_mod
from app.core import pool as pool_mod
from app.core.conv import _STRATEGIES, _choose_strategy, _correlate, conv2d, conv2d_geometry
from app.core.pool import avg_pool2d, max_pool2d
from app.core.reference import (
    avg_pool2d_reference,
    conv2d_reference,
    max_pool2d_reference,
)
from app.errors import ParamError

SETTINGS = settings(max_examples=60, deadline=None)
DTYPES = st.sampled_from([np.float32, np.float64])
MODES = st.sampled_from(["zeros", "reflect", "replicate", "circular"])


def tiny_blocks(enabled: bool) -> ExitStack:
    """Shrink every block size so that chunks, tiles and short last blocks all run."""
    stack = ExitStack()
    if enabled:
        for module, name, value in (
            (conv_mod, "_BLOCK_BYTES", 64),
            (conv_mod, "_IM2COL_BYTES", 64),
            (conv_mod, "_IM2COL_MIN_COLS", 8),
            (conv_mod, "_BAND_ROWS", 3),
            (conv_mod, "_GRID_BYTES", 64),
            (pool_mod, "_BLOCK_BYTES", 48),
        ):
            stack.enter_context(mock.patch.object(module, name, value))
    return stack


def close(actual: np.ndarray, expected: np.ndarray, dtype: Any, scale: float) -> None:
    assert actual.dtype == dtype
    assert actual.shape == expected.shape
    tol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * max(scale, 1.0))


@st.composite
def conv_args(
    draw: st.DrawFn, *, one_filter: bool = False, plain: bool = False, unit_stride: bool = False
) -> dict:
    """Shapes and hyperparameters for which conv2d is valid in every padding mode."""
    groups = draw(st.integers(1, 3))
    cg = draw(st.integers(1, 3))
    og = 1 if one_filter else draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride = (1, 1) if plain else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (1, 1) if plain else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    if unit_stride:
        stride = (1, 1)
    ekh, ekw = (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1
    h = draw(st.integers(max(ekh, 2), ekh + 9))
    w = draw(st.integers(max(ekw, 2), ekw + 9))
    small = st.integers(0, min(2, h - 1, w - 1))  # reflect needs padding < size
    padding = draw(
        st.one_of(
            small,
            st.tuples(small, small).map(list),
            st.tuples(small, small, small, small).map(list),
            st.sampled_from(["valid", "same", "full"]),
        )
    )
    batch = draw(st.sampled_from([None, 1, 2]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    dtype = draw(DTYPES)
    shape = (groups * cg, h, w) if batch is None else (batch, groups * cg, h, w)
    x = rng.standard_normal(shape).astype(dtype)
    weight = rng.standard_normal((groups * og, cg, kh, kw)).astype(dtype)
    bias_kind = draw(st.sampled_from([None, "vector", 0.5]))
    bias: Any = bias_kind
    if bias_kind == "vector":
        bias = rng.standard_normal(groups * og).astype(dtype)
    return {
        "x": x,
        "w": weight,
        "bias": bias,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
        "padding_mode": draw(MODES),
        "tiny": draw(st.booleans()),
    }


def _scale(a: dict) -> float:
    return float(np.abs(a["x"]).max() * np.abs(a["w"]).sum(axis=(1, 2, 3)).max() + 1.0)


def _reference(a: dict) -> np.ndarray:
    return conv2d_reference(
        a["x"],
        a["w"],
        a["bias"],
        stride=a["stride"],
        padding=a["padding"],
        dilation=a["dilation"],
        groups=a["groups"],
        padding_mode=a["padding_mode"],
    )


@SETTINGS
@given(conv_args())
def test_conv2d_equals_reference(a: dict) -> None:
    with tiny_blocks(a["tiny"]):
        out = conv2d(
            a["x"],
            a["w"],
            a["bias"],
            stride=a["stride"],
            padding=a["padding"],
            dilation=a["dilation"],
            groups=a["groups"],
            padding_mode=a["padding_mode"],
        )
    close(out, _reference(a), a["x"].dtype, _scale(a))


def _forced(a: dict, strategy: str) -> np.ndarray:
    x = a["x"] if a["x"].ndim == 4 else a["x"][None]
    geo = conv2d_geometry(
        x.shape, a["w"].shape, **{k: a[k] for k in ("stride", "padding", "dilation")}
    )
    with tiny_blocks(a["tiny"]):
        out = _correlate(x, a["w"], geo, a["groups"], a["padding_mode"], strategy)
    assert out.dtype == x.dtype
    if a["bias"] is not None:
        out = out + np.broadcast_to(np.asarray(a["bias"], x.dtype), (a["w"].shape[0],))[
            None, :, None, None
        ].astype(x.dtype)
    return out if a["x"].ndim == 4 else out[0]


@pytest.mark.parametrize("strategy", ["taps", "im2col", "einsum"])
@SETTINGS
@given(a=conv_args())
def test_general_strategies_equal_reference(strategy: str, a: dict) -> None:
    close(_forced(a, strategy), _reference(a), a["x"].dtype, _scale(a))


@SETTINGS
@given(a=conv_args(unit_stride=True))
def test_grid_strategy_equals_reference(a: dict) -> None:
    close(_forced(a, "grid"), _reference(a), a["x"].dtype, _scale(a))


@pytest.mark.parametrize("strategy", ["shift", "banded"])
@SETTINGS
@given(a=conv_args(one_filter=True))
def test_one_filter_strategies_equal_reference(strategy: str, a: dict) -> None:
    close(_forced(a, strategy), _reference(a), a["x"].dtype, _scale(a))


@SETTINGS
@given(a=conv_args(one_filter=True, plain=True))
def test_fft_strategy_equals_reference(a: dict) -> None:
    # the FFT's rounding grows with the image, not the cell: compare against the scale
    out, ref = _forced(a, "fft"), _reference(a)
    assert out.dtype == a["x"].dtype and out.shape == ref.shape
    eps = np.finfo(a["x"].dtype).eps
    np.testing.assert_allclose(out, ref, rtol=0, atol=100 * eps * _scale(a))


@pytest.mark.parametrize("per_chunk", [1, 2, 3, 7])
@pytest.mark.parametrize(("padding", "mode"), [(0, "zeros"), (1, "zeros"), (1, "reflect")])
def test_im2col_chunks_of_whole_images_equal_reference(
    per_chunk: int, padding: int, mode: str
) -> None:
    """A batch of 7 small images, im2col'd ``per_chunk`` whole images at a time (the last
    chunk short), in two groups of 3 filters: the loop reference's numbers."""
    rng = np.random.default_rng(per_chunk)
    x = rng.normal(size=(7, 4, 6, 5)).astype(np.float32)
    w = rng.normal(size=(6, 2, 3, 3)).astype(np.float32)
    geo = conv2d_geometry(x.shape, w.shape, padding=padding)
    ho, wo = geo.output
    with (
        mock.patch.object(conv_mod, "_IM2COL_MIN_COLS", per_chunk * ho * wo),
        mock.patch.object(conv_mod, "_IM2COL_BYTES", 1),
    ):
        out = _correlate(x, w, geo, 2, mode, "im2col")
    ref = conv2d_reference(x, w, None, padding=padding, groups=2, padding_mode=mode)
    close(out, ref, np.float32, float(np.abs(x).max() * np.abs(w).sum(axis=(1, 2, 3)).max()))


def _probe(
    shape: tuple[int, ...], weight: tuple[int, ...], dtype: Any = np.float32, **kw: Any
) -> str:
    groups = kw.pop("groups", 1)
    geo = conv2d_geometry(shape, weight, **kw)
    x = np.empty(shape, dtype=dtype)
    return _choose_strategy(x, np.empty(weight, dtype=dtype), geo, groups)


def test_strategy_choice_per_case() -> None:
    gray, rgb = (1, 1, 512, 512), (1, 3, 512, 512)
    assert _probe(gray, (1, 1, 3, 3), np.float64, padding=1) == "taps"
    assert _probe((1, 1, 8, 8), (1, 1, 3, 3), padding=1) == "taps"
    assert _probe(gray, (1, 1, 3, 3), padding=1) == "grid"
    assert _probe(gray, (1, 1, 3, 3), padding=1, stride=2) == "shift"
    assert _probe(gray, (1, 1, 3, 2), padding=1) == "grid"
    assert _probe((1, 3, 512, 512), (3, 1, 3, 3), padding=1, groups=3) == "grid"
    assert _probe((1, 3, 512, 512), (3, 1, 3, 3), padding=1, groups=3, stride=2) == "shift"
    assert _probe(rgb, (1, 3, 3, 3), padding=1) == "grid"
    assert _probe(rgb, (1, 3, 3, 3), padding=1, stride=2) == "banded"
    assert _probe(gray, (1, 1, 4, 4), padding=2) == "banded"
    assert _probe(gray, (1, 1, 5, 5), padding=2) == "banded"
    assert _probe(gray, (1, 1, 7, 7), padding=3) == "banded"
    assert _probe(gray, (1, 1, 11, 11), padding=5) == "banded"
    assert _probe(gray, (1, 1, 11, 11), padding=5, stride=2) == "banded"
    assert _probe(rgb, (8, 3, 3, 3), padding=1) == "grid"
    assert _probe(rgb, (8, 3, 3, 3), padding=1, stride=2) == "im2col"
    assert _probe((1, 3, 4096, 4096), (8, 3, 3, 3), padding=1) == "im2col"  # over 64 MB
    assert _probe((32, 8, 28, 28), (16, 8, 3, 3), padding=1) == "grid"
    assert _probe(gray, (1, 1, 21, 21), padding=10) == "fft"
    assert _probe(gray, (1, 1, 21, 21), padding=10, stride=2) == "banded"
    assert _probe(gray, (1, 1, 11, 11), padding=5, dilation=2) == "banded"
    assert _probe(gray, (1, 1, 3, 3), padding=2, dilation=2) == "einsum"
    assert _probe(rgb, (8, 3, 3, 3), padding=2, dilation=2) == "einsum"
    assert _probe((1, 1, 2048, 2048), (1, 1, 21, 21), padding=10) == "banded"
    assert set(_STRATEGIES) == {"taps", "shift", "banded", "im2col", "grid", "einsum", "fft"}


def test_large_float32_image_stays_float32_and_close() -> None:
    rng = np.random.default_rng(7)
    x = rng.random((1, 3, 40, 300), dtype=np.float32)
    for o, k in ((1, 3), (1, 5), (4, 3), (1, 9), (1, 11)):
        w = rng.standard_normal((o, 3, k, k)).astype(np.float32)
        out = conv2d(x, w, padding=k // 2, padding_mode="reflect")
        ref = conv2d(
            x.astype(np.float64), w.astype(np.float64), padding=k // 2, padding_mode="reflect"
        )
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-4 * np.abs(ref).max())


# --- pooling ----------------------------------------------------------------------------


@st.composite
def pool_args(draw: st.DrawFn) -> dict:
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h = draw(st.integers((kh - 1) * dilation[0] + 1, 14))
    w = draw(st.integers((kw - 1) * dilation[1] + 1, 14))
    batch = draw(st.sampled_from([None, 2]))
    channels = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (channels, h, w) if batch is None else (batch, channels, h, w)
    # small integers make ties common, so the first-maximum rule is exercised
    x = rng.integers(-3, 4, size=shape).astype(draw(DTYPES))
    return {
        "x": x,
        "kernel": (kh, kw),
        "stride": stride if stride is None else list(stride),
        "padding": list(padding),
        "dilation": list(dilation),
        "ceil_mode": draw(st.booleans()),
        "count_include_pad": draw(st.booleans()),
        "tiny": draw(st.booleans()),
    }


def _planes(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, *x.shape[-2:])


@SETTINGS
@given(pool_args())
def test_max_pool_equals_reference(a: dict) -> None:
    common = {k: a[k] for k in ("stride", "padding", "dilation", "ceil_mode")}
    ref, ref_idx = max_pool2d_reference(_planes(a["x"]), a["kernel"], **common)
    if np.isneginf(ref).any():  # a window of padding only: refused
        with pytest.raises(ParamError):
            max_pool2d(a["x"], a["kernel"], **common)
        return
    with tiny_blocks(a["tiny"]):
        out = max_pool2d(a["x"], a["kernel"], **common)
        values, idx = max_pool2d(a["x"], a["kernel"], return_indices=True, **common)
    assert isinstance(out, np.ndarray) and out.dtype == a["x"].dtype
    shape = a["x"].shape[:-2] + ref.shape[-2:]
    np.testing.assert_array_equal(out, ref.reshape(shape))
    np.testing.assert_array_equal(values, ref.reshape(shape))
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, ref_idx.reshape(shape))


@SETTINGS
@given(pool_args())
def test_avg_pool_equals_reference(a: dict) -> None:
    common = {k: a[k] for k in ("stride", "padding", "ceil_mode", "count_include_pad")}
    ref = avg_pool2d_reference(_planes(a["x"]), a["kernel"], **common)
    with tiny_blocks(a["tiny"]):
        out = avg_pool2d(a["x"], a["kernel"], **common)
    dtype = a["x"].dtype
    assert out.dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(out, ref.reshape(out.shape), rtol=tol, atol=tol)


def test_max_pool_ties_pick_first_in_window_order() -> None:
    x = np.zeros((1, 4, 4), dtype=np.float32)
    x[0, 1, 1] = x[0, 1, 0] = x[0, 0, 1] = 5.0
    values, idx = max_pool2d(x, 2, return_indices=True)
    assert values[0, 0, 0] == 5.0
    assert idx[0, 0, 0] == 1  # (0, 1) comes first in row-major window order
    assert idx[0, 1, 1] == 10  # all zeros: the window's first cell (2, 2)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_inputs_with_one_non_finite_value_are_rejected(bad: float, dtype: Any) -> None:
    """Above the BLAS screening size, one bad value anywhere is still found."""
    for where in [(0, 0, 0), (2, 77, 130), (-1, -1, -1)]:
        x = np.ones((3, 128, 131), dtype=dtype)
        x[where] = bad
        with pytest.raises(ParamError, match="finite"):
            max_pool2d(x, 2)
        with pytest.raises(ParamError, match="finite"):
            conv2d(x, np.ones((1, 3, 3, 3), dtype=dtype))


def test_large_finite_values_whose_row_sums_overflow_are_accepted() -> None:
    """Row sums of float32 values near the maximum overflow to infinity; the values are
    finite all the same, so conv2d answers (max pooling keeps them as they are)."""
    x = np.full((1, 128, 256), 3e38, dtype=np.float32)
    x[0, 5, 7] = -3e38
    out = max_pool2d(x, 2)
    assert isinstance(out, np.ndarray)
    assert out.shape == (1, 64, 128)
    assert out[0, 2, 3] == np.float32(3e38)
    assert np.isfinite(out).all()
