"""A typed Python client for the ConvScope REST API, sync and async, on httpx2.

>>> from app.client import Client
>>> with Client("http://127.0.0.1:8000") as cs:
...     cs.conv2d(x, sobel_x, padding="same").output          # doctest: +SKIP
...     cs.images.conv2d("cat.jpg", kernel="sobel_x")          # doctest: +SKIP

Every operation is written once, as a function that builds a ``Call`` (path, body,
decoder); ``Client`` runs it with httpx2's blocking client and ``AsyncClient`` awaits it,
so the two offer the same methods with the same keyword names as the API (and as
``torch.nn.functional``, except that the weight is called ``kernel`` as in the API).

Arrays go in as numpy arrays (or nested lists) and come back as numpy arrays; they
travel as ``.npy`` files (multipart in, ``?format=npy`` out where the API offers it),
never as JSON lists. The server validates everything: a bad
argument comes back as an exception carrying the server's status and message
(``InvalidInput``, ``TooLarge``, ``UnsupportedMedia``, ``NotFound``, ``Busy``). A 503 is
retried after its ``Retry-After`` (at most ``retries`` times, each wait capped by
``max_retry_wait``), then raised as ``Busy``.
"""

from __future__ import annotations

import base64
import email.utils
import functools
import inspect
import io
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    Any,
    Concatenate,
    Generic,
    Literal,
    ParamSpec,
    Protocol,
    TypeAlias,
    TypedDict,
    TypeVar,
)

import anyio
import httpx2
import numpy as np

__all__ = [
    "AsyncClient",
    "BatchNormResult",
    "Busy",
    "Client",
    "ConvResult",
    "ConvScopeError",
    "DropoutResult",
    "Geometry",
    "GeometryResult",
    "InvalidInput",
    "Kernel",
    "LossResult",
    "NotFound",
    "PoolResult",
    "Prediction",
    "ServerError",
    "TooLarge",
    "UnsupportedMedia",
]

DEFAULT_URL = "http://127.0.0.1:8000"

T = TypeVar("T")
P = ParamSpec("P")
F = TypeVar("F", bound=Callable[..., Any])

ArrayLike: TypeAlias = "np.ndarray | Sequence[Any] | float"
Pair: TypeAlias = "int | Sequence[int]"
Padding: TypeAlias = "int | Sequence[int] | Literal['valid', 'same', 'full']"
ImageLike: TypeAlias = "str | os.PathLike[str] | bytes | np.ndarray | Any"  # Any: a PIL image


# ---- errors -----------------------------------------------------------------------------


class ConvScopeError(Exception):
    """The server refused a request: ``status``, its ``detail`` as sent, and ``messages``
    (one ``"<field>: <reason>"`` string per complaint)."""

    def __init__(self, status: int, detail: Any) -> None:
        self.status = status
        self.detail = detail
        self.messages = _messages(detail)
        super().__init__(f"HTTP {status}: " + "; ".join(self.messages))


class InvalidInput(ConvScopeError, ValueError):
    """422 (a well-formed request with an invalid value) or 400 (an undecodable body)."""


class NotFound(ConvScopeError, LookupError):
    """404: no such thing (e.g. an unknown preset kernel name)."""


class TooLarge(ConvScopeError):
    """413: over a configured limit; the message names the limit's variable."""


class UnsupportedMedia(ConvScopeError):
    """415: not a supported image type."""


class Busy(ConvScopeError):
    """503: the server is at its concurrency limit, still after the retries."""


class ServerError(ConvScopeError):
    """Any other answer (a 5xx is a server bug)."""


_ERRORS: dict[int, type[ConvScopeError]] = {
    400: InvalidInput,
    404: NotFound,
    413: TooLarge,
    415: UnsupportedMedia,
    422: InvalidInput,
    503: Busy,
}


def _messages(detail: Any) -> list[str]:
    """A 422's ``[{"loc", "msg", "type"}, ...]`` -> its msgs; a plain string -> itself."""
    if isinstance(detail, list):
        return [str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail]
    return [str(detail)]


def _checked(response: httpx2.Response) -> httpx2.Response:
    if response.is_success:
        return response
    try:
        detail = response.json().get("detail", response.text)
    except (ValueError, AttributeError):
        detail = response.text or response.reason_phrase
    raise _ERRORS.get(response.status_code, ServerError)(response.status_code, detail)


def retry_delay(response: httpx2.Response, cap: float) -> float:
    """Seconds to wait before retrying a 503: its ``Retry-After`` (seconds or an HTTP
    date), 1 when absent or unreadable, never below 0 nor above ``cap``."""
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
            seconds = when.timestamp() - time.time()
        except (TypeError, ValueError):
            seconds = 1.0
    if seconds != seconds:  # NaN
        seconds = 1.0
    return min(max(seconds, 0.0), cap)


# ---- results ----------------------------------------------------------------------------


