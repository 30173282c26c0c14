"""POST /api/v1/images/conv2d, pool2d, activation and GET /api/v1/samples.

Every image is made here with numpy and Pillow; PNG is lossless, so the decoded
pixels are exactly ``uint8 / 255`` in float32.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient
from PIL import Image

from tests.api.helpers import detail_text

CONV = "/api/v1/images/conv2d"
POOL = "/api/v1/images/pool2d"
ACTIVATION = "/api/v1/images/activation"


# ---- helpers -------------------------------------------------------------------------


def png_bytes(pixels: np.ndarray) -> bytes:
    """uint8 (H, W) gray or (H, W, 3) RGB -> PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def noise(h: int, w: int, *, rgb: bool = False, seed: int = 0) -> np.ndarray:
    shape = (h, w, 3) if rgb else (h, w)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def as_chw(pixels: np.ndarray) -> np.ndarray:
    """The (C, H, W) float32 array the app decodes a PNG of these pixels into."""
    values = pixels.astype(np.float32) / np.float32(255)
    return values[None] if values.ndim == 2 else values.transpose(2, 0, 1)


def post(
    client: TestClient,
    url: str,
    pixels: np.ndarray | None,
    params: dict[str, Any],
    *,
    fmt: str | None = None,
    **form: str,
) -> Any:
    files = {"image": ("image.png", png_bytes(pixels), "image/png")} if pixels is not None else None
    color = "rgb" if pixels is not None and pixels.ndim == 3 else "gray"
    data = {"params": json.dumps(params), "color": color, **form}
    return client.post(url + (f"?format={fmt}" if fmt else ""), files=files, data=data)


def npy(response: Any) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    return np.load(io.BytesIO(response.content), allow_pickle=False)


def decode_data_url(url: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :])))
    assert image.format == "PNG"
    return image.convert("RGB") if image.mode == "P" else image  # a diverging map is indexed


def json_conv2d(client: TestClient, x: np.ndarray, kernel: Any, **params: Any) -> np.ndarray:
    r = client.post("/api/v1/conv2d", json={"input": x.tolist(), "kernel": kernel, **params})
    assert r.status_code == 200, r.text
    return np.asarray(r.json()["output"], dtype=np.float64)


def preset(client: TestClient, name: str) -> list[list[float]]:
    r = client.get(f"/api/v1/kernels/{name}")
    assert r.status_code == 200
    values: list[list[float]] = r.json()["values"]
    return values


