"""The pipeline's flatten, linear and softmax layers: a stack that ends in class scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient

from app.core.nn import linear_init
from tests.api.helpers import detail_text
from tests.api.test_pipeline import as_chw, npy, png_size, run, scene

X = "\N{MULTIPLICATION SIGN}"
W1 = np.random.default_rng(3).normal(size=(2, 1, 3, 3)).round(2).tolist()
CONV = [
    {"type": "conv2d", "kernel": W1, "bias": [0.1, -0.2], "padding": 1},
    {"type": "activation", "function": "relu"},
    {"type": "pool2d", "mode": "max", "kernel_size": 2},
]


def torch_conv_stack(pixels: np.ndarray) -> torch.Tensor:
    """The CONV layers in torch on the same image: (1, 2, 8, 10)."""
    x = torch.tensor(as_chw(pixels), dtype=torch.float64)[None]
    w = torch.tensor(W1, dtype=torch.float64)
    y = F.conv2d(x, w, torch.tensor([0.1, -0.2], dtype=torch.float64), padding=1)
    return F.max_pool2d(F.relu(y), 2)


def test_flatten_linear_softmax_equal_torch_with_a_given_weight(client: TestClient) -> None:
    pixels = scene()
    n = 2 * 8 * 10
    rng = np.random.default_rng(5)
    weight = rng.normal(scale=0.2, size=(4, n)).round(3)
    bias = [0.5, -0.5, 0.0, 0.25]
    layers = [
        *CONV,
        {"type": "flatten"},
        {"type": "linear", "out_features": 4, "weight": weight.tolist(), "bias": bias},
        {"type": "softmax"},
    ]
    body = run(client, layers).json()
    flat = torch.flatten(torch_conv_stack(pixels), 1)
    logits = F.linear(flat, torch.tensor(weight), torch.tensor(bias, dtype=torch.float64))
    probs = F.softmax(logits, dim=1)[0]
    flatten, dense, soft = body["layers"][3:]
    assert flatten["shape"] == [n]
    assert dense["shape"] == [4]
    assert soft["shape"] == [4]
    assert body["shape"] == [4]
    np.testing.assert_allclose(flatten["values"], flat[0].numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dense["values"], logits[0].numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(soft["values"], probs.numpy(), rtol=1e-4, atol=1e-6)
    assert sum(soft["values"]) == pytest.approx(1.0, abs=1e-5)
    raw = npy(run(client, layers, fmt="npy"))
    np.testing.assert_allclose(raw, probs.numpy(), rtol=1e-4, atol=1e-6)


def test_a_vector_is_one_strip_with_its_true_range(client: TestClient) -> None:
    layers = [*CONV, {"type": "flatten"}, {"type": "linear", "out_features": 10, "seed": 1}]
    body = run(client, layers).json()
    dense = body["layers"][4]
    (strip,) = dense["maps"]
    assert strip["shape"] == [10]
    assert png_size(strip["data_url"]) == (10, 1)
    assert strip["colormap"] == "diverging"
    assert strip["min"] == pytest.approx(min(dense["values"]), abs=1e-6)
    assert strip["max"] == pytest.approx(max(dense["values"]), abs=1e-6)
    assert strip["vmax"] == pytest.approx(-strip["vmin"])
    assert strip["vmax"] == pytest.approx(max(abs(strip["min"]), abs(strip["max"])), abs=1e-6)


def test_seeded_linear_is_pytorchs_default_uniform_and_reproducible(client: TestClient) -> None:
    """No weight given: the same seed gives the same scores; every weight and bias lies in
    PyTorch's default bound ±1/sqrt(in_features), which the outputs are checked against."""
    pixels = scene()
    layers = [*CONV, {"type": "flatten"}, {"type": "linear", "out_features": 3, "seed": 11}]
    first = run(client, layers).json()["layers"][4]["values"]
    again = run(client, layers).json()["layers"][4]["values"]
    other = run(client, [*layers[:-1], {**layers[-1], "seed": 12}]).json()["layers"][4]["values"]
    assert first == again
    assert first != other
    flat = torch.flatten(torch_conv_stack(pixels), 1)[0].numpy()
    bound = 1 / np.sqrt(flat.size)
    weight, bias = linear_init(flat.size, 3, seed=11)
    assert np.abs(weight).max() <= bound and np.abs(bias).max() <= bound
    assert np.abs(weight).max() > 0.9 * bound  # spread over the whole range, not a corner
    w, b = (torch.tensor(a.astype(np.float64)) for a in (weight, bias))
    expected = F.linear(torch.tensor(flat[None]), w, b)
    np.testing.assert_allclose(first, expected[0].numpy(), rtol=1e-4, atol=1e-5)


def test_relu_and_dropout_take_a_vector(client: TestClient) -> None:
    layers = [
        *CONV,
        {"type": "flatten"},
        {"type": "linear", "out_features": 6, "seed": 2},
        {"type": "activation", "function": "relu"},
        {"type": "dropout", "p": 0.5, "seed": 3},
    ]
    body = run(client, layers).json()
    dense, relu, drop = body["layers"][4:]
    assert relu["values"] == [max(v, 0.0) for v in dense["values"]]
    assert drop["masks"][0]["shape"] == [6]
    for kept, before, after in zip(
        np.random.default_rng(3).random(6) >= 0.5, relu["values"], drop["values"], strict=True
    ):
        assert after == pytest.approx(2 * before if kept else 0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (
            [{"type": "linear"}],
            "params.layers[0].input: layer 1 (linear): Linear (dense) needs a vector; put a "
            f"flatten before it, got C{X}H{X}W maps 1{X}16{X}20",
        ),
        (
            [{"type": "flatten"}, {"type": "pool2d"}],
            f"params.layers[1].input: layer 2 (pool2d): Pooling needs C{X}H{X}W maps; put it "
            "before the flatten, got a vector of 320 values (after a flatten)",
        ),
        (
            [{"type": "flatten"}, {"type": "linear", "out_features": 2, "weight": [[1.0, 2.0]]}],
            "params.layers[1].weight: layer 2 (linear): weight must have 320 values in every "
            "row (in_features, the input's length), got rows of 2",
        ),
        (
            [{"type": "flatten"}, {"type": "linear", "out_features": 2, "bias": [1.0]}],
            "params.layers[1].bias: layer 2 (linear): bias must have 2 values (out_features), "
            "got 1",
        ),
    ],
)
def test_misplaced_or_misshapen_dense_layers_are_422(
    client: TestClient, layers: list[dict[str, object]], message: str
) -> None:
    r = run(client, layers)
    assert r.status_code == 422, r.text
    (detail,) = r.json()["detail"]
    field, reason = message.split(": ", 1)
    assert field in " ".join(map(str, detail["loc"]))
    assert detail["msg"].endswith(reason)


def test_out_features_over_the_limit_is_413(client: TestClient) -> None:
    r = run(client, [{"type": "flatten"}, {"type": "linear", "out_features": 1025}])
    assert r.status_code == 413, r.text
    assert detail_text(r) == (
        "params.layers[1].out_features: features (1,025) is over the limit of 1,024 "
        "(set CONVSCOPE_MAX_LINEAR_FEATURES to change it)"
    )


def test_layers_endpoint_serves_the_dense_types(client: TestClient) -> None:
    types = {t["type"]: t for t in client.get("/api/v1/layers").json()["layers"]}
    assert {"flatten", "linear", "softmax"} <= set(types)
    linear = types["linear"]
    assert linear["defaults"] == {"out_features": 10, "seed": 0, "weight": None, "bias": None}
    assert linear["schema"]["properties"]["out_features"]["minimum"] == 1