class Geometry(TypedDict):
    """Sizes of a window operation, as the API returns them (see ``/api/v1/geometry``)."""

    input: list[int]
    padding: list[int]  # [top, bottom, left, right]
    kernel: list[int]
    effective_kernel: list[int]
    stride: list[int]
    dilation: list[int]
    output: list[int]
    formula: dict[str, str]  # "general", and "rows"/"cols" with the numbers filled in


@dataclass(frozen=True)
class ConvResult:
    """``conv2d`` / ``conv_transpose2d``: the output, its geometry, and a trace if asked."""

    output: np.ndarray
    geometry: Geometry | None  # sent with a trace; else None (ask ``geometry()``)
    padded_input: np.ndarray | None = None
    steps: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class PoolResult:
    """``pool2d``: the output, its geometry, max pooling's flat indices, a trace if asked."""

    output: np.ndarray
    geometry: Geometry
    indices: np.ndarray | None = None
    padded_input: np.ndarray | None = None
    steps: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class BatchNormResult:
    output: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    running_mean: np.ndarray
    running_var: np.ndarray


@dataclass(frozen=True)
class DropoutResult:
    output: np.ndarray
    mask: np.ndarray  # bool: True where an element was kept


@dataclass(frozen=True)
class GeometryResult:
    """``geometry``: sizes, which input rows/cols each output row/col reads, the formula."""

    geometry: Geometry
    shape: tuple[int, int]
    rows: list[list[int]]
    cols: list[list[int]]
    formula: dict[str, str]


@dataclass(frozen=True)
class Kernel:
    name: str
    label: str
    description: str
    values: np.ndarray


@dataclass(frozen=True)
class LossResult:
    """``loss``: PyTorch's value (a float, or an array with ``reduction="none"``) and the
    intermediate values the API shows (None where they do not apply)."""

    loss: float | np.ndarray
    per_element: np.ndarray | None = None
    per_sample: float | np.ndarray | None = None
    probabilities: np.ndarray | None = None
    log_probabilities: np.ndarray | None = None
    target_distribution: np.ndarray | None = None


# ---- calls: one per operation, shared by both clients -------------------------------------


@dataclass(frozen=True)
class Call(Generic[T]):
    """One prepared request and how to read its answer (``client.send(call)`` runs it).

    The module's functions of the same names as the methods build them
    (``app.client.conv2d(x, k)``); a call holds only bytes, so it can be resent.
    """

    path: str
    decode: Callable[[httpx2.Response], T]
    method: str = "POST"
    content: bytes | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    data: dict[str, str] | None = None
    params: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"content-type": "application/json"} if self.content is not None else {}


def _plain(value: Any) -> Any:
    """numpy arrays and scalars -> lists and numbers; lists are sent as given, so the
    server (not numpy) judges a ragged one."""
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _json(**body: Any) -> bytes:
    # allow_nan: NaN and Infinity reach the server, which names the field that holds them.
    return json.dumps(_plain(body), allow_nan=True, separators=(",", ":")).encode()


def _npy_file(value: Any) -> bytes | None:
    """An array, or a list numpy reads as a numeric array, -> ``.npy`` bytes; None for
    anything else (a scalar, a ragged list), which then goes in ``params`` as JSON."""
    if not isinstance(value, np.ndarray | list | tuple):
        return None
    try:
        array = np.asarray(value)
    except ValueError:  # ragged: the server judges it and names the element
        return None
    if array.dtype.kind not in "iufb":
        return None
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _multipart(
    path: str,
    decode: Callable[[httpx2.Response], T],
    arrays: Mapping[str, Any],
    params: Mapping[str, Any],
    *,
    npy: bool = False,
) -> Call[T]:
    """A JSON operation sent as multipart: each array as an ``.npy`` file, the rest as
    the JSON field ``params`` (see docs/api.md, "Arrays as .npy files"); ``npy`` asks
    for the output tensor back as ``.npy`` (``?format=npy``)."""
    files: dict[str, tuple[str, bytes, str]] = {}
    rest = dict(params)
    for name, value in arrays.items():
        if value is None:
            continue
        data = _npy_file(value)
        if data is None:
            rest[name] = value
        else:
            files[name] = (f"{name}.npy", data, "application/x-npy")
    return Call(
        path,
        decode,
        files=files,
        data={"params": json.dumps(_plain(rest), allow_nan=True)},
        params={"format": "npy"} if npy else {},
    )


def _array(value: Any, dtype: Any = np.float64) -> np.ndarray:
    return np.asarray(value, dtype=dtype)


def _optional_array(value: Any, dtype: Any = np.float64) -> np.ndarray | None:
    return None if value is None else np.asarray(value, dtype=dtype)


def _npy(response: httpx2.Response) -> np.ndarray:
    array: np.ndarray = np.load(io.BytesIO(response.content), allow_pickle=False)
    return array


def _content(response: httpx2.Response) -> bytes:
    return response.content


