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


def source_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each position of an axis of length ``n`` padded by ``before`` and ``after``, the
    input index it copies, or -1 where ``mode`` is "zeros" and the position is padding."""
    i = np.arange(-before, n + after)
    if mode == "zeros":
        return np.where((i >= 0) & (i < n), i, -1)
    if mode == "reflect":  # padding < n: one reflection at most
        i = np.abs(i)
        return np.where(i >= n, 2 * (n - 1) - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    return i % n  # circular


def pad_rows(
    x: np.ndarray,
    padding: Padding4,
    mode: str,
    start: int,
    out: np.ndarray,
    value: float = 0.0,
) -> np.ndarray:
    """Rows ``start`` .. ``start + out.shape[-2] - 1`` of ``pad(x, padding, mode, value)``,
    written into ``out`` (…, rows, W + left + right), without padding the whole of ``x``.

    The mode has been checked (``check_padding_mode``). Returns ``out``.
    """
    top, bottom, left, right = padding
    h, w = x.shape[-2], x.shape[-1]
    rows = source_index(h, top, bottom, mode)[start : start + out.shape[-2]]
    inner = out[..., left : left + w]
    if mode == "zeros":
        valid = np.flatnonzero(rows >= 0)
        if valid.size < rows.size:
            out[..., rows < 0, :] = value
        if valid.size:  # the input rows in this block are consecutive
            lo, hi = valid[0], valid[-1] + 1
            inner[..., lo:hi, :] = x[..., rows[lo] : rows[lo] + hi - lo, :]
            out[..., lo:hi, :left] = value
            out[..., lo:hi, left + w :] = value
        return out
    if rows.size and rows[-1] - rows[0] == rows.size - 1 and (np.diff(rows) == 1).all():
        inner[...] = x[..., rows[0] : rows[-1] + 1, :]
    else:  # a block at the top or bottom edge
        inner[...] = x[..., rows, :]
    cols = source_index(w, left, right, mode)
    if left:
        out[..., :left] = inner[..., cols[:left]]
    if right:
        out[..., left + w :] = inner[..., cols[left + w :]]
    return out


def pad(x: np.ndarray, padding: Padding4, mode: str = "zeros", value: float = 0.0) -> np.ndarray:
    """Pad the last two axes of ``x`` by ``(top, bottom, left, right)``."""
    check_padding_mode(mode, padding, (x.shape[-2], x.shape[-1]))
    if not any(padding):
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [(padding[0], padding[1]), (padding[2], padding[3])]
    if mode == "zeros":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=_NUMPY_MODE[mode])  # type: ignore[call-overload]
