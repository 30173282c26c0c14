"""The digits classifier's architecture: a TinyVGG for 1x28x28 input, forward and backward.

Layers (``widths`` = the four convolutions' ``out_channels``, default 8, 8, 16, 16)::

    conv1 3x3 pad 1 -> relu1 -> conv2 -> relu2 -> pool1 (max 2x2)
    -> conv3 -> relu3 -> conv4 -> relu4 -> pool2 -> flatten -> linear -> softmax

Parameters are a dict keyed like the ``state_dict`` of the equivalent
``torch.nn.Sequential`` (``torch_source`` writes it): ``"0.weight"``, ``"0.bias"`` for
conv1, and so on; softmax is applied after the module (the module returns logits).
Every forward and backward step is an ``app.core`` function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from app.core import conv2d, conv2d_backward, max_pool2d, relu, softmax
from app.core.nn import flatten, linear, linear_backward, max_pool2d_backward, relu_backward
from app.errors import ParamError

LayerType = Literal["conv2d", "relu", "max_pool2d", "flatten", "linear", "softmax"]
Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class Layer:
    """One layer: its name, type, PyTorch hyperparameters, output shape (no batch axis),
    and its index in the ``torch.nn.Sequential`` (None for the softmax applied after it)."""

    name: str
    type: LayerType
    output: tuple[int, ...]
    module: int | None
    hyper: Mapping[str, Any] = field(default_factory=dict)

    def param_keys(self) -> tuple[str, ...]:
        if self.type in ("conv2d", "linear"):
            return (f"{self.module}.weight", f"{self.module}.bias")
        return ()


@dataclass(frozen=True)
class Architecture:
    """The layer list of a TinyVGG with the given conv widths and number of classes."""

    widths: tuple[int, int, int, int] = (8, 8, 16, 16)
    classes: int = 10
    input: tuple[int, int, int] = (1, 28, 28)

    @property
    def layers(self) -> tuple[Layer, ...]:
        c, h, w = self.input
        layers: list[Layer] = []
        module = 0

        def add(name: str, type: LayerType, output: tuple[int, ...], **hyper: Any) -> None:
            nonlocal module
            index = None if type == "softmax" else module
            layers.append(Layer(name, type, output, index, hyper))
            module += index is not None

        for block in range(2):
            for k in range(2):
                n = 2 * block + k + 1
                out = self.widths[n - 1]
                add(
                    f"conv{n}",
                    "conv2d",
                    (out, h, w),
                    in_channels=c,
                    out_channels=out,
                    kernel_size=3,
                    stride=1,
                    padding=1,
                )
                add(f"relu{n}", "relu", (out, h, w))
                c = out
            h, w = h // 2, w // 2
            add(f"pool{block + 1}", "max_pool2d", (c, h, w), kernel_size=2, stride=2)
        add("flatten", "flatten", (c * h * w,), start_dim=1)
        add("linear", "linear", (self.classes,), in_features=c * h * w, out_features=self.classes)
        add("softmax", "softmax", (self.classes,), dim=1)
        return tuple(layers)

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        names = [layer.name for layer in self.layers]
        raise ParamError("trace.layer", f"trace.layer: must be one of {names}, got {name!r}")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {}
        for layer in self.layers:
            if layer.type == "conv2d":
                o, i = layer.hyper["out_channels"], layer.hyper["in_channels"]
                shapes[f"{layer.module}.weight"] = (o, i, 3, 3)
                shapes[f"{layer.module}.bias"] = (o,)
            elif layer.type == "linear":
                o, i = layer.hyper["out_features"], layer.hyper["in_features"]
                shapes[f"{layer.module}.weight"] = (o, i)
                shapes[f"{layer.module}.bias"] = (o,)
        return shapes

    @classmethod
    def from_params(cls, params: Mapping[str, np.ndarray]) -> Architecture:
        """The architecture whose parameters have these shapes (widths and classes read
        from the weights); ``ParamError`` naming ``weights`` when they fit no TinyVGG."""
        try:
            widths = tuple(int(params[f"{m}.weight"].shape[0]) for m in (0, 2, 5, 7))
            classes = int(params["11.weight"].shape[0])
        except (KeyError, IndexError) as exc:
            raise ParamError("weights", f"weights lack the parameter {exc}") from None
        arch = cls(widths=widths, classes=classes)  # type: ignore[arg-type]
        check_params(arch, params)
        return arch


def check_params(arch: Architecture, params: Mapping[str, np.ndarray]) -> None:
    """Every state_dict key present with its shape, finite numbers, nothing else."""
    shapes = arch.param_shapes()
    extra = sorted(set(params) - set(shapes))
    if extra:
        raise ParamError("weights", f"weights have unknown keys {extra}; expected {list(shapes)}")
    for key, shape in shapes.items():
        if key not in params:
            raise ParamError("weights", f"weights lack the key {key!r}")
        if params[key].shape != shape:
            raise ParamError(
                "weights",
                f"weights[{key!r}] must have shape {list(shape)}, got {list(params[key].shape)}",
            )
        if not np.all(np.isfinite(params[key])):
            raise ParamError("weights", f"weights[{key!r}] must hold finite numbers")


def init_params(arch: Architecture, rng: np.random.Generator) -> Params:
    """PyTorch's default initialisation: weights and biases uniform in
    ``[-1/sqrt(fan_in), 1/sqrt(fan_in)]`` (fan_in = in_channels * 3 * 3 or in_features)."""
    params: Params = {}
    for key, shape in arch.param_shapes().items():
        weight_shape = shape if key.endswith("weight") else None
        if weight_shape is not None:
            fan_in = int(np.prod(weight_shape[1:]))
        bound = 1.0 / np.sqrt(fan_in)
        params[key] = rng.uniform(-bound, bound, size=shape).astype(np.float32)
    return params


@dataclass
class Forward:
    """Every layer's output for a batch (``outputs[name]``, with the batch axis) and the
    pooling arg-max indices the backward pass needs."""

    input: np.ndarray
    outputs: dict[str, np.ndarray]
    indices: dict[str, np.ndarray]

    @property
    def logits(self) -> np.ndarray:
        return self.outputs["linear"]


def forward(arch: Architecture, params: Params, x: np.ndarray, *, train: bool = False) -> Forward:
    """Run the batch ``x`` (N, 1, 28, 28) through every layer. ``train`` keeps what
    ``backward`` needs (the pools' indices)."""
    outputs: dict[str, np.ndarray] = {}
    indices: dict[str, np.ndarray] = {}
    h = x
    for layer in arch.layers:
        if layer.type == "conv2d":
            w, b = (params[k] for k in layer.param_keys())
            h = conv2d(h, w, b, padding=1)
        elif layer.type == "relu":
            h = relu(h)
        elif layer.type == "max_pool2d":
            if train:
                h, indices[layer.name] = max_pool2d(h, 2, return_indices=True)
            else:
                h = max_pool2d(h, 2)  # type: ignore[assignment]
        elif layer.type == "flatten":
            h = flatten(h)
        elif layer.type == "linear":
            w, b = (params[k] for k in layer.param_keys())
            h = linear(h, w, b)
        else:
            h = softmax(h, dim=1)
        outputs[layer.name] = h
    return Forward(x, outputs, indices)


def backward(arch: Architecture, params: Params, fwd: Forward, grad_logits: np.ndarray) -> Params:
    """dL/d(every parameter), keyed like ``params``, from dL/d logits (softmax is not
    differentiated: the loss takes logits, as ``torch.nn.functional.cross_entropy``)."""
    grads: Params = {}
    layers = [layer for layer in arch.layers if layer.type != "softmax"]
    g = grad_logits
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        x = fwd.outputs[layers[i - 1].name] if i else fwd.input
        if layer.type == "linear":
            kw, kb = layer.param_keys()
            g, grads[kw], grads[kb] = linear_backward(g, x, params[kw])
        elif layer.type == "flatten":
            g = g.reshape(x.shape)
        elif layer.type == "max_pool2d":
            g = max_pool2d_backward(g, fwd.indices[layer.name], x.shape)
        elif layer.type == "relu":
            g = relu_backward(g, x)
        else:
            kw, kb = layer.param_keys()
            gx, grads[kw], grads[kb] = conv2d_backward(
                g, x, params[kw], padding=1, input_grad=i > 0
            )
            if gx is not None:
                g = gx
    return grads


def predict(arch: Architecture, params: Params, x: np.ndarray, batch: int = 500) -> np.ndarray:
    """Logits (N, classes) for many inputs, computed in batches."""
    parts = [forward(arch, params, x[i : i + batch]).logits for i in range(0, len(x), batch)]
    return np.concatenate(parts) if parts else np.zeros((0, arch.classes), np.float32)


def torch_source(arch: Architecture) -> str:
    """Python source of the equivalent ``torch.nn.Sequential`` (its ``state_dict`` keys are
    the weights file's keys; it returns logits, softmax is applied after it)."""
    lines = []
    for layer in arch.layers:
        hp = layer.hyper
        if layer.type == "conv2d":
            lines.append(
                f"nn.Conv2d({hp['in_channels']}, {hp['out_channels']}, kernel_size=3, padding=1)"
            )
        elif layer.type == "relu":
            lines.append("nn.ReLU()")
        elif layer.type == "max_pool2d":
            lines.append("nn.MaxPool2d(kernel_size=2, stride=2)")
        elif layer.type == "flatten":
            lines.append("nn.Flatten()")
        elif layer.type == "linear":
            lines.append(f"nn.Linear({hp['in_features']}, {hp['out_features']})")
    body = "\n".join(f"        {line},  # {i}" for i, line in enumerate(lines))
    return f'''"""The ConvScope digits model in PyTorch. Load the weights with:

    model = make_model()
    model.load_state_dict({{k: torch.from_numpy(v) for k, v in np.load("digits.npz").items()}})
    logits = model(x)  # x: (N, 1, 28, 28) float32 in [0, 1], white digit on black
    probabilities = torch.softmax(logits, dim=1)
"""

import numpy as np
import torch
from torch import nn


def make_model() -> nn.Sequential:
    return nn.Sequential(
{body}
    )
'''
