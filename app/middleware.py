"""Pure ASGI middleware: body limits, security headers, access logs, a concurrency cap."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import LimitExceeded

access_log = logging.getLogger("convscope.access")


def configure_access_log() -> None:
    """Send access lines (one JSON object each) to stderr unless logging is set up already."""
    if not access_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)


_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class BodyLimit:
    """Read the whole request body before the app runs, under a size limit and a deadline.

    A body over the limit gets 413: by its Content-Length at once, or by counting the bytes
    as they arrive, so an unbounded body is never buffered. A body that has not fully
    arrived ``timeout`` seconds after the request started gets 408. Only then does the app
    (and ``ConcurrencyLimit`` inside this middleware) run, reading the buffered body: a client
    that trickles its upload never holds a computation slot.

    Multipart (upload) bodies get ``upload_limit``; every other body ``json_limit``.
    """

    def __init__(
        self, app: ASGIApp, *, json_limit: int, upload_limit: int, timeout: float = 30.0
    ) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/")
        limit, setting = (
            (self.upload_limit, "max_upload_bytes")
            if multipart
            else (self.json_limit, "max_body_bytes")
        )
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send, int(declared), limit, setting)
            return
        chunks: list[bytes] = []
        received = 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return  # the client left: nobody to answer
                    chunk = message.get("body", b"")
                    received += len(chunk)
                    if received > limit:
                        await _too_large(send, received, limit, setting)
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            detail = (
                f"request body: not received within {self.timeout:g} s "
                "(set CONVSCOPE_MAX_BODY_SECONDS to change it)"
            )
            await _send_json(send, 408, detail, [(b"connection", b"close")])
            return
        body: bytes | None = b"".join(chunks)

        async def buffered_receive() -> Message:
            nonlocal body
            if body is not None:
                message: Message = {"type": "http.request", "body": body, "more_body": False}
                body = None
                return message
            return await receive()  # after the body: the disconnect, when it comes

        await self.app(scope, buffered_receive, send)


async def _too_large(send: Send, size: int, limit: int, setting: str) -> None:
    detail = LimitExceeded("body", "bytes", size, limit, setting).detail
    await _send_json(send, 413, str(detail), [(b"connection", b"close")])


async def _send_json(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# Pages load only the app's own scripts and styles; feature maps arrive as data: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """Adds CSP (no inline script), nosniff, Referrer-Policy and frame denial to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessLog:
    """One structured log line per request (request id, method, path, status, duration),
    and an ``X-Request-ID`` header: the client's own if it sent a sane one, else a new one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                json.dumps(
                    {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.perf_counter() - start) * 1000, 1),
                    }
                )
            )


class ConcurrencyLimit:
    """At most ``limit`` API computations at once per worker; past that, 503 with
    ``Retry-After`` instead of an unbounded queue (pages and static files are not counted)."""

    def __init__(self, app: ASGIApp, *, limit: int, retry_after: int = 1) -> None:
        self.app = app
        self.limit = limit
        self.retry_after = retry_after
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            detail = (
                f"the server is busy ({self.active} requests in progress, limit {self.limit}, "
                "CONVSCOPE_MAX_CONCURRENT); retry shortly"
            )
            await _send_json(send, 503, detail, [(b"retry-after", str(self.retry_after).encode())])
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
