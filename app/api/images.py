"""Image endpoints: multipart upload in, feature maps (PNG data URLs) or raw arrays out."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from app.api.errors import UPLOAD_ERROR_RESPONSES
from app.config import Settings, SettingsDep
from app.errors import LimitExceeded, ParamError
from app.imaging import DecodedImage, ImageError, decode
from app.layers import (
    LAYER_TYPES,
    LayerOutput,
    PipelineParams,
    apply_activation,
    apply_conv,
    apply_pool,
    run_layer,
)
from app.limits import check, check_elements
from app.render import render_map, render_pixels, render_png
from app.samples import SAMPLES, sample_path, unknown_sample
from app.schemas import (
    ActivationLayerParams,
    CropParams,
    ImageConv2dParams,
    ImagePool2dParams,
    ImageResponse,
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
        """The decoded values, float32 ``(C, H, W)`` in ``[0, 1]``."""
        return self.decode(settings).values

    def decode(self, settings: Settings) -> DecodedImage:
        """The decoded values and the integer pixels they are (see ``DecodedImage``)."""
        max_side = settings.default_max_side if self.max_side is None else self.max_side
        check(settings, "max_image_side", max_side, field="max_side", what="side")
        if self.image is not None:
            data = self.image.file.read(settings.max_upload_bytes + 1)
            check(settings, "max_upload_bytes", len(data), field="image", what="bytes")
        elif self.sample is not None:
            try:
                data = sample_path(self.sample).read_bytes()
            except KeyError:
                raise ParamError("sample", unknown_sample(self.sample)) from None
        else:
            raise ParamError(
                "image",
                "image is required: upload a file in the 'image' field "
                "or name a sample in 'sample'",
            )
        try:
            image = decode(
                data, color=self.color, max_side=max_side, max_pixels=settings.max_image_pixels
            )
        except ImageError as exc:
            raise HTTPException(exc.status_code, exc.detail) from None
        check_elements(settings, "input", image.values.size, image=True)
        return image

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
_LAYER_TAGS = frozenset(LAYER_TYPES)


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


def planes(out: np.ndarray) -> np.ndarray:
    """The 2-D images of an output: its channels, or a vector (N,) as one 1 x N strip."""
    return out[None, None] if out.ndim == 1 else out


Ranges = list[tuple[float, float]]


def finite_ranges(out: np.ndarray, field: str, what: str) -> Ranges:
    """Each map's ``(min, max)``, which are finite exactly when the map is: one scan
    serves the overflow check, the colour scale and the reported range."""
    ranges = [(float(plane.min()), float(plane.max())) for plane in planes(out)]
    if not all(np.isfinite(lo) and np.isfinite(hi) for lo, hi in ranges):
        raise ParamError(field, f"{what} produced values too large for float32")
    return ranges


def render_layer(
    result: LayerOutput, ranges: Ranges, *, shared: bool = False
) -> list[dict[str, Any]]:
    """One diverging map per output channel (a vector: one 1 x N strip whose ``shape`` stays
    [N]); with ``shared`` the layer's maps share one symmetric scale (the largest |value| of
    the layer). ``ranges`` from ``finite_ranges``."""
    out = result.output
    scale = max(max(-lo, hi) for lo, hi in ranges) if shared else None
    maps = [
        render_map(plane, kind="diverging", scale=scale, known=known) | {"label": label}
        for plane, label, known in zip(planes(out), result.labels, ranges, strict=True)
    ]
    if out.ndim == 1:
        maps[0]["shape"] = list(out.shape)
    return maps


def render_input(image: DecodedImage) -> dict[str, Any]:
    """The decoded image, gray or RGB over 0 ... 1, from its integer pixels."""
    return render_pixels(image.pixels, image.values.shape[0]) | {"label": "input"}


def _in_params(field: str, prefix: str) -> str:
    """A layer's field as it sits in the form: ``kernel`` -> ``params.kernel``; the image's
    ``input`` and the ``output`` are not in ``params``."""
    return field if field in ("input", "output") else prefix + field


@contextmanager
def _params_errors() -> Iterator[None]:
    """Report a layer's invalid argument or limit breach at its place in ``params``."""
    try:
        yield
    except ParamError as exc:
        raise ParamError(_in_params(exc.field, "params."), exc.message) from None
    except LimitExceeded as exc:
        raise exc.at(_in_params(exc.field, "params.")) from None


