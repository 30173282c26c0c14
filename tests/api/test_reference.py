"""GET /api/v1/limits, /layers, /activations and /colormaps, and the formula in every geometry."""

from __future__ import annotations

import json
import math
from typing import Any

import jsonschema_rs
import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from app.config import Settings
from app.layers import LAYER_TYPES
from app.limits import LIMITS
from app.main import create_app
from app.render import COLOR_RULE, COLORMAP_DESCRIPTIONS

# ---- /limits ---------------------------------------------------------------------------


def test_limits_lists_every_limit_of_the_settings(client: TestClient) -> None:
    r = client.get("/api/v1/limits")
    assert r.status_code == 200
    served = r.json()["limits"]
    settings = Settings()
    limit_fields = [name for name in Settings.model_fields if name in LIMITS]
    assert sorted(served) == sorted(limit_fields) == sorted(LIMITS)
    for name, entry in served.items():
        assert entry == {
            "value": getattr(settings, name),
            "env": f"CONVSCOPE_{name.upper()}",
            "status": LIMITS[name].status,
            "description": LIMITS[name].description,
        }
    assert served["max_kernel_side"]["status"] == 413
    assert served["max_concurrent"]["status"] == 503
    assert served["max_learn_seconds"]["status"] is None


def test_limits_shows_a_changed_setting() -> None:
    with TestClient(create_app(Settings(max_kernel_side=5, max_pipeline_layers=3))) as c:
        served = c.get("/api/v1/limits").json()["limits"]
    assert served["max_kernel_side"]["value"] == 5
    assert served["max_pipeline_layers"]["value"] == 3
    assert served["max_side"]["value"] == LIMITS["max_side"].default


# ---- /layers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def layer_types() -> list[dict[str, Any]]:
    from app.main import app

    with TestClient(app) as c:
        r = c.get("/api/v1/layers")
    assert r.status_code == 200
    layers: list[dict[str, Any]] = r.json()["layers"]
    return layers


def test_layers_lists_every_registry_type(layer_types: list[dict[str, Any]]) -> None:
    assert [t["type"] for t in layer_types] == list(LAYER_TYPES)
    for served in layer_types:
        registered = LAYER_TYPES[served["type"]]
        assert served["label"] == registered.label
        assert served["description"] == registered.description
        assert served["schema"]["additionalProperties"] is False


@pytest.mark.parametrize("name", list(LAYER_TYPES))
def test_each_default_validates_and_runs_in_the_pipeline(
    client: TestClient, layer_types: list[dict[str, Any]], name: str
) -> None:
    served = next(t for t in layer_types if t["type"] == name)
    validator = jsonschema_rs.validator_for(served["schema"])
    assert validator.is_valid(served["defaults"])
    assert not validator.is_valid(served["defaults"] | {"no_such_field": 1})
    layer = {"type": name, **served["defaults"]}
    # A type that takes only vectors runs after a flatten, as /network's cards place it.
    first = [] if 3 in LAYER_TYPES[name].ndims else [{"type": "flatten"}]
    r = client.post(
        "/api/v1/images/pipeline",
        data={
            "sample": "checkerboard",
            "max_side": "16",
            "params": json.dumps({"layers": [*first, layer]}),
        },
    )
    assert r.status_code == 200, r.text
    assert [entry["type"] for entry in r.json()["layers"]] == [t["type"] for t in first] + [name]


# ---- /colormaps ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def colormaps() -> dict[str, Any]:
    from app.main import app

    with TestClient(app) as c:
        r = c.get("/api/v1/colormaps")
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def test_colormaps_serve_the_rule_of_render(colormaps: dict[str, Any]) -> None:
    assert colormaps["rule"] == COLOR_RULE
    assert sorted(colormaps["colormaps"]) == sorted(COLORMAP_DESCRIPTIONS)
    for name, entry in colormaps["colormaps"].items():
        assert entry["description"] == COLORMAP_DESCRIPTIONS[name]
        assert len(entry["lut"]) == 256
        assert all(len(rgb) == 3 and all(0 <= v <= 255 for v in rgb) for rgb in entry["lut"])


def test_gray_runs_from_black_to_white(colormaps: dict[str, Any]) -> None:
    lut = colormaps["colormaps"]["gray"]["lut"]
    assert lut[0] == [0, 0, 0] and lut[255] == [255, 255, 255]
    assert all(r == g == b for r, g, b in lut)
    assert [rgb[0] for rgb in lut] == sorted(rgb[0] for rgb in lut)


def test_diverging_is_white_in_the_middle_and_mirrored(colormaps: dict[str, Any]) -> None:
    lut = colormaps["colormaps"]["diverging"]["lut"]
    assert lut[127] == lut[128] == [255, 255, 255]  # zero (at 127.5) is white either way
    for i in range(127):
        below, above = lut[i], lut[255 - i]
        assert below[2] > below[0], (i, below)  # blue side: negative values
        assert above[0] > above[2], (255 - i, above)  # red side: positive values
    # both halves lighten towards the middle, step for step
    lightness = [sum(rgb) for rgb in lut]
    assert lightness[:128] == sorted(lightness[:128])
    assert lightness[128:] == sorted(lightness[128:], reverse=True)


# ---- geometry.formula everywhere -------------------------------------------------------


def evaluate(text: str) -> tuple[float, int]:
    """``⌊(6 + 1 + 1 − 1·(3 − 1) − 1) / 1⌋ + 1 = 6`` -> (left side's value, right side)."""
    left, right = text.rsplit("=", 1)
    for symbol, python in {
        "⌊": "floor(",
        "⌋": ")",
        "⌈": "ceil(",
        "⌉": ")",
        "·": "*",
        "−": "-",
    }.items():
        left = left.replace(symbol, python)
    value = eval(left, {"__builtins__": {}, "floor": math.floor, "ceil": math.ceil})
    return value, int(right)


