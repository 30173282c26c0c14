"""Watch a kernel learn: gradient descent on a conv2d kernel to match a target filter.

The target feature map is ``conv2d(image, target_kernel)``. A small random kernel
(seeded) and a zero bias then descend the mean squared error between their
feature map and the target's, with the gradients from ``conv2d_backward``::

    loss   = mean((conv2d(image, k) + b - target_map) ** 2)
    dL/dy  = 2 * (y - target_map) / M                       (M output cells)
    dL/dk, dL/db = conv2d_backward(dL/dy, image, k)

The problem is a linear least-squares fit, so the minimum is the target kernel
itself (and bias 0) whenever the image has enough texture.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np

from app.core.conv import conv2d
from app.core.geometry import ParamError
from app.core.grad import conv2d_backward

Optimizer = Literal["adam", "sgd"]
OPTIMIZERS = ("adam", "sgd")
INIT_SCALE = 0.1  # standard deviation of the starting kernel's values
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


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


def learn_kernel(
    image: Any,
    target_kernel: Any,
    *,
    steps: int,
    lr: float,
    seed: int = 0,
    padding: Any = "same",
    padding_mode: str = "zeros",
    optimizer: Optimizer = "adam",
    learn_bias: bool = True,
    standardize: bool = True,
    momentum: float = 0.9,
) -> Iterator[dict[str, Any]]:
    """Yield one record per step, from step 0 (the random start) to ``steps``.

    Parameters
    ----------
    image : (H, W), values of any scale (a [0, 1] gray image works well)
    target_kernel : (kh, kw), the filter to recover; the learned kernel has its shape
    steps : number of updates (>= 0)
    lr : the learning rate. Adam moves each value by about ``lr`` per step (0.01-0.1);
        "sgd" is plain gradient descent normalised by the image's mean square
        (the Hessian's diagonal), so ``lr`` below 1 is stable for most images.
    seed : seeds the starting kernel (normal, standard deviation 0.1)
    padding, padding_mode : as ``conv2d``; "same" keeps the feature map the image's size
    optimizer : "adam" or "sgd"
    learn_bias : also learn a bias (its target is 0)

    Yields
    ------
    ``{"step", "loss", "kernel" (kh, kw) array, "bias", "grad_norm", "output" (H', W')}``,
    where step k's kernel is the one after k updates, and loss, grad_norm (of the
    kernel and bias together) and output are that kernel's.
    """
    x = np.asarray(image, dtype=np.float64)
    t = np.asarray(target_kernel, dtype=np.float64)
    if x.ndim != 2:
        raise ParamError("image", f"image must be 2-D (H, W), got shape {list(x.shape)}")
    if t.ndim != 2:
        raise ParamError("target", f"target kernel must be 2-D (kh, kw), got shape {list(t.shape)}")
    if optimizer not in OPTIMIZERS:
        raise ParamError("optimizer", f"optimizer must be one of {list(OPTIMIZERS)}, got {optimizer!r}")
    if not (isinstance(steps, int) and steps >= 0):
        raise ParamError("steps", f"steps must be an int >= 0, got {steps!r}")
    if not (math.isfinite(lr) and lr > 0):
        raise ParamError("lr", f"lr must be a finite number > 0, got {lr!r}")
    if standardize:
        x = (x - x.mean()) / (x.std() or 1.0)
    conv = {"padding": padding, "padding_mode": padding_mode}
    xb = x[None]  # (H, W) -> (1, H, W): one channel
    target_map = conv2d(xb, t[None, None], **conv)[0]  # (H', W')
    rng = np.random.default_rng(seed)
    k = rng.normal(0.0, INIT_SCALE, size=t.shape)
    b = 0.0
    m = np.zeros(t.size + 1)  # Adam's moments for (kernel values, bias)
    v = np.zeros(t.size + 1)
    sgd_scale = 1.0 / (2.0 * max(float(np.mean(x * x)), 1e-12))
    cells = target_map.size
    for step in range(steps + 1):
        y = conv2d(xb, k[None, None], b, **conv)[0]  # (H', W')
        diff = y - target_map
        loss = float(np.mean(diff * diff))
        _gx, gk, gb = conv2d_backward((2.0 / cells) * diff[None], xb, k[None, None], **conv)
        grad = np.concatenate([gk[0, 0].ravel(), gb if learn_bias else [0.0]])
        yield {
            "step": step,
            "loss": loss,
            "kernel": k.copy(),
            "bias": b,
            "grad_norm": float(np.linalg.norm(grad)),
            "output": y,
            "target_output": target_map,
        }
        if step == steps:
            return
        if optimizer == "adam":
            b1, b2 = ADAM_BETAS
            m = b1 * m + (1 - b1) * grad
            v = b2 * v + (1 - b2) * grad * grad
            m_hat = m / (1 - b1 ** (step + 1))
            v_hat = v / (1 - b2 ** (step + 1))
            update = lr * m_hat / (np.sqrt(v_hat) + ADAM_EPS)
        else:
            update = lr * sgd_scale * grad
        k = k - update[:-1].reshape(k.shape)
        b = b - float(update[-1])