def _decode_conv(response: httpx2.Response) -> ConvResult:
    body = response.json()
    return ConvResult(
        output=_array(body["output"]),
        geometry=body["geometry"],
        padded_input=_optional_array(body.get("padded_input")),
        steps=body.get("steps"),
    )


def _decode_conv_npy(response: httpx2.Response) -> ConvResult:
    return ConvResult(output=_npy(response), geometry=None)


def _decode_pool(response: httpx2.Response) -> PoolResult:
    body = response.json()
    return PoolResult(
        output=_array(body["output"]),
        geometry=body["geometry"],
        indices=_optional_array(body.get("indices"), np.int64),
        padded_input=_optional_array(body.get("padded_input")),
        steps=body.get("steps"),
    )


def _decode_batch_norm(response: httpx2.Response) -> BatchNormResult:
    body = response.json()
    names = ("output", "mean", "var", "running_mean", "running_var")
    return BatchNormResult(**{name: _array(body[name]) for name in names})


def _decode_dropout(response: httpx2.Response) -> DropoutResult:
    body = response.json()
    return DropoutResult(output=_array(body["output"]), mask=_array(body["mask"], bool))


def _decode_geometry(response: httpx2.Response) -> GeometryResult:
    body = response.json()
    geometry = body["geometry"]
    return GeometryResult(
        geometry=geometry,
        shape=(body["shape"][0], body["shape"][1]),
        rows=body["rows"],
        cols=body["cols"],
        formula=geometry["formula"],
    )


def _kernel(body: Mapping[str, Any]) -> Kernel:
    return Kernel(body["name"], body["label"], body["description"], _array(body["values"]))


def _decode_kernels(response: httpx2.Response) -> dict[str, Kernel]:
    return {k["name"]: _kernel(k) for k in response.json()}


def _decode_loss(response: httpx2.Response) -> LossResult:
    body = response.json()
    loss = body["loss"]
    per_sample = body.get("per_sample")
    return LossResult(
        loss=float(loss) if isinstance(loss, int | float) else _array(loss),
        per_element=_optional_array(body.get("per_element")),
        per_sample=per_sample
        if per_sample is None or isinstance(per_sample, float)
        else _array(per_sample),
        probabilities=_optional_array(body.get("probabilities")),
        log_probabilities=_optional_array(body.get("log_probabilities")),
        target_distribution=_optional_array(body.get("target_distribution")),
    )


def conv2d(
    input: ArrayLike,
    kernel: ArrayLike,
    bias: ArrayLike = 0.0,
    *,
    stride: Pair = 1,
    padding: Padding = 0,
    dilation: Pair = 1,
    groups: int = 1,
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros",
    trace: bool = False,
    trace_region: Mapping[str, Sequence[int]] | None = None,
) -> Call[ConvResult]:
    """Cross-correlation (the kernel is not flipped), as ``torch.nn.functional.conv2d``.

    ``input`` is (H, W) or (C, H, W); ``kernel`` (PyTorch's ``weight``) is (kh, kw),
    (C/groups, kh, kw) for one filter or (O, C/groups, kh, kw). With ``trace=True`` the
    result also holds ``padded_input``, every window step and the ``geometry``; without
    it the output comes back as ``.npy`` and ``geometry`` is None (ask ``geometry()``).
    """
    params: dict[str, Any] = {
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
        "padding_mode": padding_mode,
    }
    if trace:
        params.update(trace=trace, trace_region=trace_region)
    arrays = {"input": input, "kernel": kernel, "bias": bias}
    decode = _decode_conv if trace else _decode_conv_npy
    return _multipart("/api/v1/conv2d", decode, arrays, params, npy=not trace)


def conv_transpose2d(
    input: ArrayLike,
    kernel: ArrayLike,
    bias: ArrayLike = 0.0,
    *,
    stride: Pair = 1,
    padding: Pair = 0,
    output_padding: Pair = 0,
    groups: int = 1,
    dilation: Pair = 1,
) -> Call[ConvResult]:
    """As ``torch.nn.functional.conv_transpose2d``; ``kernel`` is (C, O/groups, kh, kw),
    or (kh, kw) when C = O = 1. The output comes back as ``.npy``; ``geometry`` is None
    (ask ``geometry(..., transposed=True)``)."""
    params = {
        "stride": stride,
        "padding": padding,
        "output_padding": output_padding,
        "groups": groups,
        "dilation": dilation,
    }
    arrays = {"input": input, "kernel": kernel, "bias": bias}
    return _multipart("/api/v1/conv_transpose2d", _decode_conv_npy, arrays, params, npy=True)


