"""Fixtures for the security tests: a test client, apps built from other settings, a live
uvicorn server in a thread, and raw-socket HTTP for requests no client library would send.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import get_settings
from app.main import app, create_app

HOST = "127.0.0.1"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def make_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., FastAPI]]:
    """``make_app(cors_origins='["https://example.org"]', max_concurrent=1)``: a fresh app
    built from those ``CONVSCOPE_*`` variables.

    ``get_settings`` is cached, so the cache is cleared before building and again after
    the test (the handlers keep reading the cached settings while the test runs).
    """

    def make(**env: Any) -> FastAPI:
        for name, value in env.items():
            monkeypatch.setenv(f"CONVSCOPE_{name.upper()}", str(value))
        get_settings.cache_clear()
        return create_app()

    yield make
    monkeypatch.undo()
    get_settings.cache_clear()


@dataclass(frozen=True)
class Live:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextlib.contextmanager
def serve(asgi: FastAPI) -> Iterator[Live]:
    """Serve ``asgi`` with uvicorn in a daemon thread on a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        asgi, lifespan="off", log_config=None, access_log=False, ws="none", timeout_keep_alive=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.01)
    try:
        yield Live(HOST, port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    """The default app on a live uvicorn server, shared by a module's tests."""
    with serve(app) as server:
        yield server


# ---- raw HTTP ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RawHTTP:
    """HTTP/1.1 over a plain socket: request targets and bodies go out byte for byte, as no
    client library would send them (``..`` segments, lying ``Content-Length``, half bodies).
    """

    def __init__(self, live: Live) -> None:
        self.live = live

    def connect(self, timeout: float = 10.0) -> socket.socket:
        return socket.create_connection((self.live.host, self.live.port), timeout=timeout)

    def request(self, data: bytes) -> RawResponse:
        """Send ``data`` (which should say ``Connection: close``) and parse the answer."""
        with self.connect() as sock:
            sock.sendall(data)
            return self.parse(self.read_all(sock))

    def get(self, target: str, headers: str = "") -> RawResponse:
        return self.request(
            f"GET {target} HTTP/1.1\r\nHost: {HOST}\r\n{headers}Connection: close\r\n\r\n".encode()
        )

    @staticmethod
    def post_head(path: str, content_type: str, length: int, *, expect_continue: bool) -> bytes:
        """The head of a POST announcing ``length`` body bytes (optionally ``Expect:
        100-continue``, so the server says when the app has started reading the body)."""
        return (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n"
            + ("Expect: 100-continue\r\n" if expect_continue else "")
            + "\r\n"
        ).encode()

    @staticmethod
    def read_all(sock: socket.socket) -> bytes:
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def read_until(sock: socket.socket, marker: bytes) -> bytes:
        """Read until ``marker`` has arrived or the peer closes."""
        data = b""
        while marker not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data

    @staticmethod
    def parse(data: bytes) -> RawResponse:
        """The first final (non-1xx) response in ``data``; ``ValueError`` if there is none."""
        while data.startswith(b"HTTP/1.1 1"):  # skip "100 Continue"
            data = data.split(b"\r\n\r\n", 1)[1]
        head, sep, body = data.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError(f"no complete HTTP response in {data[:200]!r}")
        lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return RawResponse(int(lines[0].split()[1]), headers, body)


@pytest.fixture
def raw(live: Live) -> RawHTTP:
    """Raw HTTP to the shared live server."""
    return RawHTTP(live)


@pytest.fixture
def raw_http() -> type[RawHTTP]:
    """The ``RawHTTP`` class, for a server a test starts itself with ``serve``."""
    return RawHTTP


@pytest.fixture
def serve_app() -> Callable[[FastAPI], contextlib.AbstractContextManager[Live]]:
    """``with serve_app(app) as live:`` runs ``app`` on a live uvicorn server."""
    return serve


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def eventually() -> Callable[..., bool]:
    """``eventually(condition, timeout=10)``: poll until ``condition()`` is true."""
    return wait_for
