"""Made-up classes of simple drawings for the teach tests: crosses, filled squares and
triangles at random positions and sizes, 28x28 white on black."""

from __future__ import annotations

import numpy as np

SHAPES = ("cross", "square", "triangle")


def draw(kind: str, rng: np.random.Generator) -> np.ndarray:
    """One 28x28 float32 drawing of ``kind`` with a random size (8..18) and position."""
    side = int(rng.integers(8, 19))
    top, left = (int(v) for v in rng.integers(1, 28 - side, size=2))
    x = np.zeros((28, 28), np.float32)
    rows, cols = np.mgrid[0:side, 0:side]
    if kind == "cross":  # both diagonals, two pixels thick
        mask = (np.abs(rows - cols) <= 1) | (np.abs(rows + cols - (side - 1)) <= 1)
    elif kind == "square":
        mask = np.ones((side, side), bool)
    else:  # a filled triangle: apex at the top centre, base at the bottom
        mask = np.abs(cols - (side - 1) / 2) <= rows / 2 + 0.5
    x[top : top + side, left : left + side][mask] = 1.0
    return x


def examples(per_class: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [
        {"label": kind, "input": draw(kind, rng).tolist()}
        for kind in SHAPES
        for _ in range(per_class)
    ]
