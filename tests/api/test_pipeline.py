"""POST /api/v1/images/pipeline: every layer's feature maps, shapes, limits and errors."""

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

URL = "/api/v1/images/pipeline"
SOBEL_X = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
SOBEL_Y = [[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]

CNN = [
    {"type": "conv2d", "kernel": ["sobel_x", "sobel_y"], "padding": "same"},
    {"type": "activation", "function": "relu"},
    {"type": "pool2d", "mode": "max", "kernel_size": 2},
    {"type": "batch_norm"},
    {"type": "dropout", "p": 0.5, "seed": 7},
]


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def scene(h: int = 16, w: int = 20, *, rgb: bool = False) -> np.ndarray:
    """A bright rectangle and a diagonal on a noisy background: edges in both directions."""
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 60, (h, w)).astype(np.uint8)
    gray[3:9, 4:13] = 230
    for i in range(min(h, w)):
        gray[i, i] = 180
    if not rgb:
        return gray
    return np.stack([gray, np.flipud(gray), 255 - gray], axis=-1)


def as_chw(pixels: np.ndarray) -> np.ndarray:
    values = pixels.astype(np.float32) / np.float32(255)
    return values[None] if values.ndim == 2 else values.transpose(2, 0, 1)


def run(
    client: TestClient,
    layers: list[dict[str, Any]],
    pixels: np.ndarray | None = None,
    *,
    fmt: str | None = None,
    **params: Any,
) -> Any:
    pixels = scene() if pixels is None else pixels
    return client.post(
        URL + (f"?format={fmt}" if fmt else ""),
        files={"image": ("scene.png", png_bytes(pixels), "image/png")},
        data={
            "params": json.dumps({"layers": layers, **params}),
            "color": "rgb" if pixels.ndim == 3 else "gray",
        },
    )


def npy(response: Any) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.load(io.BytesIO(response.content), allow_pickle=False)


def png_size(data_url: str) -> tuple[int, int]:
    raw = base64.b64decode(data_url.removeprefix("data:image/png;base64,"))
    return Image.open(io.BytesIO(raw)).size


# ---- the whole stack -----------------------------------------------------------------


def test_cnn_stack_returns_every_layer_with_the_right_shapes(client: TestClient) -> None:
    r = run(client, CNN)
    assert r.status_code == 200, r.text
    body = r.json()
    layers = body["layers"]
    assert [layer["type"] for layer in layers] == [
        "conv2d",
        "activation",
        "pool2d",
        "batch_norm",
        "dropout",
    ]
    assert [layer["index"] for layer in layers] == [0, 1, 2, 3, 4]
    shapes = [layer["shape"] for layer in layers]
    assert shapes == [[2, 16, 20], [2, 16, 20], [2, 8, 10], [2, 8, 10], [2, 8, 10]]
    assert body["shape"] == [2, 8, 10]
    assert body["input"]["shape"] == [16, 20]
    assert body["input"]["colormap"] == "gray"
    for layer in layers:
        assert len(layer["maps"]) == 2
        for feature in layer["maps"]:
            h, w = layer["shape"][1:]
            assert feature["shape"] == [h, w]
            assert png_size(feature["data_url"]) == (w, h)
    assert [m["label"] for m in layers[0]["maps"]] == ["sobel_x", "sobel_y"]
    assert layers[0]["geometry"]["output"] == [16, 20]
    assert layers[2]["geometry"]["output"] == [8, 10]
    assert layers[2]["geometry"]["kernel"] == [2, 2]
    assert "geometry" not in layers[1] or layers[1]["geometry"] is None


