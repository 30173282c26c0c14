"""POST /api/v1/conv_transpose2d with ``trace: true``: every input cell's scattered
contribution, the running output, and the equivalent direct convolution, each checked
against torch float64 (``conv_transpose2d`` and ``conv2d``) on random cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient

from tests.api.helpers import detail_text

URL = "/api/v1/conv_transpose2d"


def _case(seed: int) -> tuple[dict[str, Any], torch.Tensor]:
    """A random request (stride up to 3, padding, output_padding, dilation, groups) and
    torch's output for it."""
    rng = np.random.default_rng(seed)
    while True:
        groups = int(rng.integers(1, 3))
        c, og = groups * int(rng.integers(1, 3)), int(rng.integers(1, 3))
        h, w = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        s = [int(rng.integers(1, 4)), int(rng.integers(1, 4))]
        d = [int(rng.integers(1, 3)), int(rng.integers(1, 3))]
        p = [int(rng.integers(0, 3)), int(rng.integers(0, 3))]
        op = [int(rng.integers(0, 3)), int(rng.integers(0, 3))]
        if seed % 4 == 0:  # every fourth case: the classic upsampling layer
            s, p, op, d = [2, 2], [1, 1], [1, 1], [1, 1]
        if any(op[a] >= s[a] and op[a] >= d[a] for a in (0, 1)):
            continue
        x = torch.tensor(rng.normal(size=(c, h, w)))
        weight = torch.tensor(rng.normal(size=(c, og, kh, kw)))
        bias = torch.tensor(rng.normal(size=(og * groups,)))
        try:
            expected = F.conv_transpose2d(
                x[None],
                weight,
                bias,
                stride=s,
                padding=p,
                output_padding=op,
                groups=groups,
                dilation=d,
            )[0]
        except RuntimeError:  # padding crops everything away
            continue
        body = {
            "input": x.tolist(),
            "kernel": weight.tolist(),
            "bias": bias.tolist(),
            "stride": s,
            "padding": p,
            "output_padding": op,
            "dilation": d,
            "groups": groups,
            "trace": True,
        }
        return body, expected


