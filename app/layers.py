"""Layers on image tensors: what the image endpoints and the pipeline run.

Each ``apply_*`` takes a (C, H, W) float32 array (or, after a ``flatten``, a vector
(N,)) and a layer's parameters and returns a ``LayerOutput``; no HTTP and no PIL here.
Limits are checked before any work starts. Each layer type states the inputs it takes
(``ndims``): maps (3), vectors (1) or both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import Field, create_model

from app import core
from app.config import Settings
from app.core.geometry import Geometry
from app.core.kernels import PRESETS, unknown_preset
from app.core.nn import flatten, linear, linear_init
from app.core.trace import Region, conv2d_trace, pool2d_trace, resolve_region, step_count
from app.errors import ParamError
from app.limits import check, check_trace, check_window_op
from app.schemas import (
    ActivationLayerParams,
    BatchNormLayerParams,
    ConvLayerParams,
    DropoutLayerParams,
    FlattenLayerParams,
    LinearLayerParams,
    PoolLayerParams,
    RequestModel,
    SoftmaxLayerParams,
    TraceRegion,
)

CHANNEL_NAMES = {1: ("",), 3: ("R", "G", "B")}
TIMES = "\N{MULTIPLICATION SIGN}"  # sizes are written C×H×W  # noqa: RUF003


@dataclass
class LayerOutput:
    output: np.ndarray  # (C', H', W') or, for a vector, (N,) float32
    labels: list[str]  # one per output channel (one for a vector)
    geometry: Geometry | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def channel_label(index: int, channels: int) -> str:
    names = CHANNEL_NAMES.get(channels)
    return names[index] if names else f"ch {index}"


def channel_labels(x: np.ndarray, what: str) -> list[str]:
    """``"relu R"``, ``"relu G"``...: one label per channel; a vector has one, ``what``."""
    if x.ndim == 1:
        return [what]
    return [f"{what} {channel_label(i, x.shape[0])}".strip() for i in range(x.shape[0])]


@dataclass
class Filters:
    """A conv layer's kernel resolved to arrays."""

    flat: np.ndarray | None  # (O, kh, kw): 2-D filters that channel_mode spreads over channels
    weight: np.ndarray | None  # (O, C/groups, kh, kw): a literal PyTorch weight
    names: list[str]


def resolve_kernel(kernel: Any, settings: Settings) -> Filters:
    """Preset name(s) or numbers -> 2-D filters or a literal weight."""
    names = [kernel] if isinstance(kernel, str) else kernel
    if isinstance(names, list) and names and all(isinstance(n, str) for n in names):
        unknown = [n for n in names if n not in PRESETS]
        if unknown:
            raise ParamError("kernel", unknown_preset(unknown[0]))
        arrays = [PRESETS[n].array() for n in names]
        if len({a.shape for a in arrays}) > 1:
            raise ParamError(
                "kernel",
                "preset kernels in one layer must share a size, got "
                + ", ".join(
                    f"{n} {a.shape[0]}x{a.shape[1]}" for n, a in zip(names, arrays, strict=True)
                ),
            )
        return Filters(np.stack(arrays), None, list(names))
    try:
        k = np.array(kernel, dtype=np.float64)
    except ValueError:
        raise ParamError(
            "kernel", "kernel must be rectangular: every row needs the same length"
        ) from None
    check(settings, "max_kernel_side", max(k.shape[-2:]), field="kernel", what="side")
    if np.abs(k).max() > np.finfo(np.float32).max:
        raise ParamError(
            "kernel",
            "kernel values must fit in float32 (|value| <= 3.4e38): images are computed in float32",
        )
    if k.ndim == 2:
        return Filters(k[None], None, ["custom"])
    w = k[None] if k.ndim == 3 else k
    return Filters(None, w, [f"filter {i}" for i in range(w.shape[0])])


def trace_region_for(
    trace_region: TraceRegion | None, geo: Geometry, channels: int, window: int, settings: Settings
) -> Region | None:
    """Check a requested trace region against the output and the trace limits."""
    if trace_region is None:
        return None
    region = resolve_region(trace_region.model_dump(), geo.output)
    check_trace(settings, step_count(channels, region), window)
    return region