def pool2d(
    input: ArrayLike,
    kernel_size: Pair = 2,
    stride: Pair | None = None,
    padding: Pair = 0,
    dilation: Pair = 1,
    *,
    mode: Literal["max", "avg"] = "max",
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    trace: bool = False,
    trace_region: Mapping[str, Sequence[int]] | None = None,
) -> Call[PoolResult]:
    """``max_pool2d`` (``indices`` as with ``return_indices=True``) or ``avg_pool2d``,
    per channel of an (H, W) or (C, H, W) input; ``stride`` defaults to ``kernel_size``."""
    params: dict[str, Any] = {
        "mode": mode,
        "kernel_size": kernel_size,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "ceil_mode": ceil_mode,
        "count_include_pad": count_include_pad,
    }
    if trace:
        params.update(trace=trace, trace_region=trace_region)
    return _multipart("/api/v1/pool2d", _decode_pool, {"input": input}, params)


def activation(
    input: ArrayLike,
    function: Literal[
        "step", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softmax"
    ] = "relu",
    *,
    negative_slope: float = 0.01,
    alpha: float = 1.0,
    dim: int | None = 0,
) -> Call[np.ndarray]:
    """An elementwise activation, or softmax over ``dim`` (all elements when None)."""
    params = {"function": function, "negative_slope": negative_slope, "alpha": alpha, "dim": dim}
    return _multipart("/api/v1/activation", _npy, {"input": input}, params, npy=True)


