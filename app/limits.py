"""Every limit: its name, default, environment variable, description, status and check.

``Settings`` (app/config.py) reads each limit's default and description from ``LIMITS``;
``GET /api/v1/limits`` serves the table; every path that can breach a limit calls
``check``, so the same breach answers the same 413 and message everywhere:
``"<field>: <what> (<value>) is over the limit of <limit> (set CONVSCOPE_<NAME> to change
it)"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field

from app.errors import LimitExceeded

if TYPE_CHECKING:
    from app.config import Settings
    from app.core.geometry import Geometry


@dataclass(frozen=True)
class Limit:
    name: str
    default: int | float
    description: str
    status: int | None = 413  # 413 for every breach; 503 busy; None: the run just stops

    @property
    def env(self) -> str:
        return f"CONVSCOPE_{self.name.upper()}"


_MB = 1024 * 1024

LIMITS: dict[str, Limit] = {
    limit.name: limit
    for limit in (
        Limit("max_body_bytes", 8 * _MB, "Largest JSON body, in bytes."),
        Limit("max_upload_bytes", 16 * _MB, "Largest multipart body (the image upload), in bytes."),
        Limit("max_tensor_elements", 1_048_576, "Most numbers in one JSON tensor (in or out)."),
        Limit("max_kernel_side", 64, "Longest kernel side, in cells."),
        Limit("max_side", 4096, "Longest side of any tensor's spatial axes."),
        Limit("max_channels", 256, "Most channels or filters in one tensor."),
        Limit(
            "max_work",
            2_000_000_000,
            "Most multiply-adds one operation may cost (output cells x window cells).",
        ),
        Limit("max_trace_steps", 4096, "Most steps in one trace; larger traces need trace_region."),
        Limit("max_trace_values", 1_000_000, "Most numbers (window + products) in one trace."),
        Limit("max_image_pixels", 40_000_000, "Most pixels an uploaded image may declare."),
        Limit("max_image_side", 2048, "Largest max_side an image request may ask for."),
        Limit("max_crop_side", 32, "Longest side of an /images/pixels crop."),
        Limit(
            "max_feature_elements", 33_554_432, "Most values in one image feature tensor (CxHxW)."
        ),
        Limit("max_pipeline_layers", 16, "Most layers in one /images/pipeline request."),
        Limit("max_linear_features", 1024, "Most out_features of a pipeline linear layer."),
        Limit(
            "max_linear_weights",
            4_194_304,
            "Most weights (in_features x out_features) of a pipeline linear layer.",
        ),
        Limit(
            "max_model_samples",
            200,
            "Most held-out digits one models/{name}/samples request returns.",
        ),
        Limit("max_learn_steps", 2000, "Most gradient steps one /api/v1/learn run may ask for."),
        Limit("max_learn_kernel_side", 15, "Longest side of the kernel /api/v1/learn learns."),
        Limit("max_learn_image_side", 128, "Largest max_side a /api/v1/learn run may ask for."),
        Limit(
            "max_learn_seconds",
            20.0,
            "Wall-clock seconds after which a learn run stops (reason time_limit); not an error.",
            status=None,
        ),
        Limit(
            "max_body_seconds",
            30.0,
            "Seconds a client may take to send a whole request body; past it, 408 "
            "(a trickled upload never holds a computation slot).",
            status=408,
        ),
        Limit(
            "max_train_examples", 1000, "Most own examples one /api/v1/models/train run may send."
        ),
        Limit("max_train_epochs", 50, "Most epochs one /api/v1/models/train run may ask for."),
        Limit("max_train_width", 32, "Widest convolution (out_channels) a trained model may have."),
        Limit(
            "max_train_seconds",
            120.0,
            "Wall-clock seconds after which a training run stops (reason time_limit); not an "
            "error.",
            status=None,
        ),
        Limit(
            "max_concurrent",
            32,
            "Most API computations in progress per worker; past it, 503 with Retry-After.",
            status=503,
        ),
    )
}


def limit_field(name: str) -> Any:
    """The pydantic ``Field`` of a limit in ``Settings``: its default, > 0, its description."""
    limit = LIMITS[name]
    return Field(limit.default, gt=0, description=limit.description)


def check(settings: Settings, name: str, value: int | float, *, field: str, what: str) -> None:
    """Raise ``LimitExceeded`` (413) if ``value`` is over the limit ``name``."""
    limit = getattr(settings, name)
    if value > limit:
        raise LimitExceeded(field, what, value, limit, name)


def check_elements(
    settings: Settings, field: str, count: int, *, image: bool = False, what: str = "elements"
) -> None:
    """JSON tensors are bounded by max_tensor_elements, image feature tensors by
    max_feature_elements."""
    name = "max_feature_elements" if image else "max_tensor_elements"
    check(settings, name, count, field=field, what=what)


def check_window_op(
    settings: Settings,
    geo: Geometry,
    channels_in: int,
    channels_out: int,
    window_channels: int,
    *,
    image: bool = False,
    kernel_field: str = "kernel",
) -> None:
    """Bound the channels, kernel, padded input, output and multiply-adds before any work.

    ``kernel_field`` names the kernel's field in the request (pooling: ``kernel_size``).
    """
    kh, kw = geo.kernel
    check(settings, "max_channels", channels_in, field="input", what="channels")
    check(settings, "max_channels", channels_out, field="output", what="channels")
    check(settings, "max_kernel_side", max(kh, kw), field=kernel_field, what="side")
    ph, pw = geo.padded
    check_elements(
        settings, "input", channels_in * ph * pw, image=image, what="elements after padding"
    )
    out = channels_out * geo.output[0] * geo.output[1]
    check_elements(settings, "output", out, image=image)
    work = out * window_channels * kh * kw
    check(settings, "max_work", work, field="output", what="multiply-adds")


def check_trace(settings: Settings, steps: int, window: int, extra: int = 0) -> None:
    """Bound a trace: its steps and its numbers (``window`` numbers twice per step: window
    and products, or scaled kernel and targets; plus ``extra`` numbers once)."""
    check(settings, "max_trace_steps", steps, field="trace_region", what="trace steps")
    values = steps * window * 2 + extra
    check(settings, "max_trace_values", values, field="trace_region", what="trace values")


def served(settings: Settings) -> dict[str, dict[str, Any]]:
    """The table ``GET /api/v1/limits`` serves, with this server's values."""
    return {
        name: {
            "value": getattr(settings, name),
            "env": limit.env,
            "status": limit.status,
            "description": limit.description,
        }
        for name, limit in LIMITS.items()
    }