def assert_formula(geometry: dict[str, Any]) -> None:
    formula = geometry["formula"]
    assert formula["general"]
    for axis, key in ((0, "rows"), (1, "cols")):
        value, size = evaluate(formula[key])
        assert value == size == geometry["output"][axis], (key, formula[key], geometry["output"])


X6 = [[1.0] * 6 for _ in range(6)]
K3 = [[1.0] * 3 for _ in range(3)]


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/conv2d", {"input": X6, "kernel": K3, "padding": 1, "stride": [2, 1]}),
        ("/api/v1/conv2d", {"input": X6, "kernel": K3, "dilation": 2, "padding": "same"}),
        ("/api/v1/conv_transpose2d", {"input": X6, "kernel": K3, "stride": 2, "output_padding": 1}),
        ("/api/v1/pool2d", {"input": X6, "kernel_size": 4, "stride": 3, "ceil_mode": True}),
        ("/api/v1/geometry", {"input_size": [7, 5], "kernel_size": [3, 2], "stride": 2}),
        (
            "/api/v1/geometry",
            {"input_size": [7, 5], "kernel_size": 3, "transposed": True, "stride": 3},
        ),
    ],
)
def test_json_geometry_carries_a_true_formula(
    client: TestClient, url: str, body: dict[str, Any]
) -> None:
    r = client.post(url, json=body)
    assert r.status_code == 200, r.text
    assert_formula(r.json()["geometry"])


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("conv2d", {"kernel": "sobel_x", "stride": 3, "padding": 2}),
        ("pool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    ],
)
def test_image_geometry_carries_a_true_formula(
    client: TestClient, url: str, params: dict[str, Any]
) -> None:
    form = {"sample": "shapes", "max_side": "37", "params": json.dumps(params)}
    r = client.post(f"/api/v1/images/{url}", data=form)
    assert r.status_code == 200, r.text
    assert_formula(r.json()["geometry"])


def test_every_pipeline_layer_with_geometry_carries_a_true_formula(client: TestClient) -> None:
    layers = [
        {"type": "conv2d", "kernel": "sobel_x", "padding": 1, "stride": 2},
        {"type": "activation"},
        {"type": "pool2d", "kernel_size": 3, "ceil_mode": True},
    ]
    form = {"sample": "shapes", "max_side": "37", "params": json.dumps({"layers": layers})}
    r = client.post("/api/v1/images/pipeline", data=form)
    assert r.status_code == 200, r.text
    results = r.json()["layers"]
    assert [("geometry" in layer) for layer in results] == [True, False, True]
    for layer in results:
        if "geometry" in layer:
            assert_formula(layer["geometry"])


# ---- /activations ----------------------------------------------------------------------

# torch's forms of the functions a page may list; a served name missing here fails below.
TORCH_ACTIVATIONS = {
    "relu": lambda t: torch.relu(t),
    "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.2),
    "elu": lambda t: torch.nn.functional.elu(t, 0.5),
    "gelu": lambda t: torch.nn.functional.gelu(t),
    "sigmoid": lambda t: torch.sigmoid(t),
    "tanh": lambda t: torch.tanh(t),
    "step": lambda t: (t > 0).to(t.dtype),
    "softmax": lambda t: torch.softmax(t, dim=0),
}


def test_activations_lists_what_the_api_computes(client: TestClient) -> None:
    served = client.get("/api/v1/activations").json()["activations"]
    names = [a["name"] for a in served]
    openapi = client.get("/openapi.json").json()
    schema = openapi["components"]["schemas"]["ActivationRequest"]["properties"]["function"]
    assert sorted(names) == sorted(schema["enum"]) == sorted(TORCH_ACTIVATIONS)
    x = [-2.5, -0.5, 0.0, 0.25, 3.0]
    for a in served:
        assert a["formula"] and a["label"]
        body = {"input": x, "function": a["name"], "negative_slope": 0.2, "alpha": 0.5}
        body.update({"derivative": True} if a["derivative"] else {})
        r = client.post("/api/v1/activation", json=body)
        assert r.status_code == 200, r.text
        want = TORCH_ACTIVATIONS[a["name"]](torch.tensor(x, dtype=torch.float64))
        assert r.json()["output"] == pytest.approx(want.tolist(), rel=1e-12, abs=1e-12)
        assert ("derivative" in r.json()) == (a["derivative"] is not None)
    by_name = {a["name"]: a for a in served}
    assert by_name["softmax"]["derivative"] is None
    assert by_name["leaky_relu"]["params"] == ["negative_slope"]
    assert by_name["relu"]["formula"] == "max(0, x)"


def test_batch_norms_unset_vectors_are_served_as_what_the_server_applies(
    client: TestClient,
) -> None:
    """A page filling one channel of an unset vector fills the rest with the schema's
    ``unset``: that must be what the server uses for null (a fresh BatchNorm2d's)."""
    layer = next(
        t for t in client.get("/api/v1/layers").json()["layers"] if t["type"] == "batch_norm"
    )
    names = ["weight", "bias", "running_mean", "running_var"]
    unset = {name: layer["schema"]["properties"][name]["unset"] for name in names}
    assert unset == {"weight": 1, "bias": 0, "running_mean": 0, "running_var": 1}  # torch's
    x = np.random.default_rng(3).normal(size=(2, 3, 3)).tolist()
    for training in (False, True):
        base = {"input": x, "training": training}
        blank = client.post("/api/v1/batch_norm", json=base).json()
        filled = client.post(
            "/api/v1/batch_norm", json=base | {n: [unset[n]] * 2 for n in names}
        ).json()
        assert blank == filled
