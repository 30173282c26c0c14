"""Assertions shared by the API tests."""

from typing import Any

import numpy as np


def assert_close(actual: Any, expected: Any) -> None:
    """Agree with the float64 reference to 1e-9 relative (of the largest magnitude)."""
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    assert actual.shape == expected.shape
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-12 * scale)


def detail_text(response: Any) -> str:
    """An error body's detail as one string: the message, or every ``loc`` and ``msg``."""
    detail = response.json()["detail"]
    if isinstance(detail, str):
        return detail
    return " ".join(" ".join(map(str, d["loc"])) + " " + d["msg"] for d in detail)