def apply_conv(
    x: np.ndarray,
    p: ConvLayerParams,
    settings: Settings,
    trace_region: TraceRegion | None = None,
) -> LayerOutput:
    """2-D filters: per channel (``depthwise``) or across channels (``sum``); 4-D: literal."""
    c = x.shape[0]
    filters = resolve_kernel(p.kernel, settings)
    kshape = (filters.flat if filters.flat is not None else filters.weight).shape  # type: ignore[union-attr]
    geo = core.conv_geometry(
        x.shape[1:], kshape[-2:], stride=p.stride, padding=p.padding, dilation=p.dilation
    )
    # One (weight, groups) per filter; depthwise filters each become C output channels.
    jobs: list[tuple[np.ndarray, int]] = []
    if filters.weight is not None:
        jobs.append((filters.weight, p.groups))
        per_job = filters.weight.shape[0]
    elif p.channel_mode == "depthwise":
        jobs += [(np.repeat(f[None, None], c, axis=0), c) for f in filters.flat]  # type: ignore[union-attr]
        per_job = c
    else:
        jobs += [(np.repeat(f[None, None], c, axis=1), 1) for f in filters.flat]  # type: ignore[union-attr]
        per_job = 1
    total = len(jobs) * per_job
    check_window_op(settings, geo, c, total, jobs[0][0].shape[1], image=True)
    region = trace_region_for(trace_region, geo, total, jobs[0][0][0].size, settings)
    bias = np.asarray(p.bias, dtype=np.float64)
    n_filters = len(filters.names)
    if bias.ndim == 1 and bias.shape[0] != n_filters:
        raise ParamError(
            "bias",
            f"bias must be a number or have {n_filters} values (one per "
            f"filter), got {bias.shape[0]}",
        )
    biases = np.broadcast_to(bias, (n_filters,))
    outs, labels, steps = [], [], []
    for j, (w, groups) in enumerate(jobs):
        b = biases if filters.weight is not None else np.full(per_job, biases[j])
        outs.append(
            core.conv2d(
                x,
                w.astype(np.float32),
                b.astype(np.float32),
                stride=p.stride,
                padding=p.padding,
                dilation=p.dilation,
                groups=groups,
                padding_mode=p.padding_mode,
            )
        )
        if filters.weight is not None:
            labels += filters.names
        elif per_job == 1:
            labels.append(filters.names[j])
        else:
            labels += [f"{filters.names[j]} · {channel_label(i, c)}" for i in range(c)]
        if region is not None:
            trace = conv2d_trace(
                x,
                w,
                b,
                geo,
                groups=groups,
                padding_mode=p.padding_mode,
                region=region,
                include_padded=False,
            )
            for step in trace["steps"]:
                step["out"][0] += j * per_job
            steps += trace["steps"]
    out = outs[0] if len(outs) == 1 else np.concatenate(outs)
    extras = {"steps": steps} if region is not None else {}
    return LayerOutput(out, labels, geo, extras)


def apply_pool(
    x: np.ndarray,
    p: PoolLayerParams,
    settings: Settings,
    trace_region: TraceRegion | None = None,
) -> LayerOutput:
    if p.mode == "avg" and p.dilation not in (1, [1, 1]):
        raise ParamError("dilation", "dilation applies to max pooling only")
    geo = core.pool_geometry(
        x.shape[1:],
        p.kernel_size,
        stride=p.stride,
        padding=p.padding,
        dilation=p.dilation,
        ceil_mode=p.ceil_mode,
    )
    check_window_op(
        settings, geo, x.shape[0], x.shape[0], 1, image=True, kernel_field="kernel_size"
    )
    region = trace_region_for(
        trace_region, geo, x.shape[0], geo.kernel[0] * geo.kernel[1], settings
    )
    if p.mode == "max":
        out = core.max_pool2d(
            x,
            p.kernel_size,
            stride=p.stride,
            padding=p.padding,
            dilation=p.dilation,
            ceil_mode=p.ceil_mode,
        )
    else:
        out = core.avg_pool2d(
            x,
            p.kernel_size,
            stride=p.stride,
            padding=p.padding,
            ceil_mode=p.ceil_mode,
            count_include_pad=p.count_include_pad,
        )
    assert isinstance(out, np.ndarray)
    c = x.shape[0]
    extras = {}
    if region is not None:
        extras = pool2d_trace(
            x,
            geo,
            mode=p.mode,
            count_include_pad=p.count_include_pad,
            region=region,
            include_padded=False,
        )
    labels = [f"{p.mode} pool {channel_label(i, c)}".strip() for i in range(c)]
    return LayerOutput(out, labels, geo, extras)


