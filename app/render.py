"""Turn float feature maps into PNGs a person can read, with a stated colormap and range.

Colormaps (each a 256-entry uint8 lookup table; ``colormap_lut`` exports them so the
frontend can draw the same colour bar):

- ``"gray"``: black (0) to white (1), for images.
- ``"diverging"``: dark blue (most negative) - white (zero) - dark red (most positive),
  ColorBrewer's RdBu reversed, like matplotlib's ``"RdBu_r"``. Used with a symmetric
  range ``[-m, m]`` so zero is always white and negative values are visible, never
  clamped to black.
- ``"sequential"``: viridis-like, dark purple (low) - teal - yellow (high), for maps
  that are never negative.
- ``"rgb"`` (no table): a 3-channel map drawn as an RGB image; each channel value ``v``
  becomes the intensity ``(v - vmin) / (vmax - vmin)``.

A value ``v`` is drawn with entry ``rint((v - vmin) / (vmax - vmin) * 255)`` (clipped to
``0..255``). NaN is drawn as the value 0, ``+inf``/``-inf`` as the ends of the range.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal, NamedTuple

import numpy as np

from app.imaging import encode_png, png_data_url

__all__ = [
    "COLORMAP_ANCHORS",
    "Colorized",
    "colorize",
    "colormap_lut",
    "render_map",
    "render_png",
]

Kind = Literal["auto", "image", "diverging", "sequential"]
ColormapName = Literal["gray", "diverging", "sequential"]
Anchor = tuple[float, tuple[int, int, int]]

# Anchor colours: (position in [0, 1], (r, g, b)); entry i of a table sits at i / 255
# and is interpolated linearly per channel between anchors, then rounded.
#
# gray:        0.0 #000000, 1.0 #ffffff
# diverging:   0.0 #053061, 0.1 #2166ac, 0.2 #4393c3, 0.3 #92c5de, 0.4 #d1e5f0,
#              127/255 #ffffff, 128/255 #ffffff,
#              0.6 #fddbc7, 0.7 #f4a582, 0.8 #d6604d, 0.9 #b2182b, 1.0 #67001f
#              (entries 127 and 128 are both white, so zero, which falls at 127.5, is
#              white either way, and entry i mirrors entry 255 - i)
# sequential:  k / 9 for k = 0..9: #440154 #482878 #3e4989 #31688e #26828e
#              #1f9e89 #35b779 #6ece58 #b5de2b #fde725 (matplotlib viridis samples)
COLORMAP_ANCHORS: dict[str, tuple[Anchor, ...]] = {
    "gray": ((0.0, (0, 0, 0)), (1.0, (255, 255, 255))),
    "diverging": (
        (0.0, (5, 48, 97)),
        (0.1, (33, 102, 172)),
        (0.2, (67, 147, 195)),
        (0.3, (146, 197, 222)),
        (0.4, (209, 229, 240)),
        (127 / 255, (255, 255, 255)),
        (128 / 255, (255, 255, 255)),
        (0.6, (253, 219, 199)),
        (0.7, (244, 165, 130)),
        (0.8, (214, 96, 77)),
        (0.9, (178, 24, 43)),
        (1.0, (103, 0, 31)),
    ),
    "sequential": (
        (0 / 9, (68, 1, 84)),
        (1 / 9, (72, 40, 120)),
        (2 / 9, (62, 73, 137)),
        (3 / 9, (49, 104, 142)),
        (4 / 9, (38, 130, 142)),
        (5 / 9, (31, 158, 137)),
        (6 / 9, (53, 183, 121)),
        (7 / 9, (110, 206, 88)),
        (8 / 9, (181, 222, 43)),
        (9 / 9, (253, 231, 37)),
    ),
}


@cache
def _lut(name: str) -> np.ndarray:
    anchors = COLORMAP_ANCHORS[name]
    positions = np.array([pos for pos, _ in anchors])
    colors = np.array([rgb for _, rgb in anchors], dtype=np.float64)  # (anchors, 3)
    x = np.arange(256) / 255
    table = np.stack([np.interp(x, positions, colors[:, c]) for c in range(3)], axis=1)
    lut = np.rint(table).astype(np.uint8)  # (256, 3)
    lut.flags.writeable = False
    return lut


def colormap_lut(name: ColormapName) -> np.ndarray:
    """The ``(256, 3)`` uint8 lookup table of ``"gray"``, ``"diverging"`` or ``"sequential"``."""
    if name not in COLORMAP_ANCHORS:
        raise ValueError(f"unknown colormap {name!r}; expected one of {sorted(COLORMAP_ANCHORS)}")
    return _lut(name).copy()


class Colorized(NamedTuple):
    """Pixels ready for ``encode_png`` and the colour scale that made them."""

    pixels: np.ndarray  # uint8, (H, W) gray or (H, W, 3) RGB
    colormap: str  # "gray", "rgb", "diverging" or "sequential"
    vmin: float  # value drawn with the first colour
    vmax: float  # value drawn with the last colour


def _check(values: np.ndarray) -> np.ndarray:
    """Validate the shape and return a float array (ints and bools become float32)."""
    if not (values.ndim == 2 or (values.ndim == 3 and values.shape[0] in (1, 3))):
        raise ValueError(
            f"render needs a (H, W) map or a (1, H, W) / (3, H, W) image, got shape {values.shape}"
        )
    if values.shape[-1] < 1 or values.shape[-2] < 1:
        raise ValueError(f"render needs a non-empty map, got shape {values.shape}")
    if not np.issubdtype(values.dtype, np.floating):
        if not (np.issubdtype(values.dtype, np.number) or values.dtype == np.bool_):
            raise ValueError(f"render needs numbers, got dtype {values.dtype}")
        values = values.astype(np.float32)
    return values


def _finite_range(values: np.ndarray) -> tuple[float, float]:
    """Min and max of the finite values; ``(0, 0)`` when there are none."""
    lo, hi = float(values.min()), float(values.max())
    if np.isfinite(lo) and np.isfinite(hi):
        return lo, hi
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 0.0
    return float(finite.min()), float(finite.max())


def _to_index(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Values -> uint8 table indices ``rint((v - vmin) / (vmax - vmin) * 255)``, clipped."""
    scale = 255.0 / (vmax - vmin)
    with np.errstate(over="ignore", invalid="ignore"):
        t = (values - vmin) * scale  # a new float array, same shape
        np.nan_to_num(t, copy=False, nan=(0.0 - vmin) * scale, posinf=255.0, neginf=0.0)
        np.clip(t, 0.0, 255.0, out=t)
        np.rint(t, out=t)
    return t.astype(np.uint8)


