"""app.render: colormaps, ranges and the PNGs they make."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from app.render import (
    COLORMAP_ANCHORS,
    ColormapName,
    colorize,
    colormap_lut,
    render_map,
    render_png,
)

PREFIX = "data:image/png;base64,"
WHITE = [255, 255, 255]


def pixels_of(result: dict[str, object]) -> np.ndarray:
    url = result["data_url"]
    assert isinstance(url, str)
    assert url.startswith(PREFIX)
    image = Image.open(io.BytesIO(base64.b64decode(url[len(PREFIX) :])))
    return np.asarray(image.convert("RGB") if image.mode == "P" else image)


# --- lookup tables -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["gray", "diverging"])
def test_luts_are_256_rgb_entries_through_their_anchors(name: ColormapName) -> None:
    lut = colormap_lut(name)
    assert lut.shape == (256, 3)
    assert lut.dtype == np.uint8
    first, last = COLORMAP_ANCHORS[name][0], COLORMAP_ANCHORS[name][-1]
    assert lut[0].tolist() == list(first[1])
    assert lut[255].tolist() == list(last[1])
    lut[0] = 7  # a copy: the cached table stays intact
    assert colormap_lut(name)[0].tolist() == list(first[1])


def test_gray_lut_is_the_identity() -> None:
    np.testing.assert_array_equal(
        colormap_lut("gray"), np.repeat(np.arange(256), 3).reshape(256, 3)
    )


def test_diverging_lut_is_blue_white_red_and_centred() -> None:
    lut = colormap_lut("diverging").astype(int)
    assert lut[127].tolist() == WHITE
    assert lut[128].tolist() == WHITE
    assert lut[0, 2] > lut[0, 0]  # negative end is blue
    assert lut[255, 0] > lut[255, 2]  # positive end is red
    # Lightness falls away from the centre on both sides.
    brightness = lut.sum(axis=1)
    assert np.all(np.diff(brightness[:128]) >= 0)
    assert np.all(np.diff(brightness[128:]) <= 0)


def test_unknown_colormap() -> None:
    with pytest.raises(ValueError, match="unknown colormap"):
        colormap_lut("jet")  # type: ignore[arg-type]


# --- ranges ------------------------------------------------------------------------


def test_signed_map_is_diverging_with_a_symmetric_range() -> None:
    values = np.array([[-0.5, 0.0], [1.0, 2.0]], dtype=np.float32)
    result = render_map(values, kind="diverging")
    assert result["colormap"] == "diverging"
    assert result["vmin"] == -2.0
    assert result["vmax"] == 2.0
    assert result["vmin"] == -result["vmax"]
    assert result["shape"] == [2, 2]
    px = pixels_of(result)
    assert px.shape == (2, 2, 3)
    assert px[0, 1].tolist() == WHITE  # zero is white
    assert px[1, 1].tolist() == colormap_lut("diverging")[255].tolist()  # +max: darkest red
    assert px[0, 0, 2] > px[0, 0, 0]  # negative: blue, visible, not clamped to black
    assert px[0, 0].sum() > 300


def test_symmetric_range_follows_the_larger_negative() -> None:
    result = render_map(np.array([[-3.0, 1.0]]), kind="diverging")
    assert (result["vmin"], result["vmax"]) == (-3.0, 3.0)
    px = pixels_of(result)
    assert px[0, 0].tolist() == colormap_lut("diverging")[0].tolist()


def test_negative_only_map_is_diverging() -> None:
    result = render_map(np.full((3, 3), -0.25), kind="diverging")
    assert result["colormap"] == "diverging"
    assert (result["vmin"], result["vmax"]) == (-0.25, 0.25)


def test_zero_map_centres_to_white_with_a_nonzero_range() -> None:
    result = render_map(np.zeros((4, 5)), kind="diverging")
    assert (result["vmin"], result["vmax"]) == (-1.0, 1.0)
    px = pixels_of(result)
    assert px.shape == (4, 5, 3)
    assert np.all(px == 255)


def test_mirror_values_get_mirror_entries() -> None:
    values = np.linspace(-1, 1, 101, dtype=np.float32)[None, :]
    index = np.asarray(
        [
            colormap_lut("diverging").tolist().index(p)
            for p in colorize(values, kind="diverging").pixels[0].tolist()
        ]
    )
    assert np.all(index[::-1] + index >= 254)
    assert np.all(index[::-1] + index <= 256)


def test_non_negative_map_is_diverging_over_a_symmetric_scale_with_its_true_range() -> None:
    values = np.array([[0.5, 1.0], [2.0, 4.5]], dtype=np.float32)
    result = render_map(values, kind="diverging")
    assert result["colormap"] == "diverging"
    assert (result["vmin"], result["vmax"]) == (-4.5, 4.5)
    assert (result["min"], result["max"]) == (0.5, 4.5)
    px = pixels_of(result)
    lut = colormap_lut("diverging")
    assert px[1, 1].tolist() == lut[255].tolist()
    # 0.5 on [-4.5, 4.5]: (0.5 + 4.5) / 9 * 255 = 141.67 -> entry 142
    assert px[0, 0].tolist() == lut[142].tolist()


def test_leaky_relu_like_map_reports_its_true_range_beside_the_scale() -> None:
    result = render_map(np.array([[-0.05, 0.0, 0.5]]), kind="diverging")
    assert (result["vmin"], result["vmax"]) == (-0.5, 0.5)
    assert (result["min"], result["max"]) == (-0.05, 0.5)


def test_constant_map_has_min_equal_to_max() -> None:
    result = render_map(np.full((2, 3), 3.0, dtype=np.float32), kind="diverging")
    assert (result["vmin"], result["vmax"], result["min"], result["max"]) == (-3.0, 3.0, 3.0, 3.0)
    zero = render_map(np.zeros((2, 3)), kind="diverging")
    assert (zero["vmin"], zero["vmax"], zero["min"], zero["max"]) == (-1.0, 1.0, 0.0, 0.0)
    assert np.all(pixels_of(zero) == 255)


def test_a_shared_scale_replaces_the_maps_own() -> None:
    result = render_map(np.array([[1.0, -2.0]]), kind="diverging", scale=4.0)
    assert (result["vmin"], result["vmax"], result["min"], result["max"]) == (-4.0, 4.0, -2.0, 1.0)


def test_a_computed_map_is_one_channel() -> None:
    with pytest.raises(ValueError, match="one channel at a time"):
        render_map(np.zeros((3, 2, 2)), kind="diverging")


# --- images ------------------------------------------------------------------------


def test_gray_image_passes_through_exactly() -> None:
    u8 = np.random.default_rng(0).integers(0, 256, size=(9, 11), dtype=np.uint8)
    result = render_map(u8.astype(np.float32) / 255, kind="image")
    assert (result["colormap"], result["vmin"], result["vmax"]) == ("gray", 0.0, 1.0)
    px = pixels_of(result)
    assert px.shape == (9, 11)
    np.testing.assert_array_equal(px, u8)
    assert render_map(u8[None] / 255, kind="image")["shape"] == [1, 9, 11]


def test_rgb_image_passes_through_exactly() -> None:
    u8 = np.random.default_rng(1).integers(0, 256, size=(3, 6, 8), dtype=np.uint8)  # (C, H, W)
    result = render_map(u8.astype(np.float32) / 255, kind="image")
    assert (result["colormap"], result["vmin"], result["vmax"]) == ("rgb", 0.0, 1.0)
    assert result["shape"] == [3, 6, 8]
    np.testing.assert_array_equal(pixels_of(result), u8.transpose(1, 2, 0))


def test_image_values_are_clipped() -> None:
    px = pixels_of(render_map(np.array([[-0.5, 0.5, 1.5]]), kind="image"))
    assert px.tolist() == [[0, 128, 255]]


# --- robustness --------------------------------------------------------------------


def test_non_finite_values_never_crash() -> None:
    values = np.array([[np.nan, np.inf, -np.inf, 0.5, -0.25]], dtype=np.float32)
    result = render_map(values, kind="diverging")
    assert (result["colormap"], result["vmin"], result["vmax"]) == ("diverging", -0.5, 0.5)
    assert (result["min"], result["max"]) == (-0.25, 0.5)
    px = pixels_of(result)
    lut = colormap_lut("diverging")
    assert px[0, 0].tolist() == WHITE  # NaN drawn as 0
    assert px[0, 1].tolist() == lut[255].tolist()  # +inf: top of the range
    assert px[0, 2].tolist() == lut[0].tolist()  # -inf: bottom of the range
    all_nan = render_map(np.full((2, 2), np.nan), kind="diverging")
    assert (all_nan["vmin"], all_nan["vmax"], all_nan["min"], all_nan["max"]) == (
        -1.0,
        1.0,
        None,
        None,
    )
    huge = render_map(np.array([[-3e38, 3e38]], dtype=np.float32), kind="diverging")
    assert pixels_of(huge).shape == (1, 2, 3)


def test_integer_and_bool_maps() -> None:
    assert render_map(np.array([[0, 5], [10, 20]]), kind="diverging")["vmax"] == 20.0
    assert render_map(np.eye(3, dtype=bool), kind="diverging")["max"] == 1.0


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4), (4, 3, 3), (1, 1, 2, 2), (0, 3)], ids=str)
def test_bad_shapes_are_value_errors(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="render"):
        render_map(np.zeros(shape), kind="image")


def test_bad_kind_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="kind"):
        render_map(np.zeros((2, 2)), kind="jet")  # type: ignore[arg-type]


def test_render_png_matches_render_map() -> None:
    values = np.array([[-1.0, 0.0, 1.0]])
    data = render_png(values, kind="diverging")
    assert data.startswith(b"\x89PNG")
    np.testing.assert_array_equal(
        np.asarray(Image.open(io.BytesIO(data)).convert("RGB")),
        pixels_of(render_map(values, kind="diverging")),
    )


def test_large_map_renders_with_a_symmetric_range() -> None:
    values = np.random.default_rng(2).standard_normal((2048, 2048), dtype=np.float32)
    result = render_map(values, kind="diverging")
    assert result["shape"] == [2048, 2048]
    assert result["vmin"] == -result["vmax"] == -float(np.abs(values).max())
