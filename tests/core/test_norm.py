"""batch_norm against ``F.batch_norm`` (statistics and running-stat updates); dropout."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import ParamError, batch_norm, dropout

# tiny tensors: with several threads, torch's hand-offs cost far more than the maths
torch.set_num_threads(1)

RTOL, ATOL = 1e-9, 1e-12


def close(actual, expected) -> None:
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


def t(x) -> torch.Tensor:
    return torch.from_numpy(np.array(x, dtype=np.float64))


# --- batch_norm -----------------------------------------------------------------


def test_batch_norm_worked() -> None:
    # one channel [1, 2, 3, 4]: mean 2.5, biased var ((1.5^2 + 0.5^2) * 2) / 4 = 1.25,
    # unbiased 5/3; eps 0 would give (x - 2.5) / sqrt(1.25)
    x = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    res = batch_norm(x, training=True, eps=1e-12)
    assert res.mean.tolist() == [2.5]
    assert res.var.tolist() == [1.25]
    close(res.output, (x - 2.5) / math.sqrt(1.25 + 1e-12))
    # running stats start at 0 and 1: 0.9 * 0 + 0.1 * 2.5, 0.9 * 1 + 0.1 * 5/3
    close(res.running_mean, [0.25])
    close(res.running_var, [0.9 + 0.1 * 5 / 3])
    # eval with those stats, weight 2 and bias 1: (x - 0.25) / sqrt(rv + eps) * 2 + 1
    ev = batch_norm(x, res.running_mean, res.running_var, [2.0], [1.0], training=False)
    close(ev.output, (x - 0.25) / np.sqrt(res.running_var[0] + 1e-5) * 2 + 1)
    np.testing.assert_array_equal(ev.running_mean, res.running_mean)  # eval never updates
    np.testing.assert_array_equal(ev.mean, res.running_mean)
    np.testing.assert_array_equal(ev.var, res.running_var)


def test_eval_defaults_are_a_fresh_batchnorm() -> None:
    # running mean 0, var 1: output = x / sqrt(1 + eps)
    x = np.arange(8.0).reshape(2, 2, 2)
    close(batch_norm(x).output, x / math.sqrt(1 + 1e-5))


@st.composite
def bn_cases(draw):
    batch = draw(st.sampled_from([None, 1, 2, 3]))
    c = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (c, h, w) if batch is None else (batch, c, h, w)
    scale = draw(st.sampled_from([1e-3, 1.0, 100.0]))
    x = rng.standard_normal(shape) * scale + rng.standard_normal()
    optional = {
        "running_mean": rng.standard_normal(c),
        "running_var": rng.random(c) + 0.1,
        "weight": rng.standard_normal(c),
        "bias": rng.standard_normal(c),
    }
    given_ = {k: v for k, v in optional.items() if draw(st.booleans())}
    momentum = draw(st.sampled_from([0.1, 0.3, 1.0]))
    eps = draw(st.sampled_from([1e-5, 1e-3]))
    return x, given_, momentum, eps


def _torch_bn(x, kw, training, momentum, eps):
    c = x.shape[-3]
    rm = t(kw.get("running_mean", np.zeros(c)))
    rv = t(kw.get("running_var", np.ones(c)))
    w = t(kw["weight"]) if "weight" in kw else None
    b = t(kw["bias"]) if "bias" in kw else None
    xt = t(x)[None] if x.ndim == 3 else t(x)  # (C, H, W) is a batch of one
    out = F.batch_norm(xt, rm, rv, w, b, training=training, momentum=momentum, eps=eps)
    return (out[0] if x.ndim == 3 else out).numpy(), rm.numpy(), rv.numpy()


@settings(max_examples=80, deadline=None)
@given(bn_cases(), st.booleans())
def test_batch_norm_matches_torch(case, training) -> None:
    x, kw, momentum, eps = case
    x4 = x[None] if x.ndim == 3 else x
    count = x4.shape[0] * x4.shape[2] * x4.shape[3]
    if training and count < 2:
        with pytest.raises(ValueError):  # torch refuses too
            _torch_bn(x, kw, training, momentum, eps)
        with pytest.raises(ParamError, match="more than 1 value per channel"):
            batch_norm(x, training=training, momentum=momentum, eps=eps, **kw)
        return
    out, rm, rv = _torch_bn(x, kw, training, momentum, eps)
    res = batch_norm(x, training=training, momentum=momentum, eps=eps, **kw)
    assert res.output.shape == x.shape
    close(res.output, out)
    close(res.running_mean, rm)
    close(res.running_var, rv)
    if training:
        # the batch statistics: mean and biased variance over (N, H, W)
        xt = t(x4)
        close(res.mean, xt.mean(dim=(0, 2, 3)).numpy())
        close(res.var, xt.var(dim=(0, 2, 3), unbiased=False).numpy())


def test_batch_norm_float32_stays_float32() -> None:
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    res = batch_norm(x, training=True)
    assert res.output.dtype == np.float32
    expected = F.batch_norm(torch.from_numpy(x), None, None, training=True).numpy()
    np.testing.assert_allclose(res.output, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "field", "match"),
    [
        ({"running_mean": [0.0, 0.0]}, "running_mean", "3 values"),
        ({"running_var": [1.0]}, "running_var", "3 values"),
        ({"weight": [[1.0, 1.0, 1.0]]}, "weight", "one per channel"),
        ({"bias": [0.0] * 4}, "bias", "3 values"),
        ({"running_var": [1.0, -1.0, 1.0]}, "running_var", ">= 0"),
        ({"eps": 0.0}, "eps", "> 0"),
        ({"running_mean": [0.0, math.nan, 0.0]}, "running_mean", "finite"),
    ],
)
def test_batch_norm_parameter_errors(kwargs, field, match) -> None:
    with pytest.raises(ParamError, match=match) as err:
        batch_norm(np.ones((3, 2, 2)), **kwargs)
    assert err.value.field == field


def test_batch_norm_input_errors() -> None:
    with pytest.raises(ParamError, match="more than 1 value per channel") as err:
        batch_norm(np.ones((3, 1, 1)), training=True)  # N = 1, H = W = 1
    assert err.value.field == "input"
    assert batch_norm(np.ones((2, 3, 1, 1)), training=True).output.shape == (2, 3, 1, 1)
    assert batch_norm(np.ones((3, 1, 1)), training=False).output.shape == (3, 1, 1)
    with pytest.raises(ParamError, match=r"\(C, H, W\) or \(N, C, H, W\)"):
        batch_norm(np.ones((2, 2)))
    with pytest.raises(ParamError, match="finite"):
        batch_norm(np.array([[[1.0, math.nan]]]))
    with pytest.raises(ParamError, match="finite"):
        batch_norm(np.array([[[1.0, math.inf]]]), training=True)


def test_constant_channel_normalises_to_bias() -> None:
    # variance 0: (x - mean) = 0 exactly, so the output is the bias
    res = batch_norm(np.full((2, 3, 3), 7.0), bias=[0.5, -1.0], training=True)
    np.testing.assert_array_equal(res.output[0], np.full((3, 3), 0.5))
    np.testing.assert_array_equal(res.output[1], np.full((3, 3), -1.0))
    np.testing.assert_array_equal(res.var, [0, 0])


# --- dropout --------------------------------------------------------------------


X = np.random.default_rng(7).standard_normal((3, 8, 8)) + 5  # no zeros, so the mask shows


def test_same_seed_same_mask() -> None:
    out1, mask1 = dropout(X, 0.5, seed=3)
    out2, mask2 = dropout(X, 0.5, seed=3)
    np.testing.assert_array_equal(mask1, mask2)
    np.testing.assert_array_equal(out1, out2)
    _, other = dropout(X, 0.5, seed=4)
    assert not np.array_equal(mask1, other)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_kept_values_are_scaled_and_dropped_are_zero(p) -> None:
    out, mask = dropout(X, p, seed=0)
    assert mask.shape == X.shape
    assert set(np.unique(mask)) <= {0.0, 1.0}
    kept = mask == 1
    np.testing.assert_allclose(out[kept], X[kept] / (1 - p), rtol=1e-15)
    np.testing.assert_array_equal(out[~kept], 0.0)
    # roughly p of 192 elements dropped
    assert abs((~kept).mean() - p) < 0.15


def test_dropout_edge_probabilities() -> None:
    out, mask = dropout(X, 0.0, seed=1)
    np.testing.assert_array_equal(out, X)
    np.testing.assert_array_equal(mask, np.ones_like(X))
    out, mask = dropout(X, 1.0, seed=1)
    np.testing.assert_array_equal(out, np.zeros_like(X))
    np.testing.assert_array_equal(mask, np.zeros_like(X))


def test_dropout_eval_is_identity() -> None:
    out, mask = dropout(X, 0.7, training=False, seed=1)
    np.testing.assert_array_equal(out, X)
    np.testing.assert_array_equal(mask, np.ones_like(X))
    assert out is not X  # a copy: callers may write into it


def test_dropout_dtype() -> None:
    out, mask = dropout(X.astype(np.float32), 0.5)
    assert out.dtype == mask.dtype == np.float32


@pytest.mark.parametrize("p", [-0.1, 1.5, math.nan])
def test_dropout_p_outside_0_1(p) -> None:
    with pytest.raises(ParamError, match=r"\[0, 1\]") as err:
        dropout(X, p)
    assert err.value.field == "p"


def test_dropout_rejects_non_finite_input() -> None:
    with pytest.raises(ParamError, match="finite") as err:
        dropout(np.array([1.0, math.nan]), 0.5)
    assert err.value.field == "input"