def _answer(
    image: DecodedImage, result: LayerOutput, fmt: Format, ranges: Ranges | None = None
) -> Any:
    if ranges is None:
        ranges = finite_ranges(result.output, "params", "the operation")
    if fmt == "npy":
        buffer = io.BytesIO()
        np.save(buffer, result.output.astype(np.float32, copy=False))
        return Response(
            buffer.getvalue(),
            media_type="application/octet-stream",
            headers={"Content-Disposition": 'attachment; filename="output.npy"'},
        )
    if fmt == "png":
        first = planes(result.output)[0]
        return Response(render_png(first, kind="diverging"), media_type="image/png")
    body: dict[str, Any] = {
        "input": render_input(image),
        "output": render_layer(result, ranges),
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
    image = form.decode(s)
    with np.errstate(all="ignore"), _params_errors():
        result = apply_conv(image.values, p, s, p.trace_region)
    return _answer(image, result, format)


@_image_route(
    "/images/pool2d", ImageResponse, "Pool an image", "Max or average pooling per channel."
)
def image_pool2d(form: FormDep, s: SettingsDep, format: Format = Query("json")) -> Any:
    p = form.parse(ImagePool2dParams)
    image = form.decode(s)
    with _params_errors():
        result = apply_pool(image.values, p, s, p.trace_region)
    return _answer(image, result, format)


@_image_route(
    "/images/activation",
    ImageResponse,
    "Apply an activation to an image",
    "An activation on every pixel (softmax across channels).",
)
def image_activation(form: FormDep, s: SettingsDep, format: Format = Query("json")) -> Any:
    p = form.parse(ActivationLayerParams)
    image = form.decode(s)
    return _answer(image, apply_activation(image.values, p, s), format)


@router.post(
    "/images/pixels",
    response_model=PixelsResponse,
    responses=UPLOAD_ERROR_RESPONSES,
    summary="Exact pixel values of a crop",
    description="The decoded float values of a window of the image (`params` is "
    '`{"rows": [r0, r1], "cols": [c0, c1]}`, end-exclusive, each span at most '
    "CONVSCOPE_MAX_CROP_SIDE, 32), e.g. to step through a convolution on part of a photo. "
    + IMAGE_DOC,
)
def image_pixels(form: FormDep, s: SettingsDep) -> Any:
    p = form.parse(CropParams)
    x = form.pixels(s)
    spans = []
    for name, (lo, hi), size in (("rows", p.rows, x.shape[1]), ("cols", p.cols, x.shape[2])):
        if not 0 <= lo < hi <= size:
            raise ParamError(
                f"params.{name}",
                f"{name} [{lo}, {hi}] must satisfy 0 <= start < end <= {size} (the image's "
                f"{name}; end is exclusive)",
            )
        check(s, "max_crop_side", hi - lo, field=f"params.{name}", what="span")
        spans.append(slice(lo, hi))
    crop = x[:, spans[0], spans[1]].astype(np.float64)
    return {"pixels": crop.tolist(), "shape": list(crop.shape), "image_shape": list(x.shape)}


# A batch norm layer's numbers, per channel: the statistics used, the running ones after
# this call (updated in training, unchanged in eval) and the weight and bias applied.
BATCH_NORM_STATS = ("mean", "var", "running_mean", "running_var", "weight", "bias")


@_image_route(
    "/images/pipeline",
    PipelineResponse,
    "Run a stack of layers on an image",
    '`params` is `{"layers": [{"type": <a type of GET /api/v1/layers>, ...}], '
    '"value_range": "map" | "layer"}`; every layer\'s feature maps come back, one per channel.',
)
def image_pipeline(form: FormDep, s: SettingsDep, format: Format = Query("json")) -> Any:
    p = form.parse(PipelineParams)
    check(s, "max_pipeline_layers", len(p.layers), field="params.layers", what="layers")
    image = form.decode(s)
    current, layers = image.values, []
    for index, layer in enumerate(p.layers):
        try:
            with np.errstate(all="ignore"):
                result = run_layer(current, layer, s)
        except ParamError as exc:
            raise ParamError(
                f"params.layers[{index}].{exc.field}",
                f"layer {index + 1} ({layer.type}): {exc.message}",
            ) from None
        except LimitExceeded as exc:
            raise exc.at(_in_params(exc.field, f"params.layers[{index}].")) from None
        ranges = finite_ranges(
            result.output, f"params.layers[{index}]", f"layer {index + 1} ({layer.type})"
        )
        current = result.output
        entry: dict[str, Any] = {
            "index": index,
            "type": layer.type,
            "shape": list(current.shape),
            "geometry": result.geometry.as_dict() if result.geometry else None,
            "maps": render_layer(result, ranges, shared=p.value_range == "layer"),
        }
        if "mask" in result.extras:
            masks = [render_map(m, kind="image") for m in planes(result.extras["mask"])]
            if current.ndim == 1:
                masks[0]["shape"] = list(current.shape)
            entry["masks"] = masks
        entry |= {k: result.extras[k] for k in BATCH_NORM_STATS if k in result.extras}
        if current.ndim == 1 and current.shape[0] <= s.max_linear_features:
            entry["values"] = current.astype(np.float64).tolist()
        layers.append(entry)
    if format != "json":
        return _answer(image, result, format, ranges)
    return {
        "input": render_input(image),
        "layers": layers,
        "shape": list(current.shape),
    }