def edge_image(h: int = 12, w: int = 14) -> np.ndarray:
    """Dark left half, bright right half, a bright square: edges of both signs."""
    pixels = np.full((h, w), 40, dtype=np.uint8)
    pixels[:, w // 2 :] = 220
    pixels[2:5, 2:5] = 255
    return pixels


# ---- images/conv2d: values ----------------------------------------------------------


@pytest.mark.parametrize("padding", ["same", 1, [1, 1, 1, 1]])
def test_identity_preset_returns_the_decoded_pixels(client: TestClient, padding: Any) -> None:
    pixels = noise(9, 13)
    out = npy(post(client, CONV, pixels, {"kernel": "identity", "padding": padding}, fmt="npy"))
    assert out.dtype == np.float32
    assert out.shape == (1, 9, 13)
    np.testing.assert_array_equal(out, as_chw(pixels))


def test_identity_on_rgb_keeps_the_three_channels(client: TestClient) -> None:
    pixels = noise(7, 6, rgb=True)
    out = npy(post(client, CONV, pixels, {"kernel": "identity", "padding": "same"}, fmt="npy"))
    assert out.shape == (3, 7, 6)
    np.testing.assert_array_equal(out, as_chw(pixels))


@pytest.mark.parametrize("name", ["sobel_x", "gaussian_blur_3x3", "gaussian_blur_5x5", "emboss"])
@pytest.mark.parametrize("rgb", [False, True])
def test_preset_by_name_equals_the_same_kernel_by_value(
    client: TestClient, name: str, rgb: bool
) -> None:
    pixels = noise(10, 11, rgb=rgb, seed=3)
    by_name = npy(post(client, CONV, pixels, {"kernel": name, "padding": 1}, fmt="npy"))
    values = preset(client, name)
    by_value = npy(post(client, CONV, pixels, {"kernel": values, "padding": 1}, fmt="npy"))
    np.testing.assert_array_equal(by_name, by_value)


@pytest.mark.parametrize(
    "params",
    [
        {"padding": 0},
        {"padding": "same", "padding_mode": "reflect"},
        {"padding": 2, "stride": 2, "dilation": 2, "padding_mode": "replicate"},
        {"padding": [1, 0, 2, 1], "stride": [1, 2], "bias": 0.25},
    ],
)
def test_depthwise_on_rgb_equals_json_conv2d_per_channel(
    client: TestClient, params: dict[str, Any]
) -> None:
    pixels = noise(9, 10, rgb=True, seed=5)
    x = as_chw(pixels)
    # The app's own decoding agrees with ours.
    decoded = npy(post(client, CONV, pixels, {"kernel": "identity", "padding": 1}, fmt="npy"))
    np.testing.assert_array_equal(decoded, x)

    kernel = preset(client, "sobel_x")
    params = {"kernel": kernel, "channel_mode": "depthwise", **params}
    out = npy(post(client, CONV, pixels, params, fmt="npy"))
    del params["kernel"], params["channel_mode"]
    assert out.shape[0] == 3
    for c in range(3):
        expected = json_conv2d(client, x[c], kernel, **params)
        assert out[c].shape == expected.shape
        np.testing.assert_allclose(out[c], expected, rtol=1e-5, atol=1e-5)


def test_depthwise_is_the_default_channel_mode(client: TestClient) -> None:
    pixels = noise(6, 6, rgb=True, seed=6)
    default = npy(post(client, CONV, pixels, {"kernel": "sharpen"}, fmt="npy"))
    depthwise = npy(
        post(client, CONV, pixels, {"kernel": "sharpen", "channel_mode": "depthwise"}, fmt="npy")
    )
    np.testing.assert_array_equal(default, depthwise)
    assert default.shape == (3, 4, 4)


@pytest.mark.parametrize(
    "params",
    [{"padding": 0}, {"padding": "same", "padding_mode": "circular", "bias": -0.5}],
)
def test_sum_on_rgb_equals_json_conv2d_with_a_3d_kernel(
    client: TestClient, params: dict[str, Any]
) -> None:
    pixels = noise(8, 9, rgb=True, seed=7)
    x = as_chw(pixels)
    kernel = preset(client, "sobel_y")
    out = npy(
        post(client, CONV, pixels, {"kernel": kernel, "channel_mode": "sum", **params}, fmt="npy")
    )
    expected = json_conv2d(client, x, [kernel] * 3, **params)
    assert out.shape == (1, *expected.shape)
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-5)


def test_sum_equals_torch_conv2d(client: TestClient) -> None:
    pixels = noise(8, 8, rgb=True, seed=8)
    kernel = np.array(preset(client, "outline"))
    out = npy(post(client, CONV, pixels, {"kernel": "outline", "channel_mode": "sum"}, fmt="npy"))
    weight = torch.from_numpy(np.repeat(kernel[None, None], 3, axis=1))
    expected = F.conv2d(torch.from_numpy(as_chw(pixels).astype(np.float64))[None], weight)[0]
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-5, atol=1e-5)


