"""Training the digits architecture in numpy: optimizers, one epoch, evaluation.

The loop is a generator of ``Step`` records so a caller (a script, or a streaming
endpoint) decides how often to report and when to stop.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from app.core.loss import cross_entropy
from app.core.nn import cross_entropy_backward
from app.models.augment import random_affine
from app.models.network import Architecture, Params, backward, forward, predict


class SGD:
    """``torch.optim.SGD`` with momentum: ``v = momentum * v + g; p -= lr * v``."""

    def __init__(self, params: Params, lr: float = 0.05, momentum: float = 0.9) -> None:
        self.lr, self.momentum = lr, momentum
        self.velocity = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params: Params, grads: Params) -> None:
        for k, g in grads.items():
            v = self.velocity[k]
            v *= self.momentum
            v += g
            params[k] -= self.lr * v


class Adam:
    """``torch.optim.Adam`` (betas 0.9, 0.999, eps 1e-8, bias-corrected moments)."""

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params: Params, grads: Params) -> None:
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        for k, g in grads.items():
            m, v = self.m[k], self.v[k]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            params[k] -= (self.lr / c1) * m / (np.sqrt(v / c2) + self.eps)


@dataclass(frozen=True)
class Step:
    """One optimizer step: its index in the epoch, the batch's mean loss and accuracy."""

    step: int
    loss: float
    accuracy: float
    size: int


def train_epoch(
    arch: Architecture,
    params: Params,
    optimizer: SGD | Adam,
    images: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    *,
    batch_size: int = 64,
    augment: bool = False,
) -> Iterator[Step]:
    """One pass over the shuffled data, one optimizer step per batch (updates ``params``)."""
    order = rng.permutation(len(images))
    for step, start in enumerate(range(0, len(order), batch_size)):
        idx = order[start : start + batch_size]
        x, y = images[idx], labels[idx]
        if augment:
            x = random_affine(x, rng)
        fwd = forward(arch, params, x, train=True)
        loss = float(cross_entropy(fwd.logits, y))
        grads = backward(arch, params, fwd, cross_entropy_backward(fwd.logits, y))
        optimizer.step(params, grads)
        accuracy = float((fwd.logits.argmax(axis=1) == y).mean())
        yield Step(step, loss, accuracy, len(idx))


@dataclass(frozen=True)
class Evaluation:
    """Accuracy, predictions and the confusion matrix ``confusion[true][predicted]``."""

    accuracy: float
    predictions: np.ndarray
    confusion: np.ndarray


def evaluate(
    arch: Architecture, params: Params, images: np.ndarray, labels: np.ndarray
) -> Evaluation:
    predictions = predict(arch, params, images).argmax(axis=1)
    confusion = np.zeros((arch.classes, arch.classes), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    return Evaluation(float((predictions == labels).mean()), predictions, confusion)
