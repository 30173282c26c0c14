"""The concurrency cap (503 + Retry-After), and requests that stop mid-upload.

The middleware is tested directly with a dummy ASGI app that waits on an event, then end to
end on a live uvicorn server built with ``CONVSCOPE_MAX_CONCURRENT=1``: a gated route holds
the only slot (its handler says when it runs and waits for the test to open the gate), so
the test knows for certain that a computation is in progress while it sends the next one.
The body is read before a slot is taken (tests/security/test_slow_body.py).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from app.middleware import ConcurrencyLimit
from tests.security.aio import run_async

CONV = "/api/v1/conv2d"
IMAGE_CONV = "/api/v1/images/conv2d"
BODY = json.dumps({"input": [[1, 2], [3, 4]], "kernel": [[1]]}).encode()


# ---- the middleware on its own -------------------------------------------------------------


class Held:
    """An ASGI app that answers 200 only once ``release`` is set; ``entered`` says it runs."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.entered.set()
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def call(asgi: Any, method: str = "POST") -> tuple[int, dict[bytes, bytes], bytes]:
    scope = {"type": "http", "method": method, "path": "/api/v1/conv2d", "headers": []}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asgi(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


def test_past_the_limit_a_request_gets_503_with_retry_after() -> None:
    async def scenario() -> None:
        inner = Held()
        limited = ConcurrencyLimit(inner, limit=1, retry_after=3)
        first = asyncio.create_task(call(limited))
        await asyncio.wait_for(inner.entered.wait(), 5)

        status, headers, body = await call(limited)
        assert status == 503
        assert headers[b"retry-after"] == b"3"
        assert headers[b"content-type"] == b"application/json"
        detail = json.loads(body)["detail"]
        assert "busy" in detail and "CONVSCOPE_MAX_CONCURRENT" in detail and "1" in detail

        inner.release.set()
        assert (await first)[0] == 200
        assert limited.active == 0
        assert (await call(limited))[0] == 200  # the slot is free again

    run_async(scenario())


def test_the_limit_admits_exactly_limit_requests() -> None:
    async def scenario() -> None:
        inner = Held()
        limited = ConcurrencyLimit(inner, limit=3)
        running = [asyncio.create_task(call(limited)) for _ in range(3)]
        await asyncio.sleep(0)
        await asyncio.wait_for(inner.entered.wait(), 5)
        while limited.active < 3:
            await asyncio.sleep(0.01)
        assert [(await call(limited))[0] for _ in range(2)] == [503, 503]
        inner.release.set()
        assert [(await t)[0] for t in running] == [200, 200, 200]
        assert limited.active == 0

    run_async(scenario())


def test_gets_are_not_counted() -> None:
    async def scenario() -> None:
        inner = Held()
        limited = ConcurrencyLimit(inner, limit=1)
        held = asyncio.create_task(call(limited))
        await asyncio.wait_for(inner.entered.wait(), 5)
        inner.release.set()  # later calls pass straight through
        assert (await call(limited, "GET"))[0] == 200
        await held

    run_async(scenario())


def test_a_failing_request_frees_its_slot() -> None:
    async def boom(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    async def scenario() -> None:
        limited = ConcurrencyLimit(boom, limit=1)
        for _ in range(3):
            with pytest.raises(RuntimeError):
                await call(limited)
        assert limited.active == 0

    run_async(scenario())


def test_a_cancelled_request_frees_its_slot() -> None:
    async def scenario() -> None:
        inner = Held()
        limited = ConcurrencyLimit(inner, limit=1)
        task = asyncio.create_task(call(limited))
        await asyncio.wait_for(inner.entered.wait(), 5)
        assert limited.active == 1
        task.cancel()  # what the server does when the client goes away
        with pytest.raises(asyncio.CancelledError):
            await task
        assert limited.active == 0

    run_async(scenario())


# ---- end to end on a live server -------------------------------------------------------------


@pytest.fixture
def one_at_a_time(
    make_app: Callable[..., FastAPI], serve_app: Callable[..., Any], raw_http: Any
) -> Any:
    """Raw HTTP to a live server that runs one API computation at a time."""
    with serve_app(make_app(max_concurrent=1)) as live:
        yield raw_http(live)


class Gate:
    """A POST route for the live app that computes until the test opens the gate."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    def endpoint(self) -> dict[str, str]:  # a sync route: it runs in a worker thread
        self.entered.set()
        self.opened.wait(20)
        return {"status": "done"}


def post(raw: Any, path: str = CONV, body: bytes = BODY) -> Any:
    return raw.request(
        raw.post_head(path, "application/json", len(body), expect_continue=False) + body
    )


def test_a_second_request_while_one_is_in_progress_gets_503(
    make_app: Callable[..., FastAPI], serve_app: Callable[..., Any], raw_http: Any
) -> None:
    gate = Gate()
    app = make_app(max_concurrent=1)
    app.add_api_route("/api/v1/gated", gate.endpoint, methods=["POST"])
    with serve_app(app) as live:
        raw = raw_http(live)
        with raw.connect() as first:
            first.sendall(
                raw.post_head("/api/v1/gated", "application/json", 2, expect_continue=False) + b"{}"
            )
            assert gate.entered.wait(10)  # the first request holds the only slot

            busy = post(raw)
            assert busy.status == 503
            assert int(busy.headers["retry-after"]) >= 1
            assert busy.headers["content-type"] == "application/json"
            assert "CONVSCOPE_MAX_CONCURRENT" in busy.json()["detail"]
            assert busy.headers["x-content-type-options"] == "nosniff"
            assert "x-request-id" in busy.headers
            assert raw.get("/healthz").status == 200  # GETs are not counted

            gate.opened.set()
            done = raw.parse(raw.read_all(first))
            assert done.status == 200
            assert done.json() == {"status": "done"}
        ok = post(raw)
        assert ok.status == 200
        assert ok.json()["output"] == [[1.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize(
    ("path", "content_type", "sent"),
    [
        (CONV, "application/json", b'{"input": [[1, 2, 3'),
        (
            IMAGE_CONV,
            "multipart/form-data; boundary=B",
            b'--B\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
            + b"\x89PNG\r\n\x1a\n"
            + b"\x00" * 200_000,
        ),
        (IMAGE_CONV, "multipart/form-data; boundary=B", b""),
    ],
    ids=["json", "multipart", "nothing"],
)
def test_a_request_that_stops_mid_upload_frees_its_slot(
    one_at_a_time: Any, eventually: Callable[..., bool], path: str, content_type: str, sent: bytes
) -> None:
    raw = one_at_a_time
    with raw.connect() as sock:
        # Announce far more than is sent, then hang up.
        sock.sendall(raw.post_head(path, content_type, 5_000_000, expect_continue=True))
        assert raw.read_until(sock, b"\r\n\r\n").startswith(b"HTTP/1.1 100")
        sock.sendall(sent)
    assert raw.get("/healthz").status == 200
    # With a limit of one, a 200 proves the abandoned request gave its slot back.
    assert eventually(lambda: post(raw).status == 200, timeout=10)


def test_many_abandoned_uploads_leave_the_server_healthy(
    live: Any, raw: Any, eventually: Callable[..., bool]
) -> None:
    for _ in range(20):
        with raw.connect() as sock:
            sock.sendall(raw.post_head(CONV, "application/json", 10_000_000, expect_continue=False))
            sock.sendall(b'{"input": [[' + b"1, " * 1000)
    assert raw.get("/healthz").json()["status"] == "ok"
    assert eventually(lambda: post(raw).status == 200)


def test_a_content_length_over_the_limit_is_413_before_the_body(raw: Any) -> None:
    with raw.connect() as sock:
        sock.sendall(raw.post_head(CONV, "application/json", 10**12, expect_continue=True))
        r = raw.parse(raw.read_all(sock))  # answered without sending a byte of body
    assert r.status == 413
    assert "CONVSCOPE_MAX_BODY_BYTES" in r.json()["detail"]
    assert r.headers["connection"] == "close"


@pytest.mark.parametrize(
    "head",
    [
        "Content-Length: -1\r\n",
        "Content-Length: abc\r\n",
        "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        "Transfer-Encoding: gzip\r\n",
        "Content-Length: 99999999999999999999999999\r\n",
    ],
)
def test_odd_framing_headers_never_500(raw: Any, head: str) -> None:
    request = (
        f"POST {CONV} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{head}Connection: close\r\n\r\n"
    ).encode() + BODY
    with raw.connect(timeout=5) as sock:
        sock.sendall(request)
        data = raw.read_all(sock)
    if data:  # the server may also just close the connection on a framing error
        assert raw.parse(data).status < 500
    assert raw.get("/healthz").status == 200
