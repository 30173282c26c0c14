"""The fast encoders change no pixel and no stated range.

Every image response is decoded and compared with what the previous encoder drew: the
previous colour rule is written out below (float -> index -> lookup table, the input image
rebuilt from its float values), applied to the float outputs the API returns with
``?format=npy``. Diverging maps are indexed PNGs whose palette is the diverging table;
they must decode to exactly those colours. The echoed input must decode to the pixels the
upload decoded to, so a page can send it back instead of the original.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app import imaging
from app.render import colormap_lut

CONV = "/api/v1/images/conv2d"
POOL = "/api/v1/images/pool2d"
ACTIVATION = "/api/v1/images/activation"
PIPELINE = "/api/v1/images/pipeline"
PREDICT = "/api/v1/models/digits/predict"
DIVERGING = colormap_lut("diverging")


# ---- the previous encoder's colour rule, written out ------------------------------------


def previous_index(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    scale = 255.0 / (vmax - vmin)
    with np.errstate(over="ignore", invalid="ignore"):
        t = (values - vmin) * scale
        np.nan_to_num(t, copy=False, nan=(0.0 - vmin) * scale, posinf=255.0, neginf=0.0)
        np.clip(t, 0.0, 255.0, out=t)
        np.rint(t, out=t)
    return t.astype(np.uint8)


def previous_range(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    return float(finite.min()), float(finite.max())


def previous_map(values: np.ndarray, scale: float | None = None) -> tuple[np.ndarray, float]:
    """A computed map's RGB pixels and m (the scale is [-m, m])."""
    if scale is None:
        lo, hi = previous_range(values)
        scale = max(abs(lo), abs(hi))
    m = float(scale) or 1.0
    return np.take(DIVERGING, previous_index(values, -m, m), axis=0), m


def previous_image(values: np.ndarray) -> np.ndarray:
    """The input image, (1|3, H, W) floats -> (H, W) or (H, W, 3) pixels."""
    index = previous_index(values, 0.0, 1.0)
    return index[0] if len(index) == 1 else np.ascontiguousarray(index.transpose(1, 2, 0))


# ---- helpers ------------------------------------------------------------------------------


