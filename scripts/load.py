"""Load test: start ConvScope with uvicorn workers on loopback, drive a bounded mix, report.

The mix, in equal parts (request ``i`` is kind ``i % 3``):

- ``conv2d``: JSON ``POST /api/v1/conv2d``, a 64x64 input and a 3x3 kernel;
- ``img_conv2d``: multipart ``POST /api/v1/images/conv2d``, a 256x256 PNG with ``sobel_x``;
- ``img_pipeline``: multipart ``POST /api/v1/images/pipeline``, the same PNG through
  conv2d -> relu -> 2x2 max pool.

``concurrency`` threads each hold one keep-alive ``http.client`` connection and take
requests until ``requests`` have been sent. Bodies are built once up front and responses
are read but not parsed, so the client costs little CPU; the script still measures its own
CPU time and says so when it may have slowed the server. While the load runs a sampler
reads ``VmRSS`` of the server's whole process tree (the uvicorn parent and its workers)
from ``/proc`` and keeps the peak of the sum.

Exit status: 0 when there were no errors, p99 is within ``--max-p99`` and the peak RSS
within ``--max-rss-mib``; 1 when a target is missed; 2 when the server does not start.
The server is stopped with SIGTERM (then SIGKILL after a grace period) in every case.

    python scripts/load.py                      # 600 requests at concurrency 24
    python scripts/load.py --quick              # a short run for the test suite
    python scripts/load.py --requests 3000 --concurrency 48 --workers 4
    python scripts/load.py --url http://127.0.0.1:8080   # a running server (e.g. nginx)

With ``--url`` the script starts and stops nothing: it drives the server at that address
(loopback only) and reports latency and errors; the server's RSS and CPU are not sampled.
"""

from __future__ import annotations

import argparse
import http.client
import io
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # traffic goes to loopback only
BOUNDARY = "convscope-load-boundary"
KINDS = ("conv2d", "img_conv2d", "img_pipeline")


@dataclass(frozen=True)
class Request:
    kind: str
    path: str
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Result:
    kind: str
    status: int  # 0 when the connection failed
    seconds: float
    error: str = ""


# ---- the request mix ---------------------------------------------------------------------


def _png_256() -> bytes:
    """A 256x256 gray PNG with edges and texture (so the filters have work to show)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:256, 0:256]
    pixels = 128 + 60 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + rng.normal(0, 12, (256, 256))
    pixels[64:192, 96:160] = 230  # a bright bar: strong vertical edges
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _multipart(image: bytes, params: Mapping[str, object]) -> bytes:
    """A ``multipart/form-data`` body with an ``image`` file and a ``params`` JSON field."""
    return b"".join(
        [
            f"--{BOUNDARY}\r\n".encode(),
            b'Content-Disposition: form-data; name="image"; filename="load.png"\r\n',
            b"Content-Type: image/png\r\n\r\n",
            image,
            f"\r\n--{BOUNDARY}\r\n".encode(),
            b'Content-Disposition: form-data; name="params"\r\n\r\n',
            json.dumps(params).encode(),
            f"\r\n--{BOUNDARY}--\r\n".encode(),
        ]
    )


def build_mix() -> list[Request]:
    rng = np.random.default_rng(1)
    conv_body = {
        "input": np.round(rng.uniform(-1, 1, (64, 64)), 3).tolist(),
        "kernel": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
        "padding": 1,
    }
    png = _png_256()
    form = f"multipart/form-data; boundary={BOUNDARY}"
    pipeline = {
        "layers": [
            {"type": "conv2d", "kernel": "sobel_x"},
            {"type": "activation", "function": "relu"},
            {"type": "pool2d", "mode": "max", "kernel_size": 2},
        ]
    }
    return [
        Request("conv2d", "/api/v1/conv2d", json.dumps(conv_body).encode(), "application/json"),
        Request(
            "img_conv2d", "/api/v1/images/conv2d", _multipart(png, {"kernel": "sobel_x"}), form
        ),
        Request("img_pipeline", "/api/v1/images/pipeline", _multipart(png, pipeline), form),
    ]


# ---- the server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_server(port: int, workers: int) -> subprocess.Popen[bytes]:
    """``convscope`` (as deployed: one BLAS thread per worker), its log in a temporary file."""
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    # One access line per request goes here, off this report; the child holds the file open.
    log = tempfile.TemporaryFile()  # noqa: SIM115
    # Its own process group, so a stuck worker can be killed with the rest as a last resort.
    return subprocess.Popen(
        command, cwd=ROOT, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
    )


def wait_healthy(proc: subprocess.Popen[bytes], port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode} while starting")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /healthz within {timeout:.0f} s")


def stop_server(proc: subprocess.Popen[bytes], grace: float = 20.0) -> int | None:
    """SIGTERM, wait for a graceful exit; SIGKILL the server's own process group if stuck."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


# ---- /proc sampling ----------------------------------------------------------------------


