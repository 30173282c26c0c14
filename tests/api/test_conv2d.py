"""POST /api/v1/conv2d: golden cases, random cases against torch float64, traces, errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient

from tests.api.helpers import assert_close, detail_text

URL = "/api/v1/conv2d"
EDGE_PATCH = [[0.6, 0.2, 0.6], [0.1, -0.2, -0.3], [-0.5, -0.1, -0.3]]
EDGE_KERNEL = [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]
TORCH_MODE = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "replicate",
    "circular": "circular",
}


# ---- hand-worked cases --------------------------------------------------------------


def test_edge_filter_gives_2_3(client: TestClient) -> None:
    r = client.post(URL, json={"input": EDGE_PATCH, "kernel": EDGE_KERNEL})
    assert r.status_code == 200
    body = r.json()
    assert body["output"] == [[pytest.approx(2.3, abs=1e-12)]]
    assert body["shape"] == [1, 1]
    assert body["geometry"] == {
        "input": [3, 3],
        "padding": [0, 0, 0, 0],
        "kernel": [3, 3],
        "effective_kernel": [3, 3],
        "stride": [1, 1],
        "dilation": [1, 1],
        "output": [1, 1],
        "formula": {
            "general": "out = ⌊(in + pad_before + pad_after − dilation·(kernel − 1) − 1) "
            "/ stride⌋ + 1",
            # (3 + 0 + 0 - 2 - 1) / 1 = 0, + 1 = 1
            "rows": "⌊(3 + 0 + 0 − 1·(3 − 1) − 1) / 1⌋ + 1 = 1",
            "cols": "⌊(3 + 0 + 0 − 1·(3 − 1) − 1) / 1⌋ + 1 = 1",
        },
    }
    assert "steps" not in body and "padded_input" not in body


def test_negated_patch_gives_minus_2_3(client: TestClient) -> None:
    negated = [[-v for v in row] for row in EDGE_PATCH]
    r = client.post(URL, json={"input": negated, "kernel": EDGE_KERNEL})
    assert r.status_code == 200
    assert r.json()["output"] == [[pytest.approx(-2.3, abs=1e-12)]]


def test_kernel_is_not_flipped(client: TestClient) -> None:
    r = client.post(
        URL, json={"input": [[0, 1, 2], [3, 4, 5], [6, 7, 8]], "kernel": [[0, 1], [2, 3]]}
    )
    assert r.status_code == 200
    assert r.json()["output"] == [[19, 25], [37, 43]]
    assert r.json()["shape"] == [2, 2]


def test_bias_number_and_list(client: TestClient) -> None:
    base = {"input": EDGE_PATCH, "kernel": EDGE_KERNEL}
    r = client.post(URL, json=base | {"bias": 0.5})
    assert r.status_code == 200
    assert r.json()["output"][0][0] == pytest.approx(2.8, abs=1e-12)
    r = client.post(URL, json=base | {"kernel": [[EDGE_KERNEL]], "bias": [-1.0]})
    assert r.status_code == 200
    assert r.json()["output"] == [[[pytest.approx(1.3, abs=1e-12)]]]
    assert r.json()["shape"] == [1, 1, 1]


def test_three_d_input_with_three_d_kernel_sums_channels(client: TestClient) -> None:
    x = [[[1.0, 2.0], [3.0, 4.0]], [[10.0, 20.0], [30.0, 40.0]]]
    r = client.post(URL, json={"input": x, "kernel": [[[1.0]], [[0.5]]]})
    assert r.status_code == 200
    assert r.json()["output"] == [[6.0, 12.0], [18.0, 24.0]]
    assert r.json()["shape"] == [2, 2]


def test_two_d_kernel_on_multichannel_input_is_422(client: TestClient) -> None:
    x = [[[1.0, 2.0], [3.0, 4.0]]] * 3
    r = client.post(URL, json={"input": x, "kernel": [[1.0]]})
    assert r.status_code == 422
    assert "kernel" in detail_text(r) and "3 channels" in detail_text(r)


def test_two_d_kernel_with_depthwise_groups_is_refused_or_depthwise(client: TestClient) -> None:
    # groups=C with a 2-D kernel means one (1, kh, kw) filter for C groups: PyTorch refuses
    # because the number of filters (1) is not divisible by groups.
    x = [[[1.0, 2.0], [3.0, 4.0]]] * 2
    r = client.post(URL, json={"input": x, "kernel": [[1.0]], "groups": 2})
    assert r.status_code == 422
    assert "groups" in detail_text(r)


def test_groups_must_divide_channels(client: TestClient) -> None:
    x = [[[1.0, 2.0], [3.0, 4.0]]] * 3
    kernel = [[[[1.0]]], [[[1.0]]]]
    r = client.post(URL, json={"input": x, "kernel": kernel, "groups": 2})
    assert r.status_code == 422
    assert "groups" in detail_text(r)


def test_kernel_channels_must_match_input(client: TestClient) -> None:
    x = [[[1.0, 2.0], [3.0, 4.0]]] * 3
    r = client.post(URL, json={"input": x, "kernel": [[[1.0]], [[1.0]]]})
    assert r.status_code == 422
    text = detail_text(r)
    assert "weight" in text or "kernel" in text


def test_bias_list_length_must_match_filters(client: TestClient) -> None:
    r = client.post(URL, json={"input": EDGE_PATCH, "kernel": [[EDGE_KERNEL]] * 2, "bias": [1.0]})
    assert r.status_code == 422
    assert "bias" in detail_text(r)


def test_reflect_padding_must_be_smaller_than_input(client: TestClient) -> None:
    r = client.post(
        URL,
        json={"input": EDGE_PATCH, "kernel": [[1.0]], "padding": 3, "padding_mode": "reflect"},
    )
    assert r.status_code == 422
    assert "padding" in detail_text(r)


# ---- random cases against torch -----------------------------------------------------


def _resolve_padding(
    padding: Any, size: tuple[int, int], stride: list[int], ek: list[int]
) -> list[int]:
    """[top, bottom, left, right] per docs/api.md, computed independently of the app."""
    if padding == "valid":
        return [0, 0, 0, 0]
    if padding == "full":
        return [ek[0] - 1, ek[0] - 1, ek[1] - 1, ek[1] - 1]
    if padding == "same":
        out = []
        for n, s, k in zip(size, stride, ek, strict=True):
            total = max((math.ceil(n / s) - 1) * s + k - n, 0)
            out += [total // 2, total - total // 2]
        return out
    if isinstance(padding, int):
        return [padding] * 4
    if len(padding) == 2:
        return [padding[0], padding[0], padding[1], padding[1]]
    return list(padding)


def _pair(rng: np.random.Generator, lo: int, hi: int) -> int | list[int]:
    if rng.random() < 0.5:
        return int(rng.integers(lo, hi + 1))
    return [int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))]


def _as_pair(v: int | list[int]) -> list[int]:
    return [v, v] if isinstance(v, int) else list(v)


def random_case(rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
    """A valid request and what the test needs to compute it with torch."""
    while True:
        form = rng.choice(["2d", "3d", "4d"])
        if form == "2d":
            c, groups, o = 1, 1, 1
        elif form == "3d":
            c, groups, o = int(rng.integers(1, 4)), 1, 1
        else:
            groups = int(rng.integers(1, 3))
            c = groups * int(rng.integers(1, 3))
            o = groups * int(rng.integers(1, 3))
        h, w = int(rng.integers(3, 8)), int(rng.integers(3, 8))
        kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        stride, dilation = _pair(rng, 1, 3), _pair(rng, 1, 2)
        kind = rng.choice(["int", "pair", "quad", "valid", "same", "full"])
        padding: Any = {
            "int": int(rng.integers(0, 3)),
            "pair": [int(v) for v in rng.integers(0, 3, 2)],
            "quad": [int(v) for v in rng.integers(0, 3, 4)],
            "valid": "valid",
            "same": "same",
            "full": "full",
        }[kind]
        mode = str(rng.choice(list(TORCH_MODE)))
        s, d = _as_pair(stride), _as_pair(dilation)
        ek = [d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1]
        pad = _resolve_padding(padding, (h, w), s, ek)
        if mode == "reflect" and (max(pad[:2]) >= h or max(pad[2:]) >= w):
            continue
        if mode == "circular" and (max(pad[:2]) > h or max(pad[2:]) > w):
            continue
        if ek[0] > h + pad[0] + pad[1] or ek[1] > w + pad[2] + pad[3]:
            continue
        break
    x = rng.normal(size=(c, h, w))
    weight = rng.normal(size=(o, c // groups, kh, kw))
    bias = rng.normal(size=o)
    two_d_input = c == 1 and rng.random() < 0.5
    kernel = {"2d": weight[0, 0], "3d": weight[0], "4d": weight}[form]
    bias_json: Any = float(bias[0]) if (form != "4d" or rng.random() < 0.3) else bias.tolist()
    if not isinstance(bias_json, list):
        bias = np.full(o, bias_json)
    request = {
        "input": (x[0] if two_d_input else x).tolist(),
        "kernel": kernel.tolist(),
        "bias": bias_json,
        "stride": stride,
        "padding": padding,
        "padding_mode": mode,
        "dilation": dilation,
        "groups": groups,
    }
    ref = {
        "x": x,
        "weight": weight,
        "bias": bias,
        "pad": pad,
        "s": s,
        "d": d,
        "ek": ek,
        "one_filter": form != "4d",
    }
    return request, ref


def torch_conv(ref: dict[str, Any], mode: str, groups: int) -> np.ndarray:
    x = torch.tensor(ref["x"], dtype=torch.float64)[None]
    t, b, left, right = ref["pad"]
    x = F.pad(x, (left, right, t, b), mode=TORCH_MODE[mode])
    w = torch.tensor(ref["weight"], dtype=torch.float64)
    bias = torch.tensor(ref["bias"], dtype=torch.float64)
    return F.conv2d(x, w, bias, stride=ref["s"], dilation=ref["d"], groups=groups)[0].numpy()


@pytest.mark.parametrize("seed", range(60))
def test_random_conv2d_matches_torch(client: TestClient, seed: int) -> None:
    rng = np.random.default_rng(seed)
    request, ref = random_case(rng)
    r = client.post(URL, json=request)
    assert r.status_code == 200, r.text
    body = r.json()
    expected = torch_conv(ref, request["padding_mode"], request["groups"])
    if ref["one_filter"]:
        expected = expected[0]
    assert_close(body["output"], expected)
    assert body["shape"] == list(expected.shape)
    geo = body["geometry"]
    assert geo["input"] == list(ref["x"].shape[1:])
    assert geo["padding"] == ref["pad"]
    assert geo["kernel"] == list(ref["weight"].shape[2:])
    assert geo["effective_kernel"] == ref["ek"]
    assert geo["stride"] == ref["s"] and geo["dilation"] == ref["d"]
    assert geo["output"] == list(expected.shape[-2:])


# torch notes that an even kernel with padding="same" makes a padded copy: expected here.
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning")
@pytest.mark.parametrize("size", [(5, 5), (6, 7), (4, 9)])
def test_same_padding_with_stride_one_equals_torch_same(
    client: TestClient, size: tuple[int, int]
) -> None:
    rng = np.random.default_rng(sum(size))
    x, w = rng.normal(size=size), rng.normal(size=(3, 4))
    r = client.post(URL, json={"input": x.tolist(), "kernel": w.tolist(), "padding": "same"})
    assert r.status_code == 200
    expected = F.conv2d(torch.tensor(x)[None, None], torch.tensor(w)[None, None], padding="same")
    assert_close(r.json()["output"], expected[0, 0].numpy())
    assert r.json()["shape"] == list(size)


def test_same_padding_with_stride_gives_ceil_size(client: TestClient) -> None:
    x = np.arange(35.0).reshape(5, 7)
    r = client.post(
        URL, json={"input": x.tolist(), "kernel": [[1.0] * 3] * 3, "stride": 2, "padding": "same"}
    )
    assert r.status_code == 200
    assert r.json()["shape"] == [3, 4]
    assert r.json()["geometry"]["padding"] == [1, 1, 1, 1]


# ---- traces -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(15))
def test_trace_steps_replay_the_output(client: TestClient, seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    request, ref = random_case(rng)
    r = client.post(URL, json=request | {"trace": True})
    assert r.status_code == 200, r.text
    body = r.json()
    out = np.asarray(body["output"])
    out3 = out[None] if ref["one_filter"] else out
    o, ho, wo = out3.shape
    steps = body["steps"]
    assert [s["out"] for s in steps] == [
        [f, i, j] for f in range(o) for i in range(ho) for j in range(wo)
    ]
    xp = np.asarray(body["padded_input"])
    c, h, w = ref["x"].shape
    t, b, left, right = ref["pad"]
    assert xp.shape == (c, h + t + b, w + left + right)
    assert_close(xp[:, t : t + h, left : left + w], ref["x"])
    cg = ref["weight"].shape[1]
    og = o // request["groups"]
    (sh, sw), (dh, dw), (ekh, ekw) = ref["s"], ref["d"], ref["ek"]
    for step in steps:
        f, i, j = step["out"]
        assert step["origin"] == [i * sh, j * sw]
        group = f // og
        window = xp[
            group * cg : (group + 1) * cg, i * sh : i * sh + ekh : dh, j * sw : j * sw + ekw : dw
        ]
        assert_close(step["window"], window)
        assert_close(step["products"], window * ref["weight"][f])
        assert step["bias"] == pytest.approx(ref["bias"][f], rel=1e-12)
        assert step["sum"] == pytest.approx(
            float(np.sum(step["products"])) + step["bias"], rel=1e-9, abs=1e-12
        )
        assert step["sum"] == pytest.approx(out3[f, i, j], rel=1e-9, abs=1e-12)


def test_trace_of_edge_example(client: TestClient) -> None:
    r = client.post(URL, json={"input": EDGE_PATCH, "kernel": EDGE_KERNEL, "trace": True})
    assert r.status_code == 200
    body = r.json()
    assert body["padded_input"] == [EDGE_PATCH]
    (step,) = body["steps"]
    assert step["out"] == [0, 0, 0] and step["origin"] == [0, 0]
    assert step["window"] == [EDGE_PATCH]
    assert step["bias"] == 0
    assert step["sum"] == pytest.approx(2.3, abs=1e-12)


def test_trace_region_is_a_subset_of_the_full_trace(client: TestClient) -> None:
    rng = np.random.default_rng(7)
    x, w = rng.normal(size=(2, 6, 7)), rng.normal(size=(3, 2, 3, 2))
    request = {"input": x.tolist(), "kernel": w.tolist(), "padding": 1, "trace": True}
    full = client.post(URL, json=request)
    part = client.post(URL, json=request | {"trace_region": {"rows": [1, 3], "cols": [2, 5]}})
    assert full.status_code == part.status_code == 200
    assert part.json()["output"] == full.json()["output"]
    expected = [s for s in full.json()["steps"] if 1 <= s["out"][1] < 3 and 2 <= s["out"][2] < 5]
    assert len(expected) == 3 * 2 * 3
    assert part.json()["steps"] == expected


def test_trace_region_outside_the_output_is_422(client: TestClient) -> None:
    request = {
        "input": EDGE_PATCH,
        "kernel": [[1.0]],
        "trace": True,
        "trace_region": {"rows": [0, 4], "cols": [0, 1]},
    }
    r = client.post(URL, json=request)
    assert r.status_code == 422
    assert "trace_region" in detail_text(r)


def test_trace_region_empty_span_is_422(client: TestClient) -> None:
    request = {
        "input": EDGE_PATCH,
        "kernel": [[1.0]],
        "trace": True,
        "trace_region": {"rows": [2, 2], "cols": [0, 1]},
    }
    r = client.post(URL, json=request)
    assert r.status_code == 422
    assert "trace_region" in detail_text(r)


def test_trace_over_the_limit_says_use_trace_region(client: TestClient) -> None:
    x = np.zeros((70, 70)).tolist()  # 4,900 steps > 4,096
    r = client.post(URL, json={"input": x, "kernel": [[1.0]], "trace": True})
    assert r.status_code == 413
    assert r.json()["detail"] == (
        "trace_region: trace steps (4,900) is over the limit of 4,096 "
        "(set CONVSCOPE_MAX_TRACE_STEPS to change it)"
    )
    r = client.post(
        URL,
        json={
            "input": x,
            "kernel": [[1.0]],
            "trace": True,
            "trace_region": {"rows": [0, 10], "cols": [0, 70]},
        },
    )
    assert r.status_code == 200
    assert len(r.json()["steps"]) == 700