def apply_activation(x: np.ndarray, p: ActivationLayerParams, settings: Settings) -> LayerOutput:
    with np.errstate(all="ignore"):
        out = core.activation(
            x, p.function, negative_slope=p.negative_slope, alpha=p.alpha, dim=p.dim
        )
    return LayerOutput(out.astype(np.float32, copy=False), channel_labels(x, p.function))


def apply_batch_norm(x: np.ndarray, p: BatchNormLayerParams, settings: Settings) -> LayerOutput:
    result = core.batch_norm(
        x,
        running_mean=p.running_mean,
        running_var=p.running_var,
        weight=p.weight,
        bias=p.bias,
        training=p.training,
        momentum=p.momentum,
        eps=p.eps,
    )
    c = x.shape[0]
    labels = [f"batch norm {channel_label(i, c)}".strip() for i in range(c)]
    return LayerOutput(
        result.output.astype(np.float32, copy=False),
        labels,
        extras={
            "mean": result.mean.tolist(),
            "var": result.var.tolist(),
            "running_mean": result.running_mean.tolist(),
            "running_var": result.running_var.tolist(),
            "weight": [1.0] * c if p.weight is None else list(p.weight),
            "bias": [0.0] * c if p.bias is None else list(p.bias),
        },
    )


def apply_dropout(x: np.ndarray, p: DropoutLayerParams, settings: Settings) -> LayerOutput:
    out, mask = core.dropout(x, p.p, p.training, seed=p.seed)
    return LayerOutput(out, channel_labels(x, "dropout"), extras={"mask": mask})


def apply_flatten(x: np.ndarray, p: FlattenLayerParams, settings: Settings) -> LayerOutput:
    """(C, H, W) -> (C*H*W,): channel 0's rows first, as ``torch.flatten``."""
    return LayerOutput(flatten(x, 0), [f"{TIMES.join(map(str, x.shape))} values in a row"])


def apply_linear(x: np.ndarray, p: LinearLayerParams, settings: Settings) -> LayerOutput:
    """``weight @ x + bias``: given, or seeded by PyTorch's default rule (``linear_init``)."""
    n = x.shape[0]
    if p.weight is not None:
        rows = {len(row) for row in p.weight}
        if rows != {n}:
            raise ParamError(
                "weight",
                f"weight must have {n} values in every row (in_features, the input's length), "
                f"got rows of {', '.join(map(str, sorted(rows)))}",
            )
        if len(p.weight) != p.out_features:
            raise ParamError(
                "weight",
                f"weight has {len(p.weight)} rows but out_features is {p.out_features}",
            )
    check(settings, "max_linear_features", p.out_features, field="out_features", what="features")
    check(
        settings,
        "max_linear_weights",
        n * p.out_features,
        field="out_features",
        what=f"weights ({n} in x {p.out_features} out)",
    )
    weight, bias = linear_init(n, p.out_features, seed=p.seed)
    if p.weight is not None:
        weight = np.asarray(p.weight, dtype=np.float32)
    if p.bias is not None:
        if len(p.bias) != p.out_features:
            raise ParamError(
                "bias", f"bias must have {p.out_features} values (out_features), got {len(p.bias)}"
            )
        bias = np.asarray(p.bias, dtype=np.float32)
    out = linear(x, weight, bias).astype(np.float32, copy=False)
    return LayerOutput(out, [f"{p.out_features} scores"])


def apply_softmax(x: np.ndarray, p: SoftmaxLayerParams, settings: Settings) -> LayerOutput:
    """exp(x − max) / Σ exp(x − max) over the vector: probabilities summing to 1."""
    out = core.softmax(x.astype(np.float64), dim=0).astype(np.float32)
    return LayerOutput(out, ["probabilities"])


