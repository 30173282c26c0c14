"""Watch a kernel learn: gradient descent on a conv2d kernel to match a target filter.

The image is standardised (zero mean, unit variance, as a network's input
would be) and the target feature map is ``conv2d(image, target_kernel)``. A small
random kernel (seeded) and a zero bias then descend the mean squared error
between their feature map and the target's, with gradients from
``conv2d_backward``::

    loss   = mean((conv2d(image, k) + b - target_map) ** 2)
    dL/dy  = 2 * (y - target_map) / M                       (M output cells)
    dL/dk, dL/db = conv2d_backward(dL/dy, image, k)

This is a linear least-squares fit, so its minimum is the target kernel itself
(and bias 0) when the image has enough texture. Standardising matters: a raw
[0, 1] image's mean makes the problem hundreds of times more ill-conditioned.

Optimizers (full batch, every step sees the whole image):

- ``"sgd"``: gradient descent with heavy-ball momentum, the step normalised by
  the loss's largest curvature ``L`` (found by power iteration), so ``lr = 1``
  is the largest step that never overshoots along any direction; momentum 0.9
  speeds up the flat directions. Diverges beyond ``lr = 2 * (1 + momentum)``.
- ``"adam"``: Adam (betas 0.9, 0.999); each value moves by about ``lr`` a step.

Resuming: ``initial_kernel`` / ``initial_bias`` start from a given kernel (a stopped
run's last one) instead of the seeded random one, and ``start_step`` numbers the
records on from there. The optimizer's state (momentum velocity, Adam's moments and
bias correction) is not carried over: a resumed run restarts it from zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np

from app.core.conv import conv2d
from app.core.grad import conv2d_backward
from app.errors import ParamError

Optimizer = Literal["adam", "sgd"]
OPTIMIZERS = ("adam", "sgd")
DEFAULT_LR = {"adam": 0.1, "sgd": 1.0}
INIT_SCALE = 0.1  # standard deviation of the starting kernel's values
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
DIVERGED_FACTOR = 1e6  # stop once the loss exceeds this many times its starting value
_POWER_ITERATIONS = 30


def embed_kernel(target: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre ``target`` (kh, kw) in a zero kernel of ``size`` (each side >= the target's)."""
    kh, kw = target.shape
    if size[0] < kh or size[1] < kw:
        raise ParamError(
            "kernel_size",
            f"kernel_size {list(size)} must be at least the target kernel's size [{kh}, {kw}]",
        )
    out = np.zeros(size, dtype=np.float64)
    r, c = (size[0] - kh) // 2, (size[1] - kw) // 2
    out[r : r + kh, c : c + kw] = target
    return out


def _curvature(
    xb: np.ndarray, shape: tuple[int, ...], conv: dict[str, Any], rng: np.random.Generator
) -> float:
    """The loss's largest curvature L (top eigenvalue of its Hessian over kernel and
    bias) by power iteration, with H v = conv2d_backward(2/M * conv2d(image, v))."""
    v = rng.normal(size=math.prod(shape) + 1)
    top = 0.0
    for _ in range(_POWER_ITERATIONS):
        v /= np.linalg.norm(v)
        k = v[:-1].reshape(1, 1, *shape)
        y = conv2d(xb, k, v[-1], **conv)
        _gx, gk, gb = conv2d_backward(2.0 * y / y.size, xb, k, **conv)
        hv = np.concatenate([gk.ravel(), gb])
        top = float(v @ hv)
        v = hv
    return max(top, 1e-12)


def _start(
    initial_kernel: Any, initial_bias: Any, shape: tuple[int, ...]
) -> tuple[np.ndarray | None, float]:
    """Check a resume's starting kernel (the target's shape, finite) and bias."""
    k0 = None
    if initial_kernel is not None:
        k0 = np.asarray(initial_kernel, dtype=np.float64)
        if k0.shape != shape:
            raise ParamError(
                "initial_kernel",
                f"initial_kernel must have the learned kernel's shape {list(shape)}, "
                f"got {list(k0.shape)}",
            )
        if not np.all(np.isfinite(k0)):
            raise ParamError("initial_kernel", "initial_kernel must hold finite numbers")
    b0 = float(initial_bias)
    if not math.isfinite(b0):
        raise ParamError("initial_bias", f"initial_bias must be a finite number, got {b0!r}")
    return k0, b0


def _check(image: np.ndarray, target: np.ndarray, steps: Any, lr: float, optimizer: str) -> None:
    if image.ndim != 2:
        raise ParamError("image", f"image must be 2-D (H, W), got shape {list(image.shape)}")
    if target.ndim != 2:
        raise ParamError(
            "target", f"target kernel must be 2-D (kh, kw), got shape {list(target.shape)}"
        )
    if not (np.all(np.isfinite(image)) and np.all(np.isfinite(target))):
        raise ParamError("target", "image and target kernel must hold finite numbers")
    if optimizer not in OPTIMIZERS:
        raise ParamError(
            "optimizer", f"optimizer must be one of {list(OPTIMIZERS)}, got {optimizer!r}"
        )
    if not (isinstance(steps, int) and steps >= 0):
        raise ParamError("steps", f"steps must be an int >= 0, got {steps!r}")
    if not (math.isfinite(lr) and lr > 0):
        raise ParamError("lr", f"lr must be a finite number > 0, got {lr!r}")


