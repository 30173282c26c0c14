"""POST /api/v1/conv2d with a 4-D kernel and ``trace: true``: the CS231n volume (a 5x5x3
input, padding 1, two 3x3x3 filters, stride 2) gives 2 x 3 x 3 = 18 steps whose shapes and
numbers agree with torch float64, per-channel sums included."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient

RNG = np.random.default_rng(231)
X = RNG.integers(0, 3, (3, 5, 5)).astype(float)  # values 0..2, as in the CS231n demo
W = RNG.integers(-1, 2, (2, 3, 3, 3)).astype(float)  # weights -1..1
B = [1.0, 0.0]


@pytest.fixture
def traced(client: TestClient) -> dict:
    body = {"input": X.tolist(), "kernel": W.tolist(), "bias": B, "stride": 2, "padding": 1}
    r = client.post("/api/v1/conv2d", json=body | {"trace": True})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_volume_trace_has_one_step_per_output_cell(traced: dict) -> None:
    expected = F.conv2d(
        torch.tensor(X)[None], torch.tensor(W), torch.tensor(B, dtype=torch.float64),
        stride=2, padding=1,
    )[0]  # fmt: skip
    assert traced["shape"] == [2, 3, 3]
    np.testing.assert_allclose(traced["output"], expected.numpy(), rtol=1e-12)
    assert np.array(traced["padded_input"]).shape == (3, 7, 7)
    steps = traced["steps"]
    assert [st["out"] for st in steps] == [
        [o, i, j] for o in range(2) for i in range(3) for j in range(3)
    ]
    for st in steps:
        o, i, j = st["out"]
        window = np.array(st["window"])
        assert window.shape == (3, 3, 3)
        padded = np.pad(X, ((0, 0), (1, 1), (1, 1)))
        np.testing.assert_array_equal(window, padded[:, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3])
        np.testing.assert_array_equal(st["products"], window * W[o])
        np.testing.assert_allclose(st["channel_sums"], (window * W[o]).sum(axis=(1, 2)))
        assert st["bias"] == B[o]
        assert st["sum"] == pytest.approx(sum(st["channel_sums"]) + B[o])
        assert st["sum"] == pytest.approx(expected[o, i, j].item(), abs=1e-12)
