"""Layers on image tensors: what the image endpoints and the pipeline run.

Each ``apply_*`` takes a (C, H, W) float32 array and a layer's parameters and
returns a ``LayerOutput``; no HTTP and no PIL here. Limits are checked before
any work starts.
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
from app.core.trace import Region, conv2d_trace, pool2d_trace, resolve_region, step_count
from app.errors import ParamError
from app.limits import check, check_trace, check_window_op
from app.schemas import (
    ActivationLayerParams,
    BatchNormLayerParams,
    ConvLayerParams,
    DropoutLayerParams,
    PoolLayerParams,
    RequestModel,
    TraceRegion,
)

CHANNEL_NAMES = {1: ("",), 3: ("R", "G", "B")}


@dataclass
class LayerOutput:
    output: np.ndarray  # (C', H', W') float32
    labels: list[str]  # one per output channel
    geometry: Geometry | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def channel_label(index: int, channels: int) -> str:
    names = CHANNEL_NAMES.get(channels)
    return names[index] if names else f"ch {index}"


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
    c = x.shape[0]
    labels = [f"{p.function} {channel_label(i, c)}".strip() for i in range(c)]
    return LayerOutput(out.astype(np.float32, copy=False), labels)


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
        extras={"mean": result.mean.tolist(), "var": result.var.tolist()},
    )


def apply_dropout(x: np.ndarray, p: DropoutLayerParams, settings: Settings) -> LayerOutput:
    out, mask = core.dropout(x, p.p, p.training, seed=p.seed)
    c = x.shape[0]
    labels = [f"dropout {channel_label(i, c)}".strip() for i in range(c)]
    return LayerOutput(out, labels, extras={"mask": mask})


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
    return LAYER_TYPES[layer.type].apply(x, layer, settings)
