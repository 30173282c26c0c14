"""Trained models: describe, download the weights and their PyTorch module, predict with
every layer's maps and a unit's exact computation, browse the held-out digits."""

from __future__ import annotations

import io
import json
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app import limits
from app.api.errors import UPLOAD_ERROR_RESPONSES
from app.config import SettingsDep
from app.errors import ParamError
from app.imaging import ImageError, decode_image
from app.models import digits as service
from app.models import teach
from app.models.network import torch_source
from app.models.preprocess import DEFAULT, PREPROCESS, choose, preprocess

router = APIRouter(prefix="/api/v1/models", tags=["models"])

MODELS = {"digits": service.digits_model}


class TraceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layer: str = Field(description='A layer name from the model description, e.g. "conv2".')
    unit: list[int] = Field(
        min_length=1, max_length=3, description="[channel, row, column] or [index]."
    )


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: list[list[float]] = Field(
        description="28x28 values in [0, 1], white digit on black (as in MNIST)."
    )
    trace: TraceRequest | None = None
    weights: str | None = Field(
        None,
        description="Your own weights: base64 of an .npz from POST /api/v1/models/train "
        "(the layout of GET /api/v1/models/digits/weights); default the shipped ones.",
    )
    classes: list[Annotated[str, Field(max_length=64)]] | None = Field(
        None, description="The class names of your weights, one per output."
    )


def _model(name: str) -> service.Model:
    if name not in MODELS:
        raise HTTPException(404, f"name: unknown model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name]()


@router.get("", summary="The models this server ships")
def list_models() -> dict[str, Any]:
    return {
        "models": [
            {"name": name, "url": f"/api/v1/models/{name}", "classes": list(get().classes)}
            for name, get in MODELS.items()
        ]
    }


@router.get(
    "/{name}",
    summary="A model's layers, classes and held-out accuracy",
    responses={404: {"description": "Unknown model"}},
)
def describe(name: str) -> dict[str, Any]:
    ways = {way: p.description for way, p in PREPROCESS.items()}
    return service.describe(_model(name)) | {"preprocess": ways, "preprocess_default": DEFAULT}


@router.get(
    "/{name}/weights",
    summary="The weights as .npz (torch state_dict keys)",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, 404: {}},
)
def weights(name: str) -> Response:
    model = _model(name)
    buffer = io.BytesIO()
    np.savez(buffer, **model.params)  # type: ignore[arg-type]
    return Response(
        buffer.getvalue(),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}.npz"'},
    )


@router.get(
    "/{name}/pytorch",
    summary="The equivalent torch.nn.Sequential as Python source",
    response_class=PlainTextResponse,
    responses={404: {}},
)
def pytorch(name: str) -> PlainTextResponse:
    return PlainTextResponse(torch_source(_model(name).arch), media_type="text/x-python")


def _check_input(rows: list[list[float]]) -> np.ndarray:
    if len(rows) != 28 or any(len(r) != 28 for r in rows):
        bad = next((i for i, r in enumerate(rows) if len(r) != 28), 0)
        got = f"{len(rows)} rows" if len(rows) != 28 else f"row {bad} has {len(rows[bad])} values"
        raise ParamError("input", f"input: must be 28 rows of 28 values (28×28), got {got}")  # noqa: RUF001
    x = np.asarray(rows, dtype=np.float64)
    bad_cells = ~np.isfinite(x)
    if bad_cells.any():
        r, c = np.argwhere(bad_cells)[0]
        raise ParamError("input", f"input: must hold finite numbers; input[{r}][{c}] is {x[r, c]}")
    outside = (x < 0) | (x > 1)
    if outside.any():
        r, c = np.argwhere(outside)[0]
        raise ParamError(
            "input", f"input: values must lie in [0, 1]; input[{r}][{c}] is {x[r, c]:g}"
        )
    if not x.any():
        raise ParamError("input", "input: the drawing is blank (every value is 0)")
    return x.astype(np.float32)


def _parse_trace(raw: str | None) -> TraceRequest | None:
    if raw is None or raw == "":
        return None
    try:
        return TraceRequest.model_validate_json(raw)
    except ValidationError as exc:
        reasons = "; ".join(
            f"trace{''.join(f'.{p}' if isinstance(p, str) else f'[{p}]' for p in e['loc'])}: "
            f"{e['msg']}"
            for e in exc.errors()
        )
        raise ParamError("trace", reasons or "trace must be a JSON object") from None


def _user_model(
    model: service.Model, params: dict[str, np.ndarray] | None, classes: Any, settings: Any
) -> service.Model:
    """The shipped model, or the user's weights (and class names) in its place."""
    if params is None:
        if classes is not None:
            raise ParamError("classes", "classes: only with your own weights; send weights too")
        return model
    arch, names = teach.user_model(params, classes)
    limits.check(settings, "max_train_width", max(arch.widths), field="weights", what="width")
    return service.Model(model.name, arch, params, names)


def _classes_field(raw: str | None) -> list[str] | None:
    if raw is None or raw == "":
        return None
    try:
        names = json.loads(raw)
    except ValueError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ParamError("classes", 'classes: must be a JSON list of names, e.g. ["bar", "ring"]')
    return names


