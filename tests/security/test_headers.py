"""Security headers on every kind of answer, request ids, access logs, CORS, and user text
that comes back in error messages as JSON data, never as markup."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

CONV = "/api/v1/conv2d"
IMAGE_CONV = "/api/v1/images/conv2d"
GOOD_CONV = {"input": [[1, 2], [3, 4]], "kernel": [[1]]}


def csp_directives(header: str) -> dict[str, list[str]]:
    """``"script-src 'self'; frame-ancestors 'none'"`` -> {"script-src": ["'self'"], ...}."""
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def assert_security_headers(headers: Any) -> None:
    csp = csp_directives(headers["content-security-policy"])
    script_src = csp.get("script-src", csp.get("default-src"))
    assert script_src is not None
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert "*" not in script_src and "data:" not in script_src
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] in ("no-referrer", "strict-origin-when-cross-origin")


# ---- security headers ----------------------------------------------------------------------

ANSWERS = [
    pytest.param("GET", "/", None, 200, id="page /"),
    pytest.param("GET", "/step", None, 200, id="page /step"),
    pytest.param("GET", "/pooling", None, 200, id="page /pooling"),
    pytest.param("GET", "/docs", None, 200, id="page /docs"),
    pytest.param("GET", "/openapi.json", None, 200, id="openapi"),
    pytest.param("GET", "/healthz", None, 200, id="healthz"),
    pytest.param("GET", "/api/v1/kernels", None, 200, id="api GET"),
    pytest.param("POST", CONV, GOOD_CONV, 200, id="api POST"),
    pytest.param("GET", "/static/js/api.js", None, 200, id="static js"),
    pytest.param("GET", "/static/css/app.css", None, 200, id="static css"),
    pytest.param("GET", "/static/css/icon.svg", None, 200, id="static svg"),
    pytest.param("GET", "/static/samples/gradient.png", None, 200, id="static png"),
    pytest.param("GET", "/no/such/page", None, 404, id="404 route"),
    pytest.param("GET", "/static/no-such-file.js", None, 404, id="404 static"),
    pytest.param("GET", "/api/v1/kernels/nope", None, 404, id="404 api"),
    pytest.param("GET", CONV, None, 405, id="405"),
    pytest.param("POST", CONV, {"input": "x"}, 422, id="422"),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), ANSWERS)
def test_every_answer_carries_the_security_headers(
    client: TestClient, method: str, path: str, body: Any, status: int
) -> None:
    r = client.request(method, path, json=body)
    assert r.status_code == status
    assert_security_headers(r.headers)


def test_a_400_for_a_body_that_is_not_utf8_carries_the_headers(client: TestClient) -> None:
    not_utf8 = b'{"input": [[1\xff]]}'
    r = client.post(CONV, content=not_utf8, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert_security_headers(r.headers)


def test_a_413_from_the_body_limit_carries_the_headers(client: TestClient) -> None:
    # The limit refuses by Content-Length before the app runs: the outer middleware still adds
    # the headers.
    r = client.post(CONV, content=b"x", headers={"content-length": str(10**12)})
    assert r.status_code == 413
    assert_security_headers(r.headers)
    assert "x-request-id" in r.headers


def test_the_headers_are_not_duplicated(client: TestClient) -> None:
    r = client.get("/")
    for name in ("content-security-policy", "x-content-type-options", "referrer-policy"):
        assert len(r.headers.get_list(name)) == 1, name


@pytest.mark.parametrize("path", ["/", "/step", "/pooling", "/docs"])
def test_pages_have_no_inline_script_for_the_csp_to_block(client: TestClient, path: str) -> None:
    html = client.get(path).text
    for tag in re.findall(r"<script\b[^>]*>", html, flags=re.IGNORECASE):
        assert "src=" in tag, f"inline script on {path}: {tag}"
    assert not re.search(r"\son[a-z]+\s*=", html, flags=re.IGNORECASE), "inline event handler"
    assert "javascript:" not in html.lower()
    assert not re.search(r"<style\b", html, flags=re.IGNORECASE), "inline style block"


# ---- request ids and the access log ------------------------------------------------------


def test_a_sane_request_id_is_echoed(client: TestClient) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "lb-42.a_b-C"})
    assert r.headers["x-request-id"] == "lb-42.a_b-C"


def test_a_new_request_id_is_made_when_none_is_given(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


@pytest.mark.parametrize(
    "given",
    [
        "",
        "x" * 65,
        "has space",
        "<script>alert(1)</script>",
        "a;b",
        '"quoted"',
        "caf\u00e9",
        "../../etc/passwd",
    ],
)
def test_an_insane_request_id_is_replaced(client: TestClient, given: str) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": given.encode("latin-1")})
    assert r.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "convscope.access"]


def test_each_request_logs_one_json_access_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="convscope.access")
    client.get("/healthz", headers={"X-Request-ID": "req-1"})
    client.post(CONV, json=GOOD_CONV, headers={"X-Request-ID": "req-2"})
    client.post(CONV, json={"input": "x"}, headers={"X-Request-ID": "req-3"})
    client.get("/static/no-such-file.js", headers={"X-Request-ID": "req-4"})
    lines = _access_lines(caplog)
    assert [line["request_id"] for line in lines] == ["req-1", "req-2", "req-3", "req-4"]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/healthz", 200),
        ("POST", CONV, 200),
        ("POST", CONV, 422),
        ("GET", "/static/no-such-file.js", 404),
    ]
    for line in lines:
        assert set(line) >= {"request_id", "method", "path", "status", "ms"}
        assert isinstance(line["ms"], int | float) and line["ms"] >= 0


def test_the_access_log_id_matches_the_response_header(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="convscope.access")
    r = client.get("/healthz")
    (line,) = _access_lines(caplog)
    assert line["request_id"] == r.headers["x-request-id"]


def test_the_access_log_keeps_hostile_paths_as_json_strings(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="convscope.access")
    client.get("/x%22%7D%0A%7B%22status%22:%20200,%20%22fake%22:%20%22%3Cb%3E")  # x"}\n{"status"...
    (record,) = [r for r in caplog.records if r.name == "convscope.access"]
    assert "\n" not in record.getMessage()  # one line: a forged second entry is impossible
    line = json.loads(record.getMessage())
    assert line["status"] == 404 and "fake" not in line


# ---- CORS ----------------------------------------------------------------------------------


def test_cors_is_off_by_default(client: TestClient) -> None:
    origin = {"Origin": "https://example.org"}
    assert (
        "access-control-allow-origin" not in client.get("/api/v1/kernels", headers=origin).headers
    )
    preflight = client.options(CONV, headers={**origin, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-methods" not in preflight.headers


def test_cors_allows_the_configured_origins_only(make_app: Callable[..., FastAPI]) -> None:
    app = make_app(cors_origins='["https://example.org"]')
    with TestClient(app) as c:
        ok = c.post(CONV, json=GOOD_CONV, headers={"Origin": "https://example.org"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://example.org"
        preflight = c.options(
            CONV,
            headers={
                "Origin": "https://example.org",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://example.org"
        assert_security_headers(preflight.headers)
        other = c.post(CONV, json=GOOD_CONV, headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        assert "access-control-allow-credentials" not in ok.headers


# ---- user text comes back as JSON data -----------------------------------------------------

HTML = "<img src=x onerror=alert(1)>"


def assert_json_error(r: Any, status: int, *fragments: str) -> None:
    """A JSON error (never HTML) whose decoded detail holds each fragment verbatim."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["x-content-type-options"] == "nosniff"
    detail = json.dumps(r.json()["detail"], ensure_ascii=False)
    text = detail if isinstance(r.json()["detail"], list) else r.json()["detail"]
    for fragment in fragments:
        assert fragment in text or json.dumps(fragment)[1:-1] in text


