"""Named preset kernels. Under cross-correlation (no flip), "x" kernels respond
positively where brightness rises to the right, "y" kernels where it rises downward."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    description: str
    values: tuple[tuple[float, ...], ...]

    def array(self) -> np.ndarray:
        return np.array(self.values, dtype=np.float64)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "values": [list(row) for row in self.values],
        }


def _scaled(rows: list[list[float]], divisor: float) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(v / divisor for v in row) for row in rows)


def _t(rows: list[list[float]]) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in rows)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "identity",
            "Identity",
            "Copies the image unchanged: only the centre tap is 1.",
            _t([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
        ),
        Preset(
            "box_blur",
            "Box blur",
            "Replaces each pixel by the plain mean of its 3x3 neighbourhood, softening detail.",
            _scaled([[1] * 3] * 3, 9),
        ),
        Preset(
            "gaussian_blur_3x3",
            "Gaussian blur 3x3",
            "A gentle blur that weights near "
            "neighbours more than far ones (binomial 1-2-1 weights).",
            _scaled([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 16),
        ),
        Preset(
            "gaussian_blur_5x5",
            "Gaussian blur 5x5",
            "A stronger, smoother blur over a 5x5 neighbourhood (binomial 1-4-6-4-1 weights).",
            _scaled([[a * b for b in (1, 4, 6, 4, 1)] for a in (1, 4, 6, 4, 1)], 256),
        ),
        Preset(
            "sharpen",
            "Sharpen",
            "Boosts each pixel against its four neighbours, making edges crisper.",
            _t([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
        ),
        Preset(
            "emboss",
            "Emboss",
            "Lights the image from the top left so it looks pressed into relief.",
            _t([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
        ),
        Preset(
            "outline",
            "Outline (Laplacian)",
            "Zero on flat areas and large wherever "
            "brightness changes in any direction: it outlines shapes.",
            _t([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
        ),
        Preset(
            "sobel_x",
            "Sobel x",
            "Finds vertical edges: positive where the image gets "
            "brighter to the right, negative where it gets darker.",
            _t([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
        ),
        Preset(
            "sobel_y",
            "Sobel y",
            "Finds horizontal edges: positive where the image gets brighter downward.",
            _t([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
        ),
        Preset(
            "prewitt_x",
            "Prewitt x",
            "Like Sobel x with equal row weights: a plain left-to-right brightness difference.",
            _t([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]),
        ),
        Preset(
            "prewitt_y",
            "Prewitt y",
            "Like Sobel y with equal column weights: a plain top-to-bottom brightness difference.",
            _t([[-1, -1, -1], [0, 0, 0], [1, 1, 1]]),
        ),
        Preset(
            "scharr_x",
            "Scharr x",
            "A vertical-edge finder tuned to respond equally to edges at every angle.",
            _t([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]),
        ),
        Preset(
            "scharr_y",
            "Scharr y",
            "A horizontal-edge finder tuned to respond equally to edges at every angle.",
            _t([[-3, -10, -3], [0, 0, 0], [3, 10, 3]]),
        ),
        Preset(
            "horizontal_edge",
            "Horizontal edge",
            "Top row minus bottom row: positive where a bright band sits above a dark one.",
            _t([[1, 1, 1], [0, 0, 0], [-1, -1, -1]]),
        ),
    ]
}


def unknown_preset(name: str) -> str:
    """The reason every path gives for a kernel name that is not a preset."""
    return f"{name!r} is not a preset kernel; known presets: {', '.join(PRESETS)}"
