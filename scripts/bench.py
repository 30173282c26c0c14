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
import base64
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


def _photo(width: int, height: int) -> bytes:
    """A photo-like RGB JPEG (smooth shading, edges and mild noise), made here."""
    from PIL import Image

    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    rng = np.random.default_rng(1)
    sky = np.stack([0.4 + 0.3 * yy, 0.6 + 0.2 * yy, 0.9 - 0.2 * yy])
    hills = (yy > 0.45 + 0.1 * np.sin(xx * 9)).astype(float)
    img = sky * (1 - hills) + hills * np.stack([0.2 + 0.2 * xx, 0.5 - 0.1 * yy, 0.2 + 0 * xx])
    img += rng.normal(0, 0.03, img.shape)
    pixels = (np.clip(img, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


# ---- whole requests against a plain Pillow + OpenCV script --------------------------------
# The script does the same work as the request with the usual tools: decode with draft and
# Lanczos resize (Pillow), cv2.filter2D, min/max and a lookup table per map, cv2.imencode
# PNG level 1, base64, JSON. Targets: images/conv2d at most 0.8x its time, the 3-layer
# pipeline (18 maps) at most 0.6x.

STEPS = ("decode", "compute", "colourise", "encode", "base64+JSON")
REQUEST_TARGETS = {"conv2d": 0.8, "pipeline": 0.6}
KERNELS = {
    "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32),
    "sobel_y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], np.float32),
}


def _timed(steps: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    t0 = clock()
    out = fn()
    steps[name] += 1e3 * (clock() - t0)
    return out


def _script(cv2: Any, data: bytes, size: int, pipeline: bool, steps: dict[str, float]) -> int:
    """The plain script: one request's work with Pillow and OpenCV; returns the JSON length."""
    from PIL import Image

    from app.render import colormap_lut

    def decode() -> np.ndarray:
        im = Image.open(io.BytesIO(data))
        scale = size / max(im.size)
        target = (round(im.width * scale), round(im.height * scale))
        im.draft("RGB", target)
        im = im.convert("RGB").resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
        return np.asarray(im)

    def compute(x: np.ndarray) -> list[np.ndarray]:  # (H, W, 3) -> maps, one per channel
        kernels = ["sobel_x", "sobel_y"] if pipeline else ["sobel_x"]
        layers = [
            [cv2.filter2D(x, -1, KERNELS[k], borderType=cv2.BORDER_CONSTANT)] for k in kernels
        ]
        maps = [m for layer in layers for y in layer for m in cv2.split(y)]
        if pipeline:
            relu = [cv2.max(m, 0.0) for m in maps]
            box = np.ones((2, 2), np.uint8)
            pooled = [
                cv2.dilate(m, box, anchor=(0, 0))[: m.shape[0] // 2 * 2 : 2, ::2] for m in relu
            ]
            maps = maps + relu + pooled
        return maps

    lut = np.ascontiguousarray(colormap_lut("diverging")[:, ::-1].reshape(256, 1, 3))  # BGR

    def colourise(maps: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for m in maps:
            lo, hi = cv2.minMaxLoc(m)[:2]
            scale = max(-lo, hi) or 1.0
            index = cv2.convertScaleAbs(m, alpha=127.5 / scale, beta=127.5)
            out.append(cv2.LUT(cv2.merge([index, index, index]), lut))
        return out

    def encode(images: list[np.ndarray]) -> list[bytes]:
        flags = [cv2.IMWRITE_PNG_COMPRESSION, 1]
        return [cv2.imencode(".png", im, flags)[1].tobytes() for im in images]

    def serialise(pngs: list[bytes]) -> int:
        urls = ["data:image/png;base64," + base64.b64encode(p).decode("ascii") for p in pngs]
        return len(json.dumps({"input": urls[0], "maps": urls[1:]}))

    pixels = _timed(steps, "decode", decode)
    x = pixels.astype(np.float32) / np.float32(255)
    maps = _timed(steps, "compute", lambda: compute(x))
    images = _timed(steps, "colourise", lambda: colourise(maps))
    bgr = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    pngs = _timed(steps, "encode", lambda: encode([bgr, *images]))
    return int(_timed(steps, "base64+JSON", lambda: serialise(pngs)))


def _ours(
    data: bytes, size: int, params: dict[str, Any], pipeline: bool, steps: dict[str, float]
) -> int:
    """The request's own steps, called one by one (the whole request is timed apart)."""
    from app.api.images import finite_ranges
    from app.imaging import decode, encode_png
    from app.layers import PipelineParams, apply_conv, run_layer
    from app.main import app
    from app.render import _indexed
    from app.schemas import ImageConv2dParams

    settings = app.state.settings
    image = _timed(steps, "decode", lambda: decode(data, color="rgb", max_side=size))

    def compute() -> list[tuple[np.ndarray, list[tuple[float, float]]]]:
        if not pipeline:
            out = apply_conv(
                image.values, ImageConv2dParams.model_validate(params), settings
            ).output
            return [(out, finite_ranges(out, "params", "conv"))]
        current, outs = image.values, []
        for layer in PipelineParams.model_validate(params).layers:
            current = run_layer(current, layer, settings).output
            outs.append((current, finite_ranges(current, "params", "layer")))
        return outs

    outs = _timed(steps, "compute", compute)
    indexed = _timed(
        steps,
        "colourise",
        lambda: [
            _indexed(m, "diverging", None, r)
            for out, ranges in outs
            for m, r in zip(out, ranges, strict=True)
        ],
    )
    pngs = _timed(
        steps,
        "encode",
        lambda: [encode_png(image.pixels)] + [encode_png(i.indices, i.palette) for i in indexed],
    )
    return int(
        _timed(
            steps,
            "base64+JSON",
            lambda: len(json.dumps([base64.b64encode(p).decode("ascii") for p in pngs])),
        )
    )


def request_targets(cv2: Any, size: int, repeat: int) -> None:
    """Time images/conv2d and a 3-layer pipeline in-process against the plain script, with
    the minimum of each step over ``repeat`` runs, and print the ratios against the targets."""
    from fastapi.testclient import TestClient

    from app.main import app

    data = _photo(2 * size, 3 * size // 2)  # a 4:3 photo, twice the target size
    conv = {"kernel": "sobel_x", "padding": "same"}
    pipe = {
        "layers": [
            {"type": "conv2d", "kernel": ["sobel_x", "sobel_y"], "padding": "same"},
            {"type": "activation", "function": "relu"},
            {"type": "pool2d", "mode": "max", "kernel_size": 2},
        ]
    }
    client = TestClient(app)
    logging.getLogger("convscope.access").setLevel(logging.WARNING)
    for name, url, params, pipeline in (
        ("conv2d", "/api/v1/images/conv2d", conv, False),
        ("pipeline", "/api/v1/images/pipeline", pipe, True),
    ):
        form = {"params": json.dumps(params), "color": "rgb", "max_side": str(size)}
        files = {"image": ("photo.jpg", data, "image/jpeg")}

        def whole(
            form: dict[str, str] = form, files: dict[str, Any] = files, url: str = url
        ) -> np.ndarray:
            r = client.post(url, data=form, files=files)
            r.raise_for_status()
            return np.array(len(r.content))

        whole()  # warm up: first-request imports and caches are not the request's cost
        global clock
        step_clock = clock  # the app runs in TestClient's thread: count the whole process
        clock = time.process_time if clock is CLOCKS["cpu"] else clock
        total_ms, length = min_ms(whole, max(repeat, 3))
        clock = step_clock
        best: dict[str, dict[str, float]] = {"ours": {}, "script": {}}
        sizes = {}
        for who in best:
            for _ in range(max(repeat, 3)):
                steps = dict.fromkeys(STEPS, 0.0)
                if who == "ours":
                    sizes[who] = _ours(data, size, params, pipeline, steps)
                else:
                    sizes[who] = _script(cv2, data, size, pipeline, steps)
                for k, v in steps.items():
                    best[who][k] = min(best[who].get(k, v), v)
        script_ms = sum(best["script"].values())
        ratio = total_ms / script_ms
        target = REQUEST_TARGETS[name]
        verdict = "met" if ratio <= target else "missed"
        for who in ("ours", "script"):
            parts = " + ".join(f"{k} {v:.1f}" for k, v in best[who].items())
            print(
                f"  {name} {who:<6} steps: {parts} = {sum(best[who].values()):.1f} ms, "
                f"{sizes[who] // 1024} KB of base64"
            )
        print(
            f"request {name} {size}px RGB: whole request {total_ms:.1f} ms "
            f"({int(length) // 1024} KB), script {script_ms:.1f} ms: "
            f"{ratio:.2f}x (target <= {target}: {verdict})",
            flush=True,
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
        if peers["cv2"] is None:
            print("request targets: n/a (opencv not installed)")
        else:
            request_targets(peers["cv2"], 64 if args.quick else 512, repeat)
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


def tensor_bodies() -> int:
    """``python scripts/bench.py tensors``: conv2d in-process with the arrays as JSON lists
    and as .npy files (512x512, 3x3 kernel), and 1000x1000 through .npy only (its JSON
    body is over the 8 MiB limit)."""
    import io
    import json

    from fastapi.testclient import TestClient

    from app.main import app

    logging.getLogger("convscope.access").setLevel(logging.WARNING)
    rng = np.random.default_rng(0)
    kernel = rng.standard_normal((3, 3))

    def npy(a: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, a)
        return buffer.getvalue()

    with TestClient(app) as client:
        for side, paths in ((512, ("json", "npy")), (1000, ("npy",))):
            x = rng.random((side, side))
            for path in paths:
                if path == "json":
                    body = json.dumps({"input": x.tolist(), "kernel": kernel.tolist()}).encode()

                    def send(body: bytes = body) -> Any:
                        return client.post(
                            "/api/v1/conv2d",
                            content=body,
                            headers={"content-type": "application/json"},
                        )
                else:
                    files = {"input": ("x.npy", npy(x)), "kernel": ("k.npy", npy(kernel))}
                    body = npy(x)

                    def send(files: dict[str, Any] = files) -> Any:
                        return client.post("/api/v1/conv2d?format=npy", files=files)

                times = []
                for _ in range(3):
                    start = time.perf_counter()
                    response = send()
                    times.append(time.perf_counter() - start)
                    assert response.status_code == 200, response.text[:200]
                print(
                    f"conv2d {side}x{side} via {path:<4} in {len(body) / 2**20:5.1f} MiB, "
                    f"out {len(response.content) / 2**20:5.1f} MiB: {min(times) * 1000:7.1f} ms"
                )
    return 0


if __name__ == "__main__":
    commands = {"claims": speed_claims, "tensors": tensor_bodies}
    command = commands.get(sys.argv[1]) if sys.argv[1:2] and len(sys.argv) == 2 else None
    sys.exit(command() if command else main())
