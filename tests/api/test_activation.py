"""POST /api/v1/activation: every function against torch float64, softmax dims, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient

from tests.api.helpers import assert_close, detail_text

URL = "/api/v1/activation"


TORCH: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "step": lambda t: (t > 0).to(torch.float64),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.01),
    "elu": lambda t: F.elu(t, 1.0),
    "gelu": F.gelu,  # the exact erf form
}


def test_relu_is_the_default(client: TestClient) -> None:
    r = client.post(URL, json={"input": [[-1.0, 0.0, 2.5]]})
    assert r.status_code == 200
    assert r.json() == {"output": [[0.0, 0.0, 2.5]], "shape": [1, 3]}


def test_step_is_zero_at_zero(client: TestClient) -> None:
    r = client.post(URL, json={"input": [-1.0, 0.0, 1e-300, 3.0], "function": "step"})
    assert r.status_code == 200
    assert r.json()["output"] == [0.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize("function", sorted(TORCH))
@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_function_matches_torch(client: TestClient, function: str, ndim: int) -> None:
    rng = np.random.default_rng(ndim * 31 + len(function))
    x = rng.normal(scale=3.0, size=tuple(int(n) for n in rng.integers(1, 5, ndim)))
    r = client.post(URL, json={"input": x.tolist(), "function": function})
    assert r.status_code == 200, r.text
    assert_close(r.json()["output"], TORCH[function](torch.tensor(x)).numpy())
    assert r.json()["shape"] == list(x.shape)


@pytest.mark.parametrize("slope", [0.0, 0.2, 1.5, -0.3])
def test_leaky_relu_negative_slope(client: TestClient, slope: float) -> None:
    x = np.linspace(-3, 3, 13)
    r = client.post(
        URL, json={"input": x.tolist(), "function": "leaky_relu", "negative_slope": slope}
    )
    assert r.status_code == 200
    assert_close(r.json()["output"], F.leaky_relu(torch.tensor(x), slope).numpy())


def test_elu_alpha(client: TestClient) -> None:
    x = np.linspace(-3, 3, 13)
    r = client.post(URL, json={"input": x.tolist(), "function": "elu", "alpha": 0.5})
    assert r.status_code == 200
    assert_close(r.json()["output"], F.elu(torch.tensor(x), 0.5).numpy())


@pytest.mark.parametrize("seed", range(12))
def test_softmax_over_dim_matches_torch(client: TestClient, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ndim = int(rng.integers(1, 5))
    x = rng.normal(scale=5.0, size=tuple(int(n) for n in rng.integers(1, 5, ndim)))
    dim = int(rng.integers(-ndim, ndim))
    r = client.post(URL, json={"input": x.tolist(), "function": "softmax", "dim": dim})
    assert r.status_code == 200, r.text
    assert_close(r.json()["output"], F.softmax(torch.tensor(x), dim=dim).numpy())


def test_softmax_dim_null_is_over_all_elements(client: TestClient) -> None:
    x = np.random.default_rng(3).normal(size=(2, 3, 4))
    r = client.post(URL, json={"input": x.tolist(), "function": "softmax", "dim": None})
    assert r.status_code == 200
    expected = F.softmax(torch.tensor(x).flatten(), dim=0).reshape(x.shape)
    assert_close(r.json()["output"], expected.numpy())
    assert sum(np.asarray(r.json()["output"]).flat) == pytest.approx(1.0, rel=1e-12)


def test_softmax_is_stable_for_large_values(client: TestClient) -> None:
    x = [1000.0, 1001.0, 1002.0]
    r = client.post(URL, json={"input": x, "function": "softmax"})
    assert r.status_code == 200
    assert_close(r.json()["output"], F.softmax(torch.tensor(x, dtype=torch.float64), 0).numpy())


def test_softmax_dim_out_of_range_is_422(client: TestClient) -> None:
    r = client.post(URL, json={"input": [[1.0, 2.0]], "function": "softmax", "dim": 2})
    assert r.status_code == 422
    assert "dim" in detail_text(r)


@pytest.mark.parametrize("function", ["swish", "ReLU", "", 3])
def test_unknown_function_is_422(client: TestClient, function: Any) -> None:
    r = client.post(URL, json={"input": [1.0], "function": function})
    assert r.status_code == 422
    assert "function" in detail_text(r)


def test_scalar_input_is_422(client: TestClient) -> None:
    r = client.post(URL, json={"input": 1.0})
    assert r.status_code == 422
    assert "input" in detail_text(r)


def test_five_d_input_is_422(client: TestClient) -> None:
    r = client.post(URL, json={"input": [[[[[1.0]]]]]})
    assert r.status_code == 422
    assert "input" in detail_text(r)
