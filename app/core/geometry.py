"""The one place that turns hyperparameters into sizes.

Every operation asks this module how much padding it gets, how large the
dilated kernel is, and how large the output is; the API returns its answer as
``geometry`` so no page ever recomputes a formula.

Sizes follow ``torch.nn.functional``:

    conv:            out = floor((in + pad_before + pad_after - eff_k) / stride) + 1
    pool:            the same, or ceil(...) with ceil_mode, minus one if the last
                     window would start in the right/bottom padding
    conv_transpose:  out = (in - 1) * stride - 2 * pad + eff_k + output_padding

where ``eff_k = dilation * (k - 1) + 1``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from app.errors import ParamError as ParamError  # re-exported: core modules raise it

Pair = tuple[int, int]
Padding4 = tuple[int, int, int, int]  # (top, bottom, left, right)

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
PADDING_NAMES = ("valid", "same", "full")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def pair(value: Any, field: str, *, minimum: int = 1) -> Pair:
    """``n`` -> ``(n, n)``; ``[h, w]`` -> ``(h, w)``; each at least ``minimum``."""
    if _is_int(value):
        values: tuple[Any, ...] = (value, value)
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        values = tuple(value)
    else:
        raise ParamError(field, f"{field} must be an int or a pair [h, w], got {value!r}")
    if not all(_is_int(v) for v in values):
        raise ParamError(field, f"{field} must hold integers, got {value!r}")
    if min(values) < minimum:
        raise ParamError(field, f"{field} must be >= {minimum}, got {list(values)}")
    return (int(values[0]), int(values[1]))


def effective_kernel(kernel: Pair, dilation: Pair) -> Pair:
    """The extent a dilated kernel covers: ``dilation * (k - 1) + 1`` per axis."""
    return (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)


def resolve_padding(
    padding: Any, input_size: Pair, kernel: Pair, stride: Pair, dilation: Pair
) -> Padding4:
    """Every padding form -> ``(top, bottom, left, right)``.

    ``p``; ``[ph, pw]``; ``[top, bottom, left, right]``; ``"valid"`` (none);
    ``"same"`` (output ``ceil(in / stride)``, the odd cell at the bottom/right,
    TensorFlow's split, which equals PyTorch's ``"same"`` for stride 1);
    ``"full"`` (``eff_k - 1`` on every side).
    """
    ek = effective_kernel(kernel, dilation)
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "full":
            return (ek[0] - 1, ek[0] - 1, ek[1] - 1, ek[1] - 1)
        if padding == "same":
            sides = []
            for n, s, k in zip(input_size, stride, ek, strict=True):
                total = max((math.ceil(n / s) - 1) * s + k - n, 0)
                sides += [total // 2, total - total // 2]
            return (sides[0], sides[1], sides[2], sides[3])
        raise ParamError(
            "padding",
            f"padding must be an int, a list or one of {list(PADDING_NAMES)}, got {padding!r}",
        )
    if _is_int(padding):
        values: tuple[Any, ...] = (padding,) * 4
    elif isinstance(padding, Sequence) and len(padding) == 2:
        values = (padding[0], padding[0], padding[1], padding[1])
    elif isinstance(padding, Sequence) and len(padding) == 4:
        values = tuple(padding)
    else:
        raise ParamError(
            "padding",
            f"padding must be p, [ph, pw], [top, bottom, left, right] or one of "
            f"{list(PADDING_NAMES)}, got {padding!r}",
        )
    if not all(_is_int(v) for v in values):
        raise ParamError("padding", f"padding must hold integers, got {padding!r}")
    if min(values) < 0:
        raise ParamError("padding", f"padding must be >= 0, got {padding!r}")
    return (int(values[0]), int(values[1]), int(values[2]), int(values[3]))


def symmetric_padding(padding: Any, field: str = "padding") -> Pair:
    """Pool and transposed-conv padding: an int or ``[ph, pw]``, each >= 0."""
    return pair(padding, field, minimum=0)


Kind = Literal["conv", "pool", "conv_transpose"]


@dataclass(frozen=True)
class Geometry:
    """Sizes of one 2-D window operation, as the API reports them.

    ``kind``, ``ceil_mode`` and ``output_padding`` say which size rule made ``output``,
    so ``formula`` can print it.
    """

    input: Pair
    padding: Padding4
    kernel: Pair
    effective_kernel: Pair
    stride: Pair
    dilation: Pair
    output: Pair
    kind: Kind = "conv"
    ceil_mode: bool = False
    output_padding: Pair = (0, 0)

    @property
    def padded(self) -> Pair:
        t, b, left, r = self.padding
        return (self.input[0] + t + b, self.input[1] + left + r)

    def as_dict(self) -> dict[str, Any]:
        """The ``geometry`` object of every API response, its ``formula`` included."""
        return {
            "input": list(self.input),
            "padding": list(self.padding),
            "kernel": list(self.kernel),
            "effective_kernel": list(self.effective_kernel),
            "stride": list(self.stride),
            "dilation": list(self.dilation),
            "output": list(self.output),
            "formula": formula(self),
        }


# The size rules in symbols; ``formula`` fills them in per axis. Replacing ⌊x⌋ by
# floor(x), ⌈x⌉ by ceil(x), · by * and − by - makes a filled-in left side evaluate to
# its right side.
GENERAL_FORMULAS: dict[str, str] = {
    "conv": "out = ⌊(in + pad_before + pad_after − dilation·(kernel − 1) − 1) / stride⌋ + 1",
    "pool": "out = ⌊(in + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1",
    "pool_ceil": "out = ⌈(in + 2·padding − dilation·(kernel − 1) − 1) / stride⌉ + 1, "
    "− 1 if the last window would start in the right/bottom padding",
    "conv_transpose": "out = (in − 1)·stride − 2·padding + dilation·(kernel − 1) "
    "+ output_padding + 1",
}


def formula(geo: Geometry) -> dict[str, str]:
    """The output-size rule of ``geo``: ``general`` in symbols, and ``rows``/``cols``
    with this geometry's numbers filled in, ending in ``= <output size>``.

    >>> formula(conv_geometry((6, 6), 3, padding=1))["rows"]
    '⌊(6 + 1 + 1 − 1·(3 − 1) − 1) / 1⌋ + 1 = 6'
    """
    key = "pool_ceil" if geo.kind == "pool" and geo.ceil_mode else geo.kind
    out: dict[str, str] = {"general": GENERAL_FORMULAS[key]}
    for name, axis in (("rows", 0), ("cols", 1)):
        n, k, s, d = geo.input[axis], geo.kernel[axis], geo.stride[axis], geo.dilation[axis]
        before, after = geo.padding[2 * axis], geo.padding[2 * axis + 1]
        size = geo.output[axis]
        if geo.kind == "conv_transpose":
            op = geo.output_padding[axis]
            text = f"({n} − 1)·{s} − 2·{before} + {d}·({k} − 1) + {op} + 1"
        elif geo.kind == "pool":
            inner = f"({n} + 2·{before} − {d}·({k} − 1) − 1) / {s}"
            if geo.ceil_mode:
                text = f"⌈{inner}⌉ + 1"
                if _pool_output(n, k, s, before, d, True) < _pool_output_uncorrected(
                    n, k, s, before, d
                ):
                    text += " − 1"
            else:
                text = f"⌊{inner}⌋ + 1"
        else:
            text = f"⌊({n} + {before} + {after} − {d}·({k} − 1) − 1) / {s}⌋ + 1"
        out[name] = f"{text} = {size}"
    return out


def _fmt(p: Pair) -> str:
    return f"{p[0]}x{p[1]}"


def _check_kernel_fits(kernel: Pair, dilation: Pair, ek: Pair, padded: Pair) -> None:
    if ek[0] > padded[0] or ek[1] > padded[1]:
        # docs/api.md's wording:
        # "kernel (5x5, dilation 2 -> 9x9) is larger than the padded input (7x7)"
        d = str(dilation[0]) if dilation[0] == dilation[1] else _fmt(dilation)
        dil = f", dilation {d} -> {_fmt(ek)}" if dilation != (1, 1) else ""
        raise ParamError(
            "kernel",
            f"kernel ({_fmt(kernel)}{dil}) is larger than the padded input ({_fmt(padded)})",
        )


def conv_geometry(
    input_size: Pair,
    kernel_size: Any,
    *,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
) -> Geometry:
    """Sizes of a convolution (cross-correlation) of ``input_size`` by ``kernel_size``."""
    kernel = pair(kernel_size, "kernel_size")
    s = pair(stride, "stride")
    d = pair(dilation, "dilation")
    pad = resolve_padding(padding, input_size, kernel, s, d)
    ek = effective_kernel(kernel, d)
    padded = (input_size[0] + pad[0] + pad[1], input_size[1] + pad[2] + pad[3])
    _check_kernel_fits(kernel, d, ek, padded)
    out = ((padded[0] - ek[0]) // s[0] + 1, (padded[1] - ek[1]) // s[1] + 1)
    return Geometry(tuple(input_size), pad, kernel, ek, s, d, out)  # type: ignore[arg-type]


def _pool_output_uncorrected(n: int, k: int, s: int, p: int, d: int) -> int:
    """``ceil((n + 2p - d(k - 1) - 1) / s) + 1`` before ceil_mode's last-window correction."""
    return (n + 2 * p - d * (k - 1) - 1 + s - 1) // s + 1


