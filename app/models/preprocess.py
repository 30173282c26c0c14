"""Turn an uploaded picture (gray, any size) into the 28x28 input the network reads.

Two ways, one registry (``PREPROCESS``), chosen by the ``preprocess`` field of an upload:

``"digit"`` (the default), the MNIST way (LeCun et al.): white digit on black; the
digit's bounding box scaled (aspect kept) to fit 20x20, then placed in 28x28 so its
centre of mass is the centre. From a gray image in [0, 1]:

1. invert when the background is light (the border's median above 0.5);
2. treat values below ``INK`` (after subtracting the background level) as background;
3. crop to the ink's bounding box, pad it to a square, and area-resample it to 20x20;
4. shift it inside 28x28 (whole pixels) so the centre of mass lands on (14, 14).

``"fit"``, for pictures that are not digits (objects held to a webcam, photos): step 1
only, then the whole picture area-resampled (aspect kept) so its longer side is 28 and
placed in the middle of a black 28x28 (offset ``(28 - side) // 2``); no threshold, no
crop, no rescaling of the values, no centring by mass.

Area-resampling: each output pixel is the mean of the input area it covers (for whole
ratios, PIL's ``Image.resize(..., BOX)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.errors import ParamError

INK = 0.2  # minimum ink level (0..1, above the background) a pixel needs to count
BOX = 20  # the digit's longest side after scaling
SIDE = 28

Preprocess = Literal["digit", "fit"]


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights that average each output cell's share of the input cells."""
    edges = np.linspace(0, n_in, n_out + 1)
    cells = np.arange(n_in)
    lo = np.maximum(edges[:-1, None], cells[None, :])
    hi = np.minimum(edges[1:, None], cells[None, :] + 1)
    overlap = np.clip(hi - lo, 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def _border(g: np.ndarray) -> np.ndarray:
    return np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])


def white_on_black(gray: np.ndarray) -> np.ndarray:
    """float64 copy of ``gray``, inverted when its border's median is above 0.5."""
    g = gray.astype(np.float64)
    return 1.0 - g if np.median(_border(g)) > 0.5 else g


def mnist_style(gray: np.ndarray, field: str = "image") -> np.ndarray:
    """(H, W) gray in [0, 1] -> (28, 28) float32 white-on-black digit, centred by mass.

    Raises ``ParamError(field)`` when there is no ink (a blank drawing).
    """
    g = white_on_black(gray)
    g = np.clip(g - np.median(_border(g)), 0, 1)
    ink = g >= INK
    if not ink.any():
        raise ParamError(field, f"{field}: the drawing is blank (no ink found)")
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = np.where(g >= INK / 2, g, 0.0)[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    side = max(h, w)
    square = np.zeros((side, side))
    square[(side - h) // 2 : (side - h) // 2 + h, (side - w) // 2 : (side - w) // 2 + w] = crop
    m = _area_matrix(side, BOX)
    small = m @ square @ m.T  # (20, 20), each cell the mean of its footprint
    small /= small.max()
    out = np.zeros((SIDE, SIDE))
    total = small.sum()
    yy, xx = np.mgrid[0:BOX, 0:BOX]
    cy, cx = (small * yy).sum() / total, (small * xx).sum() / total
    top = int(np.clip(round(SIDE / 2 - 0.5 - cy), 0, SIDE - BOX))
    left = int(np.clip(round(SIDE / 2 - 0.5 - cx), 0, SIDE - BOX))
    out[top : top + BOX, left : left + BOX] = small
    return out.astype(np.float32)


def fit(gray: np.ndarray, field: str = "image") -> np.ndarray:
    """(H, W) gray in [0, 1] -> (28, 28) float32: white on black, the whole picture
    area-resampled to a longer side of 28 (aspect kept) in the middle of black.

    Raises ``ParamError(field)`` when the result is all black.
    """
    g = white_on_black(gray)
    h, w = g.shape
    oh = max(1, round(h * SIDE / max(h, w)))
    ow = max(1, round(w * SIDE / max(h, w)))
    small = _area_matrix(h, oh) @ g @ _area_matrix(w, ow).T
    out = np.zeros((SIDE, SIDE))
    top, left = (SIDE - oh) // 2, (SIDE - ow) // 2
    out[top : top + oh, left : left + ow] = small
    if not (out > 0).any():
        raise ParamError(field, f"{field}: the picture is blank (all black after preprocessing)")
    return out.astype(np.float32)


@dataclass(frozen=True)
class Way:
    run: Callable[[np.ndarray, str], np.ndarray]
    description: str


PREPROCESS: dict[Preprocess, Way] = {
    "digit": Way(
        mnist_style,
        "The MNIST way: inverted if the background is light, cropped to the ink, scaled "
        "to 20x20 and centred by mass in 28x28 (for digits and drawings).",
    ),
    "fit": Way(
        fit,
        "The whole picture: inverted if the background is light, scaled (aspect kept) so "
        "its longer side is 28, in the middle of black 28x28; no crop, no centring by mass "
        "(for objects and photos).",
    ),
}
DEFAULT: Preprocess = "digit"


def choose(way: str | None) -> Preprocess:
    """The named way (``DEFAULT`` when None or empty); ``ParamError("preprocess")`` else."""
    if way is None or way == "":
        return DEFAULT
    if way not in PREPROCESS:
        known = ", ".join(repr(k) for k in PREPROCESS)
        raise ParamError("preprocess", f"preprocess: must be one of {known}; got {way!r}")
    return way


def preprocess(gray: np.ndarray, way: Preprocess = DEFAULT, field: str = "image") -> np.ndarray:
    """``gray`` (H, W) in [0, 1] -> the (28, 28) float32 input, the ``way`` named."""
    return PREPROCESS[way].run(gray, field)
