"""JSON endpoints: each parses its model, calls ``app.core``, and returns lists."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Body

from app import core
from app.api.errors import ERROR_RESPONSES
from app.api.npy import add_npy_twin
from app.api.tensors import to_array, to_list
from app.config import Settings, SettingsDep
from app.core.geometry import Geometry
from app.core.trace import (
    conv2d_trace,
    conv_transpose2d_trace,
    direct_conv_equivalent,
    direct_input_size,
    pool2d_trace,
    resolve_region,
    step_count,
)
from app.errors import ParamError
from app.limits import check, check_elements, check_trace, check_window_op
from app.schemas import (
    EDGE_KERNEL,
    EDGE_PATCH,
    ActivationRequest,
    ActivationResponse,
    BatchNormRequest,
    BatchNormResponse,
    Conv2dRequest,
    Conv2dResponse,
    ConvTranspose2dRequest,
    ConvTranspose2dResponse,
    DropoutRequest,
    DropoutResponse,
    GeometryRequest,
    GeometryResponse,
    Pool2dRequest,
    Pool2dResponse,
    TraceRegion,
)

router = APIRouter(prefix="/api/v1", tags=["operations"], responses=ERROR_RESPONSES)

CONV_EXAMPLES = {
    "edge": {
        "summary": "Horizontal-edge filter on a 3x3 patch (gives 2.3)",
        "value": {"input": EDGE_PATCH, "kernel": EDGE_KERNEL},
    },
    "strided": {
        "summary": "Two filters, stride 2, same padding",
        "value": {
            "input": [[float(r * 5 + c) for c in range(5)] for r in range(5)],
            "kernel": [[[[1, 0], [0, -1]]], [[[0.25, 0.25], [0.25, 0.25]]]],
            "stride": 2,
            "padding": "same",
        },
    },
}


def _channels_first(a: np.ndarray) -> np.ndarray:
    """[H][W] -> (1, H, W); (C, H, W) stays."""
    return a[None] if a.ndim == 2 else a


def _trace_region(
    trace_region: TraceRegion | None, geo: Geometry, channels: int, window: int, s: Settings
) -> tuple[tuple[int, int], tuple[int, int]]:
    region = resolve_region(trace_region and trace_region.model_dump(), geo.output)
    check_trace(s, step_count(channels, region), window)
    return region


@router.post(
    "/conv2d",
    response_model=Conv2dResponse,
    response_model_exclude_none=True,
    summary="2-D convolution",
)
def conv2d(
    req: Annotated[Conv2dRequest, Body(openapi_examples=CONV_EXAMPLES)], s: SettingsDep
) -> Any:
    """Cross-correlation (no kernel flip) as ``torch.nn.functional.conv2d``.

    With ``"trace": true`` the response also holds every window step.
    """
    x = _channels_first(to_array(req.input, "input", s))
    k = to_array(req.kernel, "kernel", s)
    one_filter = k.ndim < 4
    w = k.reshape((1,) * (4 - k.ndim) + k.shape)  # (kh,kw) | (C/g,kh,kw) -> (O,C/g,kh,kw)
    c, o = x.shape[0], w.shape[0]
    if k.ndim == 2 and req.groups == 1 and c != 1:
        raise ParamError(
            "kernel",
            f"a 2-D kernel needs a 1-channel input, but input has {c} channels; give the "
            f"kernel as [{c}][kh][kw] to span them all, or set groups",
        )
    bias = to_array(req.bias, "bias", s)
    geo = core.conv_geometry(
        x.shape[1:], w.shape[2:], stride=req.stride, padding=req.padding, dilation=req.dilation
    )
    check_window_op(s, geo, c, o, w.shape[1])
    region = None
    if req.trace:
        region = _trace_region(req.trace_region, geo, o, w[0].size, s)
    with np.errstate(all="ignore"):
        out = core.conv2d(
            x,
            w,
            bias,
            stride=req.stride,
            padding=req.padding,
            dilation=req.dilation,
            groups=req.groups,
            padding_mode=req.padding_mode,
        )
    if one_filter:
        out = out[0]
    body: dict[str, Any] = {
        "output": to_list(out),
        "shape": list(out.shape),
        "geometry": geo.as_dict(),
    }
    if region is not None:
        bias_vec = np.broadcast_to(bias, (o,))
        with np.errstate(all="ignore"):
            body |= conv2d_trace(
                x, w, bias_vec, geo, groups=req.groups, padding_mode=req.padding_mode, region=region
            )
    return body


@router.post(
    "/conv_transpose2d",
    response_model=ConvTranspose2dResponse,
    response_model_exclude_none=True,
    summary="Transposed convolution",
)
def conv_transpose2d(req: ConvTranspose2dRequest, s: SettingsDep) -> Any:
    """As ``torch.nn.functional.conv_transpose2d``; kernel ``[C][O/groups][kh][kw]``.

    With ``"trace": true`` the response also holds one step per input cell (its value
    times the kernel, scattered into an output window) and the equivalent direct
    convolution.
    """
    x = _channels_first(to_array(req.input, "input", s))
    k = to_array(req.kernel, "kernel", s)
    w = k[None, None] if k.ndim == 2 else k
    if k.ndim == 2 and x.shape[0] != 1:
        raise ParamError(
            "kernel",
            f"a 2-D kernel needs a 1-channel input, but input has "
            f"{x.shape[0]} channels; give it as [C][O/groups][kh][kw]",
        )
    geo = core.conv_transpose_geometry(
        x.shape[1:],
        w.shape[2:],
        stride=req.stride,
        padding=req.padding,
        output_padding=req.output_padding,
        dilation=req.dilation,
    )
    o = w.shape[1] * req.groups
    check_window_op(s, geo, x.shape[0], o, w.shape[0])
    bias = to_array(req.bias, "bias", s)
    with np.errstate(all="ignore"):
        out = core.conv_transpose2d(
            x,
            w,
            bias,
            stride=req.stride,
            padding=req.padding,
            output_padding=req.output_padding,
            groups=req.groups,
            dilation=req.dilation,
        )
    body: dict[str, Any] = {
        "output": to_list(out[0] if k.ndim == 2 else out),
        "shape": list(out.shape[1:] if k.ndim == 2 else out.shape),
        "geometry": geo.as_dict(),
    }
    if req.trace:
        region = resolve_region(
            req.trace_region and req.trace_region.model_dump(), geo.input, of="input"
        )
        steps = step_count(x.shape[0], region)
        window = w[0].size  # the scaled kernel (and where each tap goes) per step
        direct = direct_input_size(x.shape[0], geo) + w.size
        check_trace(s, steps, window, direct)
        # The running output rides along while the whole trace stays within the limit.
        running = steps * (2 * window + out[0].size) + direct <= s.max_trace_values
        bias_vec = np.broadcast_to(bias, (o,))
        with np.errstate(all="ignore"):
            body |= conv_transpose2d_trace(
                x, w, bias_vec, geo, groups=req.groups, region=region, running=running
            )
            body["direct"] = direct_conv_equivalent(x, w, geo, groups=req.groups)
    return body


@router.post(
    "/pool2d",
    response_model=Pool2dResponse,
    response_model_exclude_none=True,
    summary="Max or average pooling",
)
def pool2d(req: Pool2dRequest, s: SettingsDep) -> Any:
    """``max_pool2d`` (with indices) or ``avg_pool2d``, including ``ceil_mode``."""
    a = to_array(req.input, "input", s)
    x = _channels_first(a)
    if req.mode == "avg" and req.dilation not in (1, [1, 1]):
        raise ParamError("dilation", "dilation applies to max pooling only (avg_pool2d has none)")
    geo = core.pool_geometry(
        x.shape[1:],
        req.kernel_size,
        stride=req.stride,
        padding=req.padding,
        dilation=req.dilation,
        ceil_mode=req.ceil_mode,
    )
    check_window_op(s, geo, x.shape[0], x.shape[0], 1, kernel_field="kernel_size")
    region = None
    if req.trace:
        region = _trace_region(req.trace_region, geo, x.shape[0], geo.kernel[0] * geo.kernel[1], s)
    body: dict[str, Any] = {"geometry": geo.as_dict()}
    if req.mode == "max":
        out, idx = core.max_pool2d(
            x,
            req.kernel_size,
            stride=req.stride,
            padding=req.padding,
            dilation=req.dilation,
            ceil_mode=req.ceil_mode,
            return_indices=True,
        )
        body["indices"] = (idx[0] if a.ndim == 2 else idx).tolist()
    else:
        out = core.avg_pool2d(
            x,
            req.kernel_size,
            stride=req.stride,
            padding=req.padding,
            ceil_mode=req.ceil_mode,
            count_include_pad=req.count_include_pad,
        )
    out = out[0] if a.ndim == 2 else out
    body |= {"output": to_list(out), "shape": list(out.shape)}
    if region is not None:
        body |= pool2d_trace(
            x, geo, mode=req.mode, count_include_pad=req.count_include_pad, region=region
        )
    return body


@router.post(
    "/activation",
    response_model=ActivationResponse,
    response_model_exclude_none=True,
    summary="Activation function",
)
def activation(req: ActivationRequest, s: SettingsDep) -> Any:
    """Elementwise activation, or softmax over ``dim`` (all elements when null).

    With ``derivative: true``, also the elementwise derivative (what autograd gives).
    """
    x = to_array(req.input, "input", s)
    with np.errstate(all="ignore"):
        out = core.activation(
            x, req.function, negative_slope=req.negative_slope, alpha=req.alpha, dim=req.dim
        )
        body = {"output": to_list(out), "shape": list(out.shape)}
        if req.derivative:
            d = core.activation_derivative(
                x, req.function, negative_slope=req.negative_slope, alpha=req.alpha
            )
            body["derivative"] = to_list(d)
    return body


@router.post("/batch_norm", response_model=BatchNormResponse, summary="Batch normalisation")
def batch_norm(req: BatchNormRequest, s: SettingsDep) -> Any:
    """``torch.nn.functional.batch_norm``; training statistics come from the input."""
    x = to_array(req.input, "input", s)
    vectors = {
        name: None if value is None else to_array(value, name, s)
        for name, value in [
            ("weight", req.weight),
            ("bias", req.bias),
            ("running_mean", req.running_mean),
            ("running_var", req.running_var),
        ]
    }
    with np.errstate(all="ignore"):
        result = core.batch_norm(
            x, training=req.training, momentum=req.momentum, eps=req.eps, **vectors
        )
    return {
        "output": to_list(result.output),
        "shape": list(result.output.shape),
        "mean": to_list(result.mean, "mean"),
        "var": to_list(result.var, "var"),
        "running_mean": to_list(result.running_mean, "running_mean"),
        "running_var": to_list(result.running_var, "running_var"),
    }


@router.post("/dropout", response_model=DropoutResponse, summary="Inverted dropout")
def dropout(req: DropoutRequest, s: SettingsDep) -> Any:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``; seeded."""
    x = to_array(req.input, "input", s)
    with np.errstate(all="ignore"):
        out, mask = core.dropout(x, req.p, req.training, seed=req.seed)
    return {"output": to_list(out), "shape": list(out.shape), "mask": mask.astype(int).tolist()}