# ---- the registry ------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerType:
    """One layer type: what the pipeline accepts, runs and shows on ``/network``'s cards."""

    name: str  # the ``type`` tag of the pipeline's layers
    label: str
    description: str
    params: type[RequestModel]
    apply: Callable[[np.ndarray, Any, Settings], LayerOutput]
    defaults: dict[str, Any] = field(default_factory=dict)  # beyond the model's own defaults
    ndims: tuple[int, ...] = (3,)  # the inputs it takes: C x H x W maps (3), vectors (1)

    def default_params(self) -> dict[str, Any]:
        return self.params.model_validate(self.defaults).model_dump(mode="json")


LAYER_TYPES: dict[str, LayerType] = {
    t.name: t
    for t in (
        LayerType(
            "conv2d",
            "Convolution",
            "Slides each filter over the input and sums the products in every window "
            "(a cross-correlation: the kernel is not flipped), one output map per filter.",
            ConvLayerParams,
            apply_conv,
            {"kernel": "sobel_x"},
        ),
        LayerType(
            "activation",
            "Activation",
            "Applies a function to every value on its own (softmax: across channels).",
            ActivationLayerParams,
            apply_activation,
            ndims=(3, 1),
        ),
        LayerType(
            "pool2d",
            "Pooling",
            "Keeps the largest (max) or the mean (avg) value of each window, per channel.",
            PoolLayerParams,
            apply_pool,
        ),
        LayerType(
            "batch_norm",
            "Batch norm",
            "Shifts and scales each channel to mean 0 and variance 1 (then by weight and bias).",
            BatchNormLayerParams,
            apply_batch_norm,
        ),
        LayerType(
            "dropout",
            "Dropout",
            "Zeroes each value with probability p (seeded) and scales the rest by 1/(1 - p).",
            DropoutLayerParams,
            apply_dropout,
            ndims=(3, 1),
        ),
        LayerType(
            "flatten",
            "Flatten",
            "Lays every value of every map out in one row (channel by channel, row by row): "
            f"C{TIMES}H{TIMES}W maps become a vector of C·H·W numbers.",
            FlattenLayerParams,
            apply_flatten,
        ),
        LayerType(
            "linear",
            "Linear (dense)",
            "Each output is a weighted sum of every input value plus a bias "
            "(weight @ x + bias); ends a CNN with one score per class. Needs a vector: "
            "flatten first.",
            LinearLayerParams,
            apply_linear,
            ndims=(1,),
        ),
        LayerType(
            "softmax",
            "Softmax",
            "Turns a vector of scores into probabilities: exp(score − max) divided by the sum "
            "of them all, so they are positive and sum to 1.",
            SoftmaxLayerParams,
            apply_softmax,
            ndims=(1,),
        ),
    )
}


def _tagged(t: LayerType) -> type[RequestModel]:
    """``ConvLayerParams`` -> ``ConvLayer``, with ``type: Literal["conv2d"]`` added."""
    tag: Any = Literal[t.name]
    return create_model(t.params.__name__.replace("Params", ""), __base__=t.params, type=(tag, ...))


LAYER_MODELS = tuple(_tagged(t) for t in LAYER_TYPES.values())
Layer: Any = Annotated[Union[LAYER_MODELS], Field(discriminator="type")]  # noqa: UP007


class PipelineParams(RequestModel):
    layers: Annotated[list[Layer], Field(min_length=1)]
    value_range: Literal["map", "layer"] = Field(
        "map", description="Colour scale per feature map, or one shared by a layer's maps."
    )


def run_layer(x: np.ndarray, layer: Any, settings: Settings) -> LayerOutput:
    """Run one pipeline layer (a tagged params model) on ``x``."""
    t = LAYER_TYPES[layer.type]
    if x.ndim not in t.ndims:
        if x.ndim == 1:
            got = f"a vector of {x.shape[0]} values (after a flatten)"
            need = f"C{TIMES}H{TIMES}W maps; put it before the flatten"
        else:
            got = f"C{TIMES}H{TIMES}W maps {TIMES.join(map(str, x.shape))}"
            need = "a vector; put a flatten before it"
        raise ParamError("input", f"{t.label} needs {need}, got {got}")
    return t.apply(x, layer, settings)
