"""The preset kernels docs/api.md lists: present, described, and doing what they say."""

from __future__ import annotations

import numpy as np
import pytest

from app.core import PRESETS, conv2d
from tests.spec import REQUIRED_PRESETS

REQUIRED = REQUIRED_PRESETS
BLURS = ["box_blur", "gaussian_blur_3x3", "gaussian_blur_5x5"]
EDGES = [
    "outline",
    "sobel_x",
    "sobel_y",
    "prewitt_x",
    "prewitt_y",
    "scharr_x",
    "scharr_y",
    "horizontal_edge",
]


@pytest.mark.parametrize("name", REQUIRED)
def test_preset_exists_and_is_described(name) -> None:
    preset = PRESETS[name]
    assert preset.name == name
    assert preset.label.strip()
    assert len(preset.description) > 20
    values = preset.array()
    assert values.ndim == 2 and values.shape[0] == values.shape[1] and values.shape[0] % 2 == 1
    assert np.isfinite(values).all()
    d = preset.as_dict()
    assert set(d) == {"name", "label", "description", "values"}
    assert d["values"] == values.tolist()


def test_every_preset_is_well_formed() -> None:
    for key, preset in PRESETS.items():
        assert key == preset.name
        rows = preset.values
        assert all(len(r) == len(rows[0]) for r in rows)


@pytest.mark.parametrize("name", BLURS)
def test_blurs_sum_to_one_and_are_non_negative(name) -> None:
    values = PRESETS[name].array()
    assert values.sum() == pytest.approx(1.0, abs=1e-12)
    assert (values >= 0).all()


@pytest.mark.parametrize("name", EDGES)
def test_edge_kernels_sum_to_zero(name) -> None:
    # a flat image gives 0: the kernel's weights cancel
    assert PRESETS[name].array().sum() == pytest.approx(0.0, abs=1e-12)


def test_exact_values() -> None:
    assert PRESETS["horizontal_edge"].array().tolist() == [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]
    assert PRESETS["identity"].array().tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert PRESETS["sobel_x"].array().tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert PRESETS["gaussian_blur_5x5"].array().shape == (5, 5)
    assert PRESETS["gaussian_blur_5x5"].array()[2, 2] == 36 / 256
    for name in ("sharpen", "emboss"):  # keep the overall brightness
        assert PRESETS[name].array().sum() == pytest.approx(1.0)


def _apply(name: str, image: np.ndarray) -> np.ndarray:
    return conv2d(image[None], PRESETS[name].array()[None, None])[0]


def test_identity_copies_and_directional_kernels_respond_as_described() -> None:
    image = np.random.default_rng(0).standard_normal((7, 7))
    np.testing.assert_array_equal(_apply("identity", image), image[1:-1, 1:-1])
    # brightness rising to the right: "x" kernels positive, "y" kernels zero
    ramp_right = np.tile(np.arange(7.0), (7, 1))
    ramp_down = ramp_right.T
    for axis in ("x", "y"):
        for family in ("sobel", "prewitt", "scharr"):
            along = _apply(f"{family}_{axis}", ramp_right if axis == "x" else ramp_down)
            across = _apply(f"{family}_{axis}", ramp_down if axis == "x" else ramp_right)
            assert (along > 0).all()
            np.testing.assert_array_equal(across, 0)
    # a bright band above a dark one: the horizontal-edge filter is positive
    assert (_apply("horizontal_edge", -ramp_down) > 0).all()
    # a flat image: blurs keep it, outline gives zero
    flat = np.full((7, 7), 3.0)
    for name in BLURS:
        np.testing.assert_allclose(_apply(name, flat), 3.0, rtol=1e-12)
    np.testing.assert_array_equal(_apply("outline", flat), 0)
