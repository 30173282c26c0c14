"""A client that trickles its body never holds a computation slot, and gets 408 at the deadline.

A live uvicorn server built with ``CONVSCOPE_MAX_CONCURRENT=1`` and a short
``CONVSCOPE_MAX_BODY_SECONDS``; the slow client is a real socket that sends its body a few
bytes at a time. ``Expect: 100-continue`` makes the server say when it has started reading
the body, so the test knows the slow request is in progress before it sends the next one.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from PIL import Image

CONV = "/api/v1/conv2d"
IMAGE_CONV = "/api/v1/images/conv2d"
BODY = json.dumps({"input": [[1, 2], [3, 4]], "kernel": [[2]]}).encode()


@pytest.fixture
def slow_server(
    make_app: Callable[..., FastAPI], serve_app: Callable[..., Any], raw_http: Any
) -> Iterator[Any]:
    """Raw HTTP to a live server with one computation slot and a 2-second body deadline."""
    with serve_app(make_app(max_concurrent=1, max_body_seconds=2)) as live:
        yield raw_http(live)


def post(raw: Any, body: bytes = BODY) -> Any:
    return raw.request(
        raw.post_head(CONV, "application/json", len(body), expect_continue=False) + body
    )


def test_a_trickled_body_holds_no_slot_and_gets_408(slow_server: Any) -> None:
    raw = slow_server
    with raw.connect(timeout=20) as slow:
        slow.sendall(raw.post_head(CONV, "application/json", len(BODY), expect_continue=True))
        assert raw.read_until(slow, b"\r\n\r\n").startswith(b"HTTP/1.1 100")  # reading it
        slow.sendall(BODY[:5])

        # The only slot is free while the slow body is still arriving.
        fast = post(raw)
        assert fast.status == 200
        assert fast.json()["output"] == [[2.0, 4.0], [6.0, 8.0]]

        for i in range(5, len(BODY) - 1):  # a byte every 0.1 s: too slow for the deadline
            try:
                slow.sendall(BODY[i : i + 1])
            except (BrokenPipeError, ConnectionResetError):
                break  # the server has answered and closed
            time.sleep(0.1)
        answer = raw.parse(raw.read_all(slow))
    assert answer.status == 408
    assert answer.headers["connection"] == "close"
    assert answer.headers["content-type"] == "application/json"
    detail = answer.json()["detail"]
    assert detail.startswith("request body: ")
    assert "within 2 s" in detail and "CONVSCOPE_MAX_BODY_SECONDS" in detail
    assert answer.headers["x-content-type-options"] == "nosniff"  # a normal answer otherwise
    assert post(raw).status == 200  # the server is fine afterwards


def test_a_body_in_pieces_within_the_deadline_is_answered(slow_server: Any) -> None:
    raw = slow_server
    with raw.connect() as sock:
        sock.sendall(raw.post_head(CONV, "application/json", len(BODY), expect_continue=False))
        for piece in (BODY[:7], BODY[7:20], BODY[20:]):
            sock.sendall(piece)
        answer = raw.parse(raw.read_all(sock))
    assert answer.status == 200
    assert answer.json()["output"] == [[2.0, 4.0], [6.0, 8.0]]


def test_an_upload_in_pieces_is_read_whole(slow_server: Any) -> None:
    raw = slow_server
    buffer = io.BytesIO()
    Image.fromarray(np.arange(100, dtype=np.uint8).reshape(10, 10)).save(buffer, "PNG")
    png_bytes = buffer.getvalue()
    body = (
        b'--B\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + png_bytes + b"\r\n--B\r\n"
        b'Content-Disposition: form-data; name="params"\r\n\r\n{"kernel": "identity"}'
        b"\r\n--B--\r\n"
    )
    head = raw.post_head(
        IMAGE_CONV, "multipart/form-data; boundary=B", len(body), expect_continue=False
    )
    with raw.connect() as sock:
        sock.sendall(head)
        for start in range(0, len(body), 1000):
            sock.sendall(body[start : start + 1000])
        answer = raw.parse(raw.read_all(sock))
    assert answer.status == 200, answer.body[:300]
    assert answer.json()["shape"] == [1, 8, 8]  # 10x10 with a 3x3 kernel, no padding
