"""Time the digits model: a prediction with every layer's maps, and one training epoch,
numpy (``app.models``) against torch CPU on the same architecture, in the same run.

* predict   ``POST /api/v1/models/digits/predict`` work without HTTP: the forward pass,
            every layer rendered as PNG maps, the probabilities and the softmax trace
            (median of ``--repeat``); and the same request through the ASGI app
            (``TestClient``, JSON encoding included).
* train     one epoch over the 8,000 training digits as ``POST /api/v1/models/train`` runs
            it with its defaults (``app.models.teach.train_run``: widths 8, 8, 16, 16,
            batch 32, Adam at its default rate, no augmentation; the held-out evaluation excluded),
            against the same loop in torch (``nn.Sequential`` from ``torch_source``,
            ``F.cross_entropy``, ``optim.Adam``). Issue 11's target: at most 3x torch.
* epoch     the same at batch 64, Adam lr 0.001, on ``app.models.train.train_epoch``.

Both sides get the same thread count (``--threads``, default 1, as a server worker
runs): ``torch.set_num_threads`` and, for numpy's BLAS, ``OPENBLAS_NUM_THREADS`` (set
before numpy loads). ``--clock cpu`` times this process's CPU time instead of the wall
clock (steadier on a shared machine); each epoch runs ``--runs`` times per side and the
line shows the least time and the spread (max - min). Prints the ratio numpy/torch of
the least times. ``--quick`` runs 640 digits, one run and one predict repeat (a smoke
test).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=3, help="epochs timed per side")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--no-predict", action="store_true", help="time training only")
    args = parser.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

    import logging

    import numpy as np
    import torch
    import torch.nn.functional as F
    from fastapi.testclient import TestClient

    from app.main import app
    from app.models import digits as service
    from app.models.data import load_split
    from app.models.network import Architecture, init_params, torch_source
    from app.models.train import Adam, train_epoch

    torch.set_num_threads(args.threads)
    logging.getLogger("convscope.access").disabled = True  # one log line per request
    repeat = 1 if args.quick else args.repeat
    model, data = service.digits_model(), load_split()
    x = data.test_images[0, 0]

    def predict_work() -> None:
        fwd = service.run(model, x)
        service.layer_maps(model, fwd)
        service.probabilities(fwd)
        service.trace(model, fwd, "softmax", [0])

    def median_ms(fn: object, n: int) -> float:
        times = []
        for _ in range(n):
            start = time.perf_counter()
            fn()  # type: ignore[operator]
            times.append((time.perf_counter() - start) * 1e3)
        return statistics.median(times)

    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    if not args.no_predict:
        predict_work()
        print(f"predict (forward + all maps + trace)   {median_ms(predict_work, repeat):8.1f} ms")
        with TestClient(app) as client:
            body = {"input": x.tolist(), "trace": {"layer": "softmax", "unit": [0]}}
            url = "/api/v1/models/digits/predict"
            client.post(url, json=body)
            ms = median_ms(lambda: client.post(url, json=body).raise_for_status(), repeat)
            print(f"predict request through the ASGI app   {ms:8.1f} ms")

    n = 640 if args.quick else len(data.train_images)
    runs = 1 if args.quick else args.runs
    images, labels = data.train_images[:n], data.train_labels[:n]
    xt, yt = torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels)
    namespace: dict[str, object] = {}
    from app.models import teach

    def ours_endpoint() -> float:
        """One epoch as POST /api/v1/models/train runs it with its defaults."""
        data_n = teach.Dataset(
            teach.digits_dataset().classes, images, labels, images[:1], labels[:1]
        )
        settings = teach.Settings(epochs=1, every=10**9)
        start = elapsed = clock()
        for event in teach.train_run(data_n, settings, max_seconds=1e9):
            if isinstance(event, teach.Start):
                start = clock()
            if isinstance(event, teach.Progress):
                elapsed = clock() - start
        return elapsed

    def ours_epoch() -> float:
        params = init_params(model.arch, np.random.default_rng(0))
        optimizer = Adam(params, lr=1e-3)
        start = clock()
        steps = train_epoch(model.arch, params, optimizer, images, labels, np.random.default_rng(0))
        for _ in steps:
            pass
        return clock() - start

    def torch_epoch(arch: Architecture, batch: int, lr: float) -> float:
        exec(torch_source(arch), namespace)
        net = namespace["make_model"]()  # type: ignore[operator]
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
        start = clock()
        for i in range(0, n, batch):
            idx = order[i : i + batch]
            opt.zero_grad()
            F.cross_entropy(net(xt[idx]), yt[idx]).backward()
            opt.step()
        return clock() - start

    def report(label: str, ours: Callable[[], float], theirs: Callable[[], float]) -> None:
        times: dict[str, list[float]] = {"numpy": [], "torch": []}
        for _ in range(runs):  # interleaved: both sides see the same machine load
            times["numpy"].append(ours())
            times["torch"].append(theirs())
        for side, ts in times.items():
            print(
                f"{label}, {side:<5} {min(ts):8.2f} s  (spread {max(ts) - min(ts):.2f} s, "
                f"{len(ts)} run(s), {args.clock} clock)"
            )
        ratio = min(times["numpy"]) / min(times["torch"])
        print(f"{label}, numpy/torch ({args.threads} thread(s)) {ratio:6.2f}x", flush=True)

    endpoint = Architecture(widths=teach.Settings().widths)
    report(
        f"train endpoint defaults: epoch of {n} digits, batch 32, widths {endpoint.widths}",
        ours_endpoint,
        lambda: torch_epoch(endpoint, 32, teach.DEFAULT_LR["adam"]),
    )
    report(
        f"epoch of {n} digits, batch 64, widths {model.arch.widths}",
        ours_epoch,
        lambda: torch_epoch(model.arch, 64, 1e-3),
    )


if __name__ == "__main__":
    main()
