"""Loss functions, as ``torch.nn.functional.mse_loss`` and ``cross_entropy``.

``cross_entropy`` takes raw scores (logits), not probabilities: it applies a
numerically stable log-softmax over the class axis (the last one for ``(C,)``,
axis 1 for ``(N, C)``), then takes the negative log-likelihood of the target.
A target is either class indices (an integer array: ``()`` for ``(C,)`` logits,
``(N,)`` for ``(N, C)``) or class probabilities (a float array of the logits'
shape), as PyTorch decides by dtype.

``loss_details`` adds what a calculator shows: the unreduced values and the
softmax probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from app.core._arrays import float_array
from app.errors import ParamError

Reduction = Literal["mean", "sum", "none"]
REDUCTIONS = ("mean", "sum", "none")
PROBABILITY_TOLERANCE = 1e-6


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ParamError(
            "reduction", f"reduction must be one of {list(REDUCTIONS)}, got {reduction!r}"
        )


def _reduce(values: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        return np.asarray(values.mean())
    if reduction == "sum":
        return np.asarray(values.sum())
    return values


def mse_loss(input: Any, target: Any, reduction: Reduction = "mean") -> np.ndarray:
    """Mean squared error ``(input - target) ** 2``, reduced by ``reduction``.

    ``input`` and ``target`` must have the same shape (PyTorch would broadcast with a
    warning; here a mismatch is an error). Returns a 0-d array for "mean" / "sum",
    the elementwise squared errors for "none".
    """
    _check_reduction(reduction)
    x = float_array(input, "input")
    t = float_array(target, "target").astype(x.dtype, copy=False)
    if x.shape != t.shape:
        raise ParamError(
            "target",
            f"target must have the input's shape {list(x.shape)}, got {list(t.shape)}",
        )
    return _reduce((x - t) ** 2, reduction)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``x - max - log(sum(exp(x - max)))``: no overflow for large logits."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _class_axis_last(logits: np.ndarray) -> np.ndarray:
    """(C,) -> (1, C); (N, C) stays."""
    if logits.ndim == 1:
        return logits[None]
    if logits.ndim == 2:
        return logits
    raise ParamError(
        "input", f"input must be logits (C,) or (N, C), got shape {list(logits.shape)}"
    )


def _class_indices(target: np.ndarray, n: int, classes: int, squeeze: bool) -> np.ndarray:
    want = () if squeeze else (n,)
    if target.shape != want:
        raise ParamError(
            "target",
            f"class-index target must have shape {list(want)} for input of shape "
            f"{[classes] if squeeze else [n, classes]}, got {list(target.shape)}",
        )
    idx = target.reshape(n).astype(np.int64)
    bad = (idx < 0) | (idx >= classes)
    if bad.any():
        first = int(idx[bad][0])
        raise ParamError(
            "target",
            f"target class index {first} is out of range: there are {classes} classes "
            f"(0..{classes - 1})",
        )
    return idx


def _class_probabilities(target: Any, logits: np.ndarray) -> np.ndarray:
    t = float_array(target, "target").astype(logits.dtype, copy=False)
    if t.shape != logits.shape:
        raise ParamError(
            "target",
            f"probability target must have the input's shape {list(logits.shape)}, "
            f"got {list(t.shape)}",
        )
    if (t < 0).any():
        raise ParamError("target", "target probabilities must be >= 0")
    sums = t.sum(axis=-1)
    off = np.abs(sums - 1) > PROBABILITY_TOLERANCE
    if off.any():
        worst = float(np.atleast_1d(sums)[np.atleast_1d(off)][0])
        raise ParamError(
            "target",
            f"target probabilities must sum to 1 (within {PROBABILITY_TOLERANCE:g}) "
            f"per sample, got a sum of {worst:.9g}",
        )
    return t


@dataclass(frozen=True)
class CrossEntropy:
    """Everything one cross-entropy evaluation computes.

    ``loss`` is PyTorch's result for the reduction; ``per_sample`` the unreduced
    values ((N,), or () for (C,) logits); ``probabilities`` = softmax(logits) and
    ``log_probabilities`` = log_softmax(logits), both shaped like the logits;
    ``target_distribution`` the distribution the loss compares against (one-hot or
    the given probabilities, after label smoothing).
    """

    loss: np.ndarray
    per_sample: np.ndarray
    probabilities: np.ndarray
    log_probabilities: np.ndarray
    target_distribution: np.ndarray


def cross_entropy_details(
    input: Any,
    target: Any,
    *,
    weight: Any = None,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
) -> CrossEntropy:
    """``cross_entropy`` with its intermediate values; see ``cross_entropy``."""
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ParamError(
            "label_smoothing", f"label_smoothing must be in [0, 1], got {label_smoothing}"
        )
    raw = float_array(input, "input")
    logits = _class_axis_last(raw)  # (N, C)
    squeeze = raw.ndim == 1
    n, classes = logits.shape
    w = np.ones(classes, logits.dtype)
    if weight is not None:
        w = float_array(weight, "weight").astype(logits.dtype, copy=False)
        if w.shape != (classes,):
            raise ParamError(
                "weight", f"weight must have one value per class ({classes}), got {list(w.shape)}"
            )
    logp = log_softmax(logits, axis=1)  # (N, C)
    eps = label_smoothing
    t_arr = np.asarray(target)
    if np.issubdtype(t_arr.dtype, np.integer):
        idx = _class_indices(t_arr, n, classes, squeeze)
        onehot = np.zeros_like(logits)
        onehot[np.arange(n), idx] = 1.0
        nll = -w[idx] * logp[np.arange(n), idx]  # (N,)
        smooth = -(logp * w).sum(axis=1) / classes  # (N,)
        per_sample = (1 - eps) * nll + eps * smooth
        # PyTorch's weighted mean divides by the summed weights of the target classes
        denom = w[idx].sum()
        if reduction == "mean" and denom == 0:
            raise ParamError(
                "weight",
                "weight of the target classes sums to 0, so the weighted mean is "
                "undefined (PyTorch returns NaN); use reduction 'sum' or 'none'",
            )
        loss = (
            np.asarray(per_sample.sum() / denom)
            if reduction == "mean"
            else _reduce(per_sample, reduction)
        )
        dist = onehot * (1 - eps) + eps / classes
    else:
        t = _class_probabilities(target, raw).reshape(n, classes)
        dist = t * (1 - eps) + eps / classes
        per_sample = -(w * dist * logp).sum(axis=1)  # (N,)
        loss = _reduce(per_sample, reduction)  # "mean" divides by N
    if squeeze:
        per_sample, logp, dist = per_sample[0], logp[0], dist[0]
        if reduction == "none":
            loss = np.asarray(loss[0])
    return CrossEntropy(
        loss=np.asarray(loss),
        per_sample=np.asarray(per_sample),
        probabilities=np.exp(logp),
        log_probabilities=logp,
        target_distribution=dist,
    )


def cross_entropy(
    input: Any,
    target: Any,
    *,
    weight: Any = None,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
) -> np.ndarray:
    """Cross-entropy of logits against class indices or class probabilities.

    Parameters
    ----------
    input : (C,) or (N, C) raw scores (logits)
    target : class indices (integer dtype; () or (N,), each in [0, C)) or class
        probabilities (float dtype, the input's shape, each row >= 0 summing to 1)
    weight : None or (C,), a rescaling weight per class
    reduction : "mean" (indices: divided by the summed weights of the targets;
        probabilities: divided by N), "sum" or "none"
    label_smoothing : in [0, 1]; the target becomes ``(1 - e) * target + e / C``

    Returns
    -------
    0-d array for "mean" / "sum"; the per-sample losses for "none".
    """
    return cross_entropy_details(
        input, target, weight=weight, reduction=reduction, label_smoothing=label_smoothing
    ).loss
