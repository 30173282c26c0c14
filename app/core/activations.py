"""Elementwise activations and softmax, as ``torch.nn.functional``."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core._arrays import float_array
from app.errors import ParamError

_erf = np.frompyfunc(math.erf, 1, 1)


def step(x: np.ndarray) -> np.ndarray:
    """Heaviside step: 1 where x > 0, else 0."""
    return (x > 0).astype(x.dtype)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), evaluated without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    return np.where(x >= 0, x, x * negative_slope).astype(x.dtype, copy=False)


def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


def gelu(x: np.ndarray) -> np.ndarray:
    """The exact (erf) form: x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2)))."""
    erf = np.asarray(_erf(x * (1 / math.sqrt(2)))).astype(x.dtype)
    return 0.5 * x * (1 + erf)


def softmax(x: np.ndarray, dim: int | None = None) -> np.ndarray:
    """exp(x - max) / sum(exp(x - max)) over ``dim``, or over every element if None."""
    if dim is None:
        e = np.exp(x - x.max())
        return e / e.sum()
    if not -x.ndim <= dim < x.ndim:
        raise ParamError(
            "dim", f"dim must be in [{-x.ndim}, {x.ndim - 1}] for a {x.ndim}-D input, got {dim}"
        )
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


# ---- derivatives (what autograd gives: at a kink, the right-hand branch of torch's backward) --


def step_derivative(x: np.ndarray) -> np.ndarray:
    """0 everywhere (the jump at 0 has no derivative; torch passes no gradient through it)."""
    return np.zeros_like(x)


def sigmoid_derivative(x: np.ndarray) -> np.ndarray:
    """sigma(x) * (1 - sigma(x))."""
    s = sigmoid(x)
    return s * (1 - s)


def tanh_derivative(x: np.ndarray) -> np.ndarray:
    """1 - tanh(x)^2."""
    return 1 - np.tanh(x) ** 2


def relu_derivative(x: np.ndarray) -> np.ndarray:
    """1 where x > 0, else 0 (0 at x = 0, as torch)."""
    return (x > 0).astype(x.dtype)


def leaky_relu_derivative(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """1 where x > 0, else ``negative_slope`` (also at x = 0, as torch)."""
    return np.where(x > 0, 1, negative_slope).astype(x.dtype, copy=False)


def elu_derivative(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """1 where x > 0, else alpha * exp(x) (alpha at x = 0, as torch)."""
    return np.where(x > 0, 1, alpha * np.exp(np.minimum(x, 0))).astype(x.dtype, copy=False)


def gelu_derivative(x: np.ndarray) -> np.ndarray:
    """Phi(x) + x * phi(x), with phi the standard normal density."""
    cdf = 0.5 * (1 + np.asarray(_erf(x * (1 / math.sqrt(2)))).astype(x.dtype))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return (cdf + x * pdf).astype(x.dtype, copy=False)


@dataclass(frozen=True)
class Activation:
    """One activation function: what computes it and how a page writes it."""

    name: str
    label: str
    apply: Callable[..., np.ndarray]
    formula: str  # f(x) in plain type, as pages print it
    derivative: Callable[..., np.ndarray] | None = None  # None: not elementwise (softmax)
    derivative_formula: str = ""
    params: tuple[str, ...] = ()  # the request fields it reads besides the input


# The one list of activation functions: the API validates `function` against it, and
# GET /api/v1/activations serves it to the pages.
ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("relu", "ReLU", relu, "max(0, x)", relu_derivative, "1 for x > 0, else 0"),
        Activation(
            "leaky_relu",
            "Leaky ReLU",
            leaky_relu,
            "x if x > 0, else slope·x",
            leaky_relu_derivative,
            "1 for x > 0, else slope",
            ("negative_slope",),
        ),
        Activation(
            "elu",
            "ELU",
            elu,
            "x if x > 0, else α·(eˣ − 1)",
            elu_derivative,
            "1 for x > 0, else α·eˣ",
            ("alpha",),
        ),
        Activation(
            "gelu", "GELU", gelu, "x·Φ(x), Φ the normal CDF", gelu_derivative, "Φ(x) + x·φ(x)"
        ),
        Activation(
            "sigmoid",
            "Sigmoid",
            sigmoid,
            "σ(x) = 1 / (1 + e⁻ˣ)",
            sigmoid_derivative,
            "σ(x)·(1 − σ(x))",
        ),
        Activation(
            "tanh", "Tanh", tanh, "(eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)", tanh_derivative, "1 − tanh²(x)"
        ),
        Activation(
            "step", "Step", step, "1 if x > 0, else 0", step_derivative, "0 (none at the jump)"
        ),
        Activation("softmax", "Softmax", softmax, "eˣⁱ / Σⱼ eˣʲ over dim", params=("dim",)),
    )
}
ELEMENTWISE = tuple(name for name, a in ACTIVATIONS.items() if a.derivative is not None)


def _lookup(function: str) -> Activation:
    if function not in ACTIVATIONS:
        raise ParamError(
            "function", f"function must be one of {sorted(ACTIVATIONS)}, got {function!r}"
        )
    return ACTIVATIONS[function]


def activation(
    x: Any,
    function: str,
    *,
    negative_slope: float = 0.01,
    alpha: float = 1.0,
    dim: int | None = 0,
) -> np.ndarray:
    """Apply the activation named ``function``; the parameters only reach those that take them."""
    fn = _lookup(function)
    a = float_array(x, "input")  # float32 stays float32; NaN/Infinity are a ParamError
    given = {"negative_slope": negative_slope, "alpha": alpha, "dim": dim}
    return fn.apply(a, *(given[p] for p in fn.params))


def activation_derivative(
    x: Any, function: str, *, negative_slope: float = 0.01, alpha: float = 1.0
) -> np.ndarray:
    """The elementwise derivative of the activation ``function`` at every element of ``x``."""
    fn = _lookup(function)
    a = float_array(x, "input")
    if fn.derivative is None:
        raise ParamError(
            "derivative",
            f"{function} is not elementwise (its derivative is a Jacobian);"
            f" derivative is only for {sorted(ELEMENTWISE)}",
        )
    given = {"negative_slope": negative_slope, "alpha": alpha}
    return fn.derivative(a, *(given[p] for p in fn.params))
