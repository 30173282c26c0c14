"""Draw the sample images listed in ``app.samples.SAMPLES`` into ``static/samples/``.

Deterministic (fixed seeds), so running it again rewrites identical files::

    .venv/bin/python scripts/make_samples.py
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.samples import SAMPLES  # noqa: E402

OUT_DIR = ROOT / "static" / "samples"


def shapes(width: int, height: int) -> Image.Image:
    im = Image.new("RGB", (width, height), (200, 200, 200))
    d = ImageDraw.Draw(im)
    d.rectangle((20, 20, 110, 100), fill=(30, 30, 30))
    d.rectangle((140, 30, 236, 70), fill=(255, 255, 255), outline=(0, 0, 0), width=3)
    d.polygon([(40, 236), (120, 130), (160, 236)], fill=(200, 40, 40))
    d.ellipse((150, 100, 236, 186), fill=(40, 90, 200))
    d.line((170, 240, 245, 200), fill=(20, 140, 60), width=8)
    return im


def checkerboard(width: int, height: int) -> Image.Image:
    y, x = np.mgrid[0:height, 0:width]
    board = ((x // 32 + y // 32) % 2 == 0).astype(np.uint8) * 255  # (H, W)
    return Image.fromarray(board)


def text(width: int, height: int) -> Image.Image:
    im = Image.new("RGB", (width, height), (255, 255, 255))
    d = ImageDraw.Draw(im)
    lines = [(56, "Conv"), (36, "Scope 3x3"), (22, "edges & strokes"), (14, "the quick brown fox")]
    y = 12
    for size, words in lines:
        font = ImageFont.load_default(size=size)
        d.text((16, y), words, fill=(0, 0, 0), font=font)
        y += int(size * 1.35)
    d.text((16, y + 4), "jumps over the lazy dog", fill=(0, 0, 0), font=ImageFont.load_default(14))
    return im


def gradient(width: int, height: int) -> Image.Image:
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    ramp = x / (width - 1)  # (H, W) left to right
    r = np.hypot(x - width * 0.6, y - height * 0.4) / (0.6 * max(width, height))
    radial = np.clip(1.0 - r, 0.0, 1.0)
    rgb = np.stack([0.3 + 0.7 * radial, 0.2 + 0.6 * ramp, 1.0 - 0.8 * ramp * radial], axis=-1)
    return Image.fromarray(np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8))


def scene(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(7)
    horizon = int(height * 0.62)
    # Sky: deep blue at the top to pale near the horizon.
    t = np.linspace(0.0, 1.0, horizon)[:, None]
    top, low = np.array([60, 110, 190]), np.array([200, 225, 245])
    sky = (top + (low - top) * t[..., None]).repeat(width, axis=1)  # (horizon, W, 3)
    canvas = np.zeros((height, width, 3))
    canvas[:horizon] = sky
    canvas[horizon:] = (70, 130, 60)
    im = Image.fromarray(canvas.astype(np.uint8))
    d = ImageDraw.Draw(im)
    d.ellipse((238, 22, 288, 72), fill=(255, 220, 110))  # sun
    # Far and near hills as filled sine curves.
    for base, amp, freq, phase, colour in (
        (horizon - 10, 22, 1.7, 0.4, (95, 140, 110)),
        (horizon + 12, 16, 2.6, 2.0, (60, 115, 50)),
    ):
        pts = [(x, base - amp * math.sin(freq * math.pi * x / width + phase)) for x in range(width)]
        d.polygon([*pts, (width, height), (0, height)], fill=colour)
    # House: wall, roof, door, windows.
    d.rectangle((60, 128, 140, 188), fill=(225, 205, 170), outline=(90, 60, 40), width=2)
    d.polygon([(52, 130), (100, 92), (148, 130)], fill=(150, 45, 40))
    d.rectangle((90, 152, 110, 188), fill=(100, 65, 40))
    d.rectangle((68, 142, 84, 158), fill=(120, 170, 220), outline=(255, 255, 255), width=2)
    d.rectangle((116, 142, 132, 158), fill=(120, 170, 220), outline=(255, 255, 255), width=2)
    # Tree.
    d.rectangle((206, 150, 214, 196), fill=(90, 60, 35))
    d.ellipse((186, 112, 234, 162), fill=(40, 100, 45))
    # Path to the door.
    d.polygon([(92, 189), (108, 189), (130, 240), (70, 240)], fill=(180, 160, 120))
    im = im.filter(ImageFilter.GaussianBlur(0.6))
    noisy = np.asarray(im, dtype=np.float64) + rng.normal(0.0, 3.0, (height, width, 3))
    return Image.fromarray(np.rint(np.clip(noisy, 0, 255)).astype(np.uint8))


def stripes(width: int, height: int) -> Image.Image:
    y, x = np.mgrid[0:height, 0:width]
    out = np.zeros((height, width), dtype=np.uint8)
    half_w, half_h = width // 2, height // 2
    vertical = (x // 4) % 2 == 0  # top left: thin vertical stripes
    horizontal = (y // 8) % 2 == 0  # top right: wider horizontal stripes
    diagonal = ((x + y) // 12) % 2 == 0  # bottom left: 45 degrees
    ring = (np.hypot(x - 0.75 * width, y - 0.75 * height).astype(int) // 6) % 2 == 0
    quadrants = (
        (slice(0, half_h), slice(0, half_w), vertical),
        (slice(0, half_h), slice(half_w, width), horizontal),
        (slice(half_h, height), slice(0, half_w), diagonal),
        (slice(half_h, height), slice(half_w, width), ring),
    )
    for rows, cols, mask in quadrants:
        out[rows, cols] = np.where(mask[rows, cols], 235, 25)
    return Image.fromarray(out)


DRAWERS: dict[str, Callable[[int, int], Image.Image]] = {
    "shapes": shapes,
    "checkerboard": checkerboard,
    "text": text,
    "gradient": gradient,
    "scene": scene,
    "stripes": stripes,
}


def main(out_dir: Path = OUT_DIR) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for sample in SAMPLES:
        im = DRAWERS[sample["name"]](sample["width"], sample["height"])
        if im.size != (sample["width"], sample["height"]):
            raise SystemExit(
                f"{sample['name']}: drew {im.size}, catalogue says "
                f"{sample['width']}x{sample['height']}"
            )
        path = out_dir / f"{sample['name']}.png"
        im.save(path, format="PNG", optimize=True)
        print(f"{path}: {im.size[0]}x{im.size[1]}, {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
