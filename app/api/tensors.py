"""JSON nested lists <-> numpy arrays at the API boundary, with the size limits."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.api.errors import LimitExceeded
from app.config import Settings
from app.core.geometry import Geometry, ParamError


def to_array(data: Any, field: str, settings: Settings) -> np.ndarray:
    """Nested lists (already checked to be finite numbers) -> float64 array; ragged -> 422."""
    try:
        a = np.array(data, dtype=np.float64)
    except ValueError:
        raise ParamError(
            field, f"{field} must be rectangular: every row needs the same length"
        ) from None
    check_elements(field, a.size, settings)
    side = max(a.shape, default=0)
    if side > settings.max_side:
        raise LimitExceeded(f"{field} side", side, settings.max_side, "max_side")
    return a


def check_elements(what: str, count: int, settings: Settings, *, image: bool = False) -> None:
    """JSON tensors are bounded by max_tensor_elements, image feature maps by
    max_feature_elements."""
    limit, name = (
        (settings.max_feature_elements, "max_feature_elements")
        if image
        else (settings.max_tensor_elements, "max_tensor_elements")
    )
    if count > limit:
        raise LimitExceeded(f"{what} elements", count, limit, name)


def check_window_op(
    geo: Geometry,
    channels_in: int,
    channels_out: int,
    window_channels: int,
    settings: Settings,
    *,
    image: bool = False,
) -> None:
    """Bound the padded input, the output and the multiply-adds before any work starts."""
    kh, kw = geo.kernel
    if max(channels_in, channels_out) > settings.max_channels:
        raise LimitExceeded(
            "channels", max(channels_in, channels_out), settings.max_channels, "max_channels"
        )
    if max(kh, kw) > settings.max_kernel_side:
        raise LimitExceeded("kernel side", max(kh, kw), settings.max_kernel_side, "max_kernel_side")
    ph, pw = geo.padded
    check_elements("padded input", channels_in * ph * pw, settings, image=image)
    out = channels_out * geo.output[0] * geo.output[1]
    check_elements("output", out, settings, image=image)
    work = out * window_channels * kh * kw
    if work > settings.max_work:
        raise LimitExceeded(
            "work (output cells x window cells)", work, settings.max_work, "max_work"
        )


def to_list(a: np.ndarray, field: str = "output") -> list[Any]:
    """A finite array -> nested lists; an overflow to inf is the client's numbers' doing."""
    if not np.all(np.isfinite(a)):
        raise ParamError(field, f"{field} overflows float64 (the inputs are too large)")
    return a.tolist()
