"""Time the playground in real Chromium from a click to the new output drawn.

Serves the app with uvicorn on a free local port, opens ``/`` in headless Chromium and,
after the first draw, clicks kernel presets in turn; each sample is the time from the
click (``performance.now()`` in the page) to the frame after the page counted a new
render. Cases: a sample image and a 4000x3000 JPEG upload (made here with Pillow), each in
gray and in RGB. Prints the median and the best of ``--runs`` clicks per case against the
targets (samples <= 150 ms, the big upload <= 250 ms). A measurement, not a test: the
machine may be shared.

    python scripts/latency.py [--runs 7] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import uvicorn
from PIL import Image

KERNELS = ("sharpen", "emboss", "box_blur", "outline")
TARGETS = {"sample": 150.0, "upload": 250.0}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]

WATCH = """() => {
    const stage = document.querySelector('[data-testid="play-stage"]');
    window.__drawn = null;
    new MutationObserver((_, observer) => {
        if (stage.hasAttribute("aria-busy")) return;
        observer.disconnect();
        requestAnimationFrame(() => { window.__drawn = performance.now(); });
    }).observe(stage, { attributes: true, attributeFilter: ["data-renders", "aria-busy"] });
}"""
CLICK = """(testid) => {
    window.__clicked = performance.now();
    document.querySelector(`[data-testid="${testid}"]`).click();
}"""


def photo(width: int = 4000, height: int = 3000) -> bytes:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32) / width
    rng = np.random.default_rng(3)
    rgb = np.stack([np.sin(xx * 13 + k) * np.cos(yy * 9 - k) for k in range(3)], axis=-1)
    rgb = np.clip(rgb * 0.45 + 0.5 + rng.normal(0, 0.04, rgb.shape).astype(np.float32), 0, 1)
    buffer = io.BytesIO()
    Image.fromarray((rgb * 255).astype(np.uint8)).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def serve() -> tuple[str, uvicorn.Server, threading.Thread]:
    from app.main import app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def wait_drawn(page, before: int) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        """(before) => {
            const stage = document.querySelector('[data-testid="play-stage"]');
            return Number(stage.dataset.renders || 0) > before && !stage.hasAttribute("aria-busy");
        }""",
        arg=before,
        timeout=60_000,
    )


def renders(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.get_by_test_id("play-stage").get_attribute("data-renders") or 0)


def clicks(page, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for i in range(runs):
        before = renders(page)
        page.evaluate(WATCH)
        page.evaluate(CLICK, f"kernel-{KERNELS[i % len(KERNELS)]}")
        wait_drawn(page, before)
        page.wait_for_function("() => window.__drawn !== null")
        times.append(page.evaluate("() => window.__drawn - window.__clicked"))
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--chromium", default=os.environ.get("CONVSCOPE_CHROMIUM", "/usr/bin/chromium")
    )
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    big = photo()
    logging.getLogger("convscope.access").setLevel(logging.WARNING)
    url, server, thread = serve()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
            for color in ("gray", "rgb"):
                for case in ("sample", "upload"):
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    page.goto(f"{url}/?color={color}")
                    wait_drawn(page, 0)
                    label = f"{case} ({color})"
                    if case == "upload":
                        before = renders(page)
                        t0 = time.perf_counter()
                        page.get_by_test_id("upload-input").set_input_files(
                            {"name": "big.jpg", "mimeType": "image/jpeg", "buffer": big}
                        )
                        wait_drawn(page, before)
                        first = 1e3 * (time.perf_counter() - t0)
                        label = f"4000x3000 upload ({color}, {len(big) // 1024} KB)"
                        print(f"{label}: first draw {first:.0f} ms")
                    times = clicks(page, args.runs)
                    target = TARGETS[case]
                    median = statistics.median(times)
                    verdict = "met" if median <= target else "missed"
                    print(
                        f"{label}: kernel click -> drawn median {median:.0f} ms, best "
                        f"{min(times):.0f} ms, worst {max(times):.0f} ms over {len(times)} "
                        f"(target <= {target:.0f}: {verdict})",
                        flush=True,
                    )
                    page.close()
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
