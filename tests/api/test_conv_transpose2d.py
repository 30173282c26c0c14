"""POST /api/v1/conv_transpose2d: random cases against torch float64, sizes, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient

from tests.api.helpers import assert_close, detail_text

URL = "/api/v1/conv_transpose2d"


def test_single_cell_scatters_the_kernel(client: TestClient) -> None:
    r = client.post(URL, json={"input": [[2.0]], "kernel": [[1.0, 2.0], [3.0, 4.0]]})
    assert r.status_code == 200
    assert r.json()["output"] == [[2.0, 4.0], [6.0, 8.0]]
    assert r.json()["shape"] == [2, 2]
    assert r.json()["geometry"]["output"] == [2, 2]


def test_stride_two_spreads_the_copies(client: TestClient) -> None:
    r = client.post(
        URL, json={"input": [[1.0, 10.0]], "kernel": [[1.0, 1.0]], "stride": 2, "bias": 0.5}
    )
    assert r.status_code == 200
    assert r.json()["output"] == [[1.5, 1.5, 10.5, 10.5]]


def _pair(rng: np.random.Generator, lo: int, hi: int) -> int | list[int]:
    if rng.random() < 0.5:
        return int(rng.integers(lo, hi + 1))
    return [int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))]


def _as_pair(v: int | list[int]) -> list[int]:
    return [v, v] if isinstance(v, int) else list(v)


@pytest.mark.parametrize("seed", range(40))
def test_random_conv_transpose2d_matches_torch(client: TestClient, seed: int) -> None:
    rng = np.random.default_rng(seed)
    while True:
        groups = int(rng.integers(1, 3))
        c, og = groups * int(rng.integers(1, 3)), int(rng.integers(1, 3))
        h, w = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        stride, dilation = _pair(rng, 1, 3), _pair(rng, 1, 2)
        padding, output_padding = _pair(rng, 0, 2), _pair(rng, 0, 2)
        s, d, p, op = (_as_pair(v) for v in (stride, dilation, padding, output_padding))
        if any(op[a] >= s[a] and op[a] >= d[a] for a in (0, 1)):
            continue
        size = [
            (n - 1) * s[a] - 2 * p[a] + d[a] * (k - 1) + op[a] + 1
            for a, (n, k) in enumerate([(h, kh), (w, kw)])
        ]
        if min(size) >= 1:
            break
    x, weight, bias = (
        rng.normal(size=(c, h, w)),
        rng.normal(size=(c, og, kh, kw)),
        rng.normal(size=og * groups),
    )
    bias_json: Any = bias.tolist() if rng.random() < 0.7 else float(bias[0])
    if not isinstance(bias_json, list):
        bias = np.full(og * groups, bias_json)
    request = {
        "input": x.tolist(),
        "kernel": weight.tolist(),
        "bias": bias_json,
        "stride": stride,
        "padding": padding,
        "output_padding": output_padding,
        "dilation": dilation,
        "groups": groups,
    }
    r = client.post(URL, json=request)
    assert r.status_code == 200, r.text
    body = r.json()
    expected = F.conv_transpose2d(
        torch.tensor(x)[None],
        torch.tensor(weight),
        torch.tensor(bias),
        stride=s,
        padding=p,
        output_padding=op,
        groups=groups,
        dilation=d,
    )[0].numpy()
    assert_close(body["output"], expected)
    assert body["shape"] == list(expected.shape)
    assert body["geometry"]["output"] == size == list(expected.shape[1:])
    assert body["geometry"]["input"] == [h, w]
    assert body["geometry"]["stride"] == s and body["geometry"]["dilation"] == d


@pytest.mark.parametrize("seed", range(5))
def test_two_d_kernel_two_d_input_matches_torch(client: TestClient, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    x, k = rng.normal(size=(3, 4)), rng.normal(size=(2, 3))
    r = client.post(
        URL, json={"input": x.tolist(), "kernel": k.tolist(), "stride": 2, "padding": 1}
    )
    assert r.status_code == 200
    expected = F.conv_transpose2d(
        torch.tensor(x)[None, None], torch.tensor(k)[None, None], stride=2, padding=1
    )
    assert_close(r.json()["output"], expected[0, 0].numpy())
    assert r.json()["shape"] == list(expected.shape[2:])


def test_two_d_kernel_on_multichannel_input_is_422(client: TestClient) -> None:
    r = client.post(URL, json={"input": [[[1.0]], [[2.0]]], "kernel": [[1.0]]})
    assert r.status_code == 422
    assert "kernel" in detail_text(r)


def test_kernel_first_axis_must_be_input_channels(client: TestClient) -> None:
    r = client.post(URL, json={"input": [[[1.0]], [[2.0]]], "kernel": [[[[1.0]]]]})
    assert r.status_code == 422
    assert "weight" in detail_text(r) or "kernel" in detail_text(r)


def test_output_padding_must_be_below_stride_or_dilation(client: TestClient) -> None:
    r = client.post(
        URL, json={"input": [[1.0, 2.0]], "kernel": [[1.0]], "stride": 2, "output_padding": 2}
    )
    assert r.status_code == 422
    assert "output_padding" in detail_text(r)


def test_padding_that_crops_everything_is_422(client: TestClient) -> None:
    r = client.post(URL, json={"input": [[1.0]], "kernel": [[1.0]], "padding": 1})
    assert r.status_code == 422
    assert "padding" in detail_text(r)


@pytest.mark.parametrize("padding", ["same", [0, 0, 0, 0]])
def test_only_int_or_pair_padding(client: TestClient, padding: Any) -> None:
    r = client.post(URL, json={"input": [[1.0]], "kernel": [[1.0]], "padding": padding})
    assert r.status_code == 422
    assert "padding" in detail_text(r)


def test_negative_output_padding_is_422(client: TestClient) -> None:
    r = client.post(URL, json={"input": [[1.0]], "kernel": [[1.0]], "output_padding": -1})
    assert r.status_code == 422
    assert "output_padding" in detail_text(r)
