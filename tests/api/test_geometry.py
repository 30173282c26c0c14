"""POST /api/v1/geometry: sizes agree with conv2d / conv_transpose2d, receptive fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient

from tests.api.helpers import detail_text

URL = "/api/v1/geometry"


def _pair(rng: np.random.Generator, lo: int, hi: int) -> int | list[int]:
    if rng.random() < 0.5:
        return int(rng.integers(lo, hi + 1))
    return [int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))]


def _as_pair(v: int | list[int]) -> list[int]:
    return [v, v] if isinstance(v, int) else list(v)


def _random_padding(rng: np.random.Generator) -> Any:
    return [
        int(rng.integers(0, 3)),
        [int(v) for v in rng.integers(0, 3, 2)],
        [int(v) for v in rng.integers(0, 3, 4)],
        "valid",
        "same",
        "full",
    ][int(rng.integers(0, 6))]


def _depends(
    op: Callable[..., torch.Tensor], size: int, axis: int, **params: list[int]
) -> list[list[int]]:
    """Per output index along one axis, the input indices with a nonzero gradient.

    The axis is probed alone (the other has size 1 and an identity setting), since the
    fields are per axis: in 2-D an output row that reads no input row hides every column.
    """
    shape = [1, 1, 1, 1]
    shape[axis] = size
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    args: dict[str, Any] = {
        name: [v, 1] if axis == 2 else [1, v]
        for name, v in params.items()
        if name not in ("kernel", "before", "after")
    }
    for name in ("before", "after"):
        if name in params:
            args[name] = [params[name], 0] if axis == 2 else [0, params[name]]
    if "padding" in args:
        args["padding"] = [params["padding"], 0] if axis == 2 else [0, params["padding"]]
    if "output_padding" in args:
        extra = params["output_padding"]
        args["output_padding"] = [extra, 0] if axis == 2 else [0, extra]
    kernel_shape = [1, 1, 1, 1]
    kernel_shape[axis] = params["kernel"]
    out = op(x, torch.ones(kernel_shape, dtype=torch.float64), **args)
    fields = []
    for o in range(out.shape[axis]):
        (grad,) = torch.autograd.grad(out.select(axis, o).sum(), x, retain_graph=True)
        fields.append(sorted(int(i) for i in torch.nonzero(grad.flatten()).flatten()))
    return fields


def _pad_then_conv(
    x: torch.Tensor, w: torch.Tensor, *, before: list[int], after: list[int], **kw: Any
) -> torch.Tensor:
    return F.conv2d(F.pad(x, (before[1], after[1], before[0], after[0])), w, **kw)


def test_example_stride_two_same(client: TestClient) -> None:
    r = client.post(URL, json={"input_size": [5, 5], "kernel_size": 3, "stride": 2, "padding": 1})
    assert r.status_code == 200
    body = r.json()
    assert body["shape"] == [3, 3]
    assert body["geometry"]["output"] == [3, 3]
    assert body["geometry"]["padding"] == [1, 1, 1, 1]
    assert body["rows"] == [[-1, 0, 1], [1, 2, 3], [3, 4, 5]]  # padding cells: -1 and 5
    assert body["cols"] == body["rows"]


@pytest.mark.parametrize("seed", range(30))
def test_geometry_matches_conv2d_and_its_receptive_fields(client: TestClient, seed: int) -> None:
    rng = np.random.default_rng(seed)
    while True:
        h, w = int(rng.integers(2, 8)), int(rng.integers(2, 8))
        kernel_size, stride, dilation = _pair(rng, 1, 3), _pair(rng, 1, 3), _pair(rng, 1, 2)
        request = {
            "input_size": [h, w],
            "kernel_size": kernel_size,
            "stride": stride,
            "padding": _random_padding(rng),
            "dilation": dilation,
        }
        geo = client.post(URL, json=request)
        if geo.status_code == 200:
            break
        assert geo.status_code == 422, geo.text
        assert "kernel" in detail_text(geo)
    k = _as_pair(kernel_size)
    conv = client.post(
        "/api/v1/conv2d",
        json={
            "input": np.zeros((h, w)).tolist(),
            "kernel": np.ones(k).tolist(),
            **{name: request[name] for name in ("stride", "padding", "dilation")},
        },
    )
    assert conv.status_code == 200, conv.text
    body = geo.json()
    assert body["geometry"] == conv.json()["geometry"]
    assert body["shape"] == conv.json()["shape"] == body["geometry"]["output"]
    top, _, left, _ = body["geometry"]["padding"]
    s, d = _as_pair(stride), _as_pair(dilation)
    assert body["rows"] == [
        [o * s[0] - top + a * d[0] for a in range(k[0])] for o in range(body["shape"][0])
    ]
    assert body["cols"] == [
        [o * s[1] - left + a * d[1] for a in range(k[1])] for o in range(body["shape"][1])
    ]
    # The in-range part is exactly what torch's gradient says each output reads.
    t, b, lft, rgt = body["geometry"]["padding"]
    for name, axis, n, before, after in (("rows", 0, h, t, b), ("cols", 1, w, lft, rgt)):
        expected = _depends(
            _pad_then_conv,
            n,
            2 + axis,
            kernel=k[axis],
            stride=s[axis],
            dilation=d[axis],
            before=before,
            after=after,
        )
        assert [[i for i in f if 0 <= i < n] for f in body[name]] == expected


@pytest.mark.parametrize("seed", range(20))
def test_transposed_geometry_matches_conv_transpose2d(client: TestClient, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    while True:
        h, w = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        kernel_size, stride, dilation = _pair(rng, 1, 3), _pair(rng, 1, 3), _pair(rng, 1, 2)
        padding, output_padding = _pair(rng, 0, 2), _pair(rng, 0, 1)
        request = {
            "input_size": [h, w],
            "kernel_size": kernel_size,
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "output_padding": output_padding,
            "transposed": True,
        }
        geo = client.post(URL, json=request)
        if geo.status_code == 200:
            break
        assert geo.status_code == 422, geo.text
    k = _as_pair(kernel_size)
    request.pop("transposed")
    request.pop("input_size")
    request.pop("kernel_size")
    conv = client.post(
        "/api/v1/conv_transpose2d",
        json={"input": np.zeros((h, w)).tolist(), "kernel": np.ones(k).tolist(), **request},
    )
    assert conv.status_code == 200, conv.text
    body = geo.json()
    assert body["geometry"] == conv.json()["geometry"]
    assert body["shape"] == conv.json()["shape"]
    for name, axis, n in (("rows", 0, h), ("cols", 1, w)):
        expected = _depends(
            F.conv_transpose2d,
            n,
            2 + axis,
            kernel=k[axis],
            stride=_as_pair(stride)[axis],
            padding=_as_pair(padding)[axis],
            output_padding=_as_pair(output_padding)[axis],
            dilation=_as_pair(dilation)[axis],
        )
        assert body[name] == expected


def test_kernel_larger_than_input_names_both_sizes(client: TestClient) -> None:
    r = client.post(URL, json={"input_size": [7, 7], "kernel_size": 5, "dilation": 2})
    assert r.status_code == 422
    want = "kernel: (5x5, dilation 2 -> 9x9) is larger than the padded input (7x7)"
    assert want in detail_text(r)


def test_transposed_rejects_named_padding(client: TestClient) -> None:
    r = client.post(
        URL, json={"input_size": [4, 4], "kernel_size": 3, "padding": "same", "transposed": True}
    )
    assert r.status_code == 422
    assert "padding" in detail_text(r)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("input_size", [0, 3]),
        ("input_size", [3]),
        ("kernel_size", 0),
        ("stride", 0),
        ("dilation", [1, 0]),
        ("padding", -1),
    ],
)
def test_invalid_values_are_422(client: TestClient, field: str, value: Any) -> None:
    r = client.post(URL, json={"input_size": [4, 4], "kernel_size": 3} | {field: value})
    assert r.status_code == 422
    assert field in detail_text(r)


def test_input_size_over_the_side_limit_is_413(client: TestClient) -> None:
    r = client.post(URL, json={"input_size": [10**9, 4], "kernel_size": 3})
    assert r.status_code == 413
    assert "CONVSCOPE_MAX_SIDE" in r.json()["detail"]
