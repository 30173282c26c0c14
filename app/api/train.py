"""Training endpoints: loss calculators and watching a kernel learn (streamed).

``POST /api/v1/loss`` evaluates ``mse_loss`` or ``cross_entropy`` with the values a
calculator shows. ``POST /api/v1/learn`` runs ``app.core.learn.learn_kernel`` in a
worker thread and streams its progress as server-sent events (or, with
``?format=json``, returns the whole history at once).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from functools import lru_cache
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Body, Query
from fastapi.responses import StreamingResponse

from app.api.errors import ERROR_RESPONSES
from app.api.stream import sse
from app.api.tensors import to_array, to_list
from app.config import Settings, SettingsDep
from app.core.geometry import pair
from app.core.kernels import PRESETS, unknown_preset
from app.core.learn import embed_kernel, learn_kernel
from app.core.loss import cross_entropy_details, mse_loss
from app.errors import ParamError
from app.imaging import decode_image
from app.limits import check
from app.render import render_map
from app.samples import sample_path, unknown_sample
from app.schemas import LearnHistory, LearnRequest, LossRequest, LossResponse, Reason

router = APIRouter(prefix="/api/v1", tags=["training"], responses=ERROR_RESPONSES)

# ---- loss ---------------------------------------------------------------------------------

LOSS_EXAMPLES = {
    "cross_entropy": {
        "summary": "Cross-entropy, logits [2, 1, 0], class 0 (0.4076)",
        "value": {"function": "cross_entropy", "input": [2.0, 1.0, 0.0], "target": 0},
    },
    "mse": {
        "summary": "MSE of [1, 2, 3] against [1, 0, 5] (8/3)",
        "value": {"function": "mse", "input": [1.0, 2.0, 3.0], "target": [1.0, 0.0, 5.0]},
    },
}


def _class_target(t: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Rank one below the logits -> integer class indices; same rank -> probabilities."""
    if t.ndim == logits.ndim - 1:
        if not np.all(t == np.round(t)):
            raise ParamError("target", "target class indices must be whole numbers")
        return t.astype(np.int64)
    if t.ndim == logits.ndim:
        return t
    want = "a number" if logits.ndim == 1 else f"[{logits.shape[0]}]"
    raise ParamError(
        "target",
        f"target must be class indices ({want}) or probabilities {list(logits.shape)}, "
        f"got shape {list(t.shape)}",
    )


@router.post(
    "/loss", response_model=LossResponse, response_model_exclude_none=True, summary="Loss function"
)
def loss(req: Annotated[LossRequest, Body(openapi_examples=LOSS_EXAMPLES)], s: SettingsDep) -> Any:
    """``mse_loss`` or ``cross_entropy`` (from logits) as ``torch.nn.functional``."""
    x = to_array(req.input, "input", s)
    t = to_array(req.target, "target", s)
    body: dict[str, Any] = {"function": req.function, "reduction": req.reduction}
    with np.errstate(all="ignore"):
        if req.function == "mse":
            value = mse_loss(x, t, req.reduction)
            body["per_element"] = to_list(mse_loss(x, t, "none"), "per_element")
        else:
            if x.ndim > 2:
                raise ParamError(
                    "input",
                    f"input must be logits [C] or [N][C] for cross_entropy, got shape "
                    f"{list(x.shape)}",
                )
            weight = None if req.weight is None else to_array(req.weight, "weight", s)
            ce = cross_entropy_details(
                x,
                _class_target(t, x),
                weight=weight,
                reduction=req.reduction,
                label_smoothing=req.label_smoothing,
            )
            value = ce.loss
            body["per_sample"] = to_list(ce.per_sample, "per_sample")
            body["probabilities"] = to_list(ce.probabilities, "probabilities")
            body["log_probabilities"] = to_list(ce.log_probabilities, "input")
            body["target_distribution"] = to_list(ce.target_distribution, "target_distribution")
    body["loss"] = to_list(value, "loss")
    body["shape"] = list(value.shape)
    return body


# ---- learn --------------------------------------------------------------------------------


LEARN_DESCRIPTION = """
Gradient descent on a conv2d kernel until its feature map matches the target kernel's
on a sample image (MSE loss, gradients from the core's conv2d backward pass). The image
is first standardised, as a network's input would be: `(image - input_mean) / input_std`;
the first event's `input` is that standardised image, the one both kernels convolve.

By default the response is a stream of **server-sent events** (`text/event-stream`):
one `data: <LearnEvent JSON>` message every `every` steps, the first (step 0) also
carrying `input` and `target_output` images, the last with `"done": true` and a
`reason`: `finished`, `time_limit` (CONVSCOPE_MAX_LEARN_SECONDS, default 20 s) or
`diverged`. A browser reads it with `fetch` and a stream reader (EventSource cannot
POST). With `?format=json` the whole run comes back at once as a `LearnHistory`
(for curl and notebooks). Steps are bounded by CONVSCOPE_MAX_LEARN_STEPS (413 above).
The run stops when the client disconnects.

**Stop and resume.** To continue a stopped run, send the same request again with
`initial_kernel` and `initial_bias` set to its last event's `kernel` and `bias`,
`start_step` to that event's `step`, and `steps` to the updates still wanted: the
new run starts from that kernel (its first event repeats the stopped run's last loss)
and numbers its events on from `start_step`, so its losses extend the same curve.
The optimizer's state is **not** carried over: sgd's momentum (velocity) and Adam's
moments and bias correction restart from zero on a resume, so a resumed run follows
a slightly different path than an uninterrupted one (Adam's first resumed steps move
each value by about `lr`).
"""