def test_batch_norm_layer_reports_mean_and_var(client: TestClient) -> None:
    body = run(client, CNN).json()
    bn = body["layers"][3]
    assert len(bn["mean"]) == len(bn["var"]) == 2
    assert all(v >= 0 for v in bn["var"])
    assert "mean" not in body["layers"][0] or body["layers"][0]["mean"] is None
    # The statistics are those of the pooled maps (biased variance, as PyTorch in training).
    pooled = npy(run(client, CNN[:3], fmt="npy")).astype(np.float64)
    np.testing.assert_allclose(bn["mean"], pooled.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn["var"], pooled.var(axis=(1, 2)), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_layer_reports_running_stats_weight_and_bias_as_torch(
    client: TestClient, training: bool
) -> None:
    given = {
        "running_mean": [0.25, -0.5],
        "running_var": [2.0, 0.5],
        "weight": [1.5, -1.0],
        "bias": [0.1, 0.2],
        "momentum": 0.3,
    }
    layers = [*CNN[:3], {"type": "batch_norm", "training": training, **given}]
    bn = run(client, layers).json()["layers"][3]
    pooled = torch.from_numpy(npy(run(client, CNN[:3], fmt="npy")).astype(np.float64))[None]
    mean = torch.tensor(given["running_mean"], dtype=torch.float64)
    var = torch.tensor(given["running_var"], dtype=torch.float64)
    # torch updates the running statistics in place (in training; eval leaves them).
    F.batch_norm(pooled, mean, var, training=training, momentum=0.3, eps=1e-5)
    np.testing.assert_allclose(bn["running_mean"], mean.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(bn["running_var"], var.numpy(), rtol=1e-5, atol=1e-7)
    assert bn["weight"] == given["weight"] and bn["bias"] == given["bias"]
    if not training:  # eval uses the running statistics given
        assert bn["mean"] == given["running_mean"] and bn["var"] == given["running_var"]


def test_batch_norm_layer_reports_the_default_weight_and_bias(client: TestClient) -> None:
    bn = run(client, CNN).json()["layers"][3]
    assert bn["weight"] == [1.0, 1.0] and bn["bias"] == [0.0, 0.0]


def test_dropout_layer_has_one_mask_per_channel(client: TestClient) -> None:
    body = run(client, CNN).json()
    dropout = body["layers"][4]
    assert len(dropout["masks"]) == 2
    for mask in dropout["masks"]:
        assert mask["shape"] == [8, 10]
        assert png_size(mask["data_url"]) == (10, 8)
    assert all("masks" not in layer or layer["masks"] is None for layer in body["layers"][:4])


def test_dropout_mask_agrees_with_the_output(client: TestClient) -> None:
    layers = [{"type": "activation", "function": "sigmoid"}, {"type": "dropout", "p": 0.5}]
    before = npy(run(client, layers[:1], fmt="npy"))
    after = npy(run(client, layers, fmt="npy"))
    kept = after != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(after[kept], before[kept] * 2, rtol=1e-6)
    mask = run(client, layers).json()["layers"][1]["masks"][0]
    raw = base64.b64decode(mask["data_url"].removeprefix("data:image/png;base64,"))
    drawn = np.asarray(Image.open(io.BytesIO(raw)).convert("L")) > 127
    np.testing.assert_array_equal(drawn, kept[0])


def test_the_same_seed_gives_the_same_dropout(client: TestClient) -> None:
    first = npy(run(client, CNN, fmt="npy"))
    second = npy(run(client, CNN, fmt="npy"))
    np.testing.assert_array_equal(first, second)
    other = [*CNN[:4], {"type": "dropout", "p": 0.5, "seed": 8}]
    assert not np.array_equal(first, npy(run(client, other, fmt="npy")))


def test_cnn_stack_values_match_torch(client: TestClient) -> None:
    layers = [*CNN[:4], {"type": "dropout", "p": 0.0}]
    out = npy(run(client, layers, fmt="npy"))
    assert out.dtype == np.float32
    x = torch.from_numpy(as_chw(scene()).astype(np.float64))[None]
    weight = torch.tensor([[SOBEL_X], [SOBEL_Y]], dtype=torch.float64)
    y = F.max_pool2d(F.relu(F.conv2d(x, weight, padding="same")), 2)
    y = F.batch_norm(y, None, None, training=True, eps=1e-5)
    np.testing.assert_allclose(out, y[0].numpy(), rtol=1e-4, atol=1e-4)


def test_format_npy_returns_the_last_layer(client: TestClient) -> None:
    body = run(client, CNN).json()
    out = npy(run(client, CNN, fmt="npy"))
    assert list(out.shape) == body["layers"][-1]["shape"] == [2, 8, 10]
    conv_only = npy(run(client, CNN[:1], fmt="npy"))
    assert conv_only.shape == (2, 16, 20)


def test_format_png_returns_the_last_layer_first_map(client: TestClient) -> None:
    r = run(client, CNN[:3], fmt="png")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (10, 8)


def test_rgb_pipeline_keeps_one_map_per_channel(client: TestClient) -> None:
    layers = [
        {"type": "conv2d", "kernel": "gaussian_blur_3x3", "padding": 1},
        {"type": "pool2d", "mode": "avg", "kernel_size": 2},
        {"type": "conv2d", "kernel": "sobel_x", "channel_mode": "sum"},
    ]
    r = run(client, layers, scene(rgb=True))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["input"]["colormap"] == "rgb"
    assert [layer["shape"] for layer in body["layers"]] == [[3, 16, 20], [3, 8, 10], [1, 6, 8]]
    assert [len(layer["maps"]) for layer in body["layers"]] == [3, 3, 1]
    labels = [m["label"] for m in body["layers"][0]["maps"]]
    assert labels == ["gaussian_blur_3x3 · R", "gaussian_blur_3x3 · G", "gaussian_blur_3x3 · B"]


def test_conv_after_conv_sees_every_channel(client: TestClient) -> None:
    # Two filters, then a literal 4-D weight that reads both maps.
    layers = [
        {"type": "conv2d", "kernel": ["sobel_x", "sobel_y"], "padding": 1},
        {"type": "conv2d", "kernel": [[[[1.0]], [[-1.0]]]]},
    ]
    body = run(client, layers).json()
    assert [layer["shape"] for layer in body["layers"]] == [[2, 16, 20], [1, 16, 20]]
    first = npy(run(client, layers[:1], fmt="npy"))
    last = npy(run(client, layers, fmt="npy"))
    np.testing.assert_allclose(last[0], first[0] - first[1], atol=1e-5)


# ---- value_range ---------------------------------------------------------------------


def test_value_range_layer_shares_one_scale_per_layer(client: TestClient) -> None:
    body = run(client, CNN, value_range="layer").json()
    for layer in body["layers"]:
        ranges = {(m["vmin"], m["vmax"]) for m in layer["maps"]}
        assert len(ranges) == 1, layer["type"]
    conv = body["layers"][0]
    (vmin, vmax), *_ = {(m["vmin"], m["vmax"]) for m in conv["maps"]}
    assert vmin == -vmax
    assert all(m["colormap"] == "diverging" for m in conv["maps"])
    out = npy(run(client, CNN[:1], fmt="npy"))
    assert vmax == pytest.approx(float(np.abs(out).max()), rel=1e-6)


def test_value_range_map_scales_each_map_alone(client: TestClient) -> None:
    body = run(client, CNN[:1]).json()
    out = npy(run(client, CNN[:1], fmt="npy"))
    for feature, channel in zip(body["layers"][0]["maps"], out, strict=True):
        assert feature["vmax"] == pytest.approx(float(np.abs(channel).max()), rel=1e-6)
        assert feature["vmin"] == -feature["vmax"]
    vmaxes = {m["vmax"] for m in body["layers"][0]["maps"]}
    assert len(vmaxes) == 2


def test_relu_maps_are_diverging_with_their_true_range(client: TestClient) -> None:
    body = run(client, CNN[:2]).json()
    for layer in body["layers"][:2]:
        assert all(m["colormap"] == "diverging" for m in layer["maps"])
        assert all(m["vmin"] == -m["vmax"] for m in layer["maps"])
    assert all(m["min"] >= 0 for m in body["layers"][1]["maps"])


# ---- limits and errors ---------------------------------------------------------------


def test_too_many_layers_is_413(client: TestClient) -> None:
    r = run(client, [{"type": "activation", "function": "relu"}] * 17)
    assert r.status_code == 413
    assert "max_pipeline_layers".upper() in detail_text(r).upper()


def test_the_layer_limit_itself_is_allowed(client: TestClient) -> None:
    r = run(client, [{"type": "activation", "function": "relu"}] * 16, scene(4, 4))
    assert r.status_code == 200, r.text
    assert len(r.json()["layers"]) == 16


def test_layer_limit_is_configurable(limited_client: Any) -> None:
    client = limited_client(max_pipeline_layers=2)
    assert run(client, CNN[:2]).status_code == 200
    r = run(client, CNN[:3])
    assert r.status_code == 413
    assert "CONVSCOPE_MAX_PIPELINE_LAYERS" in detail_text(r)


@pytest.mark.parametrize(
    ("layers", "index", "field"),
    [
        ([{"type": "relu"}], 0, None),
        ([{"kernel": "identity"}], 0, None),
        ([{"type": "activation"}, {"type": "pool2d", "kernal_size": 2}], 1, "kernal_size"),
        ([{"type": "activation"}, {"type": "conv2d", "kernel": "nope"}], 1, "kernel"),
        ([*CNN[:2], {"type": "pool2d", "kernel_size": 100}], 2, "kernel"),
        ([{"type": "conv2d", "kernel": "identity", "stride": 0}], 0, "stride"),
        ([{"type": "activation"}, {"type": "activation", "function": "swish"}], 1, "function"),
        ([CNN[0], {"type": "batch_norm", "weight": [1.0, 2.0, 3.0]}], 1, "weight"),
        ([{"type": "dropout", "p": 1.5}], 0, "p"),
        ([{"type": "pool2d", "mode": "avg", "dilation": 2}], 0, "dilation"),
        ([CNN[0], {"type": "conv2d", "kernel": [[[1.0]]]}], 1, None),
    ],
)
def test_a_bad_layer_is_422_naming_it(
    client: TestClient, layers: list[dict[str, Any]], index: int, field: str | None
) -> None:
    r = run(client, layers)
    assert r.status_code == 422, r.text
    text = detail_text(r)
    assert f"params.layers[{index}]" in text
    if field is not None:
        assert f"params.layers[{index}].{field}" in text


def test_no_layers_is_422(client: TestClient) -> None:
    r = run(client, [])
    assert r.status_code == 422
    assert "layers" in detail_text(r)


def test_unknown_top_level_field_is_422(client: TestClient) -> None:
    r = run(client, CNN[:1], value_ranges="layer")
    assert r.status_code == 422
    assert "value_ranges" in detail_text(r)


def test_bad_value_range_is_422(client: TestClient) -> None:
    r = run(client, CNN[:1], value_range="global")
    assert r.status_code == 422
    assert "value_range" in detail_text(r)


def test_overflowing_layer_is_422_not_infinite(client: TestClient) -> None:
    huge = {"type": "conv2d", "kernel": [[1e30] * 3] * 3, "padding": 1}
    r = run(client, [huge, huge])
    assert r.status_code == 422
    assert "params.layers[1]" in detail_text(r)
