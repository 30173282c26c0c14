"""Time the numeric core's conv2d and max pooling on float32 images against peers.

Each case runs, in the same process and on the same arrays:

* ours    ``app.core.conv2d`` / ``app.core.max_pool2d`` (the fast paths);
* naive   the obvious numpy one-liner: ``sliding_window_view`` + ``einsum`` for conv2d,
          reshape-and-max for pooling;
* scipy   ``scipy.ndimage.correlate`` (``maximum_filter`` for pooling);
* opencv  ``cv2.filter2D`` (``cv2.dilate`` with a box kernel for pooling);
* torch   ``torch.nn.functional.conv2d`` / ``max_pool2d`` on CPU, for reference only.

The peers compute what they are given honestly, and we emulate what they lack:
several input channels and filters loop over the peer per (filter, channel) and sum;
stride filters at full resolution, then subsamples; dilation inserts zeros into the
kernel; pooling takes the full-resolution sliding maximum, then subsamples. Every peer's
output is compared with ours, and the script exits 1 on a disagreement.

Everything runs on one thread (OpenBLAS, OpenCV and torch), as each ``convscope`` worker
does, and each time is the minimum of ``--repeat`` runs (the least disturbed run on a shared
machine; one run when the first takes over a second). Prints one line per case: the
milliseconds, ``scipy/ours`` (above 1: we are faster) and ``ours/opencv`` (below 1: we are
faster); then the geometric mean of ``ours/opencv`` over the conv cases (target: at most 2)
and the verdicts of the other targets (max pooling faster than OpenCV, ahead of scipy on
every case). A peer that is not installed shows ``n/a``. ``--quick`` uses tiny images and
one run (for the test suite).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# One BLAS thread, as the server's workers run (set before numpy is imported).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core import conv2d, max_pool2d

Fn = Callable[[], np.ndarray]


def _load_peers(wanted: bool) -> dict[str, Any]:
    peers: dict[str, Any] = {"scipy": None, "cv2": None, "torch": None}
    if not wanted:
        return peers
    try:
        import scipy.ndimage

        peers["scipy"] = scipy.ndimage
    except ImportError:
        pass
    try:
        import cv2

        cv2.setNumThreads(1)
        peers["cv2"] = cv2
    except ImportError:
        pass
    try:
        import torch

        torch.set_num_threads(1)
        peers["torch"] = torch
    except Exception:  # not installed, or a broken install: only a reference column
        pass
    return peers


@dataclass
class Case:
    name: str
    ours: Fn
    naive: Fn
    scipy: Fn | None = None
    opencv: Fn | None = None
    torch: Fn | None = None
    kind: str = "conv"  # "conv" or "pool": the targets differ
    times: dict[str, float | None] = field(default_factory=dict)


_SCIPY_MODE = {"zeros": "constant", "reflect": "mirror", "replicate": "nearest"}


def _dilated(k2: np.ndarray, d: int) -> np.ndarray:
    """A 2-D kernel with ``d - 1`` zeros between taps (what a dilated kernel reads)."""
    if d == 1:
        return k2
    kh, kw = k2.shape
    out = np.zeros(((kh - 1) * d + 1, (kw - 1) * d + 1), dtype=k2.dtype)
    out[::d, ::d] = k2
    return out


def conv_case(
    name: str,
    peers: dict[str, Any],
    rng: np.random.Generator,
    *,
    size: int,
    channels: int,
    filters: int,
    k: int,
    stride: int = 1,
    dilation: int = 1,
    mode: str = "zeros",
) -> Case:
    """``filters`` k x k filters over a (channels, size, size) image, 'same'-style padding."""
    x = rng.random((channels, size, size), dtype=np.float32)
    w = rng.standard_normal((filters, channels, k, k)).astype(np.float32)
    pad = dilation * (k // 2)

    def ours() -> np.ndarray:
        return conv2d(x, w, stride=stride, padding=pad, dilation=dilation, padding_mode=mode)

    def naive() -> np.ndarray:
        np_mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge"}[mode]
        xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)), mode=np_mode)  # type: ignore[call-overload]
        eff = (k - 1) * dilation + 1
        win = sliding_window_view(xp, (eff, eff), axis=(1, 2))
        win = win[:, ::stride, ::stride, ::dilation, ::dilation]
        return np.einsum("chwab,ocab->ohw", win, w)

    def per_plane(filter2d: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Fn:
        kernels = [[_dilated(w[o, c], dilation) for c in range(channels)] for o in range(filters)]

        def run() -> np.ndarray:
            maps = []
            for o in range(filters):
                acc = filter2d(x[0], kernels[o][0])
                for c in range(1, channels):
                    acc = acc + filter2d(x[c], kernels[o][c])
                maps.append(acc[::stride, ::stride])
            return np.stack(maps)

        return run

    case = Case(name, ours, naive)
    ndi = peers["scipy"]
    if ndi is not None:
        case.scipy = per_plane(lambda a, kk: ndi.correlate(a, kk, mode=_SCIPY_MODE[mode]))
    cv2 = peers["cv2"]
    if cv2 is not None:
        border = {"zeros": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}[mode]
        case.opencv = per_plane(lambda a, kk: cv2.filter2D(a, -1, kk, borderType=border))
    torch = peers["torch"]
    if torch is not None:
        tx, tw = torch.from_numpy(x)[None], torch.from_numpy(w)
        tmode = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate"}[mode]
        fn = torch.nn.functional

        def run_torch() -> np.ndarray:
            with torch.no_grad():
                xp = fn.pad(tx, (pad,) * 4, mode=tmode)
                return fn.conv2d(xp, tw, stride=stride, dilation=dilation)[0].numpy()

        case.torch = run_torch
    return case


def pool_case(
    name: str, peers: dict[str, Any], rng: np.random.Generator, *, size: int, channels: int
) -> Case:
    """Max pool 2x2, stride 2 over (channels, size, size)."""
    x = rng.random((channels, size, size), dtype=np.float32)

    def ours() -> np.ndarray:
        out = max_pool2d(x, 2, stride=2)
        assert isinstance(out, np.ndarray)
        return out

    def naive() -> np.ndarray:
        return x.reshape(channels, size // 2, 2, size // 2, 2).max(axis=(2, 4))

    case = Case(name, ours, naive, kind="pool")
    ndi = peers["scipy"]
    if ndi is not None:
        # sliding 2x2 maximum whose window starts at the cell (origin -1), then subsample
        case.scipy = lambda: ndi.maximum_filter(x, size=(1, 2, 2), origin=(0, -1, -1))[:, ::2, ::2]
    cv2 = peers["cv2"]
    if cv2 is not None:
        box = np.ones((2, 2), np.uint8)
        case.opencv = lambda: np.stack(
            [cv2.dilate(x[c], box, anchor=(0, 0))[::2, ::2] for c in range(channels)]
        )
    torch = peers["torch"]
    if torch is not None:
        tx = torch.from_numpy(x)
        case.torch = lambda: torch.nn.functional.max_pool2d(tx, 2, 2).numpy()
    return case


def build_cases(peers: dict[str, Any], quick: bool) -> list[Case]:
    rng = np.random.default_rng(0)
    small, large, rgb = (32, 64, 48) if quick else (512, 2048, 1024)
    cases = []
    for size in (small, large):
        for k in (3, 5, 7, 11):
            cases.append(
                conv_case(f"gray{size}_k{k}", peers, rng, size=size, channels=1, filters=1, k=k)
            )
    cases += [
        conv_case(f"rgb{rgb}_to1_k3", peers, rng, size=rgb, channels=3, filters=1, k=3),
        conv_case(f"rgb{rgb}_to8_k3", peers, rng, size=rgb, channels=3, filters=8, k=3),
        conv_case(
            f"gray{rgb}_k3_stride2", peers, rng, size=rgb, channels=1, filters=1, k=3, stride=2
        ),
        conv_case(
            f"gray{rgb}_k3_dilation2", peers, rng, size=rgb, channels=1, filters=1, k=3, dilation=2
        ),
        conv_case(
            f"rgb{rgb}_to1_k5_reflect",
            peers,
            rng,
            size=rgb,
            channels=3,
            filters=1,
            k=5,
            mode="reflect",
        ),
        pool_case(f"maxpool2x2s2_{rgb}x8", peers, rng, size=rgb, channels=8),
    ]
    return cases


CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
clock = CLOCKS["wall"]


def min_ms(fn: Fn, repeat: int) -> tuple[float, np.ndarray]:
    """Least time of ``repeat`` runs (only one run if the first takes over a second), on
    ``clock``: wall time, or this thread's CPU time (``--clock cpu``: every peer runs on
    this one thread, so on a shared machine it leaves out the time other processes took)."""
    times = []
    result = None
    for i in range(repeat):
        t0 = clock()
        result = fn()
        times.append(clock() - t0)
        if i == 0 and times[0] > 1.0:
            break
    assert result is not None
    return 1e3 * min(times), np.asarray(result)


def agrees(ours: np.ndarray, other: np.ndarray) -> bool:
    if ours.shape != other.shape:
        return False
    scale = max(1.0, float(np.abs(other).max()))
    return bool(np.allclose(ours, other, rtol=1e-4, atol=1e-4 * scale))


def _photo(size: int) -> bytes:
    """A photo-like RGB JPEG (smooth shading, edges and mild noise), made here."""
    from PIL import Image

    yy, xx = np.mgrid[0:size, 0:size] / size
    rng = np.random.default_rng(1)
    sky = np.stack([0.4 + 0.3 * yy, 0.6 + 0.2 * yy, 0.9 - 0.2 * yy])
    hills = (yy > 0.6 + 0.1 * np.sin(xx * 9)).astype(float)
    img = sky * (1 - hills) + hills * np.stack([0.2 + 0.2 * xx, 0.5 - 0.1 * yy, 0.2 + 0 * xx])
    img += rng.normal(0, 0.03, img.shape)
    pixels = (np.clip(img, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def request_breakdown(size: int, repeat: int) -> None:
    """Time one whole images/conv2d request and its parts: decode, compute, encode."""
    from fastapi.testclient import TestClient

    from app.api.images import render_layer
    from app.imaging import decode_image
    from app.layers import apply_conv
    from app.main import app
    from app.render import render_map
    from app.schemas import ImageConv2dParams

    data = _photo(size)
    params = {"kernel": "sobel_x", "padding": "same"}
    settings = app.state.settings
    decode_ms, x = min_ms(lambda: decode_image(data, color="rgb", max_side=size), repeat)
    layer = ImageConv2dParams.model_validate(params)
    compute_ms, _ = min_ms(lambda: apply_conv(x, layer, settings).output, repeat)
    result = apply_conv(x, layer, settings)

    def encode() -> np.ndarray:  # the response's two PNGs: the input as used, and the output
        shown = render_map(x, kind="image")["data_url"]
        return np.array(len(shown) + len(render_layer(result)[0]["data_url"]))

    encode_ms, _ = min_ms(encode, repeat)
    client = TestClient(app)
    form = {"params": json.dumps(params), "color": "rgb", "max_side": str(size)}
    files = {"image": ("photo.jpg", data, "image/jpeg")}

    def whole() -> np.ndarray:
        r = client.post("/api/v1/images/conv2d", data=form, files=files)
        r.raise_for_status()
        return np.array(len(r.content))

    logging.getLogger("convscope.access").setLevel(logging.WARNING)
    whole()  # warm up: first-request imports and caches are not the request's cost
    total_ms, _ = min_ms(whole, max(repeat, 3))
    parts = decode_ms + compute_ms + encode_ms
    http = max(total_ms - parts, 0.0)
    print(
        f"request images/conv2d {size}x{size} RGB sobel_x (JPEG {len(data) // 1024} KB): "
        f"total {total_ms:.1f} ms = decode {decode_ms:.1f} + compute {compute_ms:.1f} + "
        f"encode 2 PNGs {encode_ms:.1f} + HTTP/JSON layer {http:.1f} ({http / total_ms:.0%})"
    )


def print_targets(ratios: dict[str, list[float]], behind_scipy: list[str], scipy_ran: bool) -> None:
    """The core's targets: conv geometric mean <= 2x OpenCV, max pool faster than OpenCV,
    ahead of scipy.ndimage on every case. Printed, not enforced: the machine may be shared."""
    conv = ratios["conv"]
    if conv:
        geo = math.exp(sum(math.log(r) for r in conv) / len(conv))
        verdict = "met" if geo <= 2.0 else "missed"
        print(
            f"geometric mean ours/opencv: {geo:.2f} over {len(conv)} conv cases "
            f"(target <= 2.00: {verdict})"
        )
    else:
        print("geometric mean ours/opencv: n/a (opencv not installed)")
    for r in ratios["pool"]:
        print(f"max pool ours/opencv: {r:.2f} (target < 1.00: {'met' if r < 1 else 'missed'})")
    if scipy_ran:
        behind = ", ".join(behind_scipy) or "none"
        print(f"cases where scipy.ndimage is as fast or faster: {behind}")


def _fmt(ms: float | None) -> str:
    return "n/a" if ms is None else f"{ms:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny images, one run each")
    parser.add_argument("--repeat", type=int, default=None, help="runs per timing (default 15)")
    parser.add_argument("--no-peers", action="store_true", help="time ours and naive only")
    parser.add_argument("--list", action="store_true", help="print the case names and exit")
    parser.add_argument(
        "--no-request", action="store_true", help="skip timing a whole image request"
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall time (default) or this thread's CPU time (steadier on a shared machine)",
    )
    args = parser.parse_args(argv)
    global clock
    clock = CLOCKS[args.clock]
    repeat = args.repeat or (1 if args.quick else 15)
    if repeat < 1:
        parser.error("--repeat must be >= 1")
    peers = _load_peers(not args.no_peers and not args.list)
    if args.quick:  # importing torch alone takes seconds; it is a reference column only
        peers["torch"] = None
    cases = build_cases(peers, args.quick)
    if args.list:
        print("\n".join(case.name for case in cases))
        return 0

    columns = ("ours", "naive", "scipy", "opencv", "torch")
    header = f"{'case':<26}" + "".join(f"{c + ' ms':>11}" for c in columns)
    print(header + f"{'scipy/ours':>12}{'ours/opencv':>13}")
    failures: list[str] = []
    ratios: dict[str, list[float]] = {"conv": [], "pool": []}
    behind_scipy: list[str] = []
    for case in cases:
        ours_ms, ours_out = min_ms(case.ours, repeat)
        case.times["ours"] = ours_ms
        for col in columns[1:]:
            fn = getattr(case, col)
            if fn is None:
                case.times[col] = None
                continue
            ms, out = min_ms(fn, repeat)
            case.times[col] = ms
            if not agrees(ours_out, out):
                failures.append(f"{case.name}: ours disagrees with {col}")
        sc, cv = case.times["scipy"], case.times["opencv"]
        vs_scipy = "n/a" if sc is None else f"{sc / ours_ms:.2f}"
        vs_cv = "n/a" if cv is None else f"{ours_ms / cv:.2f}"
        if cv is not None:
            ratios[case.kind].append(ours_ms / cv)
        if sc is not None and sc <= ours_ms:
            behind_scipy.append(case.name)
        line = f"{case.name:<26}" + "".join(f"{_fmt(case.times[c]):>11}" for c in columns)
        print(line + f"{vs_scipy:>12}{vs_cv:>13}", flush=True)
    print_targets(ratios, behind_scipy, scipy_ran=peers["scipy"] is not None)
    if not args.no_request:
        request_breakdown(64 if args.quick else 1024, repeat)
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


# ---- speed claims ---------------------------------------------------------------------
# The test suite asserts behaviour, never time. The speed its tests used to assert lives
# here: ``python scripts/bench.py claims`` checks each claim, prints its time and exits 1
# if one fails.


def speed_claims() -> int:
    import subprocess
    import threading
    from contextlib import contextmanager

    from fastapi.testclient import TestClient

    from app.core.kernels import PRESETS
    from app.core.learn import learn_kernel
    from app.imaging import decode_image
    from app.main import app
    from app.samples import sample_path

    logging.getLogger("convscope.access").setLevel(logging.WARNING)  # one line per request
    failed = 0

    @contextmanager
    def claim(what: str, limit: float) -> Any:
        nonlocal failed
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        failed += seconds >= limit
        verdict = "PASS" if seconds < limit else "FAIL"
        print(f"{what:<44}{seconds:>8.2f} s  (limit {limit:g} s)  {verdict}", flush=True)

    # was tests/core/test_learn.py: 250 steps recover Sobel x on the 64x48 scene in < 5 s
    scene = decode_image(sample_path("scene").read_bytes(), color="gray", max_side=64)[0]
    sobel = PRESETS["sobel_x"].array()
    for optimizer, lr in (("sgd", 1.0), ("adam", 0.1)):
        with claim(f"learn_kernel 250 steps on 64x48, {optimizer}", 5.0):
            list(learn_kernel(scene, sobel, steps=250, lr=lr, optimizer=optimizer))

    with TestClient(app) as client:
        # was tests/browser/test_browser_issue5.py: the learn page's stop-and-resume test
        # runs 300 steps on a 32 px image, well inside the server's 20 s time limit
        with claim("POST /learn, 300 steps on 32 px", 10.0):
            client.post("/api/v1/learn?format=json", json={"steps": 300, "max_side": 32})

        # was tests/api/test_train.py: /loss answers within 5 s while a run is learning
        started = threading.Event()

        def long_run() -> None:
            with client.stream("POST", "/api/v1/learn", json={"steps": 2000, "every": 1}) as r:
                for n, _line in enumerate(r.iter_lines()):
                    started.set()
                    if n > 400:
                        break

        reader = threading.Thread(target=long_run)
        reader.start()
        started.wait(timeout=30)
        with claim("POST /loss while a run is learning", 5.0):
            client.post("/api/v1/loss", json={"input": [1], "target": [0]})
        reader.join()

    # was tests/test_load.py: the quick load run (90 requests, 2 workers) has p99 <= 5 s
    root = Path(__file__).resolve().parents[1]
    quick = [sys.executable, str(root / "scripts" / "load.py"), "--quick", "--max-p99", "5"]
    load_run = subprocess.run(quick, cwd=root, capture_output=True, text=True)
    p99 = [line for line in load_run.stdout.splitlines() if line.startswith("SUMMARY")]
    print(f"load.py --quick --max-p99 5: {p99[0] if p99 else load_run.stderr.strip()}")
    failed += load_run.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(speed_claims() if sys.argv[1:] == ["claims"] else main())
