"""The JSON operations' binary twin: the same path, taking a multipart request whose
arrays are ``.npy`` files and whose other parameters are a JSON ``params`` field.

Nothing is validated twice or differently: the decoded arrays go into the parameters'
dict, the op's own request model validates it (so a breach gives the JSON path's status
and message), and the op's own handler computes. ``?format=npy`` answers with the output
tensor as a float64 ``.npy`` instead of JSON.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import Scope

from app.config import Settings, SettingsDep
from app.errors import ParamError
from app.limits import check, check_elements

NPY_TYPE = "application/x-npy"
NPY_MAGIC = b"\x93NUMPY"
# Numbers only: booleans are refused by the JSON path's types as well.
NUMBER_KINDS = "iuf"


class MultipartRoute(APIRoute):
    """Matches multipart requests only, so it can sit beside the JSON route of its path."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"")
        if not content_type.lower().startswith(b"multipart/form-data"):
            return Match.NONE, {}
        return super().matches(scope)


def read_npy(field: str, data: bytes, settings: Settings) -> np.ndarray:
    """One ``.npy`` file -> its array: numbers only, never a pickle, within the limits."""
    if not data.startswith(NPY_MAGIC):  # np.load would read anything else as a pickle
        raise ParamError(field, "not a readable .npy file (no .npy header; one array per file)")
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise ParamError(field, "a pickled object array; pickles are refused") from None
        raise ParamError(field, f"not a readable .npy file ({exc})") from None
    except (EOFError, OSError) as exc:
        raise ParamError(field, f"not a readable .npy file ({exc})") from None
    if loaded.dtype.kind not in NUMBER_KINDS:
        raise ParamError(
            field, f"dtype {loaded.dtype} is not a number type; send integers or floats"
        )
    # The limits the JSON path applies when it builds the array, checked before the array
    # becomes lists; the same functions, so the same messages.
    check_elements(settings, field, loaded.size)
    check(settings, "max_side", max(loaded.shape, default=0), field=field, what="side")
    return loaded


def _params(form: Any) -> dict[str, Any]:
    texts = form.getlist("params")
    if len(texts) > 1:
        raise ParamError("params", "params was sent more than once")
    if not texts:
        return {}
    if not isinstance(texts[0], str):
        raise ParamError("params", "params must be a form field holding JSON, not a file")
    try:
        raw = json.loads(texts[0])
    except json.JSONDecodeError as exc:
        raise ParamError(
            "params", f"params must be a JSON object: {exc.msg} at character {exc.pos}"
        ) from None
    except RecursionError:
        raise ParamError("params", "params is nested too deeply to be parameters") from None
    if not isinstance(raw, dict):
        raise ParamError("params", "params must be a JSON object")
    return raw


async def parse(request: Request, model: type[BaseModel], settings: Settings) -> BaseModel:
    """The multipart form -> ``model``, validated exactly as the JSON body would be."""
    async with request.form() as form:  # closes the spooled files however it ends
        body = _params(form)
        for name in dict.fromkeys(form.keys()):
            if name == "params":
                continue
            values = form.getlist(name)
            if name not in model.model_fields:
                raise ParamError(name, f"{name} is not a field of this operation")
            if len(values) > 1 or name in body:
                raise ParamError(name, f"{name} was given more than once")
            upload = values[0]
            if not isinstance(upload, UploadFile):
                raise ParamError(name, f"{name} must be a .npy file (other values go in params)")
            body[name] = read_npy(name, await upload.read(), settings).tolist()
    try:
        return model.model_validate(body)
    except ValidationError as exc:  # reported as FastAPI reports a JSON body's errors
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def add_npy_twin(
    router: APIRouter,
    path: str,
    model: type[BaseModel],
    response_model: type[BaseModel],
    handler: Callable[[Any, Settings], Any],
    *,
    exclude_none: bool = False,
    one_tensor: bool = True,
) -> None:
    """Register the multipart twin of the JSON route ``path`` (run by ``handler``), ahead
    of it; ``one_tensor`` ops may answer ``?format=npy``."""

    async def endpoint(
        request: Request,
        s: SettingsDep,
        format: Literal["json", "npy"] = Query("json"),
    ) -> Response:
        if format == "npy" and not one_tensor:
            raise ParamError(
                "format", f"format=npy sends one tensor; {path} returns several, use json"
            )
        req = await parse(request, model, s)
        result = await run_in_threadpool(handler, req, s)
        if format == "npy":
            buffer = io.BytesIO()
            np.save(buffer, np.asarray(result["output"], dtype=np.float64), allow_pickle=False)
            return Response(
                buffer.getvalue(),
                media_type=NPY_TYPE,
                headers={"Content-Disposition": 'attachment; filename="output.npy"'},
            )
        shaped = response_model.model_validate(result)
        return JSONResponse(shaped.model_dump(mode="json", exclude_none=exclude_none))

    router.add_api_route(
        path,
        endpoint,
        methods=["POST"],
        include_in_schema=False,
        route_class_override=MultipartRoute,
    )
    router.routes.insert(0, router.routes.pop())  # tried before the JSON route
