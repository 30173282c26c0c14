"""The JSON operations with their arrays as .npy files: the same results as the JSON
path, the same status and message for the same breach, and the binary refusals."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from numpy.testing import assert_allclose


def npy(a: Any) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, a, allow_pickle=True)
    return buffer.getvalue()


def as_npy(client: TestClient, path: str, arrays: dict[str, Any], params: dict[str, Any],
           query: str = "") -> Any:  # fmt: skip
    files = {name: (f"{name}.npy", npy(a), "application/x-npy") for name, a in arrays.items()}
    return client.post(f"/api/v1/{path}{query}", files=files, data={"params": json.dumps(params)})


RNG = np.random.default_rng(3)
X = RNG.standard_normal((2, 7, 6))
K = RNG.standard_normal((3, 2, 3, 3))
CASES = [
    ("conv2d", {"input": X, "kernel": K, "bias": [0.5, -1.0, 2.0]}, {"padding": 1, "stride": 2}),
    ("conv_transpose2d", {"input": X, "kernel": K.transpose(1, 0, 2, 3)}, {"stride": 2}),
    ("pool2d", {"input": X}, {"mode": "max", "kernel_size": 2}),
    ("activation", {"input": X}, {"function": "gelu"}),
    ("batch_norm", {"input": X}, {"training": True}),
    ("dropout", {"input": X}, {"p": 0.5, "seed": 4}),
]


@pytest.mark.parametrize(("path", "arrays", "params"), CASES, ids=[c[0] for c in CASES])
def test_npy_and_json_give_the_same_answer(
    client: TestClient, path: str, arrays: dict[str, Any], params: dict[str, Any]
) -> None:
    json_body = {k: np.asarray(v).tolist() for k, v in arrays.items()} | params
    expected = client.post(f"/api/v1/{path}", json=json_body)
    got = as_npy(client, path, arrays, params)
    assert expected.status_code == got.status_code == 200, got.text
    assert got.json() == expected.json()


def test_conv2d_npy_out_agrees_with_torch(client: TestClient) -> None:
    x, k = X.astype(np.float32), K.astype(np.float32)
    response = as_npy(client, "conv2d", {"input": x, "kernel": k}, {"padding": "same"},
                      "?format=npy")  # fmt: skip
    assert response.status_code == 200
    out = np.load(io.BytesIO(response.content), allow_pickle=False)
    expected = torch.nn.functional.conv2d(torch.from_numpy(x)[None], torch.from_numpy(k),
                                          padding="same")[0]  # fmt: skip
    assert out.shape == (3, 7, 6)
    assert_allclose(out, expected.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("arrays", "params"),
    [
        ({"input": np.array([[1.0, np.nan], [0.0, 1.0]]), "kernel": np.ones((1, 1))}, {}),
        ({"input": np.ones((2, 2)), "kernel": np.ones((1, 1))}, {"stride": 0}),
        ({"input": np.ones((2, 2)), "kernel": np.ones((1, 1))}, {"padding": "banana"}),
        ({"input": np.ones((5000, 2)), "kernel": np.ones((1, 1))}, {}),
        ({"input": np.ones((2, 2, 2, 2, 2)), "kernel": np.ones((1, 1))}, {}),
    ],
    ids=["nan", "stride-0", "padding-word", "over-max-side", "5-d"],
)
def test_the_same_breach_gets_the_same_status_and_message(
    client: TestClient, arrays: dict[str, Any], params: dict[str, Any]
) -> None:
    json_body = {k: v.tolist() for k, v in arrays.items()} | params
    expected = client.post("/api/v1/conv2d", content=json.dumps(json_body, allow_nan=True),
                           headers={"content-type": "application/json"})  # fmt: skip
    got = as_npy(client, "conv2d", arrays, params)
    assert expected.status_code in (413, 422)
    assert got.status_code == expected.status_code
    assert got.json()["detail"] == expected.json()["detail"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.array([object(), 1], dtype=object), "input: a pickled object array"),
        (np.zeros((2, 2), dtype=bool), "input: dtype bool is not a number type"),
        (np.array([["a", "b"]]), "input: dtype <U1 is not a number type"),
    ],
)
def test_pickles_and_non_numbers_are_refused(client: TestClient, value: Any, message: str) -> None:
    response = as_npy(client, "conv2d", {"input": value, "kernel": np.ones((1, 1))}, {})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].startswith(message)


def test_unreadable_files_and_stray_fields_name_the_field(client: TestClient) -> None:
    files = {"input": ("x.npy", b"not npy"), "kernel": ("k.npy", npy(np.ones((1, 1))))}
    response = client.post("/api/v1/conv2d", files=files)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].startswith("input: not a readable .npy file")

    files = {"input": ("x.npy", npy(np.ones((2, 2)))), "weights": ("k.npy", npy(np.ones(1)))}
    response = client.post("/api/v1/conv2d", files=files)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == ("weights: is not a field of this operation")


def test_npy_output_only_for_one_tensor(client: TestClient) -> None:
    response = as_npy(client, "pool2d", {"input": X}, {}, "?format=npy")
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].startswith("format: format=npy sends one tensor")
