"""POST /api/v1/loss and POST /api/v1/learn (server-sent events and ?format=json)."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api import errors, train
from app.config import Settings

SOBEL_X = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]


def make_client(**limits: float) -> TestClient:
    """The training router alone, with these limits."""
    app = FastAPI()
    app.include_router(train.router)
    errors.install(app)
    app.state.settings = Settings(**limits)  # type: ignore[arg-type]
    return TestClient(app)


@pytest.fixture
def client() -> Iterator[TestClient]:
    with make_client() as c:
        yield c


def sse_events(text: str) -> list[dict]:
    """Parse a text/event-stream body: messages split by blank lines, ``data:`` lines."""
    events = []
    for message in text.split("\n\n"):
        data = [line[len("data: ") :] for line in message.splitlines() if line.startswith("data:")]
        if data:
            events.append(json.loads("\n".join(data)))
    return events


def detail_of(response) -> str:
    body = response.json()["detail"]
    return body if isinstance(body, str) else " ".join(d["msg"] for d in body)


# ---- /loss ------------------------------------------------------------------------------


def test_mse(client):
    """[1, 2, 3] vs [1, 0, 5]: squared errors 0, 4, 4; mean 8/3."""
    r = client.post("/api/v1/loss", json={"input": [1, 2, 3], "target": [1, 0, 5]})
    assert r.status_code == 200
    body = r.json()
    assert body["loss"] == pytest.approx(8 / 3, rel=1e-15)
    assert body["shape"] == []
    assert body["per_element"] == [0, 4, 4]
    assert "probabilities" not in body


def test_mse_none_reduction(client):
    r = client.post(
        "/api/v1/loss",
        json={"function": "mse", "input": [[1, 2]], "target": [[0, 0]], "reduction": "none"},
    )
    assert r.json()["loss"] == [[1, 4]]
    assert r.json()["shape"] == [1, 2]


def test_cross_entropy_class_index(client):
    """logits [2, 1, 0], class 0: log(1 + e^-1 + e^-2) = 0.40760596444."""
    r = client.post(
        "/api/v1/loss", json={"function": "cross_entropy", "input": [2, 1, 0], "target": 0}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["loss"] == pytest.approx(0.40760596444437, rel=1e-12)
    assert body["per_sample"] == pytest.approx(body["loss"])
    assert sum(body["probabilities"]) == pytest.approx(1.0)
    assert body["probabilities"][0] == pytest.approx(0.66524096, abs=1e-8)
    assert body["target_distribution"] == [1, 0, 0]


def test_cross_entropy_batch_and_probabilities(client):
    """Rows [0, 0] -> class 1 (log 2) and [3, 0] -> class 0 (log(1 + e^-3)); as
    probabilities the same targets one-hot give the same losses."""
    x = [[0, 0], [3, 0]]
    expected = [math.log(2), math.log1p(math.exp(-3))]
    for target in ([1, 0], [[0, 1], [1, 0]]):
        r = client.post(
            "/api/v1/loss",
            json={"function": "cross_entropy", "input": x, "target": target, "reduction": "none"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["loss"] == pytest.approx(expected, rel=1e-14)
        assert r.json()["per_sample"] == pytest.approx(expected, rel=1e-14)
        assert r.json()["shape"] == [2]


def test_cross_entropy_weight_and_smoothing(client):
    """logits [0, log 3] (p = 1/4, 3/4), class 1, smoothing 0.2: target [0.1, 0.9],
    loss -(0.1 log 1/4 + 0.9 log 3/4)."""
    r = client.post(
        "/api/v1/loss",
        json={
            "function": "cross_entropy",
            "input": [0, math.log(3)],
            "target": 1,
            "label_smoothing": 0.2,
        },
    )
    assert r.json()["loss"] == pytest.approx(-(0.1 * math.log(0.25) + 0.9 * math.log(0.75)))
    assert r.json()["target_distribution"] == pytest.approx([0.1, 0.9])


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"input": [1, 2], "target": [1]}, "target", "shape [2], got [1]"),
        ({"function": "cross_entropy", "input": [1, 2], "target": 2}, "target", "out of range"),
        (
            {"function": "cross_entropy", "input": [[1, 2]], "target": [5]},
            "target",
            "class index 5",
        ),
        ({"function": "cross_entropy", "input": [1, 2], "target": 0.5}, "target", "whole numbers"),
        (
            {"function": "cross_entropy", "input": [1, 2], "target": [0.5, 0.6]},
            "target",
            "sum to 1",
        ),
        (
            {"function": "cross_entropy", "input": [1, 2], "target": [1.5, -0.5]},
            "target",
            ">= 0",
        ),
        (
            {"function": "cross_entropy", "input": [[[1.0]]], "target": [[1.0]]},
            "input",
            "[C] or [N][C]",
        ),
        (
            {"function": "cross_entropy", "input": [1, 2], "target": 0, "weight": [1]},
            "weight",
            "one value per class",
        ),
        (
            {"function": "cross_entropy", "input": [1, 2], "target": 0, "weight": [0, 1]},
            "weight",
            "sums to 0",
        ),
        ({"input": [1, 2], "target": [1, 2], "reduction": "avg"}, "reduction", ""),
        ({"input": [1, 2], "target": [1, 2], "typo": 1}, "typo", ""),
        ({"input": [[1, 2], [3]], "target": [1, 2]}, "input", "rectangular"),
    ],
)
def test_loss_errors_are_422_naming_the_field(client, body, field, words):
    r = client.post("/api/v1/loss", json=body)
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["loc"] == ["body", field], err
    assert words in err["msg"]


# ---- /learn -----------------------------------------------------------------------------


def test_learn_stream_parses_and_loss_falls(client):
    body = {"sample": "scene", "target": "sobel_x", "steps": 200, "every": 20}
    with client.stream("POST", "/api/v1/learn", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r.read().decode())
    assert [e["step"] for e in events] == list(range(0, 201, 20))
    first, last = events[0], events[-1]
    assert first["input"]["data_url"].startswith("data:image/png;base64,")
    assert first["target_output"]["shape"] == [48, 64]  # scene at max_side 64, "same"
    assert first["output"]["shape"] == [48, 64]
    assert first["target_kernel"] == SOBEL_X
    assert all(not e["done"] for e in events[:-1])
    assert last["done"] and last["reason"] == "finished"
    assert last["loss"] < 1e-3 * first["loss"]
    assert (
        max(
            abs(k - t)
            for kr, tr in zip(last["kernel"], SOBEL_X, strict=True)
            for k, t in zip(kr, tr, strict=True)
        )
        < 0.05
    )
    # every step's loss arrives once, in order
    assert sum(len(e["losses"]) for e in events) == 201
    assert all(e["losses"][-1] == e["loss"] for e in events)


def test_learn_shows_the_standardised_image_both_kernels_convolve(client):
    """The first event's input is (image - mean) / std, and the target map is torch's
    conv2d of that image: the numbers a student sees under the maps follow from it."""
    import torch
    import torch.nn.functional as F

    r = client.post(
        "/api/v1/learn?format=json",
        json={"sample": None, "seed": 5, "max_side": 16, "steps": 1, "target": "sobel_x"},
    )
    assert r.status_code == 200, r.text
    first = r.json()["events"][0]
    raw = np.random.default_rng(5).random((16, 16))  # the seeded white noise of sample null
    assert first["input_mean"] == pytest.approx(raw.mean(), rel=1e-12)
    assert first["input_std"] == pytest.approx(raw.std(), rel=1e-12)
    x = (raw - raw.mean()) / raw.std()
    assert first["input"]["min"] == pytest.approx(x.min(), rel=1e-12)
    assert first["input"]["max"] == pytest.approx(x.max(), rel=1e-12)
    assert first["input"]["colormap"] == "diverging"
    target = F.conv2d(
        torch.tensor(x)[None, None],
        torch.tensor(SOBEL_X, dtype=torch.float64)[None, None],
        padding=1,
    )[0, 0].numpy()
    assert first["target_output"]["min"] == pytest.approx(target.min(), rel=1e-9)
    assert first["target_output"]["max"] == pytest.approx(target.max(), rel=1e-9)
    assert (
        "input_mean" not in r.json()["events"][-1] or r.json()["events"][-1]["input_mean"] is None
    )


def test_learn_json_format(client):
    r = client.post(
        "/api/v1/learn?format=json",
        json={
            "sample": None,
            "target": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
            "steps": 60,
            "every": 30,
            "optimizer": "adam",
            "seed": 3,
            "max_side": 16,
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert [e["step"] for e in body["events"]] == [0, 30, 60]
    assert len(body["losses"]) == 61
    assert body["losses"][-1] < body["losses"][0]
    assert body["reason"] == "finished"
    assert body["events"][-1]["kernel"] == body["kernel"]
    assert body["events"][0]["output"]["shape"] == [16, 16]


def test_learn_larger_kernel_embeds_the_target(client):
    r = client.post(
        "/api/v1/learn?format=json",
        json={"target": "sobel_x", "kernel_size": 5, "steps": 1, "max_side": 16},
    )
    assert r.status_code == 200
    target = r.json()["target_kernel"]
    assert len(target) == 5 and target[0] == [0] * 5 and target[2] == [0, -2, 0, 2, 0]


def test_learn_time_limit_stops_with_a_reason():
    with make_client(max_learn_seconds=0.05) as c:
        r = c.post("/api/v1/learn?format=json", json={"steps": 2000, "every": 100, "max_side": 128})
    assert r.status_code == 200
    body = r.json()
    assert body["reason"] == "time_limit"
    assert body["events"][-1]["done"]
    assert body["events"][-1]["step"] < 2000


def test_learn_divergence_stops_with_a_reason(client):
    r = client.post(
        "/api/v1/learn?format=json", json={"steps": 300, "lr": 50, "max_side": 16, "every": 50}
    )
    assert r.json()["reason"] == "diverged"
    assert all(x is None or math.isfinite(x) for x in r.json()["losses"])


def test_learn_steps_over_the_limit_is_413_naming_the_setting():
    with make_client(max_learn_steps=100) as c:
        r = c.post("/api/v1/learn", json={"steps": 101})
    assert r.status_code == 413
    assert "CONVSCOPE_MAX_LEARN_STEPS" in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"sample": "nope"}, "sample", "'nope' is not a bundled sample"),
        ({"target": "sobel_z"}, "target", "'sobel_z' is not a preset"),
        ({"target": [[1, 2], [3]]}, "target", "rectangular"),
        ({"target": "sobel_x", "kernel_size": 2}, "kernel_size", "at least"),
        ({"every": 0}, "every", ""),
        ({"lr": 0}, "lr", ""),
        ({"padding": "valid", "target": [[1.0] * 9] * 9, "max_side": 8}, "kernel", "larger"),
        ({"padding": 7, "padding_mode": "reflect", "max_side": 8}, "padding", "reflect"),
        ({"stesp": 3}, "stesp", ""),
        (
            {"initial_kernel": [[0.0, 1.0], [1.0, 0.0]]},
            "initial_kernel",
            "shape [3, 3], got [2, 2]",
        ),
        (
            {"kernel_size": 5, "initial_kernel": SOBEL_X},
            "initial_kernel",
            "shape [5, 5], got [3, 3]",
        ),
        ({"initial_kernel": [[1.0, 2.0], [3.0]]}, "initial_kernel", "rectangular"),
        ({"initial_bias": "0"}, "initial_bias", ""),
        ({"start_step": -1}, "start_step", ""),
        ({"start_step": 1.5}, "start_step", ""),
    ],
)
def test_learn_errors_are_422(client, body, field, words):
    r = client.post("/api/v1/learn", json=body)
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["loc"] == ["body", field], err
    assert words in err["msg"]


def test_learn_from_the_target_kernel_has_zero_loss(client):
    r = client.post(
        "/api/v1/learn?format=json",
        json={"target": "sobel_x", "initial_kernel": SOBEL_X, "steps": 5, "every": 5},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["events"][0]["step"] == 0
    assert body["losses"][0] < 1e-20
    assert max(body["losses"]) < 1e-20
    assert body["kernel"] == SOBEL_X


def test_learn_resumes_from_a_stopped_runs_last_event(client):
    """Stop after 40 steps, resume from the last event: the new run's first event
    repeats that loss (not the random start's) and its steps continue from 40."""
    base = {"sample": "scene", "target": "sobel_x", "every": 10, "max_side": 32}
    r = client.post("/api/v1/learn?format=json", json={**base, "steps": 40})
    stopped = r.json()
    last = stopped["events"][-1]
    assert last["step"] == 40
    resume = {
        **base,
        "steps": 40,
        "initial_kernel": last["kernel"],
        "initial_bias": last["bias"],
        "start_step": last["step"],
    }
    with client.stream("POST", "/api/v1/learn", json=resume) as r:
        assert r.status_code == 200
        events = sse_events(r.read().decode())
    assert [e["step"] for e in events] == [40, 50, 60, 70, 80]
    first = events[0]
    assert first["loss"] == pytest.approx(last["loss"], rel=1e-12)
    assert first["loss"] < 0.05 * stopped["losses"][0]
    assert first["losses"] == [first["loss"]]  # one loss per step, the curve goes on
    assert sum(len(e["losses"]) for e in events) == 41
    assert first["input"] is not None and first["target_output"] is not None
    assert events[-1]["done"] and events[-1]["reason"] == "finished"
    assert events[-1]["loss"] < 0.5 * first["loss"]
    assert max(x for e in events for x in e["losses"]) < 2 * first["loss"]


def test_learn_resume_events_keep_the_every_grid(client):
    r = client.post(
        "/api/v1/learn?format=json",
        json={"steps": 25, "every": 10, "start_step": 37, "max_side": 16},
    )
    body = r.json()
    assert [e["step"] for e in body["events"]] == [37, 40, 50, 60, 62]
    assert len(body["losses"]) == 26
    assert body["reason"] == "finished"


def test_learn_stops_when_the_client_disconnects(client, monkeypatch):
    produced: list[int] = []
    real = train.learn_kernel

    def counting(*args, **kwargs):
        for record in real(*args, **kwargs):
            produced.append(record["step"])
            yield record

    monkeypatch.setattr(train, "learn_kernel", counting)
    with client.stream("POST", "/api/v1/learn", json={"steps": 2000, "every": 1}) as r:
        lines = r.iter_lines()
        assert next(lines).startswith("data:")
    # Leaving the block disconnects, and the TestClient returns only once the app has
    # finished: the run stopped there. The stream has no buffer (each event waits for the
    # reader), so it got at most a step or two past the one that was read.
    assert produced == list(range(len(produced)))
    assert len(produced) < 5, produced


def test_learning_does_not_block_other_requests(client, monkeypatch):
    """The loop runs in a worker thread: while one step is held, /loss still answers."""
    gate, started, waited = threading.Event(), threading.Event(), []
    real = train.learn_kernel

    def held(*args, **kwargs):
        for record in real(*args, **kwargs):
            if record["step"] == 1:
                started.set()
                waited.append(gate.wait(timeout=10))
            yield record

    monkeypatch.setattr(train, "learn_kernel", held)
    result: list[list[dict]] = []

    def consume() -> None:
        r = client.post("/api/v1/learn", json={"steps": 3, "every": 1, "max_side": 16})
        result.append(sse_events(r.text))

    reader = threading.Thread(target=consume)
    reader.start()
    assert started.wait(timeout=10)
    r = client.post("/api/v1/loss", json={"input": [1], "target": [0]})
    assert r.status_code == 200
    assert waited == []  # /loss answered while the learning step was still held
    gate.set()
    reader.join(timeout=10)
    assert waited == [True]
    assert [e["step"] for e in result[0]] == [0, 1, 2, 3]


def test_openapi_documents_the_stream(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/learn"]["post"]
    content = op["responses"]["200"]["content"]
    assert "text/event-stream" in content and "application/json" in content
    assert "server-sent events" in op["description"]
    # resuming is documented, including that the optimizer's state restarts
    assert "initial_kernel" in op["description"] and "start_step" in op["description"]
    assert "momentum" in op["description"] and "restart" in op["description"]
    props = spec["components"]["schemas"]["LearnRequest"]["properties"]
    assert {"initial_kernel", "initial_bias", "start_step"} <= set(props)
    assert "restarts" in props["initial_kernel"]["description"]
    assert {"413", "422"} <= set(op["responses"])
    assert "LearnEvent" in spec["components"]["schemas"]
    loss_op = spec["paths"]["/api/v1/loss"]["post"]
    assert loss_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "LossResponse"
    )


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"target": "sobel_x", "kernel_size": 17},
            "kernel_size: side (17) is over the limit of 15 "
            "(set CONVSCOPE_MAX_LEARN_KERNEL_SIDE to change it)",
        ),
        (
            {"max_side": 512},
            "max_side: side (512) is over the limit of 128 "
            "(set CONVSCOPE_MAX_LEARN_IMAGE_SIDE to change it)",
        ),
    ],
)
def test_learn_limits_are_413(client, body, detail):
    r = client.post("/api/v1/learn", json=body)
    assert (r.status_code, r.json()["detail"]) == (413, detail)


def test_train_refuses_a_width_below_one_naming_the_field() -> None:
    """A convolution with 0 (or fewer) output channels is a 422 naming widths[k], before
    any work (it was a 500: PyTorch's init divides by the fan-in)."""
    from app.main import app

    client = TestClient(app)
    examples = [{"label": c, "input": [[0.5] * 28] * 28} for c in "ab" for _ in range(5)]
    for widths, k in (([0, 8, 16, 16], 0), ([8, 8, 16, -3], 3)):
        r = client.post(
            "/api/v1/models/train?format=json",
            json={"dataset": {"classes": ["a", "b"], "examples": examples}, "widths": widths},
        )
        assert r.status_code == 422, r.text
        msg = r.json()["detail"][0]["msg"]
        assert msg.startswith(f"widths[{k}]: ") and "greater than or equal to 1" in msg, msg