def colorize(
    values: np.ndarray, *, kind: Kind = "auto", value_range: tuple[float, float] | None = None
) -> Colorized:
    """Map a ``(H, W)`` map or a ``(1|3, H, W)`` image to uint8 pixels with a stated range.

    ``kind``:

    - ``"image"``: values clipped to ``[0, 1]``; gray or RGB; ``vmin, vmax = 0, 1``.
    - ``"diverging"``: symmetric ``vmin, vmax = -m, m`` with ``m = max |values|``
      (``m = 1`` for an all-zero map); blue - white - red. On a 3-channel map, the
      same range drawn as RGB (zero is mid-gray).
    - ``"sequential"``: ``vmin, vmax`` = the data's min and max (``max = min + 1`` if
      they are equal); viridis-like. On a 3-channel map, the same range drawn as RGB.
    - ``"auto"``: a 3-channel map within ``[0, 1]`` is an ``"image"``; otherwise any
      negative value means ``"diverging"``, else ``"sequential"``.

    Only finite values set the range; non-finite values never raise.
    ``value_range`` (lo, hi) replaces the data's own range, so several maps (a layer)
    can share one colour scale.
    """
    arr = _check(np.asarray(values))
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]  # (1, H, W) -> (H, W)
    lo, hi = _finite_range(arr) if value_range is None else value_range
    if kind == "auto":
        if arr.ndim == 3 and lo >= 0.0 and hi <= 1.0:
            kind = "image"
        else:
            kind = "diverging" if lo < 0.0 else "sequential"

    if kind == "image":
        vmin, vmax = 0.0, 1.0
    elif kind == "diverging":
        m = max(abs(lo), abs(hi)) or 1.0
        vmin, vmax = -m, m
    elif kind == "sequential":
        vmin, vmax = (lo, hi) if hi > lo else (lo, lo + 1.0)
        if vmax <= vmin:  # |lo| so large (>= 2**53) that lo + 1 rounds back to lo
            vmax = vmin + abs(vmin)
    else:
        raise ValueError(f"kind must be 'auto', 'image', 'diverging' or 'sequential', got {kind!r}")

    index = _to_index(arr, vmin, vmax)
    if arr.ndim == 3:
        pixels = np.ascontiguousarray(index.transpose(1, 2, 0))  # (3, H, W) -> (H, W, 3)
        return Colorized(pixels, "rgb", vmin, vmax)
    if kind == "image":
        return Colorized(index, "gray", vmin, vmax)
    return Colorized(np.take(_lut(kind), index, axis=0), kind, vmin, vmax)  # (H, W, 3)


def render_map(
    values: np.ndarray, *, kind: Kind = "auto", value_range: tuple[float, float] | None = None
) -> dict[str, Any]:
    """Render a map as a PNG data URL with its colormap, value range and shape.

    Returns ``{"data_url", "colormap", "vmin", "vmax", "shape"}``: the colour bar runs
    from ``vmin`` (first colour) to ``vmax`` (last colour); ``shape`` is the input's.
    See ``colorize`` for the rules.
    """
    out = colorize(values, kind=kind, value_range=value_range)
    return {
        "data_url": png_data_url(out.pixels),
        "colormap": out.colormap,
        "vmin": out.vmin,
        "vmax": out.vmax,
        "shape": list(np.shape(values)),
    }


def render_png(values: np.ndarray, *, kind: Kind = "auto") -> bytes:
    """Render a map as PNG bytes (for ``?format=png``); see ``colorize``."""
    return encode_png(colorize(values, kind=kind).pixels)
