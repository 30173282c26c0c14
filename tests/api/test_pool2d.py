"""POST /api/v1/pool2d: max (values and indices) and avg against torch float64, traces."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient

from tests.api.helpers import assert_close, detail_text

URL = "/api/v1/pool2d"


X4 = [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0]]


def test_max_pool_2x2(client: TestClient) -> None:
    r = client.post(URL, json={"input": X4, "kernel_size": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["output"] == [[6.0, 8.0], [14.0, 16.0]]
    assert body["indices"] == [[5, 7], [13, 15]]
    assert body["shape"] == [2, 2]
    assert body["geometry"]["stride"] == [2, 2]  # stride defaults to kernel_size


def test_avg_pool_2x2_has_no_indices(client: TestClient) -> None:
    r = client.post(URL, json={"input": X4, "kernel_size": 2, "mode": "avg"})
    assert r.status_code == 200
    assert r.json()["output"] == [[3.5, 5.5], [11.5, 13.5]]
    assert "indices" not in r.json()


def test_ceil_mode_adds_a_partial_window(client: TestClient) -> None:
    x = [row[:3] for row in X4[:3]]
    r = client.post(URL, json={"input": x, "kernel_size": 2, "ceil_mode": True, "mode": "avg"})
    assert r.status_code == 200
    assert r.json()["output"] == [[3.5, 5.0], [9.5, 11.0]]
    assert r.json()["geometry"]["output"] == [2, 2]


def _pair(rng: np.random.Generator, lo: int, hi: int) -> int | list[int]:
    if rng.random() < 0.5:
        return int(rng.integers(lo, hi + 1))
    return [int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))]


def _as_pair(v: int | list[int]) -> list[int]:
    return [v, v] if isinstance(v, int) else list(v)


def random_case(rng: np.random.Generator, mode: str) -> dict[str, Any]:
    while True:
        c, h, w = int(rng.integers(1, 4)), int(rng.integers(2, 9)), int(rng.integers(2, 9))
        kernel_size = _pair(rng, 1, 4)
        k = _as_pair(kernel_size)
        stride = None if rng.random() < 0.3 else _pair(rng, 1, 3)
        padding: Any = [int(rng.integers(0, k[0] // 2 + 1)), int(rng.integers(0, k[1] // 2 + 1))]
        if padding[0] == padding[1] and rng.random() < 0.5:
            padding = padding[0]
        dilation = _pair(rng, 1, 2) if mode == "max" else 1
        d, p = _as_pair(dilation), _as_pair(padding)
        if any(d[a] * (k[a] - 1) + 1 > (h, w)[a] + 2 * p[a] for a in (0, 1)):
            continue
        x = rng.normal(size=(c, h, w))
        request = {
            "input": (x[0] if c == 1 and rng.random() < 0.5 else x).tolist(),
            "mode": mode,
            "kernel_size": kernel_size,
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "ceil_mode": bool(rng.random() < 0.5),
            "count_include_pad": bool(rng.random() < 0.5),
        }
        if mode == "max":
            try:  # a window of padding only has no max: torch returns -inf there
                out = F.max_pool2d(
                    torch.tensor(x)[None],
                    k,
                    stride=stride,
                    padding=p,
                    dilation=d,
                    ceil_mode=request["ceil_mode"],
                )
            except RuntimeError:
                continue
            if torch.isinf(out).any():
                continue
        return request


def _torch_args(request: dict[str, Any]) -> dict[str, Any]:
    stride = request["stride"]
    return {
        "kernel_size": _as_pair(request["kernel_size"]),
        "stride": None if stride is None else _as_pair(stride),
        "padding": _as_pair(request["padding"]),
        "ceil_mode": request["ceil_mode"],
    }


@pytest.mark.parametrize("seed", range(40))
def test_random_max_pool_matches_torch(client: TestClient, seed: int) -> None:
    request = random_case(np.random.default_rng(seed), "max")
    r = client.post(URL, json=request)
    assert r.status_code == 200, r.text
    x = torch.tensor(request["input"], dtype=torch.float64)
    squeeze = x.ndim == 2  # torch pools (C, H, W); the API also takes [H][W] and keeps its rank
    x = x[None] if squeeze else x
    out, idx = F.max_pool2d(
        x, **_torch_args(request), dilation=_as_pair(request["dilation"]), return_indices=True
    )
    out, idx = (out[0], idx[0]) if squeeze else (out, idx)
    body = r.json()
    assert_close(body["output"], out.numpy())
    assert body["indices"] == idx.tolist()
    assert body["shape"] == list(out.shape)
    assert body["geometry"]["output"] == list(out.shape[-2:])


@pytest.mark.parametrize("seed", range(40))
def test_random_avg_pool_matches_torch(client: TestClient, seed: int) -> None:
    request = random_case(np.random.default_rng(500 + seed), "avg")
    r = client.post(URL, json=request)
    assert r.status_code == 200, r.text
    x = torch.tensor(request["input"], dtype=torch.float64)
    squeeze = x.ndim == 2  # torch pools (C, H, W); the API also takes [H][W] and keeps its rank
    x = x[None] if squeeze else x
    out = F.avg_pool2d(x, **_torch_args(request), count_include_pad=request["count_include_pad"])
    out = out[0] if squeeze else out
    body = r.json()
    assert_close(body["output"], out.numpy())
    assert body["shape"] == list(out.shape)
    assert body["geometry"]["output"] == list(out.shape[-2:])
    assert "indices" not in body


@pytest.mark.parametrize("seed", range(10))
def test_max_trace_argmax_and_values(client: TestClient, seed: int) -> None:
    request = random_case(np.random.default_rng(900 + seed), "max")
    r = client.post(URL, json=request | {"trace": True})
    assert r.status_code == 200, r.text
    body = r.json()
    out = np.asarray(body["output"])
    out3 = out[None] if out.ndim == 2 else out
    idx = np.asarray(body["indices"]).reshape(out3.shape)
    x = np.asarray(request["input"])
    x3 = x[None] if x.ndim == 2 else x
    width = x3.shape[2]
    steps = body["steps"]
    c, ho, wo = out3.shape
    assert [s["out"] for s in steps] == [
        [ch, i, j] for ch in range(c) for i in range(ho) for j in range(wo)
    ]
    for step in steps:
        ch, i, j = step["out"]
        r_, c_ = step["argmax"]
        assert r_ * width + c_ == idx[ch, i, j]
        assert step["value"] == out3[ch, i, j] == x3[ch, r_, c_]
        assert max(v for row in step["window"] for v in row if v is not None) == step["value"]
        kh, kw = body["geometry"]["kernel"]
        assert len(step["window"]) == kh and all(len(row) == kw for row in step["window"])


@pytest.mark.parametrize("seed", range(10))
def test_avg_trace_divisor_and_sum(client: TestClient, seed: int) -> None:
    request = random_case(np.random.default_rng(1300 + seed), "avg")
    r = client.post(URL, json=request | {"trace": True})
    assert r.status_code == 200, r.text
    body = r.json()
    out = np.asarray(body["output"])
    out3 = out[None] if out.ndim == 2 else out
    for step in body["steps"]:
        ch, i, j = step["out"]
        assert "argmax" not in step or step["argmax"] is None
        cells = [v for row in step["window"] for v in row if v is not None]
        assert step["sum"] == pytest.approx(sum(cells), rel=1e-9, abs=1e-12)
        assert step["value"] == pytest.approx(step["sum"] / step["divisor"], rel=1e-9, abs=1e-12)
        assert step["value"] == pytest.approx(out3[ch, i, j], rel=1e-9, abs=1e-12)
        if request["count_include_pad"]:
            assert step["divisor"] == len(cells)


def test_trace_region_subset(client: TestClient) -> None:
    x = np.arange(36.0).reshape(6, 6).tolist()
    base = {"input": x, "kernel_size": 2, "stride": 1, "trace": True}
    full = client.post(URL, json=base).json()["steps"]
    r = client.post(URL, json=base | {"trace_region": {"rows": [2, 4], "cols": [0, 1]}})
    assert r.status_code == 200
    assert r.json()["steps"] == [s for s in full if 2 <= s["out"][1] < 4 and s["out"][2] < 1]


def test_padding_over_half_the_kernel_is_422(client: TestClient) -> None:
    r = client.post(URL, json={"input": X4, "kernel_size": 2, "padding": 2})
    assert r.status_code == 422
    assert "padding" in detail_text(r)


def test_dilation_with_avg_is_422(client: TestClient) -> None:
    r = client.post(URL, json={"input": X4, "mode": "avg", "kernel_size": 2, "dilation": 2})
    assert r.status_code == 422
    assert "dilation" in detail_text(r)


def test_max_window_of_only_padding_is_422(client: TestClient) -> None:
    # a 1-wide kernel row of 2 taps, dilation 2, padding 1: the only window taps columns
    # -1 and 1 of a 1x1 input, both padding (torch returns -inf there).
    request = {
        "input": [[1.0]],
        "kernel_size": [1, 2],
        "padding": [0, 1],
        "dilation": [1, 2],
        "stride": 1,
    }
    r = client.post(URL, json=request)
    assert r.status_code == 422, r.text
    assert "padding" in detail_text(r)


def test_kernel_larger_than_input_is_422(client: TestClient) -> None:
    r = client.post(URL, json={"input": X4, "kernel_size": 5})
    assert r.status_code == 422
    text = detail_text(r)
    assert "kernel" in text and "5x5" in text and "4x4" in text


@pytest.mark.parametrize("mode", ["min", "MAX", None])
def test_unknown_mode_is_422(client: TestClient, mode: Any) -> None:
    r = client.post(URL, json={"input": X4, "mode": mode})
    assert r.status_code == 422
    assert "mode" in detail_text(r)
