"""deploy/: Debian's nginx in front of two app processes, as deploy/README.md describes.

Starts ``deploy/nginx.conf`` (its ports and file paths replaced by free ports and a
temporary directory) and two ``convscope`` processes, then runs the load script and a
``/learn`` stream through nginx. nginx is Debian's package (``make deploy-deps`` installs
it); a missing nginx fails loudly.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "deploy" / "nginx.conf"
LOAD = ROOT / "scripts" / "load.py"
HOST = "127.0.0.1"

pytestmark = pytest.mark.slow


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        pytest.fail("nginx is not installed: run `make deploy-deps` (apt-get install nginx)")
    return found


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"process exited with {proc.returncode}"
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise AssertionError(f"nothing healthy on port {port} within {timeout} s")


def config_for_test(tmp: Path, apps: list[int], listen: int) -> str:
    """deploy/nginx.conf with this test's ports and a temporary directory for its files."""
    text = CONF.read_text()
    replaced = {
        "server 127.0.0.1:8001": f"server {HOST}:{apps[0]}",
        "server 127.0.0.1:8002": f"server {HOST}:{apps[1]}",
        "listen 8080;": f"listen {HOST}:{listen};",
        "/run/nginx-convscope.pid": str(tmp / "nginx.pid"),
        "/var/log/nginx/convscope-error.log": str(tmp / "error.log"),
        "/var/log/nginx/convscope-access.log": str(tmp / "access.log"),
        "/var/lib/nginx/body": str(tmp / "body"),
        "/var/lib/nginx/proxy": str(tmp / "proxy"),
    }
    for old, new in replaced.items():
        assert old in text, old
        text = text.replace(old, new)
    if os.geteuid() == 0:  # workers would drop to "nobody", who cannot use the temp dir
        text = "user root;\n" + text
    return text


@dataclass
class Stack:
    port: int
    logs: list[Path]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    nginx = nginx_binary()
    tmp = tmp_path_factory.mktemp("deploy")
    apps, listen = [free_port(), free_port()], free_port()
    procs: list[subprocess.Popen[bytes]] = []
    logs = [tmp / f"app{i}.log" for i in range(2)]
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    try:
        for port, log in zip(apps, logs, strict=True):
            with log.open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "app.cli", "--host", HOST, "--port", str(port)],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        conf = tmp / "nginx.conf"
        conf.write_text(config_for_test(tmp, apps, listen))
        check = subprocess.run(
            [nginx, "-t", "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stderr
        procs.append(
            subprocess.Popen(
                [
                    nginx,
                    "-p",
                    str(tmp),
                    "-c",
                    str(conf),
                    "-e",
                    str(tmp / "error.log"),
                    "-g",
                    "daemon off;",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        for port, proc in zip(apps, procs, strict=False):
            wait_healthy(port, proc)
        wait_healthy(listen, procs[-1])
        yield Stack(listen, logs)
    finally:
        for proc in reversed(procs):  # nginx first, then the app processes
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def api_lines(log: Path) -> int:
    return sum(1 for line in log.read_text().splitlines() if '"path": "/api/v1/' in line)


def test_the_load_mix_through_nginx_reaches_both_processes(stack: Stack) -> None:
    before = [api_lines(log) for log in stack.logs]
    done = subprocess.run(
        [
            *(sys.executable, str(LOAD), "--url", f"http://{HOST}:{stack.port}"),
            *("--requests", "90", "--concurrency", "8", "--warmup", "6", "--max-p99", "10"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    summary = re.search(
        r"^SUMMARY requests=(\d+) errors=(\d+) status_503=(\d+) .* PASS$", out, re.M
    )
    assert summary, out
    assert summary.groups() == ("90", "0", "0")
    served = [api_lines(log) - b for log, b in zip(stack.logs, before, strict=True)]
    assert sum(served) == 90 + 6, served  # the measured requests and the warm-up
    assert min(served) > 0, f"one process got no requests: {served}"


def test_a_learn_stream_passes_through_unbuffered(stack: Stack) -> None:
    body = json.dumps({"sample": "scene", "target": "sobel_x", "steps": 400, "every": 100})
    conn = http.client.HTTPConnection(HOST, stack.port, timeout=60)
    conn.request("POST", "/api/v1/learn", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("content-type", "").startswith("text/event-stream")
    assert response.getheader("content-length") is None
    assert response.getheader("x-accel-buffering") is None  # consumed by nginx
    received = b""
    while b"\n\n" not in received:
        chunk = response.read1(65536)
        assert chunk, "the stream ended before its first event"
        received += chunk
    # The first event is here while the run goes on: nginx did not hold the stream back.
    first = json.loads(received.split(b"\n\n", 1)[0].removeprefix(b"data: "))
    assert first["step"] == 0 and not first["done"]
    assert b'"done": true' not in received
    received += response.read()
    conn.close()
    events = [json.loads(e.removeprefix(b"data: ")) for e in received.split(b"\n\n") if e.strip()]
    assert [e["step"] for e in events] == [0, 100, 200, 300, 400]
    assert events[-1]["done"] and events[-1]["reason"] == "finished"


def test_a_body_over_the_upload_limit_gets_the_apps_413_from_nginx(stack: Stack) -> None:
    import socket

    head = (
        f"POST /api/v1/images/conv2d HTTP/1.1\r\nHost: {HOST}\r\n"
        "Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 20000000\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((HOST, stack.port), timeout=10) as sock:
        sock.sendall(head)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    assert status_line.split()[1] == b"413"
    headers, _, payload = rest.partition(b"\r\n\r\n")
    assert b"application/json" in headers.lower()
    detail = json.loads(payload)["detail"]
    assert detail == (
        "request body bytes (20000000) is over the limit of 16,777,216 "
        "(set CONVSCOPE_MAX_UPLOAD_BYTES to change it)"
    )
