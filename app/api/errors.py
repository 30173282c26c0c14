"""One place that turns every client mistake into a 4xx with a readable detail.

422s keep FastAPI's documented shape, a list of ``{loc, msg, type}``, and each
``msg`` starts with the field it is about. Other statuses carry a plain string.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import LimitExceeded, ParamError
from app.schemas import ErrorMessage

# Added to every API route's OpenAPI so each status we send is declared.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorMessage, "description": "Body is not decodable (e.g. not UTF-8)"},
    413: {"model": ErrorMessage, "description": "Body, tensor or work over a limit"},
}
UPLOAD_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorMessage, "description": "Undecodable or truncated image"},
    413: {"model": ErrorMessage, "description": "Upload, image or work over a limit"},
    415: {"model": ErrorMessage, "description": "Not a supported image type"},
}


def field_message(field: str, message: str) -> str:
    """``"<field>: <reason>"``, the form of every error message; a message that already
    starts with its field path (``params.kernel: ...``) is kept, and one that starts with
    the field's name as a sentence (``eps must be > 0``) says it once (``eps: must be > 0``)."""
    if message.startswith(field) and message[len(field) : len(field) + 1] in (":", ".", "["):
        return message
    leaf = field.rsplit(".", 1)[-1].split("[", 1)[0]
    if leaf and message.startswith(f"{leaf} "):  # "eps must be > 0" -> "eps: must be > 0"
        message = message[len(leaf) + 1 :]
    return f"{field}: {message}"


def invalid(field: str, message: str) -> JSONResponse:
    """A 422 in FastAPI's validation-error shape for one field; ``msg`` starts with it."""
    message = field_message(field, message)
    return JSONResponse(
        status_code=422,
        content={"detail": [{"loc": ["body", field], "msg": message, "type": "value_error"}]},
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    """('body', 'stride', 'list[int]', 0) -> 'stride[0]'; drops union branch tags."""
    parts: list[str] = []
    for item in loc[1:] if loc and loc[0] in ("body", "query", "path") else loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif (
            "[" in item
            or item in ("int", "float", "str", "bool", "constrained-int")
            or item.startswith(("literal", "function-"))
        ):
            continue
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts) or "body"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    seen: set[tuple[str, str]] = set()
    detail = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":  # loc is ("body", character offset)
            position = err["loc"][-1] if err.get("loc") else "?"
            reason = (err.get("ctx") or {}).get("error", "invalid JSON")
            field, msg = "body", f"body: not valid JSON at character {position} ({reason})"
        else:
            field = _field_path(tuple(err.get("loc", ())))
            msg = f"{field}: {err.get('msg', 'invalid')}"
        if (field, msg) in seen:  # union branches repeat the same complaint
            continue
        seen.add((field, msg))
        detail.append({"loc": list(err.get("loc", ())), "msg": msg, "type": err.get("type", "")})
    return JSONResponse(status_code=422, content={"detail": detail})


async def _param_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ParamError)
    return invalid(exc.field, exc.message)


async def _limit_exceeded(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LimitExceeded)
    return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail})


# FastAPI's own answer when a JSON body cannot even be decoded (e.g. bytes that are not
# UTF-8); said here the way every other error is, naming the field.
_UNPARSABLE = "There was an error parsing the body"
UNREADABLE_BODY = "body: cannot be read as JSON text (send UTF-8 JSON)"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSABLE:
        return JSONResponse(status_code=400, content={"detail": UNREADABLE_BODY})
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ParamError, _param_error)
    app.add_exception_handler(LimitExceeded, _limit_exceeded)
