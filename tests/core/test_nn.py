"""The classifier layers' forward and backward passes against torch.autograd, and the
whole digits network's gradients against torch on the same weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from app.core import ParamError, max_pool2d
from app.core.grad import conv2d_backward
from app.core.nn import (
    cross_entropy_backward,
    flatten,
    linear,
    linear_backward,
    max_pool2d_backward,
    relu_backward,
)
from app.models.network import Architecture, backward, forward, init_params, torch_source
from app.models.train import SGD, Adam

torch.set_num_threads(1)
RNG = np.random.default_rng(7)


def t(a: np.ndarray, grad: bool = True) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def test_relu_backward_matches_autograd() -> None:
    x = RNG.normal(size=(3, 4, 5))
    x[0, 0, :2] = 0.0  # torch's gradient at exactly 0 is 0
    g = RNG.normal(size=x.shape)
    xt = t(x)
    torch.relu(xt).backward(torch.tensor(g))
    np.testing.assert_allclose(relu_backward(g, x), xt.grad.numpy(), atol=0)


@pytest.mark.parametrize(("kernel", "stride"), [(2, 2), (3, 2), (2, 1), (3, 3)])
def test_max_pool2d_backward_matches_autograd(kernel: int, stride: int) -> None:
    x = RNG.normal(size=(2, 3, 9, 8))
    x[0, 0, :4, :4] = 1.0  # ties: the first maximum in the window takes the gradient
    out, idx = max_pool2d(x, kernel, stride=stride, return_indices=True)
    g = RNG.normal(size=out.shape)
    xt = t(x)
    F.max_pool2d(xt, kernel, stride=stride).backward(torch.tensor(g))
    np.testing.assert_allclose(max_pool2d_backward(g, idx, x.shape), xt.grad.numpy(), atol=1e-12)


def test_linear_forward_and_backward_match_autograd() -> None:
    x, w, b = RNG.normal(size=(5, 7)), RNG.normal(size=(3, 7)), RNG.normal(size=3)
    g = RNG.normal(size=(5, 3))
    xt, wt, bt = t(x), t(w), t(b)
    y = F.linear(xt, wt, bt)
    y.backward(torch.tensor(g))
    np.testing.assert_allclose(linear(x, w, b), y.detach().numpy(), atol=1e-12)
    gx, gw, gb = linear_backward(g, x, w)
    np.testing.assert_allclose(gx, xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(gw, wt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(gb, bt.grad.numpy(), atol=1e-12)


def test_flatten_is_torch_flatten() -> None:
    x = RNG.normal(size=(2, 3, 4, 5))
    np.testing.assert_array_equal(flatten(x), torch.flatten(torch.tensor(x), 1).numpy())


def test_cross_entropy_backward_matches_autograd() -> None:
    z = RNG.normal(size=(6, 10)) * 5
    y = RNG.integers(0, 10, size=6)
    zt = t(z)
    F.cross_entropy(zt, torch.tensor(y)).backward()
    np.testing.assert_allclose(cross_entropy_backward(z, y), zt.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize(
    ("groups", "stride", "dilation", "padding", "mode"),
    [
        (1, 1, 1, 1, "zeros"),
        (2, 2, 1, 2, "reflect"),
        (2, 1, 2, 2, "circular"),
        (1, 3, 2, 0, "zeros"),
    ],
)
def test_conv2d_backward_batched_path_matches_autograd(
    groups: int, stride: int, dilation: int, padding: int, mode: str
) -> None:
    """A training batch (>= 4096 output cells) takes conv2d_backward's gathered-columns
    product path."""
    x, w = RNG.normal(size=(32, 4, 40, 40)), RNG.normal(size=(6, 4 // groups, 3, 3))
    xt, wt, bt = t(x), t(w), t(np.zeros(6))
    torch_mode = {"zeros": "constant"}.get(mode, mode)
    xp = F.pad(xt, (padding,) * 4, mode=torch_mode)
    y = F.conv2d(xp, wt, bt, stride=stride, dilation=dilation, groups=groups)
    assert y.shape[0] * y.shape[2] * y.shape[3] >= 4096
    g = RNG.normal(size=tuple(y.shape))
    y.backward(torch.tensor(g))
    gx, gw, gb = conv2d_backward(
        g,
        x,
        w,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        padding_mode=mode,
    )
    np.testing.assert_allclose(gx, xt.grad.numpy(), atol=1e-9)
    np.testing.assert_allclose(gw, wt.grad.numpy(), atol=1e-9)
    np.testing.assert_allclose(gb, bt.grad.numpy(), atol=1e-9)


def test_bad_shapes_name_the_field() -> None:
    with pytest.raises(ParamError, match="grad_output"):
        relu_backward(np.zeros(3), np.zeros(4))
    with pytest.raises(ParamError, match="weight"):
        linear(np.zeros((2, 3)), np.zeros((4, 5)))
    with pytest.raises(ParamError, match="target"):
        cross_entropy_backward(np.zeros((2, 3)), np.zeros(3, dtype=int))


def torch_model(arch: Architecture, params: dict[str, np.ndarray]) -> torch.nn.Sequential:
    """The documented module, built by running the source the API serves."""
    namespace: dict[str, object] = {}
    exec(torch_source(arch), namespace)
    model = namespace["make_model"]()  # type: ignore[operator]
    model.load_state_dict({k: torch.tensor(v, dtype=torch.float64) for k, v in params.items()})
    return model.double()


@pytest.mark.parametrize("widths", [(8, 8, 16, 16), (2, 3, 4, 5)])
def test_network_gradients_match_torch(widths: tuple[int, int, int, int]) -> None:
    arch = Architecture(widths=widths)
    params = {k: v.astype(np.float64) for k, v in init_params(arch, RNG).items()}
    x = RNG.uniform(0, 1, size=(5, 1, 28, 28))
    y = RNG.integers(0, 10, size=5)
    model = torch_model(arch, params)
    logits_t = model(torch.tensor(x))
    F.cross_entropy(logits_t, torch.tensor(y)).backward()
    fwd = forward(arch, params, x, train=True)
    np.testing.assert_allclose(fwd.logits, logits_t.detach().numpy(), atol=1e-10)
    grads = backward(arch, params, fwd, cross_entropy_backward(fwd.logits, y))
    torch_grads = {k: p.grad.numpy() for k, p in model.named_parameters()}
    assert set(grads) == set(torch_grads)
    for key, grad in grads.items():
        np.testing.assert_allclose(grad, torch_grads[key], atol=1e-10, err_msg=key)


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_optimizer_steps_match_torch(name: str) -> None:
    p = {"w": RNG.normal(size=(3, 4))}
    pt = torch.tensor(p["w"].copy(), requires_grad=True)
    if name == "adam":
        ours: Adam | SGD = Adam(p, lr=0.01)
        theirs: torch.optim.Optimizer = torch.optim.Adam([pt], lr=0.01)
    else:
        ours, theirs = SGD(p, lr=0.1, momentum=0.9), torch.optim.SGD([pt], lr=0.1, momentum=0.9)
    for _ in range(4):
        g = RNG.normal(size=(3, 4))
        ours.step(p, {"w": g})
        pt.grad = torch.tensor(g)
        theirs.step()
    np.testing.assert_allclose(p["w"], pt.detach().numpy(), atol=1e-12)