def test_a_4d_kernel_is_a_literal_pytorch_weight(client: TestClient) -> None:
    pixels = noise(7, 8, rgb=True, seed=9)
    weight = np.random.default_rng(1).normal(size=(2, 3, 3, 3))
    r = post(client, CONV, pixels, {"kernel": weight.tolist(), "bias": [0.5, -1.0]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["shape"] == [2, 5, 6]
    assert [m["label"] for m in body["output"]] == ["filter 0", "filter 1"]
    out = npy(
        post(client, CONV, pixels, {"kernel": weight.tolist(), "bias": [0.5, -1.0]}, fmt="npy")
    )
    expected = F.conv2d(
        torch.from_numpy(as_chw(pixels).astype(np.float64))[None],
        torch.from_numpy(weight),
        torch.tensor([0.5, -1.0], dtype=torch.float64),
    )[0]
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-5, atol=1e-5)


def test_several_presets_give_several_labelled_maps_on_gray(client: TestClient) -> None:
    names = ["sobel_x", "sobel_y", "sharpen"]
    pixels = edge_image()
    r = post(client, CONV, pixels, {"kernel": names, "padding": "same"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["shape"] == [3, 12, 14]
    assert [m["label"] for m in body["output"]] == names
    assert all(m["shape"] == [12, 14] for m in body["output"])
    out = npy(post(client, CONV, pixels, {"kernel": names, "padding": "same"}, fmt="npy"))
    for i, name in enumerate(names):
        single = npy(post(client, CONV, pixels, {"kernel": name, "padding": "same"}, fmt="npy"))
        np.testing.assert_array_equal(out[i], single[0])


def test_several_presets_on_rgb_depthwise_give_one_map_per_channel(client: TestClient) -> None:
    pixels = noise(8, 9, rgb=True, seed=10)
    r = post(client, CONV, pixels, {"kernel": ["box_blur", "sharpen"], "padding": "same"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["shape"] == [6, 8, 9]
    assert [m["label"] for m in body["output"]] == [
        f"{name} · {c}" for name in ("box_blur", "sharpen") for c in "RGB"
    ]
    assert all(m["colormap"] == "diverging" and m["shape"] == [8, 9] for m in body["output"])


def test_several_presets_on_rgb_sum_give_one_map_each(client: TestClient) -> None:
    pixels = noise(8, 9, rgb=True, seed=11)
    params = {"kernel": ["sobel_x", "sobel_y"], "channel_mode": "sum", "bias": [1.0, -1.0]}
    r = post(client, CONV, pixels, params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["shape"] == [2, 6, 7]
    assert [m["label"] for m in body["output"]] == ["sobel_x", "sobel_y"]
    assert all(m["shape"] == [6, 7] for m in body["output"])


# ---- images/conv2d: geometry --------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"stride": 2},
        {"stride": [2, 3], "padding": 1},
        {"padding": "same", "stride": 2},
        {"padding": "full"},
        {"padding": "valid", "dilation": 2},
        {"padding": [2, 1], "dilation": [1, 2], "padding_mode": "reflect"},
        {"padding": [0, 1, 2, 3], "stride": 2, "padding_mode": "replicate"},
        {"padding": 3, "padding_mode": "circular", "dilation": 3},
    ],
)
def test_stride_padding_dilation_change_the_shape_as_geometry_says(
    client: TestClient, params: dict[str, Any]
) -> None:
    pixels = noise(11, 13, seed=12)
    r = post(client, CONV, pixels, {"kernel": "sobel_x", **params})
    assert r.status_code == 200, r.text
    body = r.json()
    geometry_request = {
        "input_size": [11, 13],
        "kernel_size": 3,
        **{k: v for k, v in params.items() if k != "padding_mode"},
    }
    g = client.post("/api/v1/geometry", json=geometry_request)
    assert g.status_code == 200, g.text
    expected = g.json()["geometry"]
    assert body["geometry"] == expected
    assert body["shape"] == [1, *expected["output"]]
    assert body["output"][0]["shape"] == expected["output"]
    out = npy(post(client, CONV, pixels, {"kernel": "sobel_x", **params}, fmt="npy"))
    assert out.shape == (1, *expected["output"])


# ---- images/conv2d: trace_region ----------------------------------------------------


@pytest.mark.parametrize(
    ("rgb", "params", "channels"),
    [
        (False, {"kernel": "sobel_x", "padding": 1}, 1),
        (True, {"kernel": "sobel_x", "padding": 1}, 3),
        (True, {"kernel": ["sobel_x", "box_blur"], "stride": 2, "bias": [0.5, 1.0]}, 6),
        (True, {"kernel": ["emboss", "outline"], "channel_mode": "sum", "dilation": 2}, 2),
        (False, {"kernel": "sharpen", "padding": 2, "padding_mode": "reflect"}, 1),
    ],
)
def test_trace_region_sums_equal_the_output(
    client: TestClient, rgb: bool, params: dict[str, Any], channels: int
) -> None:
    pixels = noise(10, 11, rgb=rgb, seed=13)
    region = {"rows": [1, 3], "cols": [0, 3]}
    r = post(client, CONV, pixels, {**params, "trace_region": region})
    assert r.status_code == 200, r.text
    steps = r.json()["steps"]
    assert len(steps) == channels * 2 * 3
    out = npy(post(client, CONV, pixels, params, fmt="npy"))
    assert out.shape[0] == channels
    seen = set()
    for step in steps:
        o, i, j = step["out"]
        assert 1 <= i < 3 and 0 <= j < 3
        seen.add((o, i, j))
        products = np.asarray(step["products"])
        assert step["sum"] == pytest.approx(float(products.sum()) + step["bias"], abs=1e-9)
        assert step["sum"] == pytest.approx(float(out[o, i, j]), abs=1e-5)
    assert len(seen) == len(steps)
    assert {o for o, _, _ in seen} == set(range(channels))


def test_trace_window_is_the_pixels_the_kernel_taps(client: TestClient) -> None:
    pixels = noise(6, 7, seed=14)
    x = as_chw(pixels)
    region = {"rows": [2, 3], "cols": [3, 4]}
    r = post(client, CONV, pixels, {"kernel": "sobel_x", "trace_region": region})
    assert r.status_code == 200, r.text
    (step,) = r.json()["steps"]
    assert step["out"] == [0, 2, 3]
    assert step["origin"] == [2, 3]
    np.testing.assert_allclose(step["window"], x[:, 2:5, 3:6], atol=1e-7)


def test_no_trace_region_means_no_steps(client: TestClient) -> None:
    r = post(client, CONV, noise(5, 5), {"kernel": "identity"})
    assert r.status_code == 200
    assert "steps" not in r.json()


@pytest.mark.parametrize(
    "region",
    [
        {"rows": [0, 9], "cols": [0, 1]},
        {"rows": [0, 1], "cols": [5, 12]},
        {"rows": [3, 3], "cols": [0, 1]},
    ],
)
def test_trace_region_outside_the_output_is_422(client: TestClient, region: Any) -> None:
    r = post(client, CONV, noise(10, 10), {"kernel": "identity", "trace_region": region})
    assert r.status_code == 422
    assert "trace_region" in detail_text(r)


def test_trace_region_over_the_limit_is_413(client: TestClient) -> None:
    # 70 x 70 output cells = 4,900 steps, over the default limit of 4,096.
    pixels = noise(70, 70, seed=15)
    region = {"rows": [0, 70], "cols": [0, 70]}
    r = post(client, CONV, pixels, {"kernel": "identity", "padding": 1, "trace_region": region})
    assert r.status_code == 413
    assert r.json()["detail"] == (
        "params.trace_region: trace steps (4,900) is over the limit of 4,096 "
        "(set CONVSCOPE_MAX_TRACE_STEPS to change it)"
    )


def test_trace_over_the_limit_counts_every_channel(client: TestClient) -> None:
    # 3 channels x 2 filters x 30 x 30 = 5,400 steps: over the limit only with the channels.
    pixels = noise(32, 32, rgb=True, seed=16)
    region = {"rows": [0, 30], "cols": [0, 30]}
    r = post(client, CONV, pixels, {"kernel": ["sobel_x", "sobel_y"], "trace_region": region})
    assert r.status_code == 413
    assert r.json()["detail"].startswith("params.trace_region: trace steps (5,400) is over")


# ---- rendering ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sobel_x", "sobel_y", "outline", "horizontal_edge"])
def test_signed_maps_are_diverging_and_symmetric(client: TestClient, name: str) -> None:
    pixels = edge_image()
    r = post(client, CONV, pixels, {"kernel": name, "padding": "same"})
    assert r.status_code == 200, r.text
    (feature,) = r.json()["output"]
    out = npy(post(client, CONV, pixels, {"kernel": name, "padding": "same"}, fmt="npy"))
    assert out.min() < 0 < out.max()
    assert feature["colormap"] == "diverging"
    assert feature["vmin"] == -feature["vmax"]
    assert feature["vmax"] == pytest.approx(float(np.abs(out).max()), rel=1e-6)


@pytest.mark.parametrize("rgb", [False, True])
def test_every_output_channel_is_its_own_diverging_map(client: TestClient, rgb: bool) -> None:
    pixels = noise(9, 9, rgb=rgb, seed=18)
    r = post(client, CONV, pixels, {"kernel": "gaussian_blur_3x3", "padding": "same"})
    assert r.status_code == 200, r.text
    out = npy(
        post(client, CONV, pixels, {"kernel": "gaussian_blur_3x3", "padding": "same"}, fmt="npy")
    )
    maps = r.json()["output"]
    assert len(maps) == (3 if rgb else 1)
    for feature, channel in zip(maps, out, strict=True):
        assert feature["colormap"] == "diverging"
        assert feature["vmax"] == pytest.approx(float(np.abs(channel).max()), rel=1e-6)
        assert feature["vmin"] == -feature["vmax"]
        assert feature["min"] == pytest.approx(float(channel.min()), rel=1e-6)
        assert feature["max"] == pytest.approx(float(channel.max()), rel=1e-6)
    assert r.json()["input"]["colormap"] == ("rgb" if rgb else "gray")
    assert (r.json()["input"]["vmin"], r.json()["input"]["vmax"]) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("rgb", "params"),
    [
        (False, {"kernel": "sobel_x", "stride": [1, 2]}),
        (True, {"kernel": ["sobel_x", "identity"], "padding": "same"}),
        (True, {"kernel": "emboss", "channel_mode": "sum", "dilation": 2}),
    ],
)
def test_data_urls_decode_to_images_of_the_map_shape(
    client: TestClient, rgb: bool, params: dict[str, Any]
) -> None:
    pixels = noise(9, 12, rgb=rgb, seed=20)
    r = post(client, CONV, pixels, params)
    assert r.status_code == 200, r.text
    body = r.json()
    for feature in [body["input"], *body["output"]]:
        image = decode_data_url(feature["data_url"])
        h, w = feature["shape"][-2:]
        assert image.size == (w, h)
        assert image.mode == ("L" if feature["colormap"] == "gray" else "RGB")
    assert body["input"]["shape"][-2:] == [9, 12]


@pytest.mark.parametrize(
    ("rgb", "params", "size"),
    [
        (False, {"kernel": "sobel_x"}, (10, 7)),
        (False, {"kernel": ["sobel_x", "sobel_y"], "stride": 2}, (5, 4)),
        (True, {"kernel": "box_blur", "padding": "same"}, (12, 9)),
        (True, {"kernel": "box_blur", "channel_mode": "sum"}, (10, 7)),
    ],
)
def test_format_png_is_the_first_map_alone(
    client: TestClient, rgb: bool, params: dict[str, Any], size: tuple[int, int]
) -> None:
    pixels = noise(9, 12, rgb=rgb, seed=21)
    r = post(client, CONV, pixels, params, fmt="png")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(r.content))
    assert image.format == "PNG"
    assert image.size == size


@pytest.mark.parametrize("rgb", [False, True])
def test_format_npy_round_trips_shape_and_dtype(client: TestClient, rgb: bool) -> None:
    pixels = noise(9, 12, rgb=rgb, seed=22)
    params = {"kernel": ["sobel_x", "sobel_y"], "stride": 2, "padding": 1}
    body = post(client, CONV, pixels, params).json()
    out = npy(post(client, CONV, pixels, params, fmt="npy"))
    assert out.dtype == np.float32
    assert list(out.shape) == body["shape"]
    assert np.all(np.isfinite(out))


def test_format_json_is_the_default(client: TestClient) -> None:
    pixels = noise(5, 5)
    explicit = post(client, CONV, pixels, {"kernel": "identity"}, fmt="json")
    default = post(client, CONV, pixels, {"kernel": "identity"})
    assert explicit.status_code == default.status_code == 200
    assert explicit.headers["content-type"] == "application/json"
    assert explicit.json() == default.json()


def test_unknown_format_is_422(client: TestClient) -> None:
    r = post(client, CONV, noise(5, 5), {"kernel": "identity"}, fmt="tiff")
    assert r.status_code == 422
    assert "format" in detail_text(r)


# ---- images/pool2d ------------------------------------------------------------------


@pytest.mark.parametrize("rgb", [False, True])
@pytest.mark.parametrize(
    "params",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1},
        {"kernel_size": [2, 3], "stride": [2, 1], "ceil_mode": True},
        {"kernel_size": 3, "stride": 1, "dilation": 2},
    ],
)
def test_max_pool_matches_torch(client: TestClient, rgb: bool, params: dict[str, Any]) -> None:
    pixels = noise(11, 13, rgb=rgb, seed=23)
    x = npy(post(client, CONV, pixels, {"kernel": "identity", "padding": 1}, fmt="npy"))
    r = post(client, POOL, pixels, {"mode": "max", **params})
    assert r.status_code == 200, r.text
    out = npy(post(client, POOL, pixels, {"mode": "max", **params}, fmt="npy"))
    expected = F.max_pool2d(
        torch.from_numpy(x)[None],
        params["kernel_size"],
        stride=params.get("stride"),
        padding=params.get("padding", 0),
        dilation=params.get("dilation", 1),
        ceil_mode=params.get("ceil_mode", False),
    )[0].numpy()
    np.testing.assert_array_equal(out, expected)
    assert r.json()["shape"] == list(expected.shape)
    assert r.json()["geometry"]["output"] == list(expected.shape[1:])


