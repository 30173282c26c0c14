"""Image endpoints: multipart upload in, feature maps (PNG data URLs) or raw arrays out."""

from __future__ import annotations

import io
import json
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from app.api.errors import UPLOAD_ERROR_RESPONSES, LimitExceeded
from app.config import Settings, SettingsDep
from app.core.geometry import ParamError
from app.imaging import ImageError, decode_image
from app.layers import (
    LayerOutput,
    apply_activation,
    apply_batch_norm,
    apply_conv,
    apply_dropout,
    apply_pool,
)
from app.render import Kind, render_map, render_png
from app.samples import SAMPLES, sample_path
from app.schemas import (
    ActivationLayerParams,
    CropParams,
    ImageConv2dParams,
    ImagePool2dParams,
    ImageResponse,
    PipelineParams,
    PipelineResponse,
    PixelsResponse,
    Sample,
)


async def _single_fields(request: Request) -> None:
    """Refuse ambiguous forms: a field sent twice, or both an upload and a sample."""
    form = await request.form()  # parsed once; FastAPI reuses it for the fields below
    for name in ("image", "sample", "params", "color", "max_side"):
        count = len(form.getlist(name))
        if count > 1:
            raise ParamError(name, f"{name} was sent {count} times; send it once")
    if "image" in form and "sample" in form:
        raise ParamError("image", "send either an image upload or a sample name, not both")


router = APIRouter(prefix="/api/v1", tags=["images"], dependencies=[Depends(_single_fields)])
Format = Literal["json", "npy", "png"]
M = TypeVar("M", bound=BaseModel)

FORMAT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **UPLOAD_ERROR_RESPONSES,
    200: {
        "description": "JSON feature maps; or with ?format=npy the float32 array of the last "
        "output, or with ?format=png its first map as a PNG",
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
    },
}
IMAGE_DOC = (
    "Upload in ``image`` (PNG, JPEG, GIF first frame, BMP, WebP) or name a ``sample``; "
    "``params`` is a JSON object; ``color`` is gray or rgb; the image is downscaled so its "
    "longest side is at most ``max_side``, and its values are float32 in [0, 1]."
)


