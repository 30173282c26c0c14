"""POST /api/v1/batch_norm and /api/v1/dropout."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient

from tests.api.helpers import assert_close, detail_text

BN = "/api/v1/batch_norm"
DROPOUT = "/api/v1/dropout"


# ---- batch_norm ---------------------------------------------------------------------


def test_batch_norm_training_normalises_each_channel(client: TestClient) -> None:
    x = [[[1.0, 3.0]], [[10.0, 10.0]]]  # (C=2, H=1, W=2)
    r = client.post(BN, json={"input": x, "eps": 1e-12})
    assert r.status_code == 200
    body = r.json()
    assert body["mean"] == [2.0, 10.0]
    assert body["var"] == [1.0, 0.0]  # biased
    assert_close(body["output"], [[[-1.0, 1.0]], [[0.0, 0.0]]])
    assert body["shape"] == [2, 1, 2]
    assert_close(body["running_mean"], [0.2, 1.0])
    assert_close(body["running_var"], [0.9 + 0.1 * 2.0, 0.9])  # unbiased in the update


def _random_bn(
    rng: np.random.Generator,
) -> tuple[dict[str, Any], np.ndarray, dict[str, np.ndarray | None]]:
    batched = bool(rng.random() < 0.5)
    c = int(rng.integers(1, 4))
    shape = ((int(rng.integers(1, 4)),) if batched else ()) + (
        c,
        int(rng.integers(1, 4)),
        int(rng.integers(2, 5)),
    )
    x = rng.normal(loc=2.0, scale=3.0, size=shape)
    vectors: dict[str, np.ndarray | None] = {
        "weight": rng.normal(size=c) if rng.random() < 0.7 else None,
        "bias": rng.normal(size=c) if rng.random() < 0.7 else None,
        "running_mean": rng.normal(size=c) if rng.random() < 0.7 else None,
        "running_var": rng.uniform(0.1, 3.0, size=c) if rng.random() < 0.7 else None,
    }
    request: dict[str, Any] = {"input": x.tolist(), "eps": float(rng.choice([1e-5, 1e-3, 0.1]))}
    request["momentum"] = float(rng.choice([0.1, 0.5, 0.0, 1.0]))
    request |= {k: v.tolist() for k, v in vectors.items() if v is not None}
    return request, x, vectors


def _t(v: np.ndarray | None, default: float, c: int) -> torch.Tensor:
    return torch.full((c,), default, dtype=torch.float64) if v is None else torch.tensor(v)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("seed", range(15))
def test_batch_norm_matches_torch(client: TestClient, seed: int, training: bool) -> None:
    request, x, v = _random_bn(np.random.default_rng(seed))
    r = client.post(BN, json=request | {"training": training})
    assert r.status_code == 200, r.text
    body = r.json()
    x4 = torch.tensor(x if x.ndim == 4 else x[None])
    c = x4.shape[1]
    running_mean, running_var = _t(v["running_mean"], 0.0, c), _t(v["running_var"], 1.0, c)
    expected = F.batch_norm(
        x4,
        running_mean,  # updated in place when training
        running_var,
        v["weight"] if v["weight"] is None else torch.tensor(v["weight"]),
        v["bias"] if v["bias"] is None else torch.tensor(v["bias"]),
        training=training,
        momentum=request["momentum"],
        eps=request["eps"],
    )
    expected = expected if x.ndim == 4 else expected[0]
    assert_close(body["output"], expected.numpy())
    assert body["shape"] == list(x.shape)
    assert_close(body["running_mean"], running_mean.numpy())
    assert_close(body["running_var"], running_var.numpy())
    if training:
        assert_close(body["mean"], x4.mean(dim=(0, 2, 3)).numpy())
        assert_close(body["var"], x4.var(dim=(0, 2, 3), unbiased=False).numpy())
    else:
        assert_close(body["mean"], _t(v["running_mean"], 0.0, c).numpy())
        assert_close(body["var"], _t(v["running_var"], 1.0, c).numpy())


def test_batch_norm_eval_defaults_are_a_fresh_layer(client: TestClient) -> None:
    r = client.post(BN, json={"input": [[[4.0]]], "training": False, "eps": 0.0001})
    assert r.status_code == 200
    assert r.json()["output"][0][0][0] == pytest.approx(4.0 / np.sqrt(1.0001), rel=1e-12)
    assert r.json()["mean"] == [0.0] and r.json()["var"] == [1.0]


def test_batch_norm_vector_length_must_match_channels(client: TestClient) -> None:
    r = client.post(BN, json={"input": [[[1.0, 2.0]], [[3.0, 4.0]]], "weight": [1.0, 2.0, 3.0]})
    assert r.status_code == 422
    assert "weight" in detail_text(r) and "2" in detail_text(r)


def test_batch_norm_training_needs_two_values_per_channel(client: TestClient) -> None:
    r = client.post(BN, json={"input": [[[1.0]]], "training": True})
    assert r.status_code == 422
    assert "input" in detail_text(r)


def test_batch_norm_two_d_input_is_422(client: TestClient) -> None:
    r = client.post(BN, json={"input": [[1.0, 2.0]]})
    assert r.status_code == 422
    assert "input" in detail_text(r)


@pytest.mark.parametrize(
    ("field", "value"), [("eps", 0.0), ("eps", -1.0), ("momentum", 1.5), ("running_var", [-1.0])]
)
def test_batch_norm_bad_parameters_are_422(client: TestClient, field: str, value: Any) -> None:
    r = client.post(BN, json={"input": [[[1.0, 2.0]]], field: value})
    assert r.status_code == 422
    assert field in detail_text(r)


# ---- dropout ------------------------------------------------------------------------


def test_dropout_same_seed_same_mask(client: TestClient) -> None:
    x = np.ones((4, 5)).tolist()
    a = client.post(DROPOUT, json={"input": x, "p": 0.5, "seed": 42})
    b = client.post(DROPOUT, json={"input": x, "p": 0.5, "seed": 42})
    c = client.post(DROPOUT, json={"input": x, "p": 0.5, "seed": 43})
    assert a.status_code == b.status_code == c.status_code == 200
    assert a.json() == b.json()
    assert a.json()["mask"] != c.json()["mask"]  # 2^-20 chance of a false failure


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.9])
@pytest.mark.parametrize("seed", [0, 7])
def test_dropout_scales_kept_values(client: TestClient, p: float, seed: int) -> None:
    x = np.random.default_rng(seed).normal(size=(2, 3, 6))
    r = client.post(DROPOUT, json={"input": x.tolist(), "p": p, "seed": seed})
    assert r.status_code == 200
    body = r.json()
    mask = np.asarray(body["mask"])
    assert mask.shape == x.shape and body["shape"] == list(x.shape)
    assert set(np.unique(mask)) <= {0, 1}
    assert_close(body["output"], x * mask / (1 - p))


def test_dropout_eval_and_p_zero_keep_everything(client: TestClient) -> None:
    x = [[1.0, -2.0], [3.0, 4.0]]
    for request in ({"input": x, "training": False, "p": 0.7}, {"input": x, "p": 0.0}):
        r = client.post(DROPOUT, json=request)
        assert r.status_code == 200
        assert r.json()["output"] == x
        assert r.json()["mask"] == [[1, 1], [1, 1]]


def test_dropout_p_one_zeroes_everything(client: TestClient) -> None:
    r = client.post(DROPOUT, json={"input": [[1.0, -2.0]], "p": 1.0})
    assert r.status_code == 200
    assert r.json()["output"] == [[0.0, 0.0]]
    assert r.json()["mask"] == [[0, 0]]


def test_dropout_keeps_about_one_minus_p(client: TestClient) -> None:
    r = client.post(DROPOUT, json={"input": np.ones((50, 50)).tolist(), "p": 0.3, "seed": 1})
    assert r.status_code == 200
    assert np.mean(r.json()["mask"]) == pytest.approx(0.7, abs=0.05)


@pytest.mark.parametrize(
    ("field", "value"), [("p", 1.5), ("p", -0.1), ("seed", -1), ("seed", 1.5), ("training", "yes")]
)
def test_dropout_bad_parameters_are_422(client: TestClient, field: str, value: Any) -> None:
    r = client.post(DROPOUT, json={"input": [1.0], field: value})
    assert r.status_code == 422
    assert field in detail_text(r)