def form(client: TestClient, **fields: str) -> Any:
    return client.post(IMAGE_CONV, files={k: (None, v) for k, v in fields.items()})


def test_an_unknown_sample_name_comes_back_as_json_text(client: TestClient) -> None:
    r = form(client, sample=HTML, params='{"kernel": "identity"}')
    assert_json_error(r, 422, HTML)


def test_an_unknown_preset_in_params_comes_back_as_json_text(client: TestClient) -> None:
    r = form(client, sample="gradient", params=json.dumps({"kernel": HTML}))
    assert_json_error(r, 422, HTML)


def test_an_unknown_preset_name_in_the_path_comes_back_as_json_text(client: TestClient) -> None:
    r = client.get("/api/v1/kernels/%3Cimg%20src=x%20onerror=alert(1)%3E")
    assert_json_error(r, 404, HTML)


def test_params_that_are_html_come_back_as_json(client: TestClient) -> None:
    r = form(client, sample="gradient", params=f"<html><body>{HTML}</body></html>")
    assert_json_error(r, 422, "params")
    assert "<html>" not in r.text  # not echoed at all


@pytest.mark.parametrize(
    "body",
    [
        {"input": HTML, "kernel": [[1]]},
        {"input": [[1]], "kernel": [[1]], "padding": HTML},
        {"input": [[1]], "kernel": [[1]], "stride": f"1{HTML}"},
        {"input": [[1]], "kernel": [[1]], HTML: 1},
    ],
)
def test_html_in_json_fields_comes_back_as_json(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post(CONV, json=body)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/json")
    r.json()  # parses


def test_a_path_with_markup_is_a_json_404(client: TestClient) -> None:
    r = client.get("/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert_json_error(r, 404)
    assert "<script>" not in r.text


def test_no_answer_is_html_except_the_pages(client: TestClient) -> None:
    for r in (
        form(client, sample=HTML),
        client.get("/api/v1/kernels/" + "%3Cb%3E"),
        client.post(CONV, content=f"{HTML}", headers={"content-type": "text/html"}),
    ):
        assert "text/html" not in r.headers["content-type"], r.text
