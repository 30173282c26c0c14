"""The digits model's pieces: preprocessing a photo the MNIST way, reproducible training."""

from __future__ import annotations

import subprocess
import sys
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from app.core import cross_entropy
from app.errors import ParamError
from app.models import digits as service
from app.models.data import load_split
from app.models.network import Architecture, forward, init_params, predict
from app.models.preprocess import mnist_style
from app.models.train import Adam, train_epoch

ROOT = Path(__file__).resolve().parents[2]


def test_a_photo_of_a_held_out_digit_is_recognised_after_preprocessing() -> None:
    """Dark-on-light, 5x larger and off-centre in a bigger frame: preprocessing must bring
    20 held-out digits of each class back to what the model knows."""
    split, model = load_split(), service.digits_model()
    picks = np.concatenate([np.flatnonzero(split.test_labels == d)[:20] for d in range(10)])
    photos = []
    for k, i in enumerate(picks):
        frame = np.ones((200, 260))
        digit = 1.0 - np.kron(split.test_images[i, 0], np.ones((5, 5)))  # 140 x 140
        top, left = 10 + k % 40, 30 + (3 * k) % 80
        frame[top : top + 140, left : left + 140] = digit
        photos.append(mnist_style(frame))
    x = np.stack(photos)[:, None]
    assert x.shape == (200, 1, 28, 28) and x.min() >= 0 and x.max() <= 1
    accuracy = (predict(model.arch, model.params, x).argmax(1) == split.test_labels[picks]).mean()
    assert accuracy >= 0.95


def test_blank_image_is_refused_naming_the_field() -> None:
    with pytest.raises(ParamError, match="image: the drawing is blank"):
        mnist_style(np.full((40, 40), 0.9), "image")


def test_training_is_reproducible_from_its_seed_and_learns() -> None:
    """96 digits, batch 16, augmented: the same seed gives the same losses step for step,
    another seed another first loss, and 12 steps lower the loss on those same 96 digits
    (measured before and after on the fixed set, not on moving mini-batches)."""
    split = load_split()
    subset = np.random.default_rng(1).permutation(len(split.train_labels))[:96]
    images, labels = split.train_images[subset], split.train_labels[subset]
    arch = Architecture(widths=(4, 4, 8, 8))

    def fixed_set_loss(params: dict[str, np.ndarray]) -> float:
        return float(cross_entropy(forward(arch, params, images).logits, labels))

    def run(seed: int, steps: int) -> tuple[list[float], dict[str, np.ndarray], float]:
        gen = np.random.default_rng(seed)
        params = init_params(arch, gen)
        before = fixed_set_loss(params)
        optimizer = Adam(params, lr=1e-2)
        epochs = (
            step
            for _ in range(steps)  # more epochs than needed; islice stops after `steps` steps
            for step in train_epoch(
                arch, params, optimizer, images, labels, gen, batch_size=16, augment=True
            )
        )
        return [s.loss for s in islice(epochs, steps)], params, before

    first, trained, before = run(3, 12)
    assert len(first) == 12
    again, _, _ = run(3, 6)  # train_epoch is lazy: only 6 steps run
    assert again == first[:6]
    other, _, _ = run(4, 1)
    assert other[0] != first[0]
    assert fixed_set_loss(trained) < before - 0.03  # it learns: 2.30 -> about 2.24


def test_bench_models_quick_prints_its_lines() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_models.py"), "--quick", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("predict (forward + all maps + trace)") and lines[0].endswith("ms")
    ratios = [line for line in lines if "numpy/torch (1 thread(s))" in line]
    assert len(ratios) == 2 and all(line.endswith("x") for line in ratios)
    assert ratios[0].startswith("train endpoint defaults: epoch of 640 digits, batch 32")
