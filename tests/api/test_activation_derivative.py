"""POST /api/v1/activation with ``derivative: true``: every function against torch.autograd."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient

from tests.api.helpers import assert_close, detail_text

URL = "/api/v1/activation"

# Differentiable torch forms; ``step`` is hand-worked below (torch has no gradient for it).
AUTOGRAD: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.01),
    "elu": lambda t: F.elu(t, 1.0),
    "gelu": F.gelu,
}


def autograd_derivative(fn: Callable[[torch.Tensor], torch.Tensor], x: np.ndarray) -> np.ndarray:
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    fn(t).sum().backward()
    assert t.grad is not None
    return t.grad.numpy()


# Random points plus the kinks, where autograd picks one side.
POINTS = np.concatenate([np.random.default_rng(13).normal(scale=3.0, size=40), [0.0, -0.0, 1e-9]])


@pytest.mark.parametrize("function", sorted(AUTOGRAD))
def test_derivative_matches_autograd(client: TestClient, function: str) -> None:
    r = client.post(URL, json={"input": POINTS.tolist(), "function": function, "derivative": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert_close(body["output"], AUTOGRAD[function](torch.tensor(POINTS)).detach().numpy())
    assert_close(body["derivative"], autograd_derivative(AUTOGRAD[function], POINTS))


@pytest.mark.parametrize(
    ("function", "params", "fn"),
    [
        ("leaky_relu", {"negative_slope": 0.2}, lambda t: F.leaky_relu(t, 0.2)),
        ("leaky_relu", {"negative_slope": -0.3}, lambda t: F.leaky_relu(t, -0.3)),
        ("elu", {"alpha": 2.5}, lambda t: F.elu(t, 2.5)),
        ("elu", {"alpha": 0.0}, lambda t: F.elu(t, 0.0)),
    ],
)
def test_parameters_reach_the_derivative(
    client: TestClient, function: str, params: dict[str, float], fn: Callable[..., torch.Tensor]
) -> None:
    body = {"input": POINTS.tolist(), "function": function, "derivative": True, **params}
    r = client.post(URL, json=body)
    assert r.status_code == 200, r.text
    assert_close(r.json()["derivative"], autograd_derivative(fn, POINTS))


def test_step_derivative_is_zero_everywhere(client: TestClient) -> None:
    r = client.post(URL, json={"input": [-2.0, 0.0, 3.0], "function": "step", "derivative": True})
    assert r.status_code == 200
    assert r.json() == {"output": [0.0, 0.0, 1.0], "shape": [3], "derivative": [0.0, 0.0, 0.0]}


def test_derivative_keeps_the_shape(client: TestClient) -> None:
    x = [[[-1.0, 0.5], [2.0, -3.0]]]
    r = client.post(URL, json={"input": x, "function": "tanh", "derivative": True})
    assert r.status_code == 200
    assert np.asarray(r.json()["derivative"]).shape == (1, 2, 2)
    assert_close(r.json()["derivative"], autograd_derivative(torch.tanh, np.asarray(x)))


def test_without_the_flag_there_is_no_derivative(client: TestClient) -> None:
    r = client.post(URL, json={"input": [1.0], "function": "relu"})
    assert r.status_code == 200
    assert "derivative" not in r.json()


def test_softmax_has_no_elementwise_derivative(client: TestClient) -> None:
    r = client.post(URL, json={"input": [1.0, 2.0], "function": "softmax", "derivative": True})
    assert r.status_code == 422
    assert "derivative" in detail_text(r)
    assert "softmax" in detail_text(r)


def test_derivative_must_be_a_boolean(client: TestClient) -> None:
    r = client.post(URL, json={"input": [1.0], "derivative": "yes"})
    assert r.status_code == 422
    assert "derivative" in detail_text(r)