@pytest.mark.parametrize("rgb", [False, True])
@pytest.mark.parametrize(
    "params",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    ],
)
def test_avg_pool_matches_torch(client: TestClient, rgb: bool, params: dict[str, Any]) -> None:
    pixels = noise(11, 13, rgb=rgb, seed=24)
    out = npy(post(client, POOL, pixels, {"mode": "avg", **params}, fmt="npy"))
    expected = F.avg_pool2d(
        torch.from_numpy(as_chw(pixels).astype(np.float64))[None],
        params["kernel_size"],
        stride=params.get("stride"),
        padding=params.get("padding", 0),
        ceil_mode=params.get("ceil_mode", False),
        count_include_pad=params.get("count_include_pad", True),
    )[0].numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("rgb", "maps"), [(False, 1), (True, 3)])
def test_pool_response_fields(client: TestClient, rgb: bool, maps: int) -> None:
    pixels = noise(8, 10, rgb=rgb, seed=25)
    r = post(client, POOL, pixels, {"kernel_size": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    channels = 3 if rgb else 1
    assert body["shape"] == [channels, 4, 5]
    assert len(body["output"]) == maps
    assert body["output"][0]["label"].startswith("max pool")
    assert all(m["colormap"] == "diverging" for m in body["output"])
    image = decode_data_url(body["output"][0]["data_url"])
    assert image.size == (5, 4)


def test_pool_trace_region(client: TestClient) -> None:
    pixels = noise(8, 8, rgb=True, seed=26)
    region = {"rows": [0, 2], "cols": [1, 3]}
    r = post(client, POOL, pixels, {"kernel_size": 2, "trace_region": region})
    assert r.status_code == 200, r.text
    steps = r.json()["steps"]
    assert len(steps) == 3 * 2 * 2
    out = npy(post(client, POOL, pixels, {"kernel_size": 2}, fmt="npy"))
    x = as_chw(pixels)
    for step in steps:
        c, i, j = step["out"]
        assert step["value"] == pytest.approx(float(out[c, i, j]), abs=1e-7)
        ar, ac = step["argmax"]
        assert x[c, ar, ac] == out[c, i, j]


def test_pool_trace_region_over_the_limit_is_413(client: TestClient) -> None:
    pixels = noise(140, 140, seed=27)
    region = {"rows": [0, 70], "cols": [0, 70]}
    r = post(client, POOL, pixels, {"kernel_size": 2, "trace_region": region})
    assert r.status_code == 413
    assert r.json()["detail"].startswith("params.trace_region: trace steps (4,900) is over")


def test_pool_format_png_and_npy(client: TestClient) -> None:
    pixels = noise(8, 10, rgb=True, seed=28)
    png = post(client, POOL, pixels, {"kernel_size": 2}, fmt="png")
    assert png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (5, 4)
    assert npy(post(client, POOL, pixels, {"kernel_size": 2}, fmt="npy")).shape == (3, 4, 5)


# ---- images/activation --------------------------------------------------------------


@pytest.mark.parametrize("rgb", [False, True])
def test_relu_on_an_image_is_the_image(client: TestClient, rgb: bool) -> None:
    pixels = noise(6, 7, rgb=rgb, seed=29)
    r = post(client, ACTIVATION, pixels, {"function": "relu"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["shape"] == [3 if rgb else 1, 6, 7]
    assert body["output"][0]["label"].startswith("relu")
    out = npy(post(client, ACTIVATION, pixels, {"function": "relu"}, fmt="npy"))
    np.testing.assert_array_equal(out, as_chw(pixels))


@pytest.mark.parametrize("rgb", [False, True])
def test_sigmoid_values(client: TestClient, rgb: bool) -> None:
    pixels = noise(6, 7, rgb=rgb, seed=30)
    out = npy(post(client, ACTIVATION, pixels, {"function": "sigmoid"}, fmt="npy"))
    x = as_chw(pixels).astype(np.float64)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-x)), rtol=1e-6)
    body = post(client, ACTIVATION, pixels, {"function": "sigmoid"}).json()
    assert body["shape"] == list(out.shape)


@pytest.mark.parametrize(
    ("function", "reference"),
    [
        ("tanh", torch.tanh),
        ("gelu", F.gelu),
        ("step", lambda t: (t > 0).to(t.dtype)),
    ],
)
def test_other_activations_match_torch(client: TestClient, function: str, reference: Any) -> None:
    pixels = noise(5, 6, seed=31)
    out = npy(post(client, ACTIVATION, pixels, {"function": function}, fmt="npy"))
    expected = reference(torch.from_numpy(as_chw(pixels).astype(np.float64))).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-7)