class ImageForm:
    """The multipart fields every image endpoint shares, decoded into a (C, H, W) array."""

    def __init__(
        self,
        image: Annotated[UploadFile | None, File(description="The image file.")] = None,
        sample: Annotated[
            str | None, Form(description="A sample's name instead of an upload.")
        ] = None,
        params: Annotated[str, Form(description="The operation's parameters as JSON.")] = "{}",
        color: Annotated[Literal["gray", "rgb"], Form()] = "gray",
        max_side: Annotated[
            int | None,
            Form(
                ge=1,
                description="Downscale the longest side to at most this "
                "(default CONVSCOPE_DEFAULT_MAX_SIDE, 512).",
            ),
        ] = None,
    ) -> None:
        self.image, self.sample, self.params = image, sample, params
        self.color, self.max_side = color, max_side

    def pixels(self, settings: Settings) -> np.ndarray:
        max_side = settings.default_max_side if self.max_side is None else self.max_side
        if max_side > settings.max_image_side:
            raise ParamError(
                "max_side",
                f"max_side ({max_side}) is over the limit of "
                f"{settings.max_image_side} (CONVSCOPE_MAX_IMAGE_SIDE)",
            )
        if self.image is not None:
            data = self.image.file.read(settings.max_upload_bytes + 1)
        elif self.sample is not None:
            try:
                data = sample_path(self.sample).read_bytes()
            except KeyError:
                names = ", ".join(s["name"] for s in SAMPLES)
                raise ParamError(
                    "sample", f"sample {self.sample!r} does not exist; known: {names}"
                ) from None
        else:
            raise ParamError(
                "image",
                "image is required: upload a file in the 'image' field "
                "or name a sample in 'sample'",
            )
        if len(data) > settings.max_upload_bytes:
            raise LimitExceeded(
                "image bytes", len(data), settings.max_upload_bytes, "max_upload_bytes"
            )
        try:
            return decode_image(
                data, color=self.color, max_side=max_side, max_pixels=settings.max_image_pixels
            )
        except ImageError as exc:
            raise HTTPException(exc.status_code, exc.detail) from None

    def parse(self, model: type[M]) -> M:
        """``params`` JSON -> ``model``; errors become 422s that name ``params.<field>``."""
        try:
            raw = json.loads(self.params)
        except json.JSONDecodeError as exc:
            raise ParamError(
                "params", f"params must be a JSON object: {exc.msg} at character {exc.pos}"
            ) from None
        except RecursionError:  # nested deeper than the decoder's recursion limit
            raise ParamError("params", "params is nested too deeply to be parameters") from None
        except ValueError as exc:  # e.g. an integer with more digits than Python converts
            raise ParamError("params", f"params is not usable JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise ParamError("params", "params must be a JSON object")
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            raise ParamError("params", _describe_errors(exc)) from None


FormDep = Annotated[ImageForm, Depends()]


_TYPE_TAGS = frozenset({"int", "float", "str", "bool", "list", "dict", "none"})
_LAYER_TAGS = frozenset({"conv2d", "pool2d", "activation", "batch_norm", "dropout"})


def _describe_errors(exc: ValidationError) -> str:
    """Every complaint as ``params.<field>: <why>``, union branch tags dropped, deduplicated."""
    messages: list[str] = []
    for err in exc.errors():
        parts: list[str] = []
        previous: Any = None
        for p in err["loc"]:
            if isinstance(p, int):
                parts.append(f"[{p}]")
            # Pydantic's union branch tags ("constrained-int", "list[...]", "str") and, after
            # a list index, a layer's discriminator tag ("conv2d") are not field names; a
            # field may still start like one ("stride", "function").
            elif not (
                "[" in p
                or "-" in p
                or p in _TYPE_TAGS
                or (isinstance(previous, int) and p in _LAYER_TAGS)
            ):
                parts.append(f".{p}")
            previous = p
        path = "".join(parts)
        message = f"params{path}: {err['msg']}"
        if message not in messages:
            messages.append(message)
    return "; ".join(messages[:5])


def _kind(block: np.ndarray, as_image: bool) -> Kind:
    """Image-filter outputs that stay within [0, 1] are drawn as plain gray/RGB images."""
    if as_image and float(block.min()) >= 0.0 and float(block.max()) <= 1.0:
        return "image"
    return "auto"


def render_layer(
    result: LayerOutput, *, shared: bool = False, as_image: bool = True
) -> list[dict[str, Any]]:
    """One map per output channel. With ``as_image`` (the single-operation endpoints) the
    output is drawn like an image: groups of 3 channels as RGB, and [0, 1] maps in gray."""
    out = result.output
    value_range = None
    if shared:
        lo, hi = float(out.min()), float(out.max())
        value_range = (-max(abs(lo), abs(hi)), max(abs(lo), abs(hi))) if lo < 0 else (lo, hi)
    maps, start = [], 0
    groups = result.groups if as_image and result.groups else [1] * out.shape[0]
    for size in groups:
        block = out[start] if size == 1 else out[start : start + size]
        label = result.labels[start] if size == 1 else result.labels[start].split(" · ")[0]
        rendered = render_map(block, kind=_kind(block, as_image), value_range=value_range)
        maps.append(rendered | {"label": label})
        start += size
    return maps


def _require_finite(result: LayerOutput, field: str, what: str) -> None:
    if not np.all(np.isfinite(result.output)):
        raise ParamError(field, f"{what} produced values too large for float32")


def _answer(x: np.ndarray, result: LayerOutput, fmt: Format, color: str) -> Any:
    _require_finite(result, "params", "the operation")
    if fmt == "npy":
        buffer = io.BytesIO()
        np.save(buffer, result.output.astype(np.float32, copy=False))
        return Response(
            buffer.getvalue(),
            media_type="application/octet-stream",
            headers={"Content-Disposition": 'attachment; filename="output.npy"'},
        )
    maps_source = result.groups[0] if result.groups else 1
    if fmt == "png":
        block = result.output[0] if maps_source == 1 else result.output[:maps_source]
        return Response(render_png(block, kind=_kind(block, True)), media_type="image/png")
    body: dict[str, Any] = {
        "input": render_map(x if color == "rgb" else x[0], kind="image") | {"label": "input"},
        "output": render_layer(result),
        "shape": list(result.output.shape),
        "geometry": result.geometry.as_dict() if result.geometry else None,
    }
    if "steps" in result.extras:
        body["steps"] = result.extras["steps"]
    return body


@router.get("/samples", response_model=list[Sample], summary="Sample images the app ships")
def samples() -> Any:
    return SAMPLES


def _image_route(path: str, response_model: type[BaseModel], summary: str, what: str) -> Any:
    return router.post(
        path,
        response_model=response_model,
        response_model_exclude_none=True,
        responses=FORMAT_RESPONSES,
        summary=summary,
        description=f"{what} {IMAGE_DOC}",
    )


@_image_route(
    "/images/conv2d",
    ImageResponse,
    "Convolve an image",
    "Convolve an image; a preset name works as `kernel`.",
)
def image_conv2d(form: FormDep, s: SettingsDep, format: Format = Query("json")) -> Any:
    p = form.parse(ImageConv2dParams)
    x = form.pixels(s)
    with np.errstate(all="ignore"):
        result = apply_conv(x, p, s, p.trace_region)
    return _answer(x, result, format, form.color)


@_image_route(
    "/images/pool2d", ImageResponse, "Pool an image", "Max or average pooling per channel."
)
def image_pool2d(form: FormDep, s: SettingsDep, format: Format = Query("json")) -> Any:
    p = form.parse(ImagePool2dParams)
    x = form.pixels(s)
    return _answer(x, apply_pool(x, p, s, p.trace_region), format, form.color)


@_image_route(
    "/images/activation",
    ImageResponse,
    "Apply an activation to an image",
    "An activation on every pixel (softmax across channels).",
)
def image_activation(form: FormDep, s: SettingsDep, format: Format = Query("json")) -> Any:
    p = form.parse(ActivationLayerParams)
    x = form.pixels(s)
    return _answer(x, apply_activation(x, p), format, form.color)


MAX_CROP_SIDE = 32


@router.post(
    "/images/pixels",
    response_model=PixelsResponse,
    responses=UPLOAD_ERROR_RESPONSES,
    summary="Exact pixel values of a crop",
    description="The decoded float values of a window of the image (`params` is "
    '`{"rows": [r0, r1], "cols": [c0, c1]}`, end-exclusive, at most 32 x 32), e.g. to step '
    "through a convolution on part of a photo. " + IMAGE_DOC,
)
def image_pixels(form: FormDep, s: SettingsDep) -> Any:
    p = form.parse(CropParams)
    x = form.pixels(s)
    spans = []
    for name, (lo, hi), size in (("rows", p.rows, x.shape[1]), ("cols", p.cols, x.shape[2])):
        if not 0 <= lo < hi <= size or hi - lo > MAX_CROP_SIDE:
            raise ParamError(
                f"params.{name}",
                f"{name} [{lo}, {hi}] must satisfy 0 <= start < end <= {size} (the image's "
                f"{name}) and span at most {MAX_CROP_SIDE}",
            )
        spans.append(slice(lo, hi))
    crop = x[:, spans[0], spans[1]].astype(np.float64)
    return {"pixels": crop.tolist(), "shape": list(crop.shape), "image_shape": list(x.shape)}


@_image_route(
    "/images/pipeline",
    PipelineResponse,
    "Run a stack of layers on an image",
    '`params` is `{"layers": [{"type": "conv2d" | "pool2d" | "activation" | '
    '"batch_norm" | "dropout", ...}], "value_range": "map" | "layer"}`; every '
    "layer's feature maps come back, one per channel.",
)
def image_pipeline(form: FormDep, s: SettingsDep, format: Format = Query("json")) -> Any:
    p = form.parse(PipelineParams)
    if len(p.layers) > s.max_pipeline_layers:
        raise LimitExceeded(
            "pipeline layers", len(p.layers), s.max_pipeline_layers, "max_pipeline_layers"
        )
    x = form.pixels(s)
    current, layers = x, []
    for index, layer in enumerate(p.layers):
        try:
            with np.errstate(all="ignore"):
                result = _run_layer(current, layer, s)
        except ParamError as exc:
            raise ParamError(
                f"params.layers[{index}].{exc.field}",
                f"layer {index} ({layer.type}): {exc.message}",
            ) from None
        _require_finite(result, f"params.layers[{index}]", f"layer {index} ({layer.type})")
        current = result.output
        entry: dict[str, Any] = {
            "index": index,
            "type": layer.type,
            "shape": list(current.shape),
            "geometry": result.geometry.as_dict() if result.geometry else None,
            "maps": render_layer(result, shared=p.value_range == "layer", as_image=False),
        }
        if "mask" in result.extras:
            entry["masks"] = [render_map(m, kind="image") for m in result.extras["mask"]]
        if "mean" in result.extras:
            entry |= {"mean": result.extras["mean"], "var": result.extras["var"]}
        layers.append(entry)
    if format != "json":
        return _answer(x, result, format, form.color)
    return {
        "input": render_map(x if form.color == "rgb" else x[0], kind="image") | {"label": "input"},
        "layers": layers,
        "shape": list(current.shape),
    }


def _run_layer(x: np.ndarray, layer: Any, s: Settings) -> LayerOutput:
    if layer.type == "conv2d":
        return apply_conv(x, layer, s)
    if layer.type == "pool2d":
        return apply_pool(x, layer, s)
    if layer.type == "activation":
        return apply_activation(x, layer)
    if layer.type == "batch_norm":
        return apply_batch_norm(x, layer)
    return apply_dropout(x, layer)
