"""Random small affine distortions of digit batches (training only), in numpy.

Each image is rotated by up to ``degrees``, scaled by ``1 ± scale`` and shifted by up
to ``shift`` pixels about its centre, then resampled bilinearly (outside is 0, black).
"""

from __future__ import annotations

import numpy as np


def random_affine(
    x: np.ndarray,
    rng: np.random.Generator,
    *,
    degrees: float = 12.0,
    scale: float = 0.1,
    shift: float = 2.0,
) -> np.ndarray:
    """x: (N, 1, H, W) -> (N, 1, H, W), each image with its own random transform."""
    n, _, h, w = x.shape
    theta = np.deg2rad(rng.uniform(-degrees, degrees, n))
    s = rng.uniform(1 - scale, 1 + scale, n)
    t = rng.uniform(-shift, shift, (n, 2))
    cy, cx = (h - 1) / 2, (w - 1) / 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # Inverse map: output pixel -> source position (rotate by -theta, divide by s)
    dy, dx = yy[None] - cy - t[:, 0, None, None], xx[None] - cx - t[:, 1, None, None]
    cos, sin = (np.cos(theta) / s)[:, None, None], (np.sin(theta) / s)[:, None, None]
    sy = cos * dy - sin * dx + cy  # (N, H, W)
    sx = sin * dy + cos * dx + cx
    y0, x0 = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
    fy, fx = (sy - y0).astype(np.float32), (sx - x0).astype(np.float32)
    img = x[:, 0]
    out = np.zeros((n, h, w), np.float32)
    batch = np.arange(n)[:, None, None]
    for oy, ox, weight in (
        (0, 0, (1 - fy) * (1 - fx)),
        (0, 1, (1 - fy) * fx),
        (1, 0, fy * (1 - fx)),
        (1, 1, fy * fx),
    ):
        r, c = y0 + oy, x0 + ox
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        out += np.where(inside, img[batch, np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)], 0) * weight
    return out[:, None]