def _pool_output(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """``pooling_output_shape`` from ATen's Pool.h, one axis."""
    if not ceil_mode:
        return (n + 2 * p - d * (k - 1) - 1) // s + 1
    out = _pool_output_uncorrected(n, k, s, p, d)
    if (out - 1) * s >= n + p:
        out -= 1
    return out


def pool_geometry(
    input_size: Pair,
    kernel_size: Any,
    *,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Geometry:
    """Sizes of ``max_pool2d`` / ``avg_pool2d``; ``stride`` defaults to ``kernel_size``."""
    kernel = pair(kernel_size, "kernel_size")
    s = kernel if stride is None else pair(stride, "stride")
    d = pair(dilation, "dilation")
    p = symmetric_padding(padding)
    if p[0] > kernel[0] // 2 or p[1] > kernel[1] // 2:
        raise ParamError(
            "padding",
            f"padding ({_fmt(p)}) must be at most half the kernel size ({_fmt(kernel)}), "
            "as in PyTorch",
        )
    ek = effective_kernel(kernel, d)
    out = tuple(
        _pool_output(n, k, st, pp, dd, ceil_mode)
        for n, k, st, pp, dd in zip(input_size, kernel, s, p, d, strict=True)
    )
    if min(out) < 1:
        padded = (input_size[0] + 2 * p[0], input_size[1] + 2 * p[1])
        _check_kernel_fits(kernel, d, ek, padded)
        raise ParamError("kernel_size", f"output size {list(out)} is too small")
    pad = (p[0], p[0], p[1], p[1])
    return Geometry(
        tuple(input_size),  # type: ignore[arg-type]
        pad,
        kernel,
        ek,
        s,
        d,
        out,  # type: ignore[arg-type]
        kind="pool",
        ceil_mode=bool(ceil_mode),
    )


def conv_transpose_geometry(
    input_size: Pair,
    kernel_size: Any,
    *,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    dilation: Any = 1,
) -> Geometry:
    """Sizes of ``conv_transpose2d``.

    ``geometry.padding`` is the padding of the equivalent forward convolution
    (what is cropped from each side of the full transposed output).
    """
    kernel = pair(kernel_size, "kernel_size")
    s = pair(stride, "stride")
    d = pair(dilation, "dilation")
    p = symmetric_padding(padding)
    op = pair(output_padding, "output_padding", minimum=0)
    for axis in (0, 1):
        if op[axis] >= s[axis] and op[axis] >= d[axis]:
            raise ParamError(
                "output_padding",
                f"output_padding ({_fmt(op)}) must be smaller than either stride "
                f"({_fmt(s)}) or dilation ({_fmt(d)}) on each axis, as in PyTorch",
            )
    ek = effective_kernel(kernel, d)
    out = tuple(
        (n - 1) * st - 2 * pp + e + o
        for n, st, pp, e, o in zip(input_size, s, p, ek, op, strict=True)
    )
    if min(out) < 1:
        raise ParamError(
            "padding",
            f"padding {_fmt(p)} crops the transposed output to {list(out)}; it must be >= 1",
        )
    pad = (p[0], p[0], p[1], p[1])
    return Geometry(
        tuple(input_size),  # type: ignore[arg-type]
        pad,
        kernel,
        ek,
        s,
        d,
        out,  # type: ignore[arg-type]
        kind="conv_transpose",
        output_padding=op,
    )


def receptive_fields(geometry: Geometry, *, transposed: bool = False) -> dict[str, list[list[int]]]:
    """For each output row and column, the input indices it reads.

    Indices are in input coordinates, so padding cells are negative or >= size.
    For a transposed convolution, the input indices whose taps land on it.
    """
    fields: dict[str, list[list[int]]] = {}
    for name, axis in (("rows", 0), ("cols", 1)):
        n, k, s, d = (
            geometry.input[axis],
            geometry.kernel[axis],
            geometry.stride[axis],
            geometry.dilation[axis],
        )
        before = geometry.padding[2 * axis]
        if transposed:
            fields[name] = [
                sorted(
                    {
                        i
                        for a in range(k)
                        for i in [(o + before - a * d) // s]
                        if (o + before - a * d) % s == 0 and 0 <= i < n
                    }
                )
                for o in range(geometry.output[axis])
            ]
        else:
            fields[name] = [
                [o * s - before + a * d for a in range(k)] for o in range(geometry.output[axis])
            ]
    return fields
