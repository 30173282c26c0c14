"""A clean shutdown: on SIGTERM the ``convscope`` server stops taking new work, finishes the
request in flight with a 200, and exits with status 0.

The in-flight request is a POST sent with ``Expect: 100-continue``: the server answers
``100 Continue`` only once the app is reading the body, so the request is certainly in
progress when the signal arrives; its body is sent only after uvicorn says it is shutting
down.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
BODY = json.dumps(
    {"input": [[float(i + j) for j in range(32)] for i in range(32)], "kernel": [[1, 0], [0, -1]]}
).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def convscope_command(port: int, workers: int) -> list[str]:
    script = Path(sys.executable).parent / "convscope"
    prefix = [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]
    return [*prefix, "--host", HOST, "--port", str(port), "--workers", str(workers)]


def healthy(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


class Server:
    def __init__(self, workers: int) -> None:
        self.port = free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            convscope_command(self.port, workers),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.log = b""

    def wait_healthy(self, timeout: float = 45) -> None:
        deadline = time.monotonic() + timeout
        while not healthy(self.port):
            assert self.proc.poll() is None, f"convscope exited: {self.read_log(0)!r}"
            assert time.monotonic() < deadline, "convscope did not answer /healthz"
            time.sleep(0.1)

    def read_log(self, timeout: float) -> bytes:
        """Collect stderr for up to ``timeout`` s (without blocking past it)."""
        assert self.proc.stderr is not None
        fd = self.proc.stderr.fileno()
        deadline = time.monotonic() + timeout
        while True:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return self.log
            chunk = os.read(fd, 65536)
            if not chunk:
                return self.log
            self.log += chunk

    def wait_for_log(self, text: bytes, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log and time.monotonic() < deadline:
            self.read_log(0.1)
        assert text in self.log, self.log.decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:  # only after a failure: do not leave it running
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        if self.proc.stderr:
            self.proc.stderr.close()


@pytest.fixture(params=[1, 2], ids=["1-worker", "2-workers"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    s = Server(workers=request.param)
    try:
        s.wait_healthy()
        yield s
    finally:
        s.stop()


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    while data.startswith(b"HTTP/1.1 100"):
        data = data.split(b"\r\n\r\n", 1)[1]
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.slow
def test_sigterm_finishes_the_request_in_flight_and_exits_0(server: Server) -> None:
    with socket.create_connection((HOST, server.port), timeout=30) as sock:
        sock.sendall(
            (
                f"POST /api/v1/conv2d HTTP/1.1\r\nHost: {HOST}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n"
                "Expect: 100-continue\r\n\r\n"
            ).encode()
        )
        assert sock.recv(64).startswith(b"HTTP/1.1 100")  # the app is reading the body

        server.proc.send_signal(signal.SIGTERM)
        server.wait_for_log(b"Shutting down")
        assert server.proc.poll() is None  # still waiting for the request in flight

        sock.sendall(BODY)
        status, body = read_response(sock)

    assert status == 200
    assert json.loads(body)["shape"] == [31, 31]
    assert server.proc.wait(timeout=30) == 0
    assert b"Traceback" not in server.read_log(1)