def test_softmax_across_channels(client: TestClient) -> None:
    pixels = noise(5, 6, rgb=True, seed=32)
    out = npy(post(client, ACTIVATION, pixels, {"function": "softmax"}, fmt="npy"))
    expected = torch.softmax(torch.from_numpy(as_chw(pixels).astype(np.float64)), dim=0).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_allclose(out.sum(axis=0), 1.0, rtol=1e-6)


def test_unknown_activation_is_422(client: TestClient) -> None:
    r = post(client, ACTIVATION, noise(4, 4), {"function": "swish"})
    assert r.status_code == 422
    assert "function" in detail_text(r)


# ---- samples ------------------------------------------------------------------------


def test_samples_list_at_least_four_pngs_that_are_served(client: TestClient) -> None:
    r = client.get("/api/v1/samples")
    assert r.status_code == 200
    samples = r.json()
    assert len(samples) >= 4
    assert len({s["name"] for s in samples}) == len(samples)
    for sample in samples:
        assert {"name", "label", "description", "url", "width", "height"} <= sample.keys()
        image = client.get(sample["url"])
        assert image.status_code == 200, sample["url"]
        assert image.headers["content-type"] == "image/png"
        decoded = Image.open(io.BytesIO(image.content))
        assert decoded.format == "PNG"
        assert decoded.size == (sample["width"], sample["height"])