LEARN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events (one LearnEvent per `data:` line), or with "
        "`?format=json` a LearnHistory.",
        "content": {
            "text/event-stream": {
                # OpenAPI 3.1: the schema of a text/event-stream describes one event
                "schema": {
                    "type": "object",
                    "description": "One server-sent event: `data` holds a LearnEvent as JSON.",
                    "properties": {
                        "event": {"type": "string"},
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": {"$ref": "#/components/schemas/LearnEvent"},
                        },
                    },
                    "required": ["data"],
                },
                "example": 'data: {"step": 0, "loss": 5.2, "done": false, ...}\n\n',
            },
        },
    },
}


@lru_cache(maxsize=32)
def _sample_image(name: str, max_side: int) -> np.ndarray:
    """A bundled sample as a gray (H, W) float64 array in [0, 1] (read-only, cached)."""
    try:
        data = sample_path(name).read_bytes()
    except KeyError:
        raise ParamError("sample", unknown_sample(name)) from None
    image = decode_image(data, color="gray", max_side=max_side)[0].astype(np.float64)
    image.flags.writeable = False
    return image


def _image(req: LearnRequest) -> np.ndarray:
    if req.sample is None:
        rng = np.random.default_rng(req.seed)
        return rng.random((req.max_side, req.max_side))
    return _sample_image(req.sample, req.max_side)


def _target(req: LearnRequest, settings: Settings) -> np.ndarray:
    if isinstance(req.target, str):
        if req.target not in PRESETS:
            raise ParamError("target", unknown_preset(req.target))
        t = PRESETS[req.target].array()
    else:
        t = to_array(req.target, "target", settings)
    size = t.shape if req.kernel_size is None else pair(req.kernel_size, "kernel_size")
    field = "target" if req.kernel_size is None else "kernel_size"
    check(settings, "max_learn_kernel_side", max(size), field=field, what="side")
    return embed_kernel(t, (size[0], size[1]))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _events(
    req: LearnRequest,
    image: np.ndarray,
    target: np.ndarray,
    settings: Settings,
    stop: threading.Event,
) -> Iterator[dict[str, Any]]:
    """Run the learning loop; yield the events to send (every ``every`` steps, first, last)."""
    start = time.monotonic()
    target_list = target.tolist()
    scale = 1.0
    pending: list[float | None] = []
    last_step = req.start_step + req.steps
    initial_kernel = (
        None
        if req.initial_kernel is None
        else to_array(req.initial_kernel, "initial_kernel", settings)
    )
    records = learn_kernel(
        image,
        target,
        steps=req.steps,
        lr=req.lr,
        seed=req.seed,
        padding=req.padding,
        padding_mode=req.padding_mode,
        optimizer=req.optimizer,
        momentum=req.momentum,
        learn_bias=req.learn_bias,
        initial_kernel=initial_kernel,
        initial_bias=req.initial_bias,
        start_step=req.start_step,
    )
    for n, rec in enumerate(records):
        if stop.is_set():
            return
        step = rec["step"]
        pending.append(_finite(rec["loss"]))
        elapsed = time.monotonic() - start
        reason: Reason | None = None
        if step == last_step:
            reason = "finished"
        elif rec["diverged"]:
            reason = "diverged"
        elif elapsed > settings.max_learn_seconds:
            reason = "time_limit"
        if n and step % req.every and reason is None:
            continue
        event: dict[str, Any] = {
            "step": step,
            "loss": pending[-1],
            "losses": pending,
            "kernel": np.nan_to_num(rec["kernel"], posinf=1e300, neginf=-1e300).tolist(),
            "bias": _finite(rec["bias"]),
            "grad_norm": _finite(rec["grad_norm"]),
            "target_kernel": target_list,
            "elapsed": round(elapsed, 4),
            "done": reason is not None,
            "reason": reason,
        }
        if n == 0:
            t_map = rec["target_output"]
            scale = float(np.abs(t_map).max())
            event["input"] = render_map(rec["input"], kind="diverging")
            event["input_mean"] = rec["input_mean"]
            event["input_std"] = rec["input_std"]
            event["target_output"] = render_map(t_map, kind="diverging")
        event["output"] = render_map(rec["output"], kind="diverging", scale=scale)
        pending = []
        yield event
        if reason is not None:
            return


@router.post(
    "/learn",
    response_model=LearnHistory,
    responses=LEARN_RESPONSES,
    summary="Watch a kernel learn (server-sent events)",
    description=LEARN_DESCRIPTION,
)
def learn(
    req: LearnRequest,
    s: SettingsDep,
    response_format: Annotated[
        Literal["sse", "json"],
        Query(alias="format", description="sse (a stream, default) or json (all at once)."),
    ] = "sse",
) -> Any:
    check(s, "max_learn_steps", req.steps, field="steps", what="steps")
    check(s, "max_learn_image_side", req.max_side, field="max_side", what="side")
    image, target = _image(req), _target(req, s)
    stop = threading.Event()
    events = _events(req, image, target, s, stop)
    first = next(events)  # argument errors surface here, as a 422 before any streaming
    if response_format == "json":
        history = [first, *events]
        losses = [x for e in history for x in e["losses"]]
        return {
            "events": history,
            "losses": losses,
            "kernel": history[-1]["kernel"],
            "target_kernel": first["target_kernel"],
            "reason": history[-1]["reason"],
        }
    return StreamingResponse(
        sse(first, events, stop),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