def batch_norm(
    input: ArrayLike,
    running_mean: ArrayLike | None = None,
    running_var: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    bias: ArrayLike | None = None,
    *,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Call[BatchNormResult]:
    """``torch.nn.functional.batch_norm`` on (C, H, W) or (N, C, H, W); in training the
    statistics come from the input (note: the API's ``training`` defaults to True)."""
    arrays = {
        "input": input,
        "running_mean": running_mean,
        "running_var": running_var,
        "weight": weight,
        "bias": bias,
    }
    params = {"training": training, "momentum": momentum, "eps": eps}
    return _multipart("/api/v1/batch_norm", _decode_batch_norm, arrays, params)


def dropout(
    input: ArrayLike, p: float = 0.5, training: bool = True, *, seed: int = 0
) -> Call[DropoutResult]:
    """Inverted dropout: zero each element with probability ``p``, scale the rest by
    ``1/(1-p)``; the same ``seed`` gives the same mask."""
    params = {"p": p, "training": training, "seed": seed}
    return _multipart("/api/v1/dropout", _decode_dropout, {"input": input}, params)


def geometry(
    input_size: Pair,
    kernel_size: Pair,
    *,
    stride: Pair = 1,
    padding: Padding = 0,
    dilation: Pair = 1,
    transposed: bool = False,
    output_padding: Pair = 0,
) -> Call[GeometryResult]:
    """Output size of a convolution (or a transposed one) with no data, the formula with
    these numbers, and which input rows/cols each output row/col reads. A single number
    for ``input_size`` means a square."""
    size = [input_size, input_size] if isinstance(input_size, int) else input_size
    body = _json(
        input_size=size,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        transposed=transposed,
        output_padding=output_padding,
    )
    return Call("/api/v1/geometry", _decode_geometry, content=body)


def kernels() -> Call[dict[str, Kernel]]:
    """Every preset kernel, by name."""
    return Call("/api/v1/kernels", _decode_kernels, method="GET")


def kernel(name: str) -> Call[Kernel]:
    """One preset kernel; ``NotFound`` for an unknown name."""
    return Call(f"/api/v1/kernels/{name}", lambda r: _kernel(r.json()), method="GET")


def loss(
    input: ArrayLike,
    target: ArrayLike,
    *,
    function: Literal["mse", "cross_entropy"] = "mse",
    reduction: Literal["mean", "sum", "none"] = "mean",
    weight: ArrayLike | None = None,
    label_smoothing: float = 0.0,
) -> Call[LossResult]:
    """``mse_loss`` or ``cross_entropy`` (from logits [C] or [N, C]; ``target`` class
    indices or probabilities) as ``torch.nn.functional``."""
    body = _json(
        function=function,
        input=input,
        target=target,
        reduction=reduction,
        weight=weight,
        label_smoothing=label_smoothing,
    )
    return Call("/api/v1/loss", _decode_loss, content=body)


# ---- image endpoints ----------------------------------------------------------------------

Color = Literal["gray", "rgb"]


def image_bytes(image: ImageLike) -> bytes:
    """A path, encoded bytes, a PIL image, or an array -> encoded image bytes.

    Arrays are (H, W) gray, (H, W, 3) or (3, H, W) RGB; uint8, or floats in [0, 1]
    (rounded to 8 bits, as an image upload holds).
    """
    if isinstance(image, bytes | bytearray | memoryview):
        return bytes(image)
    if isinstance(image, str | os.PathLike):
        return Path(image).read_bytes()
    if isinstance(image, np.ndarray):
        return _encode_array(image)
    if callable(getattr(image, "save", None)):  # a PIL image, without importing PIL here
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()
    raise TypeError(
        f"image must be a path, bytes, a PIL image or a numpy array, not {type(image).__name__}"
    )


def _encode_array(image: np.ndarray) -> bytes:
    from app.imaging import encode_png

    a = image
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[2] not in (1, 3):
        a = np.moveaxis(a, 0, -1)  # (C, H, W) -> (H, W, C)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)):
        raise ValueError(
            f"an image array must be (H, W), (H, W, 3) or (3, H, W), got shape {image.shape}"
        )
    if a.dtype != np.uint8:
        if not np.issubdtype(a.dtype, np.number) or a.size == 0:
            raise ValueError(f"an image array must hold numbers, got dtype {a.dtype}")
        lo, hi = float(np.min(a)), float(np.max(a))
        if not (lo >= 0.0 and hi <= 1.0):
            raise ValueError(
                f"a float image array must lie in [0, 1] (or be uint8), got values from "
                f"{lo} to {hi}"
            )
        a = np.rint(a * 255.0).astype(np.uint8)
    return encode_png(a)


def _image_call(
    path: str,
    image: ImageLike | None,
    sample: str | None,
    params: dict[str, Any],
    color: Color,
    max_side: int | None,
) -> Call[np.ndarray]:
    data = {"params": json.dumps(_plain(params), allow_nan=True), "color": color}
    if sample is not None:
        data["sample"] = sample
    if max_side is not None:
        data["max_side"] = str(max_side)
    files = None
    if image is not None:
        name = Path(image).name if isinstance(image, str | os.PathLike) else "image"
        files = {"image": (name, image_bytes(image), "application/octet-stream")}
    return Call(path, _npy, files=files, data=data, params={"format": "npy"})


def image_conv2d(
    image: ImageLike | None = None,
    *,
    kernel: str | Sequence[str] | ArrayLike,
    bias: ArrayLike = 0.0,
    stride: Pair = 1,
    padding: Padding = 0,
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros",
    dilation: Pair = 1,
    groups: int = 1,
    channel_mode: Literal["depthwise", "sum"] = "depthwise",
    sample: str | None = None,
    color: Color = "gray",
    max_side: int | None = None,
) -> Call[np.ndarray]:
    """Convolve an image (or a bundled ``sample``) -> float32 (C, H', W').

    ``kernel`` is a preset name ("sobel_x"), a list of names (one filter each), or an
    array (kh, kw), (C/groups, kh, kw) or (O, C/groups, kh, kw). The image is decoded to
    [0, 1], ``color`` "gray" (1 channel) or "rgb" (3), its longest side at most
    ``max_side`` (the server's default when None).
    """
    params = {
        "kernel": kernel,
        "bias": bias,
        "stride": stride,
        "padding": padding,
        "padding_mode": padding_mode,
        "dilation": dilation,
        "groups": groups,
        "channel_mode": channel_mode,
    }
    return _image_call("/api/v1/images/conv2d", image, sample, params, color, max_side)


def image_pool2d(
    image: ImageLike | None = None,
    *,
    kernel_size: Pair = 2,
    stride: Pair | None = None,
    padding: Pair = 0,
    dilation: Pair = 1,
    mode: Literal["max", "avg"] = "max",
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    sample: str | None = None,
    color: Color = "gray",
    max_side: int | None = None,
) -> Call[np.ndarray]:
    """Max or average pooling of each channel of an image -> float32 (C, H', W')."""
    params = {
        "mode": mode,
        "kernel_size": kernel_size,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "ceil_mode": ceil_mode,
        "count_include_pad": count_include_pad,
    }
    return _image_call("/api/v1/images/pool2d", image, sample, params, color, max_side)


def image_activation(
    image: ImageLike | None = None,
    *,
    function: str = "relu",
    negative_slope: float = 0.01,
    alpha: float = 1.0,
    dim: int | None = 0,
    sample: str | None = None,
    color: Color = "gray",
    max_side: int | None = None,
) -> Call[np.ndarray]:
    """An activation on every pixel (softmax across channels) -> float32 (C, H, W)."""
    params = {"function": function, "negative_slope": negative_slope, "alpha": alpha, "dim": dim}
    return _image_call("/api/v1/images/activation", image, sample, params, color, max_side)


def image_pipeline(
    image: ImageLike | None = None,
    *,
    layers: Sequence[Mapping[str, Any]],
    sample: str | None = None,
    color: Color = "gray",
    max_side: int | None = None,
) -> Call[np.ndarray]:
    """A stack of layers on an image -> the last layer's float32 (C, H', W').

    ``layers`` as in the API: ``[{"type": "conv2d", "kernel": "sobel_x"}, {"type":
    "activation", "function": "relu"}, {"type": "pool2d", "kernel_size": 2}]``.
    """
    params = {"layers": list(layers)}
    return _image_call("/api/v1/images/pipeline", image, sample, params, color, max_side)


def as_png(call: Call[np.ndarray]) -> Call[bytes]:
    """The same image request, answered with its first output map as a PNG, coloured as
    the app draws it (``?format=png``)."""
    return Call(
        call.path,
        _content,
        method=call.method,
        files=call.files,
        data=call.data,
        params={**call.params, "format": "png"},
    )


# ---- models -----------------------------------------------------------------------------------

Weights: TypeAlias = "Mapping[str, np.ndarray] | bytes | str | os.PathLike[str]"


@dataclass(frozen=True)
class Prediction:
    """``models.predict``: the class probabilities and what the model saw.

    ``classes`` are the names of the weights' outputs when you sent them (``classes=``),
    else None: the shipped model's are in ``models.describe(name)["classes"]``.
    """

    probabilities: np.ndarray  # one per class, summing to 1
    logits: np.ndarray
    prediction: int
    label: str
    input: np.ndarray  # the 28x28 the model classified (an image is preprocessed MNIST-style)
    layers: list[dict[str, Any]]
    trace: dict[str, Any] | None
    classes: list[str] | None

    def top(self, k: int = 3, classes: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """The ``k`` most probable classes as (name, probability), most probable first;
        names from ``classes``, else the ones sent, else the class indices."""
        names = classes or self.classes or [str(i) for i in range(len(self.probabilities))]
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(names[i], float(self.probabilities[i])) for i in order]


def npz_bytes(weights: Weights) -> bytes:
    """Weights as ``.npz`` bytes: a dict of arrays (``models.weights``, ``weights_of``), the
    bytes themselves, or a path to an ``.npz`` file."""
    if isinstance(weights, bytes):
        return weights
    if isinstance(weights, str | os.PathLike):
        return Path(weights).read_bytes()
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in weights.items()})  # type: ignore[arg-type]
    return buffer.getvalue()


