"""ASGI middleware that bounds request bodies while they are read."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import LimitExceeded


class BodyLimit:
    """Refuse a body over the limit with 413: by its Content-Length at once, or by
    counting the bytes as they arrive, so an unbounded body is never buffered.

    Multipart (upload) bodies get ``upload_limit``; every other body ``json_limit``.
    """

    def __init__(self, app: ASGIApp, *, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

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
            await _send_413(
                send, LimitExceeded("request body bytes", int(declared), limit, setting).detail
            )
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise LimitExceeded("request body bytes", received, limit, setting)
            return message

        await self.app(scope, bounded_receive, send)


async def _send_413(send: Send, detail: str) -> None:
    import json

    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