def photo(h: int = 150, w: int = 200) -> np.ndarray:
    """A smooth RGB picture with noise: gradients, edges and every sign after a kernel."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    rng = np.random.default_rng(4)
    channels = [np.sin(xx * 9 + k) * np.cos(yy * 7 - k) for k in range(3)]
    rgb = np.stack(channels, axis=-1) * 0.45 + 0.5 + rng.normal(0, 0.04, (h, w, 3))
    rgb[h // 3 : h // 2, w // 4 : w // 2] = [0.9, 0.1, 0.2]
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


def jpeg(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def send(
    client: TestClient, url: str, data: bytes, params: dict[str, Any], color: str, fmt: str = ""
) -> Any:
    r = client.post(
        url + (f"?format={fmt}" if fmt else ""),
        files={"image": ("photo.jpg", data, "image/jpeg")},
        data={"params": json.dumps(params), "color": color, "max_side": "96"},
    )
    assert r.status_code == 200, r.text
    return r


def png_of(url: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :])))
    assert image.format == "PNG"
    return image


def diverging_pixels(feature_map: dict[str, Any]) -> np.ndarray:
    """An indexed PNG with the diverging table as its palette, decoded to RGB."""
    image = png_of(feature_map["data_url"])
    assert image.mode == "P"
    palette = np.frombuffer(image.palette.tobytes(), np.uint8).reshape(-1, 3)
    np.testing.assert_array_equal(palette[:256], DIVERGING)
    return np.asarray(image.convert("RGB"))


def assert_map(feature_map: dict[str, Any], values: np.ndarray, scale: float | None) -> None:
    expected, m = previous_map(values, scale)
    np.testing.assert_array_equal(diverging_pixels(feature_map), expected)
    lo, hi = previous_range(values)
    assert (feature_map["vmin"], feature_map["vmax"]) == (-m, m)
    assert (feature_map["min"], feature_map["max"]) == (lo, hi)
    assert feature_map["shape"] == list(values.shape)


def assert_input(body: dict[str, Any], data: bytes, color: str) -> None:
    values = imaging.decode_image(data, color=color, max_side=96)  # type: ignore[arg-type]
    shown = body["input"]
    image = png_of(shown["data_url"])
    assert image.mode == ("L" if color == "gray" else "RGB")
    np.testing.assert_array_equal(np.asarray(image), previous_image(values))
    assert (shown["colormap"], shown["vmin"], shown["vmax"]) == (color, 0.0, 1.0)
    assert (shown["min"], shown["max"]) == (float(values.min()), float(values.max()))
    assert shown["shape"] == (list(values.shape[1:]) if color == "gray" else list(values.shape))


# ---- every image endpoint -----------------------------------------------------------------

CASES = [
    (CONV, {"kernel": ["sobel_x", "sharpen"], "padding": 1}),
    (CONV, {"kernel": "gaussian_blur_5x5", "channel_mode": "sum", "stride": 2}),
    (POOL, {"mode": "max", "kernel_size": 2}),
    (POOL, {"mode": "avg", "kernel_size": 3, "stride": 2}),
    (ACTIVATION, {"function": "tanh"}),
]


@pytest.mark.parametrize("color", ["gray", "rgb"])
@pytest.mark.parametrize(("url", "params"), CASES)
def test_image_endpoints_draw_what_the_previous_encoder_drew(
    client: TestClient, url: str, params: dict[str, Any], color: str
) -> None:
    data = jpeg(photo())
    body = send(client, url, data, params, color).json()
    outputs = np.load(io.BytesIO(send(client, url, data, params, color, "npy").content))
    assert len(body["output"]) == len(outputs)
    for feature_map, values in zip(body["output"], outputs, strict=True):
        assert_map(feature_map, values, None)
    assert_input(body, data, color)


@pytest.mark.parametrize("value_range", ["map", "layer"])
def test_pipeline_maps_draw_what_the_previous_encoder_drew(
    client: TestClient, value_range: str
) -> None:
    data = jpeg(photo())
    layers = [
        {"type": "conv2d", "kernel": ["sobel_x", "sobel_y"], "padding": 1},
        {"type": "activation", "function": "relu"},
        {"type": "pool2d", "mode": "max", "kernel_size": 2},
    ]
    body = send(
        client, PIPELINE, data, {"layers": layers, "value_range": value_range}, "rgb"
    ).json()
    assert [len(layer["maps"]) for layer in body["layers"]] == [6, 6, 6]
    for k, layer in enumerate(body["layers"]):
        prefix = {"layers": layers[: k + 1], "value_range": value_range}
        outputs = np.load(io.BytesIO(send(client, PIPELINE, data, prefix, "rgb", "npy").content))
        scale = None
        if value_range == "layer":
            lo, hi = previous_range(outputs)
            scale = max(abs(lo), abs(hi))
        for feature_map, values in zip(layer["maps"], outputs, strict=True):
            assert_map(feature_map, values, scale)
    assert_input(body, data, "rgb")


def test_model_atlas_draws_what_the_previous_encoder_drew(client: TestClient) -> None:
    digit = np.zeros((28, 28), np.float32)
    digit[6:22, 12:16] = 1.0  # a "1"
    body = client.post(PREDICT, json={"input": digit.tolist()}).json()
    npz = client.post(PREDICT + "?format=npz", json={"input": digit.tolist()}).content
    with np.load(io.BytesIO(npz)) as maps:
        conv1 = maps["conv1"]
    atlas = next(layer for layer in body["layers"] if layer["name"] == "conv1")["atlas"]
    expected, _ = previous_map(conv1.reshape(-1, conv1.shape[-1]), atlas["vmax"])
    np.testing.assert_array_equal(diverging_pixels(atlas), expected)


# ---- the echoed input, and the zlib fallback -----------------------------------------------


@pytest.mark.parametrize("color", ["gray", "rgb"])
def test_the_echoed_input_decodes_to_the_same_values_as_the_upload(
    client: TestClient, color: str
) -> None:
    """Sending the echoed input instead of the original (downscaled JPEG) gives the same
    numbers: that is what lets a page upload the original once."""
    original = jpeg(photo(300, 400))
    params = {"kernel": "sobel_x", "padding": 1}
    body = send(client, CONV, original, params, color).json()
    echo = base64.b64decode(body["input"]["data_url"].split(",", 1)[1])
    assert len(echo) < len(original) * 4
    np.testing.assert_array_equal(
        imaging.decode_image(echo, color=color, max_side=96),  # type: ignore[arg-type]
        imaging.decode_image(original, color=color, max_side=96),  # type: ignore[arg-type]
    )
    again = send(client, CONV, echo, params, color).json()
    assert again == body
    first = send(client, CONV, original, params, color, "npy").content
    assert send(client, CONV, echo, params, color, "npy").content == first


def png16(h: int, w: int) -> bytes:
    """A 16-bit gray PNG whose neighbouring values differ by less than one 8-bit step."""
    rng = np.random.default_rng(7)
    ramp = np.linspace(0, 65535, w)[None, :] * np.linspace(0.2, 1, h)[:, None]
    values = np.clip(ramp + rng.integers(-90, 90, (h, w)), 0, 65535).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("color", ["gray", "rgb"])
@pytest.mark.parametrize("size", [(300, 400), (60, 80)], ids=["resized", "as-is"])
def test_a_16_bit_upload_is_echoed_without_losing_its_precision(
    client: TestClient, color: str, size: tuple[int, int]
) -> None:
    """A 16-bit PNG keeps values finer than 1/255; its echo is a 16-bit PNG holding them, so
    a page that sends the echo back gets the numbers of the original, and the input's
    stated range is the values' own."""
    original = png16(*size)
    values = imaging.decode_image(original, color=color, max_side=96)  # type: ignore[arg-type]
    steps = np.unique(values[0]) * 255
    assert np.any(np.abs(steps - np.rint(steps)) > 0.01)  # finer than 8 bits
    params = {"kernel": "sobel_x", "padding": 1}
    body = send(client, CONV, original, params, color).json()
    echo = base64.b64decode(body["input"]["data_url"].split(",", 1)[1])
    np.testing.assert_array_equal(
        imaging.decode_image(echo, color=color, max_side=96),  # type: ignore[arg-type]
        values,
    )
    assert body["input"]["min"] == float(values.min())
    assert body["input"]["max"] == float(values.max())
    assert body["input"]["shape"] == (
        [3, *values.shape[1:]] if color == "rgb" else [*values.shape[1:]]
    )
    assert body["input"]["colormap"] == color
    first = send(client, CONV, original, params, color, "npy").content
    assert send(client, CONV, echo, params, color, "npy").content == first
    assert send(client, CONV, echo, params, color).json() == body


def test_the_zlib_fallback_writes_the_same_pixels(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert imaging._deflate is imaging._deflate_isal  # the accelerator is installed and used
    data = jpeg(photo())
    params = {"kernel": ["sobel_x", "outline"]}
    fast = send(client, CONV, data, params, "rgb").json()
    monkeypatch.setattr(imaging, "_deflate", imaging._deflate_zlib)
    slow = send(client, CONV, data, params, "rgb").json()
    assert fast["input"]["data_url"] != slow["input"]["data_url"]  # really another deflate
    np.testing.assert_array_equal(
        np.asarray(png_of(slow["input"]["data_url"])),
        np.asarray(png_of(fast["input"]["data_url"])),
    )
    for a, b in zip(fast["output"], slow["output"], strict=True):
        np.testing.assert_array_equal(diverging_pixels(a), diverging_pixels(b))
        assert {k: v for k, v in a.items() if k != "data_url"} == {
            k: v for k, v in b.items() if k != "data_url"
        }
