"""Shared argument checks for the numeric core (private)."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.errors import ParamError


def float_array(x: Any, field: str) -> np.ndarray:
    """``x`` as a float32 or float64 array (other dtypes become float64)."""
    a = np.asarray(x)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    if a.size and not _all_finite(a):
        raise ParamError(field, f"{field} must hold finite numbers (no NaN or Infinity)")
    return a


_GEMV_MIN_SIZE = 1 << 14  # from this many values a BLAS row sum screens for non-finite ones


def _all_finite(a: np.ndarray) -> bool:
    """Whether every value of the float array ``a`` is finite.

    min and max are finite exactly when every value is (NaN propagates through both), and
    they need no temporary array, unlike isfinite(a).all(). A large C-contiguous array is
    first screened by one BLAS pass (row sums, ``a @ ones``) instead of two: a NaN or an
    infinity makes its row's sum non-finite, so finite sums prove every value finite; a
    non-finite sum may also be a finite row that overflowed, so min and max decide then.
    """
    if a.size >= _GEMV_MIN_SIZE and a.ndim and a.flags.c_contiguous:
        rows = a.reshape(-1, a.shape[-1])
        with np.errstate(over="ignore", invalid="ignore"):
            sums = rows @ np.ones(rows.shape[1], dtype=a.dtype)
        if np.isfinite(sums).all():
            return True
    return bool(np.isfinite(a.min()) and np.isfinite(a.max()))


def batched(x: np.ndarray, field: str) -> tuple[np.ndarray, bool]:
    """(C, H, W) -> (1, C, H, W); (N, C, H, W) stays. Returns the array and whether it grew."""
    if x.ndim == 3:
        return x[None], True
    if x.ndim == 4:
        return x, False
    raise ParamError(field, f"{field} must be (C, H, W) or (N, C, H, W), got shape {list(x.shape)}")


def check_groups(groups: Any, channels: int, filters: int) -> int:
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ParamError("groups", f"groups must be an int >= 1, got {groups!r}")
    if channels % groups or filters % groups:
        raise ParamError(
            "groups",
            f"groups ({groups}) must divide both the input channels ({channels}) "
            f"and the output channels ({filters})",
        )
    return groups


def bias_vector(bias: Any, filters: int, dtype: np.dtype) -> np.ndarray:
    """``None`` -> zeros; a number -> that number for every filter; ``[O]`` stays."""
    if bias is None:
        return np.zeros(filters, dtype=dtype)
    b = float_array(bias, "bias").astype(dtype, copy=False)
    if b.ndim == 0:
        return np.full(filters, b, dtype=dtype)
    if b.shape != (filters,):
        raise ParamError(
            "bias",
            f"bias must be a number or have {filters} values (one per "
            f"filter), got shape {list(b.shape)}",
        )
    return b


def conv_weight(weight: Any, channels: int, groups: Any, dtype: np.dtype) -> tuple[np.ndarray, int]:
    """A conv2d weight (O, C/groups, kh, kw) checked against the input's ``channels``.

    Returns the weight in ``dtype`` and the number of groups.
    """
    w = float_array(weight, "weight").astype(dtype, copy=False)
    if w.ndim != 4:
        raise ParamError(
            "weight", f"weight must be 4-D (O, C/groups, kh, kw), got shape {list(w.shape)}"
        )
    o, cg = w.shape[:2]
    g = check_groups(groups, channels, o)
    if cg * g != channels:
        raise ParamError(
            "weight",
            f"weight has {cg} input channels per filter but input has {channels} channels "
            f"in {g} group(s) ({channels // g} per group)",
        )
    return w, g
