"""Turn float feature maps into PNGs a person can read, by one stable colour rule.

The rule (``COLOR_RULE``, served by ``GET /api/v1/colormaps``):

- The input image is drawn ``"gray"`` (1 channel) or ``"rgb"`` (3 channels) over the
  scale 0 ... 1: black is 0, white is 1; values outside are clipped.
- EVERY computed map (a conv, pool, activation, norm or dropout output; each channel
  its own map) is drawn ``"diverging"``: dark blue (most negative) - white (zero) - dark
  red (most positive), ColorBrewer's RdBu reversed, over a symmetric scale ``[-m, m]``
  with ``m`` = the largest ``|value|`` of the map (or of its layer, when maps share a
  scale), and ``m = 1`` when the map is all zero. So zero is always white, a colour
  never depends on the data's sign, and negative values are never clamped to black.

A value ``v`` is drawn with entry ``rint((v - vmin) / (vmax - vmin) * 255)`` of a
256-entry lookup table (clipped to ``0..255``). NaN is drawn as 0, ``+inf``/``-inf`` as
the ends of the scale. ``vmin``/``vmax`` are the scale's ends; ``min``/``max`` the data's
true (finite) extremes, reported beside them.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal, NamedTuple

import numpy as np

from app.imaging import encode_png, png_data_url

__all__ = [
    "COLORMAP_ANCHORS",
    "COLORMAP_DESCRIPTIONS",
    "COLOR_RULE",
    "Colorized",
    "colorize",
    "colormap_lut",
    "render_map",
    "render_pixels",
    "render_png",
]

Kind = Literal["image", "diverging"]
ColormapName = Literal["gray", "diverging"]

COLOR_RULE = (
    "The input image is drawn in gray (one channel) or in colour (three channels, RGB) "
    "over the scale 0 to 1: black is 0, white is 1. Every computed map (the output of a "
    "convolution, pooling, activation, batch norm or dropout, each channel its own map) "
    "is drawn with the diverging palette: blue for negative values, white for zero, red "
    "for positive values, over a symmetric scale from -m to m, where m is the largest "
    "absolute value of the map (or of the whole layer when its maps share one scale), and "
    "m = 1 when the map is all zero. The deeper the colour, the further from zero; the "
    "same number gets the same colour on every page for a given scale. Numbers in cells "
    "are tinted by their own value with the same diverging palette on a stated scale."
)
COLORMAP_DESCRIPTIONS: dict[str, str] = {
    "gray": "Black (0) to white (1): input images with one channel.",
    "diverging": "Dark blue (-m) through white (0) to dark red (+m), ColorBrewer's RdBu "
    "reversed: every computed map, on a symmetric scale.",
}
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
    """The ``(256, 3)`` uint8 lookup table of ``"gray"`` or ``"diverging"``."""
    if name not in COLORMAP_ANCHORS:
        raise ValueError(f"unknown colormap {name!r}; expected one of {sorted(COLORMAP_ANCHORS)}")
    return _lut(name).copy()


class Colorized(NamedTuple):
    """Pixels ready for ``encode_png`` and the colour scale that made them."""

    pixels: np.ndarray  # uint8, (H, W) gray or (H, W, 3) RGB
    colormap: str  # "gray", "rgb" or "diverging"
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


Range = tuple[float | None, float | None]


def _to_index(
    values: np.ndarray, vmin: float, vmax: float, *, known: Range | None = None
) -> np.ndarray:
    """Values -> uint8 table indices ``rint((v - vmin) / (vmax - vmin) * 255)``, clipped.

    A ``(3, H, W)`` image comes out ``(H, W, 3)``, transposed in the first pass. ``known``
    is the values' finite ``(min, max)`` when the caller has it: then the NaN pass is
    skipped (finite values give no NaN; an overflow to +-inf is clipped like any other).
    """
    scale = 255.0 / (vmax - vmin)
    source = values.transpose(1, 2, 0) if values.ndim == 3 else values
    t = np.empty(source.shape, values.dtype)
    finite = known is not None and known[0] is not None
    with np.errstate(over="ignore", invalid="ignore"):
        np.subtract(source, vmin, out=t)
        t *= scale
        if not finite:
            np.nan_to_num(t, copy=False, nan=(0.0 - vmin) * scale, posinf=255.0, neginf=0.0)
        np.clip(t, 0.0, 255.0, out=t)
        np.rint(t, out=t)
    return t.astype(np.uint8)


class _Indexed(NamedTuple):
    indices: np.ndarray  # uint8: (H, W) gray or table indices, (H, W, 3) RGB
    palette: np.ndarray | None  # the (256, 3) table for a diverging map
    colormap: str
    vmin: float
    vmax: float


def _indexed(values: np.ndarray, kind: Kind, scale: float | None, known: Range | None) -> _Indexed:
    arr = _check(np.asarray(values))
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]  # (1, H, W) -> (H, W)
    if kind == "image":
        colormap = "rgb" if arr.ndim == 3 else "gray"
        return _Indexed(_to_index(arr, 0.0, 1.0, known=known), None, colormap, 0.0, 1.0)
    if kind != "diverging":
        raise ValueError(f"kind must be 'image' or 'diverging', got {kind!r}")
    if arr.ndim != 2:
        raise ValueError(
            f"a computed map is drawn one channel at a time: need (H, W), got {values.shape}"
        )
    if scale is None:
        lo, hi = known if known is not None else data_range(arr)
        scale = max(abs(lo or 0.0), abs(hi or 0.0))
    m = float(scale) or 1.0
    index = _to_index(arr, -m, m, known=known)
    return _Indexed(index, _lut("diverging"), "diverging", -m, m)


def colorize(values: np.ndarray, *, kind: Kind, scale: float | None = None) -> Colorized:
    """Map a ``(H, W)`` map or a ``(1|3, H, W)`` image to uint8 pixels by the colour rule.

    ``kind``:

    - ``"image"``: an input image, ``(H, W)``, ``(1, H, W)`` (gray) or ``(3, H, W)``
      (RGB), clipped to ``[0, 1]``; ``vmin, vmax = 0, 1``.
    - ``"diverging"``: one computed map ``(H, W)``; ``vmin, vmax = -m, m`` with ``m`` =
      ``scale`` if given (a layer's shared scale), else the map's largest finite
      ``|value|``; ``m = 1`` when that is 0.

    Non-finite values never raise.
    """
    out = _indexed(values, kind, scale, None)
    pixels = out.indices if out.palette is None else np.take(out.palette, out.indices, axis=0)
    return Colorized(pixels, out.colormap, out.vmin, out.vmax)


def data_range(values: np.ndarray) -> Range:
    """The true minimum and maximum of the finite values; ``(None, None)`` if none is."""
    return _extremes(values)[0]


def _extremes(values: np.ndarray) -> tuple[Range, bool]:
    """``data_range`` and whether every value is finite (one min and one max pass when so)."""
    arr = np.asarray(values)
    if arr.size == 0:
        return (None, None), True
    lo, hi = float(arr.min()), float(arr.max())  # NaN propagates, inf is an extreme
    if np.isfinite(lo) and np.isfinite(hi):
        return (lo, hi), True
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return (None, None), False
    return (float(finite.min()), float(finite.max())), False


def render_map(
    values: np.ndarray,
    *,
    kind: Kind,
    scale: float | None = None,
    known: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Render a map as a PNG data URL with its colormap, colour scale, data range and shape.

    Returns ``{"data_url", "colormap", "vmin", "vmax", "min", "max", "shape"}``: the colour
    bar runs from ``vmin`` (first colour) to ``vmax`` (last colour); ``min``/``max`` are the
    data's true finite extremes (``None`` when none is finite); ``shape`` is the input's.
    A diverging map is an indexed PNG whose palette is the diverging table. ``known`` is
    the map's ``(min, max)`` when the caller already found them finite (no scan repeated).
    See ``colorize`` for the rule.
    """
    if known is None:
        (lo, hi), finite = _extremes(values)
    else:
        (lo, hi), finite = known, True
    out = _indexed(values, kind, scale, (lo, hi) if finite else None)
    return {
        "data_url": png_data_url(out.indices, out.palette),
        "colormap": out.colormap,
        "vmin": out.vmin,
        "vmax": out.vmax,
        "min": lo,
        "max": hi,
        "shape": list(np.shape(values)),
    }


def render_pixels(pixels: np.ndarray, channels: int | None = None) -> dict[str, Any]:
    """``render_map(values, kind="image")`` for decoded pixels (see ``DecodedImage``), encoded
    as they are (no trip through floats): uint8 ``(H, W)`` gray or ``(H, W, 3)`` RGB, or
    uint16 ``(H, W)`` gray standing for ``channels`` equal channels; ``shape`` is the
    values' (``(H, W)`` or ``(3, H, W)``)."""
    full = np.float32(np.iinfo(pixels.dtype).max)  # 255 or 65535: the value 1
    channels = channels or (1 if pixels.ndim == 2 else 3)
    h, w = pixels.shape[:2]
    return {
        "data_url": png_data_url(pixels),
        "colormap": "gray" if channels == 1 else "rgb",
        "vmin": 0.0,
        "vmax": 1.0,
        "min": float(np.float32(pixels.min()) / full),
        "max": float(np.float32(pixels.max()) / full),
        "shape": [h, w] if channels == 1 else [channels, h, w],
    }


def render_png(values: np.ndarray, *, kind: Kind) -> bytes:
    """Render a map as PNG bytes (for ``?format=png``); see ``colorize``."""
    out = _indexed(values, kind, None, None)
    return encode_png(out.indices, out.palette)
