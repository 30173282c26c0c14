"""Time the digits model: a prediction with every layer's maps, and one training epoch,
numpy (``app.models``) against torch CPU on the same architecture, in the same run.

* predict   ``POST /api/v1/models/digits/predict`` work without HTTP: the forward pass,
            every layer rendered as PNG maps, the probabilities and the softmax trace
            (median of ``--repeat``); and the same request through the ASGI app
            (``TestClient``, JSON encoding included).
* epoch     one pass over the 8,000 training digits, batch 64, Adam, no augmentation:
            ``app.models.train.train_epoch`` against the same loop in torch
            (``nn.Sequential`` from ``torch_source``, ``F.cross_entropy``, ``optim.Adam``).

Both sides get the same thread count (``--threads``, default 1, as a server worker
runs): ``torch.set_num_threads`` and, for numpy's BLAS, ``OPENBLAS_NUM_THREADS`` (set
before numpy loads). Prints one line per measurement and the ratio numpy/torch.
``--quick`` runs 640 digits and one repeat (for a smoke test).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--quick", action="store_true")
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
    from app.models.network import init_params, torch_source
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

    predict_work()
    print(f"predict (forward + all maps + trace)   {median_ms(predict_work, repeat):8.1f} ms")
    with TestClient(app) as client:
        body = {"input": x.tolist(), "trace": {"layer": "softmax", "unit": [0]}}
        url = "/api/v1/models/digits/predict"
        client.post(url, json=body)
        ms = median_ms(lambda: client.post(url, json=body).raise_for_status(), repeat)
        print(f"predict request through the ASGI app   {ms:8.1f} ms")

    n = 640 if args.quick else len(data.train_images)
    images, labels = data.train_images[:n], data.train_labels[:n]
    params = init_params(model.arch, np.random.default_rng(0))
    optimizer = Adam(params, lr=1e-3)
    start = time.perf_counter()
    for _ in train_epoch(model.arch, params, optimizer, images, labels, np.random.default_rng(0)):
        pass
    ours = time.perf_counter() - start

    namespace: dict[str, object] = {}
    exec(torch_source(model.arch), namespace)
    net = namespace["make_model"]()  # type: ignore[operator]
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    start = time.perf_counter()
    for i in range(0, n, 64):
        idx = order[i : i + 64]
        opt.zero_grad()
        F.cross_entropy(net(xt[idx]), yt[idx]).backward()
        opt.step()
    theirs = time.perf_counter() - start
    print(f"epoch of {n} digits, numpy             {ours:8.2f} s")
    print(f"epoch of {n} digits, torch CPU         {theirs:8.2f} s")
    print(f"epoch numpy/torch ({args.threads} thread(s))          {ours / theirs:8.2f}x")


if __name__ == "__main__":
    main()