def _traced(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(URL, json=body)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("seed", range(24))
def test_scattered_contributions_add_up_to_torch(client: TestClient, seed: int) -> None:
    body, expected = _case(seed)
    result = _traced(client, body)
    x = np.array(body["input"])
    c, h, w = x.shape
    assert [st["in"] for st in result["steps"]] == [
        [ch, i, j] for ch in range(c) for i in range(h) for j in range(w)
    ]
    total = np.zeros(expected.shape) + np.array(body["bias"])[:, None, None]
    for st in result["steps"]:
        ch, i, j = st["in"]
        assert st["value"] == x[ch, i, j]
        o0, o1 = st["out_channels"]
        scaled = np.array(st["scaled"])
        np.testing.assert_allclose(scaled, x[ch, i, j] * np.array(body["kernel"])[ch], rtol=1e-12)
        for a, row in enumerate(st["targets"]):
            for b, (r, q) in enumerate(row):
                inside = 0 <= r < expected.shape[1] and 0 <= q < expected.shape[2]
                assert st["kept"][a][b] == inside
                if inside:
                    total[o0:o1, r, q] += scaled[:, a, b]
        # the running output after this step is exactly the contributions so far
        np.testing.assert_allclose(st["running"], total, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(total, expected.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result["output"], expected.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", range(24))
def test_direct_convolution_over_the_zero_inserted_input_equals_torch(
    client: TestClient, seed: int
) -> None:
    body, expected = _case(seed)
    direct = _traced(client, body)["direct"]
    got = F.conv2d(
        torch.tensor(direct["input"], dtype=torch.float64)[None],
        torch.tensor(direct["kernel"], dtype=torch.float64),
        torch.tensor(body["bias"], dtype=torch.float64),
        stride=1,
        dilation=body["dilation"],
        groups=body["groups"],
    )[0]
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-9, atol=1e-12)
    # the rows/cols maps say where the input cells sit; every other cell is zero
    z = np.array(direct["input"])
    x = np.array(body["input"])
    for r, i in enumerate(direct["rows"]):
        for q, j in enumerate(direct["cols"]):
            want = x[:, i, j] if i is not None and j is not None else 0.0
            np.testing.assert_array_equal(z[:, r, q], want)


def test_hand_worked_upsampling_step() -> None:
    """2x2 input, 3x3 kernel, stride 2, padding 1, output_padding 1 (a 4x4 output):
    the first cell (value 1) lands its kernel with the top row and left column cropped."""
    with TestClient(__import__("app.main", fromlist=["app"]).app) as client:
        result = _traced(
            client,
            {
                "input": [[1, 2], [3, 4]],
                "kernel": [[1, 0, -1], [2, 1, 0], [0, 1, 1]],
                "stride": 2,
                "padding": 1,
                "output_padding": 1,
                "trace": True,
            },
        )
    first = result["steps"][0]
    assert first["origin"] == [0, 0]
    assert first["kept"] == [[False] * 3, [False, True, True], [False, True, True]]
    assert first["targets"][1][1] == [0, 0]
    assert first["running"] == [[[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]]
    assert result["uncropped_shape"] == [6, 6]
    assert result["direct"]["padding"] == [1, 2, 1, 2]  # k - 1 - p, + output_padding after
    assert result["direct"]["rows"] == [None, 0, None, 1, None, None]
    assert result["direct"]["kernel"] == [[[[1, 1, 0], [0, 1, 2], [-1, 0, 1]]]]  # rotated


def test_trace_region_walks_input_cells_and_keeps_the_running_total(client: TestClient) -> None:
    body, _ = _case(1)
    full = _traced(client, body)
    h, w = np.array(body["input"]).shape[1:]
    region = {"rows": [h - 1, h], "cols": [0, w]}
    part = _traced(client, body | {"trace_region": region})
    wanted = [st for st in full["steps"] if st["in"][1] == h - 1]
    assert part["steps"] == wanted


def test_trace_region_outside_the_input_names_the_input(client: TestClient) -> None:
    r = client.post(
        URL,
        json={
            "input": [[1.0, 2.0]],
            "kernel": [[1.0]],
            "trace": True,
            "trace_region": {"rows": [0, 2], "cols": [0, 1]},
        },
    )
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert error["loc"] == ["body", "trace_region"]
    assert error["msg"].startswith("trace_region.rows [0, 2] must satisfy")
    assert "(the input has 1 rows; end is exclusive)" in error["msg"]


def test_no_trace_no_steps(client: TestClient) -> None:
    r = client.post(URL, json={"input": [[1.0]], "kernel": [[1.0]]})
    assert set(r.json()) == {"output", "shape", "geometry"}


def test_running_output_is_left_out_when_it_would_pass_the_limit(
    limited_client: Any,
) -> None:
    # 4 steps x (2 x 9) + direct (1 x 6 x 6 + 9) = 117 values; with 4 x 16 running, 181.
    body = {
        "input": [[1.0, 2.0], [3.0, 4.0]],
        "kernel": [[1.0] * 3] * 3,
        "stride": 2,
        "padding": 1,
        "output_padding": 1,
        "trace": True,
    }
    small = limited_client(max_trace_values=150)
    result = small.post(URL, json=body).json()
    assert len(result["steps"]) == 4
    assert all("running" not in st for st in result["steps"])
    roomy = limited_client(max_trace_values=181)
    assert all("running" in st for st in roomy.post(URL, json=body).json()["steps"])
    tight = limited_client(max_trace_values=116)
    r = tight.post(URL, json=body)
    assert r.status_code == 413
    assert detail_text(r).startswith("trace_region: trace values (117) is over the limit")
