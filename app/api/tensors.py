"""JSON nested lists <-> numpy arrays at the API boundary, within the size limits."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.config import Settings
from app.errors import ParamError
from app.limits import check, check_elements


def to_array(data: Any, field: str, settings: Settings) -> np.ndarray:
    """Nested lists (already checked to be finite numbers) -> float64 array; ragged -> 422."""
    try:
        a = np.array(data, dtype=np.float64)
    except ValueError:
        raise ParamError(
            field, f"{field} must be rectangular: every row needs the same length"
        ) from None
    check_elements(settings, field, a.size)
    check(settings, "max_side", max(a.shape, default=0), field=field, what="side")
    return a


def to_list(a: np.ndarray, field: str = "output") -> list[Any]:
    """A finite array -> nested lists; an overflow to inf is the client's numbers' doing."""
    if not np.all(np.isfinite(a)):
        raise ParamError(field, f"{field} overflows float64 (the inputs are too large)")
    return a.tolist()
