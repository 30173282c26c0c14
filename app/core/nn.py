"""The layers a classifier adds after its convolutions, forward and backward.

PyTorch names and meanings (``torch.nn.functional``); every ``*_backward`` takes
``grad_output = dL/d(output)`` and what the forward pass saw, and returns dL/d(each
input), as ``torch.autograd`` computes them (tests check each one against it)::

    relu:        y = max(x, 0)                dL/dx = g * (x > 0)
    max_pool2d:  y = max of the window        dL/dx = g routed to the window's arg-max
                                              (summed where windows overlap)
    flatten:     (N, C, H, W) -> (N, C*H*W)   dL/dx = g reshaped back
    linear:      y = x @ W.T + b              dL/dx = g @ W, dL/dW = g.T @ x, dL/db = sum_n g
    cross_entropy (mean over N) of logits z and class indices t:
                 L = mean_n (logsumexp(z_n) - z_n[t_n])
                 dL/dz = (softmax(z) - onehot(t)) / N

``conv2d`` and its backward live in ``app.core.conv`` and ``app.core.grad``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core._arrays import float_array
from app.core.loss import log_softmax
from app.errors import ParamError


def relu_backward(grad_output: np.ndarray, input: np.ndarray) -> np.ndarray:
    """dL/dx of ``relu``: the gradient passes where the input was positive (0 at x = 0)."""
    _same_shape(grad_output, input, "relu")
    return grad_output * (input > 0)


def max_pool2d_backward(
    grad_output: np.ndarray, indices: np.ndarray, input_shape: tuple[int, ...]
) -> np.ndarray:
    """dL/dx of ``max_pool2d`` from its ``return_indices=True`` indices.

    ``indices`` (N, C, H', W') holds each window's arg-max as ``r * W + c`` in its input
    plane; each output's gradient is added to that input cell (cells that win several
    overlapping windows get the sum; cells that win none get 0).
    """
    _same_shape(grad_output, indices, "max_pool2d")
    *lead, h, w = input_shape
    planes = int(np.prod(lead, dtype=np.int64))
    # (N, C, H', W') -> (N*C, H'W'): a plane offset turns each index into a flat position
    flat = indices.reshape(planes, -1) + (np.arange(planes) * (h * w))[:, None]
    grad = np.bincount(flat.ravel(), weights=grad_output.ravel(), minlength=planes * h * w).astype(
        grad_output.dtype, copy=False
    )
    return grad.reshape(input_shape)


def flatten(input: np.ndarray, start_dim: int = 1) -> np.ndarray:
    """Merge the axes from ``start_dim`` on: (N, C, H, W) -> (N, C*H*W), row-major
    (channel first, then row, then column), as ``torch.flatten``."""
    if not 0 <= start_dim < max(input.ndim, 1):
        raise ParamError(
            "start_dim", f"start_dim must be in [0, {input.ndim - 1}], got {start_dim}"
        )
    return input.reshape(*input.shape[:start_dim], -1)


def linear(input: Any, weight: Any, bias: Any = None) -> np.ndarray:
    """``input @ weight.T + bias``: input (..., in_features), weight (out_features, in_features)."""
    x = float_array(input, "input")
    w = float_array(weight, "weight").astype(x.dtype, copy=False)
    if w.ndim != 2 or x.shape[-1:] != w.shape[1:]:
        raise ParamError(
            "weight",
            f"weight must be (out_features, {x.shape[-1] if x.ndim else '?'}) for input of "
            f"shape {list(x.shape)}, got {list(w.shape)}",
        )
    y = x @ w.T
    if bias is not None:
        b = float_array(bias, "bias").astype(x.dtype, copy=False)
        if b.shape != (w.shape[0],):
            raise ParamError(
                "bias", f"bias must have {w.shape[0]} values, got shape {list(b.shape)}"
            )
        y += b
    return y


def linear_init(
    in_features: int, out_features: int, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded (weight, bias) for ``linear``, by PyTorch's default rule for ``nn.Linear``:
    kaiming-uniform with a = sqrt(5), i.e. every weight and bias uniform in
    ``[-1/sqrt(in_features), 1/sqrt(in_features)]``. The numbers come from
    ``numpy.random.default_rng(seed)`` (weight first, row by row, then bias), so they are
    the same on every run but not PyTorch's own draws."""
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(in_features)
    weight = rng.uniform(-bound, bound, size=(out_features, in_features)).astype(np.float32)
    bias = rng.uniform(-bound, bound, size=out_features).astype(np.float32)
    return weight, bias


def linear_backward(
    grad_output: np.ndarray, input: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dL/dx, dL/dW, dL/db) of ``linear`` for input (N, in) and grad_output (N, out)."""
    if grad_output.shape != (*input.shape[:-1], weight.shape[0]):
        raise ParamError(
            "grad_output",
            f"grad_output must have the linear output's shape "
            f"{[*input.shape[:-1], weight.shape[0]]}, got {list(grad_output.shape)}",
        )
    g = grad_output.reshape(-1, weight.shape[0])  # (..., out) -> (N, out)
    x = input.reshape(-1, weight.shape[1])  # (..., in) -> (N, in)
    return (grad_output @ weight), g.T @ x, g.sum(axis=0)


def cross_entropy_backward(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """dL/d logits of ``cross_entropy(logits, target)`` (mean over the batch):
    ``(softmax(logits) - onehot(target)) / N`` for logits (N, C) and class indices (N,)."""
    if logits.ndim != 2 or target.shape != logits.shape[:1]:
        raise ParamError(
            "target",
            f"target must hold one class index per row of logits {list(logits.shape)}, "
            f"got shape {list(target.shape)}",
        )
    grad = np.exp(log_softmax(logits, axis=1))
    grad[np.arange(len(target)), target] -= 1
    grad /= len(target)
    return grad


def _same_shape(grad_output: np.ndarray, other: np.ndarray, op: str) -> None:
    if grad_output.shape != other.shape:
        raise ParamError(
            "grad_output",
            f"grad_output must have the {op} output's shape {list(other.shape)}, "
            f"got {list(grad_output.shape)}",
        )
