"""conv2d_backward against central finite differences and against torch.autograd.

Random small cases from hypothesis cover stride, every padding form and mode,
dilation and groups. Finite differences check the maths from its definition
(independent of any framework); torch checks it to 1e-9.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import ParamError, conv2d
from app.core.grad import conv2d_backward

torch.set_num_threads(1)

TORCH_MODE = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "replicate",
    "circular": "circular",
}


def expected_padding(padding, size, kernel, stride, dilation) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from docs/api.md's Conventions (not from resolve_padding)."""
    if isinstance(padding, int):
        return (padding,) * 4
    if isinstance(padding, list):
        if len(padding) == 2:
            return (padding[0], padding[0], padding[1], padding[1])
        return tuple(padding)
    ek = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "full":
        return (ek[0] - 1, ek[0] - 1, ek[1] - 1, ek[1] - 1)
    sides: list[int] = []
    for n, s, e in zip(size, stride, ek, strict=True):
        total = max((math.ceil(n / s) - 1) * s + e - n, 0)
        sides += [total // 2, total - total // 2]
    return tuple(sides)


@st.composite
def conv_cases(draw):
    """A random valid conv2d setting: (x, w, b, kwargs), all float64."""
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cg = draw(st.integers(1, 2))
    og = draw(st.integers(1, 2))
    n = draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    dilation = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    h, w = draw(st.integers(2, 7)), draw(st.integers(2, 7))
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    padding = draw(
        st.one_of(
            st.integers(0, 2),
            st.lists(st.integers(0, 2), min_size=2, max_size=2),
            st.lists(st.integers(0, 2), min_size=4, max_size=4),
            st.sampled_from(["valid", "same", "full"]),
        )
    )
    pads = expected_padding(padding, (h, w), (kh, kw), stride, dilation)
    limit = {"reflect": min(h, w) - 1, "circular": min(h, w)}.get(mode, 99)
    if max(pads) > limit:  # torch refuses these; keep only cases both accept
        padding, pads = 0, (0, 0, 0, 0)
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if eh > h + pads[0] + pads[1] or ew > w + pads[2] + pads[3]:
        h, w = h + eh, w + ew  # make the kernel fit
        pads = expected_padding(padding, (h, w), (kh, kw), stride, dilation)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, cg * groups, h, w))
    wt = rng.standard_normal((og * groups, cg, kh, kw))
    b = rng.standard_normal(og * groups)
    kwargs = {
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
        "padding_mode": mode,
    }
    return x, wt, b, kwargs, pads


def torch_grads(x, w, b, go, kwargs, pads):
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    # F.pad takes (left, right, top, bottom)
    xp = F.pad(xt, (pads[2], pads[3], pads[0], pads[1]), mode=TORCH_MODE[kwargs["padding_mode"]])
    out = F.conv2d(
        xp, wt, bt, stride=kwargs["stride"], dilation=kwargs["dilation"], groups=kwargs["groups"]
    )
    out.backward(torch.tensor(go))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@settings(max_examples=40, deadline=None)
