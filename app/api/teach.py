"""Train the digits architecture live: ``POST /api/v1/models/train`` streams server-sent
events (or, with ``?format=json``, answers the final result). The loop lives in
``app.models.teach``; this router parses, bounds, and sends."""

from __future__ import annotations

import base64
import threading
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import Field, Strict

from app.api.errors import ERROR_RESPONSES
from app.api.stream import sse
from app.config import Settings, SettingsDep
from app.errors import ParamError
from app.limits import check
from app.models import digits as shipped
from app.models import teach
from app.models.network import Architecture, torch_source
from app.render import render_map
from app.schemas import Number, RequestModel

router = APIRouter(prefix="/api/v1/models", tags=["models"], responses=ERROR_RESPONSES)

Int = Annotated[int, Strict()]


class Example(RequestModel):
    label: str = Field(max_length=64, description="One of the dataset's classes.")
    input: list[list[Number]] = Field(description="28x28 values in [0, 1], white on black.")


class OwnDataset(RequestModel):
    classes: list[Annotated[str, Field(max_length=64)]] = Field(
        description=f"{teach.MIN_CLASSES} to {teach.MAX_CLASSES} class names."
    )
    examples: list[Example] = Field(
        description=f"At least {teach.MIN_PER_CLASS} per class; a fifth of each class "
        "(at least one, drawn by the seed) is held back for the accuracy."
    )


class TrainRequest(RequestModel):
    dataset: Literal["digits"] | OwnDataset = Field(
        "digits",
        description='"digits" (8,000 MNIST digits; accuracy on the 2,000 held out) or '
        "your own classes and examples.",
    )
    epochs: Annotated[Int, Field(ge=1)] = Field(
        3, description="Passes over the training examples (CONVSCOPE_MAX_TRAIN_EPOCHS)."
    )
    batch_size: Annotated[Int, Field(ge=1, le=1024)] = 32
    learning_rate: Annotated[Number, Field(gt=0, le=10)] | None = Field(
        None,
        description="null: the optimizer's default "
        f"(adam {teach.DEFAULT_LR['adam']:g}, sgd {teach.DEFAULT_LR['sgd']:g}).",
    )
    optimizer: Literal["adam", "sgd"] = Field("adam", description="sgd uses momentum.")
    momentum: Annotated[Number, Field(ge=0, lt=1)] = Field(0.9, description="sgd only.")
    seed: Annotated[Int, Field(ge=0, le=2**32 - 1)] = Field(
        0, description="Seeds the split, the starting weights and the shuffles."
    )
    init: Literal["random", "digits"] = Field(
        "random",
        description='"digits": start from the shipped weights and retrain only the last '
        "layer (transfer learning; widths must be the shipped ones).",
    )
    widths: Annotated[list[Annotated[Int, Field(ge=1)]], Field(min_length=4, max_length=4)] = Field(
        [8, 8, 16, 16],
        description="out_channels of the four convolutions (CONVSCOPE_MAX_TRAIN_WIDTH).",
    )
    every: Annotated[Int, Field(ge=1)] = Field(
        10, description="A progress event every this many steps (and at each epoch's end)."
    )


TRAIN_DESCRIPTION = """
Train a network with the digits model's architecture (`GET /api/v1/models/digits`;
widths adjustable) on the digits or on your own classes, nothing stored on the server.

The response is a stream of **server-sent events**, one JSON object per `data:` line,
each with a `type`:

* `start`: `classes`, `train_size`, `test_size`, `steps` (in the whole run),
  `filters` (the first layer's 3x3 filters as
  one PNG, tiles stacked top to bottom, diverging colours over `[-scale, scale]`);
* `progress` (every `every` steps and at each epoch's end): `epoch`, `step`, `loss`,
  `train_accuracy` (of that batch), `losses` (every step since the previous progress
  event), `filters`, `elapsed`;
* `epoch` (after each epoch but the last): `test_accuracy` on the held-back examples;
* `done`: `reason` (`finished`, or `time_limit` after CONVSCOPE_MAX_TRAIN_SECONDS: the
  weights so far are evaluated), `test_accuracy`, `test_size`, `confusion`
  (`confusion[true][predicted]`), `classes`, `losses` (every step), and `weights`:
  base64 of an `.npz` in the layout of `GET /api/v1/models/digits/weights` (send it back
  with `classes` to `POST /api/v1/models/digits/predict`), and `pytorch`: the Python
  source of the `torch.nn.Sequential` that loads it.

With `?format=json` the `done` event comes back alone. A client disconnect stops the
run; the same request (seed included) gives the same losses.
"""


