"""The OpenAPI document and /docs: loads, no CDN, the 2.3 example, every status declared."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.pages import PAGES

EDGE = {
    "input": [[0.6, 0.2, 0.6], [0.1, -0.2, -0.3], [-0.5, -0.1, -0.3]],
    "kernel": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
}
JSON_ERRORS = {"400", "413", "422"}
UPLOAD_ERRORS = {"400", "413", "415", "422"}


@pytest.fixture
def schema(client: TestClient) -> dict[str, Any]:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op) for path, ops in schema["paths"].items() for method, op in ops.items()
    ]


def test_schema_loads(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "ConvScope"
    for name in [
        "conv2d",
        "conv_transpose2d",
        "pool2d",
        "activation",
        "batch_norm",
        "dropout",
        "geometry",
    ]:
        assert "post" in schema["paths"][f"/api/v1/{name}"]
    assert "get" in schema["paths"]["/api/v1/kernels"]
    assert "get" in schema["paths"]["/api/v1/kernels/{name}"]


def test_docs_is_served_without_a_cdn(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://", r.text)
    assets = re.findall(r'<(?:link|script)[^>]*\b(?:src|href)="([^"]+)"', r.text)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        got = client.get(asset)
        assert got.status_code == 200, asset
        assert got.content


def test_docs_links_back_to_the_app(client: TestClient) -> None:
    r = client.get("/docs")
    links = re.findall(r'<a [^>]*href="([^"]+)"', r.text)
    # Every page of the one page table, no more.
    assert set(links) == {p.path for p in PAGES if p.rendered}
    for link in links:
        assert client.get(link).status_code == 200, link


def test_docs_script_points_at_our_schema_and_no_online_validator(client: TestClient) -> None:
    # Swagger UI's default validatorUrl (https://validator.swagger.io) adds an external
    # badge request on any host that is not localhost: it must be switched off.
    script = client.get("/static/js/docs.js").text
    assert "/openapi.json" in script
    assert not re.search(r"https?://", script)
    assert re.search(r"validatorUrl:\s*null", script), "docs.js must set validatorUrl: null"


def test_conv2d_default_example_is_the_2_3_example(
    client: TestClient, schema: dict[str, Any]
) -> None:
    media = schema["paths"]["/api/v1/conv2d"]["post"]["requestBody"]["content"]["application/json"]
    first = (
        next(iter(media["examples"].values()))["value"] if "examples" in media else media["example"]
    )
    assert first == EDGE
    r = client.post("/api/v1/conv2d", json=first)
    assert r.status_code == 200
    assert r.json()["output"][0][0] == pytest.approx(2.3, abs=1e-12)


def test_every_operation_declares_its_statuses(schema: dict[str, Any]) -> None:
    for method, path, op in _operations(schema):
        declared = set(op["responses"])
        assert "200" in declared, (method, path)
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            assert declared >= JSON_ERRORS, (method, path, declared)
        if "multipart/form-data" in content:
            assert declared >= UPLOAD_ERRORS, (method, path, declared)
        if "{" in path:
            assert "404" in declared, (method, path, declared)


def _schema_of(schema: dict[str, Any], op: dict[str, Any], status: int) -> str:
    ref = op["responses"][str(status)]["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


def _matches(body: Any, schema_name: str) -> bool:
    if schema_name == "ErrorMessage":
        return set(body) == {"detail"} and isinstance(body["detail"], str)
    if schema_name == "HTTPValidationError":
        return isinstance(body["detail"], list) and all(
            isinstance(item["loc"], list)
            and isinstance(item["msg"], str)
            and isinstance(item["type"], str)
            for item in body["detail"]
        )
    raise AssertionError(f"unexpected error schema {schema_name}")


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/v1/conv2d", b'{"input": [[1]]', 422),
        ("/api/v1/conv2d", b'{"input": [[1]], "kernel": [[1, 1]]}', 422),  # a hand-raised 422
        ("/api/v1/conv2d", b'{"input": [[1]], "kernel": [[1]], "padding": 100000}', 413),
        ("/api/v1/conv2d", b'{"input": [[1\xff]]}', 400),
        ("/api/v1/pool2d", b'{"input": [[1]], "kernel_size": 2}', 422),
        ("/api/v1/activation", b'{"input": [1], "function": "softmax", "dim": 3}', 422),
        ("/api/v1/batch_norm", b'{"input": [[[1]]]}', 422),
        ("/api/v1/geometry", b'{"input_size": [100000, 1], "kernel_size": 1}', 413),
        ("/api/v1/conv_transpose2d", b'{"input": [[1]], "kernel": [[1]], "padding": 1}', 422),
    ],
)
def test_error_bodies_match_their_declared_schema(
    client: TestClient, schema: dict[str, Any], path: str, body: bytes, status: int
) -> None:
    r = client.post(path, content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    op = schema["paths"][path]["post"]
    assert _matches(r.json(), _schema_of(schema, op, status))


def test_unknown_kernel_404_matches_its_schema(client: TestClient, schema: dict[str, Any]) -> None:
    r = client.get("/api/v1/kernels/nope")
    assert r.status_code == 404
    op = schema["paths"]["/api/v1/kernels/{name}"]["get"]
    assert _matches(r.json(), _schema_of(schema, op, 404))
