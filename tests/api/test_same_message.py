"""The same mistake gets the same 4xx and message on the JSON, image and learn paths;
every 422 message starts with the field it is about."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.kernels import PRESETS
from app.samples import SAMPLES

KNOWN_PRESETS = ", ".join(PRESETS)
KNOWN_SAMPLES = ", ".join(s["name"] for s in SAMPLES)
LEARN = "/api/v1/learn?format=json"


def image(client: TestClient, url: str, params: dict[str, Any], **form: str) -> Any:
    data = {"params": json.dumps(params), "sample": "checkerboard"} | form
    return client.post(f"/api/v1/images/{url}", data=data)


def only_message(r: Any) -> tuple[list[Any], str]:
    assert r.status_code == 422, r.text
    (item,) = r.json()["detail"]
    return item["loc"], item["msg"]


def test_an_unknown_preset_reads_the_same_everywhere(client: TestClient) -> None:
    reason = f"'nope' is not a preset kernel; known presets: {KNOWN_PRESETS}"
    assert only_message(image(client, "conv2d", {"kernel": "nope"})) == (
        ["body", "params.kernel"],
        f"params.kernel: {reason}",
    )
    assert only_message(
        image(client, "pipeline", {"layers": [{"type": "conv2d", "kernel": "nope"}]})
    ) == (
        ["body", "params.layers[0].kernel"],
        f"params.layers[0].kernel: layer 1 (conv2d): {reason}",
    )
    assert only_message(client.post(LEARN, json={"target": "nope", "steps": 1})) == (
        ["body", "target"],
        f"target: {reason}",
    )
    # Only the preset lookup by URL is a 404.
    r = client.get("/api/v1/kernels/nope")
    assert (r.status_code, r.json()) == (404, {"detail": f"name: {reason}"})


def test_an_unknown_sample_reads_the_same_everywhere(client: TestClient) -> None:
    reason = f"'nope' is not a bundled sample; known samples: {KNOWN_SAMPLES}"
    expected = (["body", "sample"], f"sample: {reason}")
    for url, params in [("conv2d", {"kernel": "identity"}), ("pipeline", {"layers": [{}]})]:
        if url == "pipeline":
            params = {"layers": [{"type": "activation"}]}
        assert only_message(image(client, url, params, sample="nope")) == expected
    assert only_message(client.post(LEARN, json={"sample": "nope", "steps": 1})) == expected


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/conv2d", {"input": [[1.0, 2.0], [3.0]], "kernel": [[1.0]]}, "input"),
        ("/api/v1/conv2d", {"input": [[1.0]], "kernel": [[1.0, 1.0]]}, "kernel"),
        ("/api/v1/pool2d", {"input": [[1.0] * 4], "mode": "avg", "dilation": 2}, "dilation"),
        (
            "/api/v1/loss",
            {"function": "cross_entropy", "input": [1.0, 2.0], "target": 0.5},
            "target",
        ),
        (
            "/api/v1/geometry",
            {"input_size": [4, 4], "kernel_size": 2, "transposed": True, "padding": "same"},
            "padding",
        ),
    ],
)
def test_a_json_param_error_starts_with_its_field(
    client: TestClient, url: str, body: dict[str, Any], field: str
) -> None:
    loc, msg = only_message(client.post(url, json=body))
    assert loc == ["body", field]
    assert msg.startswith(f"{field}: "), msg


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("pool2d", {"mode": "avg", "dilation": 2}, "params.dilation"),
        ("pixels", {"rows": [5, 2], "cols": [0, 1]}, "params.rows"),
        ("conv2d", {"kernel": [[1.0, 2.0], [3.0]]}, "params.kernel"),
        ("conv2d", {"kernel": "identity", "stride": 0}, "params.stride"),
    ],
)
def test_an_image_param_error_starts_with_its_field(
    client: TestClient, url: str, params: dict[str, Any], field: str
) -> None:
    _, msg = only_message(image(client, url, params))
    assert msg.startswith(f"{field}: "), msg
