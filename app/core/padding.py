"""Padding the last two axes, as ``torch.nn.functional.pad`` does.

Modes, shown on one row ``a b c d`` padded by 2 on each side::

    zeros:      0 0 | a b c d | 0 0
    reflect:    c b | a b c d | c b      (edge not repeated; pad < size)
    replicate:  a a | a b c d | d d
    circular:   c d | a b c d | a b      (pad <= size)
"""

from __future__ import annotations

import numpy as np

from app.core.geometry import PADDING_MODES, Padding4
from app.errors import ParamError

_NUMPY_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def check_padding_mode(mode: str, padding: Padding4, size: tuple[int, int]) -> None:
    """Raise if PyTorch would refuse ``padding`` in ``mode`` for an input of ``size``."""
    if mode not in PADDING_MODES:
        raise ParamError(
            "padding_mode", f"padding_mode must be one of {list(PADDING_MODES)}, got {mode!r}"
        )
    h, w = size
    sides = (
        ("top", padding[0], h),
        ("bottom", padding[1], h),
        ("left", padding[2], w),
        ("right", padding[3], w),
    )
    for side, p, n in sides:
        if mode == "reflect" and p >= n:
            raise ParamError(
                "padding",
                f"reflect padding ({side} {p}) must be smaller than "
                f"the input size on that axis ({n})",
            )
        if mode == "circular" and p > n:
            raise ParamError(
                "padding",
                f"circular padding ({side} {p}) must be at most the input size on that axis ({n})",
            )


def pad(x: np.ndarray, padding: Padding4, mode: str = "zeros", value: float = 0.0) -> np.ndarray:
    """Pad the last two axes of ``x`` by ``(top, bottom, left, right)``."""
    check_padding_mode(mode, padding, (x.shape[-2], x.shape[-1]))
    if not any(padding):
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [(padding[0], padding[1]), (padding[2], padding[3])]
    if mode == "zeros":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=_NUMPY_MODE[mode])  # type: ignore[call-overload]