async def _read_request(
    request: Request, settings: Any, model: service.Model
) -> tuple[np.ndarray, TraceRequest | None, service.Model]:
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        async with request.form() as form:
            for field in ("image", "trace", "weights", "classes", "preprocess"):
                if len(form.getlist(field)) > 1:
                    raise ParamError(field, f"{field}: sent more than once; send it once")
            upload, trace, way = form.get("image"), form.get("trace"), form.get("preprocess")
            if way is not None and not isinstance(way, str):
                raise ParamError("preprocess", "preprocess: send it as text, not a file")
            chosen = choose(way)
            if upload is None or isinstance(upload, str):
                raise ParamError("image", "image: required; upload a file in the 'image' field")
            data = await upload.read()
            weights, names = form.get("weights"), form.get("classes")
            params = None
            if weights is not None:
                if isinstance(weights, str):
                    raise ParamError("weights", "weights: upload the .npz as a file")
                params = teach.weights_from_npz(
                    await weights.read(), "weights", settings.max_body_bytes
                )
            model = _user_model(
                model, params, _classes_field(names if isinstance(names, str) else None), settings
            )
        try:
            gray = decode_image(
                data,
                color="gray",
                max_side=settings.default_max_side,
                max_pixels=settings.max_image_pixels,
            )
        except ImageError as exc:
            raise HTTPException(exc.status_code, exc.detail) from None
        return (
            preprocess(gray[0], chosen, "image"),
            _parse_trace(trace if isinstance(trace, str) else None),
            model,
        )
    if not kind.startswith("application/json"):
        raise HTTPException(415, "body: send JSON {\"input\": ...} or a multipart 'image' upload")
    try:
        raw = json.loads(await request.body())
    except (ValueError, RecursionError) as exc:
        raise ParamError("body", f"body: not valid JSON ({exc})") from None
    if isinstance(raw, dict) and "preprocess" in raw:
        raise ParamError(
            "preprocess",
            "preprocess: only for an uploaded image (multipart); input is already 28×28",  # noqa: RUF001
        )
    try:
        req = PredictRequest.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in err["loc"])
        raise ParamError(
            str(err["loc"][0]) if err["loc"] else "body",
            f"{where.lstrip('.') or 'body'}: {err['msg']}",
        ) from None
    params = (
        None
        if req.weights is None
        else teach.decode_weights(req.weights, "weights", settings.max_body_bytes)
    )
    return _check_input(req.input), req.trace, _user_model(model, params, req.classes, settings)


PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": PredictRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {
                        "image": {"type": "string", "format": "binary"},
                        "trace": {"type": "string", "description": "TraceRequest as JSON"},
                        "weights": {"type": "string", "format": "binary"},
                        "classes": {"type": "string", "description": "JSON list of names"},
                        "preprocess": {
                            "type": "string",
                            "enum": list(PREPROCESS),
                            "default": DEFAULT,
                            "description": "How the image becomes 28x28: "
                            + "; ".join(f"{k}: {p.description}" for k, p in PREPROCESS.items()),
                        },
                    },
                }
            },
        },
    }
}


@router.post(
    "/{name}/predict",
    summary="Classify a 28x28 input or an uploaded digit",
    openapi_extra=PREDICT_BODY,
    responses={**UPLOAD_ERROR_RESPONSES, 404: {}, 422: {}},
)
async def predict(
    request: Request, name: str, s: SettingsDep, format: Literal["json", "npz"] = Query("json")
) -> Any:
    x, trace, model = await _read_request(request, s, _model(name))
    fwd = service.run(model, x)
    probabilities = service.probabilities(fwd)
    if format == "npz":
        buffer = io.BytesIO()
        np.savez(buffer, input=fwd.input[0], **{k: v[0] for k, v in fwd.outputs.items()})
        return Response(buffer.getvalue(), media_type="application/octet-stream")
    prediction = int(np.argmax(probabilities))
    return {
        "model": model.name,
        "input": fwd.input[0, 0].tolist(),
        "logits": fwd.logits[0].astype(np.float64).tolist(),
        "probabilities": probabilities.tolist(),
        "prediction": prediction,
        "label": model.classes[prediction],
        "layers": service.layer_maps(model, fwd),
        "trace": None if trace is None else service.trace(model, fwd, trace.layer, trace.unit),
    }


@router.get(
    "/{name}/samples",
    summary="Held-out digits: by index, class, or misclassified",
    responses={404: {}, 413: {}},
)
def samples(
    name: str,
    s: SettingsDep,
    label: int | None = Query(None, ge=0, le=9, description="Only this true class."),
    prediction: int | None = Query(None, ge=0, le=9, description="Only this predicted class."),
    misclassified: bool = Query(False, description="Only digits the model gets wrong."),
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1),
) -> dict[str, Any]:
    model = _model(name)
    limits.check(s, "max_model_samples", limit, field="limit", what="samples asked")
    found = service.find_samples(label, prediction, misclassified)
    page = found[offset : offset + limit]
    return {
        "total": len(found),
        "offset": offset,
        "samples": [service.sample_entry(model, int(i)) for i in page],
    }


@router.get(
    "/{name}/samples/{index}",
    summary="One held-out digit with its 28x28 input",
    responses={404: {}},
)
def sample(name: str, index: int) -> dict[str, Any]:
    model = _model(name)
    size = service.held_out().predictions.size
    if not 0 <= index < size:
        raise HTTPException(
            404, f"index: no held-out digit {index}; there are {size} (0..{size - 1})"
        )
    return service.sample_entry(model, index) | {"input": service.sample_input(index).tolist()}