def learn_kernel(
    image: Any,
    target_kernel: Any,
    *,
    steps: int,
    lr: float | None = None,
    seed: int = 0,
    padding: Any = "same",
    padding_mode: str = "zeros",
    optimizer: Optimizer = "sgd",
    momentum: float = 0.9,
    learn_bias: bool = True,
    initial_kernel: Any = None,
    initial_bias: float = 0.0,
    start_step: int = 0,
) -> Iterator[dict[str, Any]]:
    """Yield one record per step, from ``start_step`` (the start) to ``start_step + steps``.

    Parameters
    ----------
    image : (H, W); standardised before use
    target_kernel : (kh, kw), the filter to recover; the learned kernel has its shape
    steps : number of updates (>= 0)
    lr : learning rate; None for the optimizer's default (sgd 1.0, adam 0.1).
        For "sgd" it is a fraction of the safe step 1 / L.
    seed : seeds the starting kernel (normal, standard deviation 0.1)
    padding, padding_mode : as ``conv2d``; "same" keeps the feature map the image's size
    optimizer : "sgd" (normalised, with momentum) or "adam"
    momentum : "sgd" only, in [0, 1)
    learn_bias : also learn a bias (its target is 0)
    initial_kernel : (kh, kw) like the target, finite; start here instead of the seeded
        random kernel (to resume a stopped run from its last kernel)
    initial_bias : the starting bias (default 0)
    start_step : the first record's step number (>= 0), so a resumed run's records
        continue a stopped one's numbering; it changes nothing else (the optimizer's
        momentum / moments and Adam's bias correction start afresh)

    Yields
    ------
    ``{"step", "loss", "kernel" (kh, kw), "bias", "grad_norm", "output" (H', W'),
    "diverged"}``: step ``start_step + k``'s kernel is the one after k updates; loss,
    grad_norm (over kernel and bias) and output are that kernel's. The first record also
    holds ``"target_output"``. The generator stops early after a record whose loss is
    over ``DIVERGED_FACTOR`` times the first one, or the all-zero kernel's if that is
    larger (``"diverged": True``; lr too large).
    """
    x = np.asarray(image, dtype=np.float64)
    t = np.asarray(target_kernel, dtype=np.float64)
    rate = DEFAULT_LR.get(optimizer, 0.0) if lr is None else float(lr)
    _check(x, t, steps, rate, optimizer)
    if not 0 <= momentum < 1:
        raise ParamError("momentum", f"momentum must be in [0, 1), got {momentum}")
    if not (isinstance(start_step, int) and start_step >= 0):
        raise ParamError("start_step", f"start_step must be an int >= 0, got {start_step!r}")
    k0, b0 = _start(initial_kernel, initial_bias, t.shape)
    mean, std = float(x.mean()), float(x.std() or 1.0)
    x = (x - mean) / std
    conv = {"padding": padding, "padding_mode": padding_mode}
    xb = x[None]  # (H, W) -> (1, H, W): one channel
    target_map = conv2d(xb, t[None, None], **conv)[0]  # (H', W')
    cells = target_map.size
    # A resume still draws the random kernel, so the curvature estimate below sees the
    # same random numbers as the run it continues.
    rng = np.random.default_rng(seed)
    k = rng.normal(0.0, INIT_SCALE, size=t.shape)
    if k0 is not None:
        k = k0.copy()
    b = b0
    inv_curvature = 1.0 / _curvature(xb, t.shape, conv, rng) if optimizer == "sgd" else 0.0
    m = np.zeros(t.size + 1)  # Adam's moments, or sgd's velocity in m, over (kernel, bias)
    v = np.zeros(t.size + 1)
    # Divergence is judged against the first loss, or the zero kernel's loss
    # mean(target_map^2) when larger, so a resume near the minimum is not "diverged"
    # by a harmless rise above its tiny starting loss.
    zero_loss = float(np.mean(target_map * target_map))
    first_loss = math.inf
    for i in range(steps + 1):
        step = start_step + i
        with np.errstate(over="ignore", invalid="ignore"):
            y = conv2d(xb, k[None, None], b, **conv)[0]  # (H', W')
            diff = y - target_map
            loss = float(np.mean(diff * diff))
            _gx, gk, gb = conv2d_backward((2.0 / cells) * diff[None], xb, k[None, None], **conv)
            grad = np.concatenate([gk[0, 0].ravel(), gb if learn_bias else [0.0]])
            grad_norm = float(np.linalg.norm(grad))
        first_loss = max(loss, zero_loss) if i == 0 else first_loss
        diverged = not math.isfinite(loss) or loss > DIVERGED_FACTOR * max(first_loss, 1e-300)
        record = {
            "step": step,
            "loss": loss,
            "kernel": k.copy(),
            "bias": b,
            "grad_norm": grad_norm,
            "output": y,
            "diverged": diverged,
        }
        if i == 0:
            record["target_output"] = target_map
            record["input"] = x  # what the kernel sees: (image - input_mean) / input_std
            record["input_mean"] = mean
            record["input_std"] = std
        yield record
        if i == steps or diverged:
            return
        if optimizer == "adam":
            b1, b2 = ADAM_BETAS
            m = b1 * m + (1 - b1) * grad
            v = b2 * v + (1 - b2) * grad * grad
            m_hat = m / (1 - b1 ** (i + 1))
            v_hat = v / (1 - b2 ** (i + 1))
            update = rate * m_hat / (np.sqrt(v_hat) + ADAM_EPS)
        else:
            m = momentum * m + grad
            update = rate * inv_curvature * m
        k = k - update[:-1].reshape(k.shape)
        b = b - float(update[-1])
