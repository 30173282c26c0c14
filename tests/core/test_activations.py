"""Activations and softmax against ``torch.nn.functional`` in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.core import ParamError, activation

# tiny tensors: with several threads, torch's hand-offs cost far more than the maths
torch.set_num_threads(1)

RTOL, ATOL = 1e-9, 1e-12
SETTINGS = settings(max_examples=60, deadline=None)

arrays = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4),
    elements=st.floats(-30, 30, allow_nan=False),
)
wide = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
    elements=st.floats(-800, 800, allow_nan=False),
)


def close(actual, expected) -> None:
    np.testing.assert_allclose(actual, expected.numpy(), rtol=RTOL, atol=ATOL)


def t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x.copy())


def test_worked_values() -> None:
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(activation(x, "step"), [0, 0, 0, 1, 1])  # x > 0 -> 1; 0 -> 0
    np.testing.assert_array_equal(activation(x, "relu"), [0, 0, 0, 0.5, 2])
    np.testing.assert_allclose(
        activation(x, "leaky_relu", negative_slope=0.1), [-0.2, -0.05, 0, 0.5, 2], rtol=1e-15
    )
    assert activation(np.array([0.0]), "sigmoid")[0] == 0.5
    # elu(-1) = alpha * (e^-1 - 1)
    assert activation(np.array([-1.0]), "elu", alpha=2.0)[0] == pytest.approx(
        2 * (math.exp(-1) - 1)
    )
    # gelu(1) = 1 * Phi(1) = 0.5 * (1 + erf(1 / sqrt 2)) = 0.8413447460685429
    assert activation(np.array([1.0]), "gelu")[0] == pytest.approx(0.8413447460685429, rel=1e-15)
    # softmax([0, ln 3]) = [1/4, 3/4]
    np.testing.assert_allclose(
        activation(np.array([0.0, math.log(3)]), "softmax"), [0.25, 0.75], rtol=1e-15
    )


@SETTINGS
@given(arrays)
def test_elementwise_match_torch(x) -> None:
    xt = t(x)
    close(activation(x, "step"), torch.heaviside(xt, torch.zeros((), dtype=torch.float64)))
    close(activation(x, "sigmoid"), torch.sigmoid(xt))
    close(activation(x, "tanh"), torch.tanh(xt))
    close(activation(x, "relu"), F.relu(xt))
    close(activation(x, "gelu"), F.gelu(xt))  # the exact erf form, torch's default
    close(activation(x, "elu"), F.elu(xt))
    close(activation(x, "leaky_relu"), F.leaky_relu(xt))  # default slope 0.01


@SETTINGS
@given(arrays, st.floats(0, 3), st.floats(0.01, 3))
def test_parameters_match_torch(x, negative_slope, alpha) -> None:
    xt = t(x)
    close(
        activation(x, "leaky_relu", negative_slope=negative_slope),
        F.leaky_relu(xt, negative_slope),
    )
    close(activation(x, "elu", alpha=alpha), F.elu(xt, alpha))


@SETTINGS
@given(wide)
def test_large_inputs_do_not_overflow(x) -> None:
    # warnings are errors in this suite, so an exp overflow would fail here
    xt = t(x)
    for name, ref in [
        ("sigmoid", torch.sigmoid),
        ("tanh", torch.tanh),
        ("elu", F.elu),
        ("gelu", F.gelu),
    ]:
        out = activation(x, name)
        assert np.isfinite(out).all()
        close(out, ref(xt))
    close(activation(x, "softmax", dim=-1), F.softmax(xt, dim=-1))
    close(activation(x, "softmax", dim=None), F.softmax(xt.reshape(-1), dim=0).reshape(x.shape))


@SETTINGS
@given(arrays, st.data())
def test_softmax_over_each_dim_matches_torch(x, data) -> None:
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    out = activation(x, "softmax", dim=dim)
    close(out, F.softmax(t(x), dim=dim))
    np.testing.assert_allclose(out.sum(axis=dim), 1.0, rtol=1e-12)


@SETTINGS
@given(arrays)
def test_softmax_over_all_elements(x) -> None:
    out = activation(x, "softmax", dim=None)
    assert out.shape == x.shape
    close(out, F.softmax(t(x).reshape(-1), dim=0).reshape(x.shape))
    assert out.sum() == pytest.approx(1.0, rel=1e-12)


def test_softmax_default_dim_is_0() -> None:
    x = np.array([[1.0, 2.0], [3.0, 5.0]])
    np.testing.assert_allclose(activation(x, "softmax"), F.softmax(t(x), dim=0).numpy(), rtol=RTOL)


@pytest.mark.parametrize("dim", [2, -3, 5])
def test_softmax_dim_out_of_range(dim) -> None:
    with pytest.raises(ParamError) as err:
        activation(np.ones((2, 3)), "softmax", dim=dim)
    assert err.value.field == "dim"
    assert "[-2, 1]" in str(err.value)


def test_unknown_function() -> None:
    with pytest.raises(ParamError) as err:
        activation(np.ones(3), "swish")
    assert err.value.field == "function"
    assert "'swish'" in str(err.value) and "relu" in str(err.value)


@pytest.mark.parametrize("function", ["relu", "sigmoid", "softmax", "leaky_relu", "elu", "gelu"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_input_is_rejected(function, bad) -> None:
    with pytest.raises(ParamError) as err:
        activation(np.array([0.0, bad]), function)
    assert err.value.field == "input"


@pytest.mark.parametrize(
    "function", ["step", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softmax"]
)
def test_dtype_and_shape_are_kept(function) -> None:
    x32 = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    out = activation(x32, function)
    assert out.dtype == np.float32
    assert out.shape == (3, 4)
    out64 = activation(x32.astype(np.float64), function)
    np.testing.assert_allclose(out, out64, rtol=1e-5, atol=1e-6)
    # plain lists and ints become float64
    assert activation([[1, -2]], function).dtype == np.float64
