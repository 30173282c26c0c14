"""Turn a drawing or a photo of one handwritten digit into an MNIST-style 28x28 input.

The MNIST way (LeCun et al.): white digit on black; the digit's bounding box scaled
(aspect kept) to fit 20x20, then placed in 28x28 so its centre of mass is the centre.
Here, from a gray image in [0, 1]:

1. invert when the background is light (the border's median above 0.5);
2. treat values below ``INK`` (after subtracting the background level) as background;
3. crop to the ink's bounding box, pad it to a square, and area-resample it to 20x20;
4. shift it inside 28x28 (whole pixels) so the centre of mass lands on (14, 14).
"""

from __future__ import annotations

import numpy as np

from app.errors import ParamError

INK = 0.2  # minimum ink level (0..1, above the background) a pixel needs to count
BOX = 20  # the digit's longest side after scaling
SIDE = 28


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights that average each output cell's share of the input cells."""
    edges = np.linspace(0, n_in, n_out + 1)
    cells = np.arange(n_in)
    lo = np.maximum(edges[:-1, None], cells[None, :])
    hi = np.minimum(edges[1:, None], cells[None, :] + 1)
    overlap = np.clip(hi - lo, 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def mnist_style(gray: np.ndarray, field: str = "image") -> np.ndarray:
    """(H, W) gray in [0, 1] -> (28, 28) float32 white-on-black digit, centred by mass.

    Raises ``ParamError(field)`` when there is no ink (a blank drawing).
    """
    g = gray.astype(np.float64)
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    if np.median(border) > 0.5:
        g = 1.0 - g
    g = np.clip(g - np.median(np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])), 0, 1)
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
