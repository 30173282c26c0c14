"""The shipped digits model: its description, predictions with every layer's maps, unit
traces and held-out samples. Routers call these; nothing here knows HTTP.

Layer maps follow the colour rule of ``app.render``: the input is drawn "gray" over
0..1; every computed map "diverging" over a symmetric scale [-m, m] shared by the layer
(m = max |value| of the layer; 1 when it is all zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from app.core.geometry import conv_geometry, pool_geometry, receptive_fields
from app.errors import ParamError
from app.models.data import TEST_PER_CLASS, load_split
from app.models.network import Architecture, Forward, Layer, Params, forward, predict
from app.models.train import evaluate
from app.render import render_map

WEIGHTS_FILE = Path(__file__).resolve().parent.parent / "data" / "digits_weights.npz"
TOP_CONTRIBUTIONS = 12


@dataclass(frozen=True)
class Model:
    name: str
    arch: Architecture
    params: Params
    classes: tuple[str, ...]


@lru_cache(maxsize=1)
def digits_model() -> Model:
    with np.load(WEIGHTS_FILE) as f:
        params = {k: f[k].astype(np.float32) for k in f.files}
    arch = Architecture.from_params(params)
    return Model("digits", arch, params, tuple(str(d) for d in range(arch.classes)))


@dataclass(frozen=True)
class HeldOut:
    accuracy: float
    predictions: np.ndarray
    probabilities: np.ndarray
    confusion: np.ndarray


@lru_cache(maxsize=1)
def held_out() -> HeldOut:
    """The shipped model on the 2,000 held-out digits (computed once per process)."""
    model, data = digits_model(), load_split()
    result = evaluate(model.arch, model.params, data.test_images, data.test_labels)
    logits = predict(model.arch, model.params, data.test_images).astype(np.float64)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return HeldOut(
        result.accuracy, result.predictions, e / e.sum(axis=1, keepdims=True), result.confusion
    )


def _count(model: Model, layer: Layer) -> int:
    return sum(int(np.prod(model.params[k].shape)) for k in layer.param_keys())


def describe(model: Model) -> dict[str, Any]:
    score = held_out()
    return {
        "name": model.name,
        "description": "A TinyVGG trained in numpy on 8,000 MNIST digits; held-out: the last "
        f"{TEST_PER_CLASS} digits of each class.",
        "input": [1, 28, 28],
        "classes": list(model.classes),
        "layers": [
            {
                "name": layer.name,
                "type": layer.type,
                "output": list(layer.output),
                "params": _count(model, layer),
                "module": layer.module,
                **layer.hyper,
            }
            for layer in model.arch.layers
        ],
        "parameters": sum(int(v.size) for v in model.params.values()),
        "test_accuracy": score.accuracy,
        "test_size": len(score.predictions),
        "confusion": score.confusion.tolist(),
    }


def run(model: Model, x: np.ndarray) -> Forward:
    """One 28x28 input (float32 in [0, 1]) through every layer (batch of one)."""
    return forward(model.arch, model.params, x.reshape(1, 1, 28, 28).astype(np.float32))


def _atlas(out: np.ndarray, scale: float | None) -> dict[str, Any]:
    """All C maps of a (C, H, W) output in one PNG, stacked top to bottom (C*H x W): the
    input in gray over 0..1, computed maps diverging over [-scale, scale]."""
    c, h, w = out.shape
    stack = out.reshape(c * h, w)  # (C, H, W) -> (C*H, W): map k in rows k*H ... k*H + H - 1
    if scale is None:
        rendered = render_map(stack, kind="image")
    else:
        rendered = render_map(stack, kind="diverging", scale=scale)
    return rendered | {"tile": [h, w]}


def _stats(out: np.ndarray, name: str) -> list[dict[str, Any]]:
    """Per map: its label and the data's true min and max."""
    lo, hi = out.min(axis=(1, 2)), out.max(axis=(1, 2))
    return [
        {"label": f"{name}[{k}]", "min": float(lo[k]), "max": float(hi[k])} for k in range(len(out))
    ]


def _inputs_of(layer: Layer, before: tuple[int, ...]) -> dict[str, Any]:
    size = (before[-2], before[-1]) if len(before) == 3 else (0, 0)
    """Which units of the layer before feed each unit: per output row and column the
    input rows and columns read, and whether all channels or the same channel feed it."""
    if layer.type == "conv2d":
        geo = conv_geometry(size, 3, padding=1)
        return {"channels": "all", **receptive_fields(geo)}
    if layer.type == "max_pool2d":
        return {"channels": "same", **receptive_fields(pool_geometry(size, 2))}
    if layer.type == "relu":
        return {
            "channels": "same",
            "rows": [[i] for i in range(before[1])],
            "cols": [[j] for j in range(before[2])],
        }
    return {"channels": "all"}


def layer_maps(model: Model, fwd: Forward) -> list[dict[str, Any]]:
    """The input and every layer's output as maps (C x H x W) or values (N)."""
    x = fwd.input[0]
    layers: list[dict[str, Any]] = [
        {
            "name": "input",
            "type": "input",
            "shape": [1, 28, 28],
            "atlas": _atlas(x, None),
            "maps": _stats(x, "input"),
            "min": float(x.min()),
            "max": float(x.max()),
        }
    ]
    before: tuple[int, ...] = (1, 28, 28)
    for layer in model.arch.layers:
        out = fwd.outputs[layer.name][0]
        m = float(np.abs(out).max()) or 1.0
        entry: dict[str, Any] = {
            "name": layer.name,
            "type": layer.type,
            "shape": list(out.shape),
            "inputs": _inputs_of(layer, before),
            "min": float(out.min()),
            "max": float(out.max()),
        }
        if out.ndim == 3:
            entry |= {"atlas": _atlas(out, m), "maps": _stats(out, layer.name)}
        else:
            entry["values"] = out.tolist()
        layers.append(entry)
        before = tuple(out.shape)
    return layers