def read_npz(data: bytes) -> dict[str, np.ndarray]:
    """``.npz`` bytes -> {name: array} (torch ``state_dict`` keys for model weights)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def weights_of(done: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The trained weights of ``train``'s ``done`` event (base64 of an ``.npz``)."""
    return read_npz(base64.b64decode(done["weights"]))


def models_describe(name: str = "digits") -> Call[dict[str, Any]]:
    """A model's layers, ``classes``, parameter count and held-out accuracy."""
    return Call(f"/api/v1/models/{name}", lambda r: dict(r.json()), method="GET")


def models_weights(name: str = "digits") -> Call[dict[str, np.ndarray]]:
    """The shipped weights as {torch ``state_dict`` key: array} (from the ``.npz``)."""
    return Call(f"/api/v1/models/{name}/weights", lambda r: read_npz(r.content), method="GET")


def models_predict(
    input: ArrayLike | None = None,
    *,
    image: ImageLike | None = None,
    weights: Weights | None = None,
    classes: Sequence[str] | None = None,
    trace: Mapping[str, Any] | None = None,
    name: str = "digits",
    preprocess: str | None = None,
) -> Call[Prediction]:
    """Classify ``input`` (28x28 values in [0, 1], white digit on black, as MNIST) or an
    ``image`` (a path, bytes, a PIL image or an array; the server crops, scales and centres
    it as MNIST was, or, with ``preprocess="fit"``, scales the whole picture without
    centring; ``describe()["preprocess"]`` lists the ways). ``weights`` and ``classes``:
    your own (``weights_of(done)`` after ``train``), else the shipped model's. ``trace``:
    ``{"layer": "conv2", "unit": [c, r, q]}``.
    """
    if (input is None) == (image is None):
        raise ValueError("predict takes input (a 28x28 array) or image, exactly one of them")
    if preprocess is not None and image is None:
        raise ValueError("preprocess applies to an image; input is already 28x28")
    names = None if classes is None else list(classes)

    def decode(response: httpx2.Response) -> Prediction:
        body = response.json()
        return Prediction(
            probabilities=_array(body["probabilities"]),
            logits=_array(body["logits"]),
            prediction=int(body["prediction"]),
            label=str(body["label"]),
            input=_array(body["input"]),
            layers=body["layers"],
            trace=body.get("trace"),
            classes=names,
        )

    path = f"/api/v1/models/{name}/predict"
    if image is None:
        body: dict[str, Any] = {"input": input, "trace": trace, "classes": names}
        if weights is not None:
            body["weights"] = base64.b64encode(npz_bytes(weights)).decode("ascii")
        return Call(path, decode, content=_json(**body))
    files = {"image": ("image", image_bytes(image), "application/octet-stream")}
    data: dict[str, str] = {}
    if weights is not None:
        files["weights"] = ("weights.npz", npz_bytes(weights), "application/octet-stream")
    if names is not None:
        data["classes"] = json.dumps(names)
    if trace is not None:
        data["trace"] = json.dumps(trace)
    if preprocess is not None:
        data["preprocess"] = preprocess
    return Call(path, decode, files=files, data=data)