def test_a_sample_works_instead_of_an_upload(client: TestClient) -> None:
    sample = client.get("/api/v1/samples").json()[0]
    data = {"sample": sample["name"], "params": json.dumps({"kernel": "identity", "padding": 1})}
    r = client.post(CONV, data=data)
    assert r.status_code == 200, r.text
    body = r.json()
    h, w = sample["height"], sample["width"]
    assert body["shape"] == [1, h, w]
    assert body["input"]["shape"] == [h, w]
    out = npy(client.post(CONV + "?format=npy", data=data))
    served = Image.open(io.BytesIO(client.get(sample["url"]).content))
    # Gray decoding of whatever mode the file has: compare with Pillow's own L conversion.
    expected = np.asarray(served.convert("RGB").convert("L"), dtype=np.float32) / 255
    np.testing.assert_allclose(out[0], expected, atol=1 / 255 + 1e-6)


@pytest.mark.parametrize("endpoint", [CONV, POOL, ACTIVATION])
def test_a_sample_in_rgb_with_max_side(client: TestClient, endpoint: str) -> None:
    sample = client.get("/api/v1/samples").json()[-1]
    params = {"kernel": "identity"} if endpoint == CONV else {}
    data = {
        "sample": sample["name"],
        "color": "rgb",
        "max_side": "64",
        "params": json.dumps(params),
    }
    r = client.post(endpoint, data=data)
    assert r.status_code == 200, r.text
    assert r.json()["input"]["shape"][0] == 3
    assert max(r.json()["input"]["shape"][1:]) == 64