@router.post("/geometry", response_model=GeometryResponse, summary="Shape arithmetic")
def geometry(req: GeometryRequest, s: SettingsDep) -> Any:
    """Sizes with no data, plus which input rows/cols each output row/col reads."""
    size = (req.input_size[0], req.input_size[1])
    check(s, "max_side", max(size), field="input_size", what="side")
    if req.transposed:
        if isinstance(req.padding, str) or (
            isinstance(req.padding, list) and len(req.padding) != 2
        ):
            raise ParamError("padding", "a transposed convolution takes padding as p or [ph, pw]")
        geo = core.conv_transpose_geometry(
            size,
            req.kernel_size,
            stride=req.stride,
            padding=req.padding,
            output_padding=req.output_padding,
            dilation=req.dilation,
        )
    else:
        geo = core.conv_geometry(
            size, req.kernel_size, stride=req.stride, padding=req.padding, dilation=req.dilation
        )
    check(s, "max_kernel_side", max(geo.kernel), field="kernel_size", what="side")
    check(s, "max_side", max(geo.output), field="output", what="side")
    check_elements(s, "output", geo.output[0] * geo.output[1])
    fields = core.receptive_fields(geo, transposed=req.transposed)
    return {
        "geometry": geo.as_dict(),
        "shape": list(geo.output),
        **fields,
    }


# The same operations with their arrays as .npy files (multipart), see app/api/npy.py.
add_npy_twin(router, "/conv2d", Conv2dRequest, Conv2dResponse, conv2d, exclude_none=True)
add_npy_twin(
    router,
    "/conv_transpose2d",
    ConvTranspose2dRequest,
    ConvTranspose2dResponse,
    conv_transpose2d,
    exclude_none=True,
)
add_npy_twin(
    router, "/pool2d", Pool2dRequest, Pool2dResponse, pool2d, exclude_none=True, one_tensor=False
)
add_npy_twin(
    router, "/activation", ActivationRequest, ActivationResponse, activation, exclude_none=True
)
add_npy_twin(
    router, "/batch_norm", BatchNormRequest, BatchNormResponse, batch_norm, one_tensor=False
)
add_npy_twin(router, "/dropout", DropoutRequest, DropoutResponse, dropout, one_tensor=False)
