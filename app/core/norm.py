"""Batch normalisation and dropout, as ``torch.nn.functional``."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from app.core._arrays import float_array
from app.errors import ParamError


class BatchNormResult(NamedTuple):
    output: np.ndarray
    mean: np.ndarray  # (C,) the statistics used: batch (training) or running (eval)
    var: np.ndarray  # (C,) biased batch variance in training, running variance in eval
    running_mean: np.ndarray  # (C,) after the momentum update (unchanged in eval)
    running_var: np.ndarray  # (C,) updated with the unbiased variance, as PyTorch


# What an unset per-channel vector stands for: a fresh BatchNorm2d's statistics and affine
# parameters. The API serves these in the layer schema, so pages fill in the same numbers.
UNSET = {"running_mean": 0.0, "running_var": 1.0, "weight": 1.0, "bias": 0.0}


def _per_channel(value: Any, field: str, channels: int) -> np.ndarray:
    if value is None:
        return np.full(channels, UNSET[field])
    v = float_array(value, field).astype(np.float64)
    if v.shape != (channels,):
        raise ParamError(
            field,
            f"{field} must have {channels} values (one per channel), got shape {list(v.shape)}",
        )
    return v


def batch_norm(
    input: Any,
    running_mean: Any = None,
    running_var: Any = None,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> BatchNormResult:
    """Normalise each channel of (C, H, W) or (N, C, H, W): (x - mean) / sqrt(var + eps) * w + b.

    Training uses the batch's mean and biased variance over (N, H, W); eval uses the
    running statistics (default 0 and 1, a fresh ``BatchNorm2d``'s).
    """
    x = float_array(input, "input")
    if x.ndim not in (3, 4):
        raise ParamError(
            "input", f"input must be (C, H, W) or (N, C, H, W), got shape {list(x.shape)}"
        )
    x4 = x[None] if x.ndim == 3 else x
    c = x4.shape[1]
    rm = _per_channel(running_mean, "running_mean", c)
    rv = _per_channel(running_var, "running_var", c)
    w = _per_channel(weight, "weight", c)
    b = _per_channel(bias, "bias", c)
    if eps <= 0:
        raise ParamError("eps", f"eps must be > 0, got {eps}")
    if np.any(rv < 0):
        raise ParamError("running_var", "running_var must be >= 0")
    axes = (0, 2, 3)
    count = x4.shape[0] * x4.shape[2] * x4.shape[3]
    if training:
        if count < 2:
            raise ParamError(
                "input",
                f"training batch norm needs more than 1 value per channel, "
                f"got input shape {list(x.shape)}",
            )
        mean = x4.mean(axis=axes, dtype=np.float64)
        var = x4.var(axis=axes, dtype=np.float64)
        new_rm = (1 - momentum) * rm + momentum * mean
        new_rv = (1 - momentum) * rv + momentum * var * count / (count - 1)
    else:
        mean, var, new_rm, new_rv = rm, rv, rm, rv
    scale = (1 / np.sqrt(var + eps)) * w  # PyTorch's fused form: x * alpha + beta
    shift = b - mean * scale
    out = x4 * scale[None, :, None, None].astype(x.dtype) + shift[None, :, None, None].astype(
        x.dtype
    )
    return BatchNormResult(out[0] if x.ndim == 3 else out, mean, var, new_rm, new_rv)


def dropout(
    input: Any, p: float = 0.5, training: bool = True, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Inverted dropout: zero each element with probability ``p``, scale the rest by 1/(1-p).

    The mask (1 = kept) comes from ``numpy.random.default_rng(seed)``, so a seed
    always gives the same mask. Returns ``(output, mask)``.
    """
    x = float_array(input, "input")
    if not 0 <= p <= 1:
        raise ParamError("p", f"p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x.copy(), np.ones(x.shape, dtype=x.dtype)
    keep = np.random.default_rng(seed).random(x.shape) >= p
    mask = keep.astype(x.dtype)
    if p == 1:
        return np.zeros_like(x), mask
    return x * mask / x.dtype.type(1 - p), mask