def train_body(
    dataset: Literal["digits"] | Mapping[str, Any] = "digits",
    *,
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float | None = None,
    optimizer: Literal["adam", "sgd"] = "adam",
    momentum: float = 0.9,
    seed: int = 0,
    init: Literal["random", "digits"] = "random",
    widths: Sequence[int] = (8, 8, 16, 16),
    every: int = 10,
) -> bytes:
    """The JSON body of ``POST /api/v1/models/train`` (see docs/teach.md); a dataset of
    your own is ``{"classes": [...], "examples": [{"label": ..., "input": 28x28}, ...]}``."""
    return _json(
        dataset=dataset,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        optimizer=optimizer,
        momentum=momentum,
        seed=seed,
        init=init,
        widths=list(widths),
        every=every,
    )


TRAIN_PATH = "/api/v1/models/train"
Event: TypeAlias = "dict[str, Any]"  # one training event: "type" start/progress/epoch/done


def _sse_event(lines: list[str]) -> dict[str, Any] | None:
    """One server-sent event's lines -> its ``data`` as JSON (None for a comment only)."""
    data = "\n".join(line[5:].removeprefix(" ") for line in lines if line.startswith("data:"))
    return json.loads(data) if data else None


# ---- the two clients ------------------------------------------------------------------------


class _SyncRunner(Protocol):
    def send(self, call: Call[T]) -> T: ...


class _AsyncRunner(Protocol):
    async def send(self, call: Call[T]) -> T: ...