def test_unknown_sample_is_422(client: TestClient) -> None:
    data = {"sample": "no_such_sample", "params": json.dumps({"kernel": "identity"})}
    r = client.post(CONV, data=data)
    assert r.status_code == 422
    text = detail_text(r)
    assert "sample" in text and "no_such_sample" in text


def test_a_sample_name_is_not_a_path(client: TestClient) -> None:
    data = {"sample": "../../pyproject", "params": json.dumps({"kernel": "identity"})}
    r = client.post(CONV, data=data)
    assert r.status_code == 422
    assert "sample" in detail_text(r)


# ---- max_side -----------------------------------------------------------------------


def test_max_side_downscales_the_longest_side(client: TestClient) -> None:
    pixels = noise(40, 80, seed=33)
    r = post(client, CONV, pixels, {"kernel": "identity", "padding": 1}, max_side="20")
    assert r.status_code == 200, r.text
    assert r.json()["shape"] == [1, 10, 20]
    out = npy(
        post(client, CONV, pixels, {"kernel": "identity", "padding": 1}, fmt="npy", max_side="20")
    )
    assert out.min() >= 0 and out.max() <= 1


def test_max_side_never_upscales(client: TestClient) -> None:
    pixels = noise(6, 5, seed=34)
    r = post(client, CONV, pixels, {"kernel": "identity", "padding": 1}, max_side="100")
    assert r.json()["shape"] == [1, 6, 5]