def _round(a: np.ndarray) -> list[Any]:
    return np.asarray(a, dtype=np.float64).tolist()


def _unit(layer: Layer, unit: list[int]) -> tuple[int, ...]:
    shape = layer.output
    if len(unit) != len(shape) or any(not 0 <= u < s for u, s in zip(unit, shape, strict=True)):
        raise ParamError(
            "trace.unit",
            f"trace.unit: must be {len(shape)} indices within the {layer.name} output "
            f"{list(shape)} ({'channel, row, column' if len(shape) == 3 else 'index'}), "
            f"got {unit}",
        )
    return tuple(unit)


def trace(model: Model, fwd: Forward, name: str, unit: list[int]) -> dict[str, Any]:
    """The exact computation of one unit of layer ``name`` from the layer before."""
    arch = model.arch
    layer = arch.layer(name)
    u = _unit(layer, unit)
    names = [layer.name for layer in arch.layers]
    i = names.index(name)
    prev = fwd.input[0] if i == 0 else fwd.outputs[names[i - 1]][0]
    value = fwd.outputs[name][0][u]
    base: dict[str, Any] = {
        "layer": name,
        "type": layer.type,
        "unit": list(u),
        "input_layer": "input" if i == 0 else names[i - 1],
        "value": float(value),
    }
    if layer.type == "conv2d":
        c, r, col = u
        w, b = (model.params[k] for k in layer.param_keys())
        padded = np.pad(prev, ((0, 0), (1, 1), (1, 1)))
        window = padded[:, r : r + 3, col : col + 3].astype(np.float64)
        kernel = w[c].astype(np.float64)
        products = window * kernel
        sums = products.sum(axis=(1, 2))
        pre = float(sums.sum() + float(b[c]))
        relu_layer = names[i + 1]
        return base | {
            "origin": [r - 1, col - 1],
            "channels": [
                {
                    "channel": k,
                    "window": _round(window[k]),
                    "kernel": _round(kernel[k]),
                    "products": _round(products[k]),
                    "sum": float(sums[k]),
                }
                for k in range(len(window))
            ],
            "sum": float(sums.sum()),
            "bias": float(b[c]),
            "pre_activation": pre,
            "relu": max(pre, 0.0),
            "relu_layer": relu_layer,
        }
    if layer.type == "relu":
        return base | {"input": float(prev[u]), "output": float(value)}
    if layer.type == "max_pool2d":
        c, r, col = u
        window = prev[c, 2 * r : 2 * r + 2, 2 * col : 2 * col + 2]
        arg = int(np.argmax(window))
        return base | {
            "origin": [2 * r, 2 * col],
            "window": _round(window),
            "argmax": [2 * r + arg // 2, 2 * col + arg % 2],
            "max": float(window.max()),
        }
    if layer.type == "flatten":
        shape = prev.shape
        src = np.unravel_index(u[0], shape)
        return base | {"source": [int(s) for s in src], "input_shape": list(shape)}
    if layer.type == "linear":
        (o,) = u
        w, b = (model.params[k] for k in layer.param_keys())
        x = prev.astype(np.float64)
        products = w[o].astype(np.float64) * x
        order = np.argsort(-np.abs(products), kind="stable")[:TOP_CONTRIBUTIONS]
        source_shape = fwd.outputs[names[i - 2]][0].shape  # before flatten
        top = [
            {
                "index": int(k),
                "source": [int(s) for s in np.unravel_index(k, source_shape)],
                "input": float(x[k]),
                "weight": float(w[o, k]),
                "product": float(products[k]),
            }
            for k in order
        ]
        total = float(products.sum())
        return base | {
            "top": top,
            "top_sum": float(products[order].sum()),
            "rest_sum": total - float(products[order].sum()),
            "rest_count": len(x) - len(order),
            "sum": total,
            "bias": float(b[o]),
            "logit": total + float(b[o]),
        }
    logits = prev.astype(np.float64)
    shifted = logits - logits.max()
    e = np.exp(shifted)
    return base | {
        "logits": _round(logits),
        "max": float(logits.max()),
        "shifted": _round(shifted),
        "exp": _round(e),
        "sum": float(e.sum()),
        "probabilities": _round(e / e.sum()),
        "class": model.classes[u[0]],
    }


def probabilities(fwd: Forward) -> np.ndarray:
    """Softmax of the logits in float64 (sums to 1 to rounding)."""
    z = fwd.logits[0].astype(np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def sample_entry(model: Model, index: int) -> dict[str, Any]:
    data, score = load_split(), held_out()
    x = data.test_images[index, 0]
    label, pred = int(data.test_labels[index]), int(score.predictions[index])
    return {
        "index": index,
        "label": model.classes[label],
        "prediction": model.classes[pred],
        "correct": label == pred,
        "probability": float(score.probabilities[index, pred]),
        "data_url": render_map(x, kind="image")["data_url"],
    }


def sample_input(index: int) -> np.ndarray:
    """Held-out digit ``index`` (0..1999) as 28x28 float32 in [0, 1]."""
    return load_split().test_images[index, 0]


def find_samples(label: int | None, prediction: int | None, misclassified: bool) -> np.ndarray:
    """Held-out indices matching the filters, in order."""
    data, score = load_split(), held_out()
    keep = np.ones(len(data.test_labels), dtype=bool)
    if label is not None:
        keep &= data.test_labels == label
    if prediction is not None:
        keep &= score.predictions == prediction
    if misclassified:
        keep &= score.predictions != data.test_labels
    return np.flatnonzero(keep)