def _sync(build: Callable[P, Call[T]]) -> Callable[Concatenate[_SyncRunner, P], T]:
    """A blocking method with ``build``'s signature and docstring."""

    @functools.wraps(build)
    def method(self: _SyncRunner, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.send(build(*args, **kwargs))

    return _signed(method, build)


def _async(
    build: Callable[P, Call[T]],
) -> Callable[Concatenate[_AsyncRunner, P], Awaitable[T]]:
    """A coroutine method with ``build``'s signature and docstring."""

    @functools.wraps(build)
    async def method(self: _AsyncRunner, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.send(build(*args, **kwargs))

    return _signed(method, build)


def _signed(method: F, build: Callable[..., Any], result: str | None = None) -> F:
    """``help()`` shows the method as ``(self, <build's parameters>) -> <result>``."""
    signature = inspect.signature(build)
    if result is None:
        result = str(signature.return_annotation).removeprefix("Call[").removesuffix("]")
    self = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[self, *signature.parameters.values()], return_annotation=result
    )
    return method


def _sync_train(build: Callable[P, bytes]) -> Callable[Concatenate[Client, P], Iterator[Event]]:
    @functools.wraps(build)
    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[Event]:
        return self.stream(TRAIN_PATH, build(*args, **kwargs))

    return _signed(method, build, "Iterator[Event]")


def _async_train(
    build: Callable[P, bytes],
) -> Callable[Concatenate[AsyncClient, P], AsyncIterator[Event]]:
    @functools.wraps(build)
    def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[Event]:
        return self.stream(TRAIN_PATH, build(*args, **kwargs))

    return _signed(method, build, "AsyncIterator[Event]")


def _events(lines: list[str], line: str) -> Event | None:
    """Feed one line of a server-sent event stream; an event when a blank line ends one."""
    if line:
        lines.append(line)
        return None
    event = _sse_event(lines)
    lines.clear()
    return event


def _timeout(timeout: float | httpx2.Timeout | None) -> httpx2.Timeout:
    return timeout if isinstance(timeout, httpx2.Timeout) else httpx2.Timeout(timeout)


class _Settings:
    def __init__(self, retries: int, max_retry_wait: float) -> None:
        if retries < 0 or max_retry_wait < 0:
            raise ValueError(
                f"retries ({retries}) and max_retry_wait ({max_retry_wait}) must be >= 0"
            )
        self.retries = retries
        self.max_retry_wait = max_retry_wait


class _SyncImages:
    """``client.images``: the image endpoints (multipart upload in, npy out)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def send(self, call: Call[T]) -> T:
        return self._client.send(call)

    conv2d = _sync(image_conv2d)
    pool2d = _sync(image_pool2d)
    activation = _sync(image_activation)
    pipeline = _sync(image_pipeline)


class _AsyncImages:
    """``client.images``: the image endpoints (multipart upload in, npy out)."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def send(self, call: Call[T]) -> T:
        return await self._client.send(call)

    conv2d = _async(image_conv2d)
    pool2d = _async(image_pool2d)
    activation = _async(image_activation)
    pipeline = _async(image_pipeline)


class _SyncModels:
    """``client.models``: the trained models (describe, weights, predict)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def send(self, call: Call[T]) -> T:
        return self._client.send(call)

    describe = _sync(models_describe)
    weights = _sync(models_weights)
    predict = _sync(models_predict)


class _AsyncModels:
    """``client.models``: the trained models (describe, weights, predict)."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def send(self, call: Call[T]) -> T:
        return await self._client.send(call)

    describe = _async(models_describe)
    weights = _async(models_weights)
    predict = _async(models_predict)


class Client:
    """A blocking ConvScope client.

    Parameters
    ----------
    base_url : the server, e.g. ``"http://127.0.0.1:8000"``.
    timeout : seconds for each request (connect, read, write), or an ``httpx2.Timeout``;
        None waits forever.
    retries : how many times a 503 (busy) is retried before ``Busy`` is raised.
    max_retry_wait : the longest wait, in seconds, before one retry, whatever the
        server's ``Retry-After`` says.
    transport : an ``httpx2`` transport (e.g. ``httpx2.WSGITransport``), for tests or
        in-process use.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float | httpx2.Timeout | None = 60.0,
        retries: int = 3,
        max_retry_wait: float = 30.0,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        self._settings = _Settings(retries, max_retry_wait)
        self._http = httpx2.Client(
            base_url=base_url, timeout=_timeout(timeout), transport=transport
        )
        self.images = _SyncImages(self)
        self.models = _SyncModels(self)

    def send(self, call: Call[T]) -> T:
        for attempt in range(self._settings.retries + 1):
            response = self._http.request(
                call.method,
                call.path,
                content=call.content,
                files=call.files,
                data=call.data,
                params=call.params,
                headers=call.headers,
            )
            if response.status_code != 503 or attempt == self._settings.retries:
                break
            time.sleep(retry_delay(response, self._settings.max_retry_wait))
        return call.decode(_checked(response))

    conv2d = _sync(conv2d)
    conv_transpose2d = _sync(conv_transpose2d)
    pool2d = _sync(pool2d)
    activation = _sync(activation)
    batch_norm = _sync(batch_norm)
    dropout = _sync(dropout)
    geometry = _sync(geometry)
    kernels = _sync(kernels)
    kernel = _sync(kernel)
    loss = _sync(loss)
    train = _sync_train(train_body)

    def stream(self, path: str, content: bytes) -> Iterator[Event]:
        """POST JSON ``content`` and yield each server-sent event's data as it arrives
        (a 503 before the stream starts is retried as any other)."""
        for attempt in range(self._settings.retries + 1):
            with self._http.stream(
                "POST", path, content=content, headers={"content-type": "application/json"}
            ) as response:
                if response.status_code == 503 and attempt < self._settings.retries:
                    delay = retry_delay(response, self._settings.max_retry_wait)
                else:
                    if not response.is_success:
                        response.read()
                        _checked(response)
                    lines: list[str] = []
                    for line in response.iter_lines():
                        if (event := _events(lines, line)) is not None:
                            yield event
                    if (event := _events(lines, "")) is not None:
                        yield event
                    return
            time.sleep(delay)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient:
    """The same methods as ``Client``, as coroutines: ``await client.conv2d(...)``.

    Parameters as ``Client``; ``transport`` is an async one (e.g. ``httpx2.ASGITransport``
    to run the app in-process).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float | httpx2.Timeout | None = 60.0,
        retries: int = 3,
        max_retry_wait: float = 30.0,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = _Settings(retries, max_retry_wait)
        self._http = httpx2.AsyncClient(
            base_url=base_url, timeout=_timeout(timeout), transport=transport
        )
        self.images = _AsyncImages(self)
        self.models = _AsyncModels(self)

    async def send(self, call: Call[T]) -> T:
        for attempt in range(self._settings.retries + 1):
            response = await self._http.request(
                call.method,
                call.path,
                content=call.content,
                files=call.files,
                data=call.data,
                params=call.params,
                headers=call.headers,
            )
            if response.status_code != 503 or attempt == self._settings.retries:
                break
            await anyio.sleep(retry_delay(response, self._settings.max_retry_wait))
        return call.decode(_checked(response))

    conv2d = _async(conv2d)
    conv_transpose2d = _async(conv_transpose2d)
    pool2d = _async(pool2d)
    activation = _async(activation)
    batch_norm = _async(batch_norm)
    dropout = _async(dropout)
    geometry = _async(geometry)
    kernels = _async(kernels)
    kernel = _async(kernel)
    loss = _async(loss)
    train = _async_train(train_body)

    async def stream(self, path: str, content: bytes) -> AsyncIterator[Event]:
        """As ``Client.stream``: ``async for event in client.train(...)``."""
        for attempt in range(self._settings.retries + 1):
            async with self._http.stream(
                "POST", path, content=content, headers={"content-type": "application/json"}
            ) as response:
                if response.status_code == 503 and attempt < self._settings.retries:
                    delay = retry_delay(response, self._settings.max_retry_wait)
                else:
                    if not response.is_success:
                        await response.aread()
                        _checked(response)
                    lines: list[str] = []
                    async for line in response.aiter_lines():
                        if (event := _events(lines, line)) is not None:
                            yield event
                    if (event := _events(lines, "")) is not None:
                        yield event
                    return
            await anyio.sleep(delay)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
