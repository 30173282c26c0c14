"""Sample images the app ships, so the visualizer works with no upload.

The PNGs in ``static/samples/`` are drawn by ``scripts/make_samples.py`` (made by the
project itself, MIT like the code); this list is their catalogue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.config import get_settings

__all__ = ["SAMPLES", "sample_path"]


def _sample(name: str, label: str, description: str, width: int, height: int) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "description": description,
        "url": f"/static/samples/{name}.png",
        "width": width,
        "height": height,
    }


SAMPLES: list[dict[str, Any]] = [
    _sample(
        "shapes",
        "Shapes",
        "Flat shapes on gray: rectangles, a triangle, a circle and a thick line, "
        "so edge filters show straight, diagonal and curved edges.",
        256,
        256,
    ),
    _sample(
        "checkerboard",
        "Checkerboard",
        "A 32-pixel black and white checkerboard: strong horizontal and vertical "
        "edges and corners.",
        256,
        256,
    ),
    _sample(
        "text",
        "Text",
        "Black text in a few sizes on white: thin strokes and fine detail.",
        320,
        240,
    ),
    _sample(
        "gradient",
        "Gradient",
        "A smooth radial gradient over a horizontal ramp: where derivatives are "
        "small and constant.",
        256,
        256,
    ),
    _sample(
        "scene",
        "Scene",
        "A synthetic landscape with sky, sun, hills, a house, a tree and a little "
        "noise, like a photo.",
        320,
        240,
    ),
    _sample(
        "stripes",
        "Stripes",
        "Stripes at 0, 45 and 90 degrees and of several widths: orientation and "
        "frequency for pooling and strides.",
        256,
        256,
    ),
]

_BY_NAME = {sample["name"]: sample for sample in SAMPLES}


def sample_path(name: str) -> Path:
    """Path of the sample's PNG file; ``KeyError`` for an unknown name."""
    if name not in _BY_NAME:
        raise KeyError(unknown_sample(name))
    return get_settings().static_dir / "samples" / f"{name}.png"


def unknown_sample(name: str) -> str:
    """The reason every path gives for a sample name that is not bundled."""
    return f"{name!r} is not a bundled sample; known samples: {', '.join(_BY_NAME)}"