@given(conv_cases(), st.integers(0, 2**32 - 1))
def test_matches_torch_autograd(case, seed):
    x, w, b, kwargs, pads = case
    out = conv2d(x, w, b, **kwargs)
    go = np.random.default_rng(seed).standard_normal(out.shape)
    gx, gw, gb = conv2d_backward(go, x, w, **kwargs)
    tx, tw, tb = torch_grads(x, w, b, go, kwargs, pads)
    for ours, theirs in ((gx, tx), (gw, tw), (gb, tb)):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def numeric_grad(f, a: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences (f(a + e) - f(a - e)) / 2e, one element at a time."""
    grad = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        old = a[idx]
        a[idx] = old + eps
        up = f()
        a[idx] = old - eps
        down = f()
        a[idx] = old
        grad[idx] = (up - down) / (2 * eps)
    return grad


@settings(max_examples=15, deadline=None)
@given(conv_cases(), st.integers(0, 2**32 - 1))
def test_matches_finite_differences(case, seed):
    """L = sum(conv2d(x, w, b) * r) is linear in each argument, so central differences
    are exact up to rounding; r is a fixed random weighting of the outputs."""
    x, w, b, kwargs, _pads = case
    r = np.random.default_rng(seed).standard_normal(conv2d(x, w, b, **kwargs).shape)

    def loss() -> float:
        return float(np.sum(conv2d(x, w, b, **kwargs) * r))

    gx, gw, gb = conv2d_backward(r, x, w, **kwargs)
    for ours, arr in ((gx, x), (gw, w), (gb, b)):
        np.testing.assert_allclose(ours, numeric_grad(loss, arr), rtol=1e-6, atol=1e-7)


def test_hand_worked_one_channel():
    """x = [[0,1,2],[3,4,5],[6,7,8]], w = [[1,0],[0,-1]], valid: out is 2x2.
    With go = ones, dL/dw[a,b] = sum of the 2x2 window of x at offset (a,b):
      w00: 0+1+3+4 = 8, w01: 1+2+4+5 = 12, w10: 3+4+6+7 = 20, w11: 4+5+7+8 = 24;
    dL/dx[r,c] = sum of the weights that touch it: corners get one tap each
      (x00: w00 = 1, x02: w01 = 0, x20: w10 = 0, x22: w11 = -1), the centre all four
      (1 + 0 + 0 - 1 = 0); dL/db = 4 outputs x 1 = 4."""
    x = np.arange(9.0).reshape(1, 3, 3)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    gx, gw, gb = conv2d_backward(np.ones((1, 2, 2)), x, w)
    np.testing.assert_array_equal(gw, [[[[8, 12], [20, 24]]]])
    np.testing.assert_array_equal(gx, [[[1, 1, 0], [1, 0, -1], [0, -1, -1]]])
    np.testing.assert_array_equal(gb, [4])


def test_replicate_padding_folds_into_the_edge():
    """A 1x1 kernel of 1 on a 1x2 input with replicate padding 1: the padded 3x4 grid
    copies x00 into 6 cells (itself, left, top-left, top, bottom-left, bottom) and x01 likewise,
    so with go = ones each input cell's gradient is 6."""
    x = np.array([[[1.0, 2.0]]])
    gx, _, _ = conv2d_backward(
        np.ones((1, 3, 4)), x, np.ones((1, 1, 1, 1)), padding=1, padding_mode="replicate"
    )
    np.testing.assert_array_equal(gx, [[[6.0, 6.0]]])


def test_float32_stays_float32():
    x = np.ones((1, 4, 4), np.float32)
    w = np.ones((2, 1, 3, 3), np.float32)
    gx, gw, gb = conv2d_backward(np.ones((2, 2, 2), np.float32), x, w)
    assert gx.dtype == gw.dtype == gb.dtype == np.float32


def test_grad_output_shape_is_checked():
    with pytest.raises(ParamError, match=r"grad_output .*\[1, 2, 2\], got \[1, 3, 3\]") as err:
        conv2d_backward(np.ones((1, 3, 3)), np.ones((1, 3, 3)), np.ones((1, 1, 2, 2)))
    assert err.value.field == "grad_output"


@pytest.mark.parametrize(
    ("kwargs", "pads"),
    [
        ({"padding": 1}, (1, 1, 1, 1)),
        ({"padding": 2, "dilation": 2, "padding_mode": "reflect"}, (2, 2, 2, 2)),
        ({"padding": [1, 0], "stride": [2, 1], "groups": 2}, (1, 1, 0, 0)),
        ({"padding": [0, 1, 2, 0], "stride": 3, "padding_mode": "circular"}, (0, 1, 2, 0)),
    ],
)
def test_training_batch_float32_matches_torch(kwargs, pads):
    """A batch of digit-sized float32 maps, as training runs them: every image's cells sit
    on one flat grid, so a gradient leaking across an image's edge would show here."""
    full = {"stride": 1, "dilation": 1, "groups": 1, "padding_mode": "zeros", **kwargs}
    rng = np.random.default_rng(3)
    x = rng.standard_normal((9, 4, 14, 13)).astype(np.float32)
    w = rng.standard_normal((6, 4 // full["groups"], 3, 3)).astype(np.float32)
    b = np.zeros(6, np.float32)
    with torch.no_grad():
        xp = F.pad(
            torch.tensor(x),
            (pads[2], pads[3], pads[0], pads[1]),
            mode=TORCH_MODE[full["padding_mode"]],
        )
        shape = F.conv2d(
            xp,
            torch.tensor(w),
            stride=full["stride"],
            dilation=full["dilation"],
            groups=full["groups"],
        ).shape
    go = rng.standard_normal(tuple(shape)).astype(np.float32)
    gx, gw, gb = conv2d_backward(go, x, w, **full)
    tx, tw, tb = torch_grads(x, w, b, go, full, pads)
    assert gx.dtype == gw.dtype == np.float32
    np.testing.assert_allclose(gx, tx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, tw, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(gb, tb, rtol=1e-4, atol=1e-3)
