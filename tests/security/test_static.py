"""``/static`` serves its own folder and nothing else: path traversal in every spelling is a
404 (or 400), never an app file and never a 500.

The requests go over a raw socket to a live uvicorn server, so the request target reaches
the server byte for byte (a client library would normalise ``..`` away), and also straight
into the ASGI app with a hand-made scope, past any decoding uvicorn does.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from app.config import ROOT
from app.main import app
from tests.security.aio import run_async

# Text from files outside static/ that must never come back.
SECRETS = (b"class Settings", b"[project]", b"root:", b"BaseSettings", b"{% block", b"import ")
CONFIG = "app/config.py"
ABSOLUTE = str(ROOT / CONFIG)

TRAVERSALS = [
    f"/static/../{CONFIG}",
    f"/static/../../{CONFIG}",
    "/static/../../../../../../etc/passwd",
    f"/static/js/../../{CONFIG}",
    f"/static/samples/../../{CONFIG}",
    "/static/../pyproject.toml",
    "/static/../templates/base.html",
    f"/static/%2e%2e/{CONFIG}",
    f"/static/%2E%2E/{CONFIG}",
    f"/static/.%2e/{CONFIG}",
    "/static/%2e%2e%2fapp%2fconfig.py",
    "/static/..%2fapp%2fconfig.py",
    "/static/..%2Fapp%2Fconfig.py",
    "/static/%252e%252e/app/config.py",
    "/static/..%252fapp%252fconfig.py",
    "/static/%c0%ae%c0%ae/app/config.py",
    "/static/%u002e%u002e/app/config.py",
    "/static/....//....//app/config.py",
    "/static/..;/app/config.py",
    "/static/..\\app\\config.py",
    "/static/..%5capp%5cconfig.py",
    "/static/%5c..%5c..%5capp%5cconfig.py",
    "/static/js\\..\\..\\app\\config.py",
    "/static/C:%5cWindows%5cwin.ini",
    f"/static/{ABSOLUTE}",
    f"/static/{ABSOLUTE.replace('/', '%2f')}",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/..%00/app/config.py",
    "/static/js/api.js%00.png",
    "/static/%00",
    "/static/%ff%fe",
    "/static/",
    "/static/js",
    "/static/js/",
    "/static/samples/..",
    "/static/js/api.js/..",
    "/static/.",
    "/static/%2e",
    "//etc/passwd",
    "/../../etc/passwd",
    f"/../{CONFIG}",
    f"/{CONFIG}",
    "/pyproject.toml",
    f"http://127.0.0.1/static/../{CONFIG}",
]


def assert_refused(status: int, body: bytes, target: str) -> None:
    assert status in (400, 404), f"{target!r}: {status} {body[:200]!r}"
    for secret in SECRETS:
        assert secret not in body, f"{target!r} leaked {secret!r}"


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_over_the_wire_is_refused(raw: Any, target: str) -> None:
    r = raw.get(target)
    assert_refused(r.status, r.body, target)


@pytest.mark.parametrize("target", TRAVERSALS[:8])
def test_traversal_with_head_is_refused(raw: Any, target: str) -> None:
    r = raw.request(
        f"HEAD {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    )
    assert r.status in (400, 404)


async def _asgi_get(asgi: FastAPI, path: str) -> tuple[int, bytes]:
    """GET ``path`` (already decoded, as a server would pass it) straight into the app."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asgi(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


DECODED_PATHS = [
    f"/static/../{CONFIG}",
    f"/static/../../{CONFIG}",
    f"/static/js/../../{CONFIG}",
    f"/static/..\\{CONFIG}",
    f"/static/{ABSOLUTE}",
    f"/static//{ABSOLUTE}",
    "/static/..",
    "/static/\x00",
    "/static/js/api.js\x00.png",
    "/static/\udcff",
    "/static/" + "a/" * 2000,
    "/static/" + "x" * 5000,
]


@pytest.mark.parametrize("path", DECODED_PATHS, ids=lambda p: repr(p[:40]))
def test_traversal_in_a_decoded_path_is_refused(path: str) -> None:
    status, body = run_async(_asgi_get(app, path))
    assert_refused(status, body, path)


@pytest.mark.parametrize(
    ("target", "content_type"),
    [
        ("/static/js/api.js", "text/javascript"),
        ("/static/css/app.css", "text/css"),
        ("/static/samples/gradient.png", "image/png"),
    ],
)
def test_files_inside_static_are_served(raw: Any, target: str, content_type: str) -> None:
    r = raw.get(target)
    assert r.status == 200
    assert r.headers["content-type"].startswith(content_type)
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "value",
    [
        "bytes=abc",
        "bytes=5-1",
        "bytes=-0",
        "bytes=99999999-",
        "bytes=-99999999999999999999",
        "bytes=0-1,1-2",
        "bytes=" + ",".join(["0-0"] * 500),
        "items=0-1",
        "bytes=\u00e9",
    ],
)
def test_odd_range_headers_never_500(raw: Any, value: str) -> None:
    r = raw.request(
        (
            "GET /static/js/api.js HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Range: {value}\r\nConnection: close\r\n\r\n"
        ).encode()
    )
    assert r.status in (200, 206, 400, 416)