def test_pixels_returns_the_decoded_crop(client: TestClient) -> None:
    pixels = noise(20, 30, seed=4)
    full = npy(post(client, CONV, pixels, {"kernel": "identity", "padding": 1}, fmt="npy"))
    r = post(client, "/api/v1/images/pixels", pixels, {"rows": [2, 6], "cols": [5, 9]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["shape"] == [1, 4, 4] and body["image_shape"] == [1, 20, 30]
    np.testing.assert_allclose(body["pixels"], full[:, 2:6, 5:9], rtol=1e-6)


def test_pixels_crop_over_the_limit_is_413(client: TestClient) -> None:
    r = post(
        client, "/api/v1/images/pixels", noise(40, 30, seed=5), {"rows": [0, 40], "cols": [0, 4]}
    )
    assert r.status_code == 413
    assert r.json()["detail"] == (
        "params.rows: span (40) is over the limit of 32 (set CONVSCOPE_MAX_CROP_SIDE to change it)"
    )


@pytest.mark.parametrize(
    "crop",
    [
        {"rows": [5, 5], "cols": [0, 4]},
        {"rows": [0, 4], "cols": [28, 31]},
    ],
)
def test_pixels_refuses_crops_outside_or_too_large(client: TestClient, crop: dict) -> None:
    r = post(client, "/api/v1/images/pixels", noise(40, 30, seed=5), crop)
    assert r.status_code == 422
    assert "params." in r.text