def _filters(weight: np.ndarray) -> dict[str, Any]:
    """(C, 1, 3, 3) first-layer filters -> one PNG, filter k in rows 3k..3k+2."""
    c, _, h, w = weight.shape
    m = float(np.abs(weight).max()) or 1.0
    stack = weight.reshape(c * h, w)  # (C, 1, 3, 3) -> (C*3, 3)
    return render_map(stack, kind="diverging", scale=m) | {"tile": [h, w], "count": c}


def _bound(req: TrainRequest, s: Settings) -> None:
    check(s, "max_train_epochs", req.epochs, field="epochs", what="epochs")
    check(s, "max_train_width", max(req.widths), field="widths", what="width")
    if isinstance(req.dataset, OwnDataset):
        n = len(req.dataset.examples)
        check(s, "max_train_examples", n, field="dataset.examples", what="examples")


def _data(req: TrainRequest) -> teach.Dataset:
    if req.dataset == "digits":
        return teach.digits_dataset()
    assert isinstance(req.dataset, OwnDataset)
    rng = np.random.default_rng([req.seed, 1])  # the split's own stream
    examples = [(e.label, e.input) for e in req.dataset.examples]
    return teach.own_dataset(req.dataset.classes, examples, rng)


def _settings(req: TrainRequest) -> teach.Settings:
    if req.init == "digits" and tuple(req.widths) != shipped.digits_model().arch.widths:
        raise ParamError(
            "widths",
            f"widths: init 'digits' starts from the shipped weights, so widths must be "
            f"{list(shipped.digits_model().arch.widths)}, got {req.widths}",
        )
    return teach.Settings(
        epochs=req.epochs,
        batch_size=req.batch_size,
        learning_rate=req.learning_rate,
        optimizer=req.optimizer,
        momentum=req.momentum,
        seed=req.seed,
        init=req.init,
        widths=tuple(req.widths),  # type: ignore[arg-type]
        every=req.every,
    )


def _event(event: teach.Event) -> dict[str, Any]:
    if isinstance(event, teach.Start):
        return {
            "type": "start",
            "classes": list(event.classes),
            "train_size": event.train_size,
            "test_size": event.test_size,
            "steps": event.steps,
            "filters": _filters(event.filters),
        }
    if isinstance(event, teach.Progress):
        return {
            "type": "progress",
            "epoch": event.epoch,
            "step": event.step,
            "loss": event.loss,
            "train_accuracy": event.train_accuracy,
            "losses": event.losses,
            "filters": _filters(event.filters),
            "elapsed": round(event.elapsed, 3),
        }
    if isinstance(event, teach.Epoch):
        return {
            "type": "epoch",
            "epoch": event.epoch,
            "step": event.step,
            "test_accuracy": event.test_accuracy,
            "elapsed": round(event.elapsed, 3),
        }
    return {
        "type": "done",
        "reason": event.reason,
        "epoch": event.epoch,
        "step": event.step,
        "test_accuracy": event.test_accuracy,
        "test_size": int(event.confusion.sum()),
        "confusion": event.confusion.tolist(),
        "classes": list(event.classes),
        "losses": event.losses,
        "elapsed": round(event.elapsed, 3),
        "weights": base64.b64encode(teach.weights_to_npz(event.params)).decode("ascii"),
        "pytorch": torch_source(Architecture.from_params(event.params)),
    }


@router.post(
    "/train",
    summary="Train the digits architecture live (server-sent events)",
    description=TRAIN_DESCRIPTION,
    responses={
        200: {
            "description": "Server-sent events, or with ?format=json the done event.",
            "content": {"text/event-stream": {}, "application/json": {}},
        }
    },
)
def train(
    req: TrainRequest,
    s: SettingsDep,
    response_format: Annotated[
        Literal["sse", "json"],
        Query(alias="format", description="sse (a stream, default) or json (the result)."),
    ] = "sse",
) -> Any:
    _bound(req, s)
    settings, data = _settings(req), _data(req)
    stop = threading.Event()
    digits = shipped.digits_model().params if req.init == "digits" else None
    run = teach.train_run(
        data, settings, max_seconds=s.max_train_seconds, digits=digits, should_stop=stop.is_set
    )
    events = (_event(e) for e in run)
    if response_format == "json":
        *_, last = events
        return last
    first = next(events)
    return StreamingResponse(
        sse(first, events, stop),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