def _children_of(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # field 4, after "(comm)"
        if ppid == pid:
            kids.append(int(entry.name))
    return kids


def process_tree(root: int) -> list[int]:
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(_children_of(pid))
    return tree


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used since boot (all cores)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class RssSampler(threading.Thread):
    """Sums VmRSS over the server's process tree every ``interval`` s; keeps the peak."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak, self.peak_processes = 0, 0
        self.pids = process_tree(root)
        self._done = threading.Event()

    def run(self) -> None:
        last_scan = time.monotonic()
        while not self._done.is_set():
            if time.monotonic() - last_scan > 1.0:  # a worker may have been replaced
                self.pids, last_scan = process_tree(self.root), time.monotonic()
            total = sum(rss_bytes(pid) for pid in self.pids)
            if total > self.peak:
                self.peak, self.peak_processes = total, len(self.pids)
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()


# ---- the client --------------------------------------------------------------------------


def drive(
    port: int, mix: list[Request], total: int, concurrency: int, host: str = HOST
) -> list[Result]:
    """Send ``total`` requests (kind ``i % len(mix)``) from ``concurrency`` threads."""
    counter: Iterator[int] = itertools.count()
    lock = threading.Lock()
    results: list[Result] = []

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        own: list[Result] = []
        while True:
            with lock:
                i = next(counter)
            if i >= total:
                break
            req = mix[i % len(mix)]
            start = time.perf_counter()
            try:
                conn.request(
                    "POST", req.path, body=req.body, headers={"Content-Type": req.content_type}
                )
                response = conn.getresponse()
                response.read()
                own.append(Result(req.kind, response.status, time.perf_counter() - start))
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
            except Exception as exc:  # any failure is an error in the report, never a lost result
                own.append(Result(req.kind, 0, time.perf_counter() - start, repr(exc)))
                conn.close()
        conn.close()
        with lock:
            results.extend(own)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ---- the report --------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, int(np.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def _row(name: str, results: list[Result]) -> str:
    ms = sorted(r.seconds * 1000 for r in results)
    bad = sum(1 for r in results if not 200 <= r.status < 300)
    busy = sum(1 for r in results if r.status == 503)
    return (
        f"{name:<13}{len(results):>6}{percentile(ms, 50):>9.1f}{percentile(ms, 90):>9.1f}"
        f"{percentile(ms, 99):>9.1f}{(ms[-1] if ms else float('nan')):>9.1f}{bad:>8}{busy:>6}"
    )


def report(
    results: list[Result],
    *,
    wall: float,
    client_cpu: float,
    server_cpu: float,
    machine_cpu: float,
    peak_rss: int | None,
    peak_processes: int,
    args: argparse.Namespace,
) -> bool:
    """Print the figures; True when every target is met."""
    errors = [r for r in results if not 200 <= r.status < 300]
    busy = sum(1 for r in errors if r.status == 503)
    p99 = percentile(sorted(r.seconds for r in results), 99)
    rps = len(results) / wall
    cores = os.cpu_count() or 1
    print(
        f"{len(results)} requests in {wall:.2f} s at concurrency {args.concurrency}, "
        f"{args.workers} workers, {cores} CPUs"
    )
    print()
    print(
        f"{'kind':<13}{'n':>6}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'errors':>8}{'503':>6}"
    )
    for kind in KINDS:
        print(_row(kind, [r for r in results if r.kind == kind]))
    print(_row("all", results))
    print()
    print(f"throughput:  {rps:.1f} requests/s")
    if peak_rss is None:
        print("peak RSS:    n/a (an external server: --url)")
        print("server CPU:  n/a (an external server: --url)")
    else:
        print(
            f"peak RSS:    {peak_rss / 2**20:.1f} MiB (sum of VmRSS over {peak_processes} "
            "server processes; pages they share are counted in each, so this overstates)"
        )
        print(
            f"server CPU:  {server_cpu:.1f} s = {server_cpu / wall:.2f} cores busy on average, "
            f"{server_cpu / max(1, len(results)) * 1000:.1f} ms per request"
        )
    print(
        f"client CPU:  {client_cpu:.1f} s = {client_cpu / wall:.2f} cores "
        "(this script, on the same machine)"
    )
    other = max(0.0, machine_cpu - server_cpu - client_cpu)
    print(f"other CPU:   {other:.1f} s = {other / wall:.2f} cores (other processes on the machine)")
    if client_cpu / wall > 0.25 * cores:
        print(
            "note: the client used over a quarter of the machine's CPU; the server's "
            "throughput is likely understated"
        )
    else:
        print("note: the client used little CPU next to the server; it was not the bottleneck")
    if other / wall > 0.25 * cores:
        print(
            "note: other processes competed for the CPU during the run; latency and "
            "throughput are worse than on an idle machine"
        )
    for status in sorted({r.status for r in errors}):
        sample = next(r for r in errors if r.status == status)
        print(
            f"error: status {status or 'no response'} x"
            f"{sum(1 for r in errors if r.status == status)} ({sample.kind}) {sample.error}"
        )

    failures = []
    if errors:
        failures.append(f"{len(errors)} errors ({busy} of them 503)")
    if p99 > args.max_p99:
        failures.append(f"p99 {p99 * 1000:.0f} ms > {args.max_p99 * 1000:.0f} ms")
    if peak_rss is not None and peak_rss > args.max_rss_mib * 2**20:
        failures.append(f"peak RSS {peak_rss / 2**20:.0f} MiB > {args.max_rss_mib:.0f} MiB")
    verdict = "PASS" if not failures else "FAIL: " + "; ".join(failures)
    print()
    print(
        f"SUMMARY requests={len(results)} errors={len(errors)} status_503={busy} "
        f"rps={rps:.1f} p50_ms={percentile(sorted(r.seconds for r in results), 50) * 1000:.1f} "
        f"p99_ms={p99 * 1000:.1f} "
        f"peak_rss_mib={'n/a' if peak_rss is None else f'{peak_rss / 2**20:.1f}'} {verdict}"
    )
    return not failures


# ---- main --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=600, help="requests to send (600)")
    parser.add_argument("--concurrency", type=int, default=24, help="client threads (24)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (2)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument(
        "--url", default="", help="drive a running server at http://127.0.0.1:PORT instead"
    )
    parser.add_argument("--warmup", type=int, default=12, help="unmeasured requests first (12)")
    parser.add_argument(
        "--quick", action="store_true", help="a short run for the test suite (90 requests)"
    )
    parser.add_argument("--max-p99", type=float, default=1.0, help="p99 target in s (1.0)")
    parser.add_argument(
        "--max-rss-mib", type=float, default=1024.0, help="peak RSS target in MiB (1024)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.requests = 90
    if args.requests < 1 or args.concurrency < 1 or args.workers < 1:
        parser.error("--requests, --concurrency and --workers must be at least 1")
    if args.url:
        target = urllib.parse.urlsplit(args.url)
        if target.scheme != "http" or target.hostname not in (HOST, "localhost") or not target.port:
            parser.error("--url must be http://127.0.0.1:PORT (loopback only)")
    return args


def drive_external(args: argparse.Namespace, mix: list[Request]) -> int:
    """Warm up and drive a server this script did not start (``--url``); report."""
    target = urllib.parse.urlsplit(args.url)
    host, port = HOST, int(target.port or 80)
    print(f"external server at {args.url} (not started or stopped here)")
    drive(port, mix, args.warmup, min(args.warmup, 4) or 1, host)
    machine_cpu_before = machine_busy_seconds()
    client_cpu_before = time.process_time()
    start = time.perf_counter()
    results = drive(port, mix, args.requests, args.concurrency, host)
    wall = time.perf_counter() - start
    ok = report(
        results,
        wall=wall,
        client_cpu=time.process_time() - client_cpu_before,
        server_cpu=0.0,
        machine_cpu=machine_busy_seconds() - machine_cpu_before,
        peak_rss=None,
        peak_processes=0,
        args=args,
    )
    return 0 if ok else 1


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mix = build_mix()
    if args.url:
        return drive_external(args, mix)
    signal.signal(signal.SIGTERM, _raise_interrupt)  # stop the server when we are stopped
    port = args.port or free_port()
    proc = start_server(port, args.workers)
    try:
        started = time.perf_counter()
        try:
            wait_healthy(proc, port)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(
            f"server up on http://{HOST}:{port} in {time.perf_counter() - started:.1f} s "
            f"(uvicorn, {args.workers} workers)"
        )
        # Warm every worker (imports, first numpy calls) without measuring it.
        warm = drive(port, mix, args.warmup, min(args.warmup, 2 * args.workers) or 1)
        if any(not 200 <= r.status < 300 for r in warm):
            print(f"warning: warm-up answers {sorted({r.status for r in warm})}", file=sys.stderr)
        sampler = RssSampler(proc.pid)
        sampler.start()
        server_cpu_before = cpu_seconds(sampler.pids)
        machine_cpu_before = machine_busy_seconds()
        client_cpu_before = time.process_time()
        start = time.perf_counter()
        results = drive(port, mix, args.requests, args.concurrency)
        wall = time.perf_counter() - start
        client_cpu = time.process_time() - client_cpu_before
        server_cpu = cpu_seconds(sampler.pids) - server_cpu_before
        machine_cpu = machine_busy_seconds() - machine_cpu_before
        sampler.stop()
        ok = report(
            results,
            wall=wall,
            client_cpu=client_cpu,
            server_cpu=server_cpu,
            machine_cpu=machine_cpu,
            peak_rss=sampler.peak,
            peak_processes=sampler.peak_processes,
            args=args,
        )
        return 0 if ok else 1
    finally:
        stopping = time.perf_counter()
        code = stop_server(proc)
        print(
            f"server stopped with SIGTERM: exit status {code} "
            f"in {time.perf_counter() - stopping:.1f} s"
        )


if __name__ == "__main__":
    sys.exit(main())
