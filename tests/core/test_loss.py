"""mse_loss and cross_entropy: hand-worked values, then random cases against torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import ParamError
from app.core.loss import cross_entropy, cross_entropy_details, log_softmax, mse_loss

torch.set_num_threads(1)


# ---- hand-worked ----------------------------------------------------------------------


def test_mse_by_hand():
    """input [1, 2, 3], target [1, 0, 5]: squared errors 0, 4, 4; sum 8; mean 8/3."""
    assert mse_loss([1.0, 2.0, 3.0], [1.0, 0.0, 5.0]) == pytest.approx(8 / 3, rel=1e-15)
    assert mse_loss([1.0, 2.0, 3.0], [1.0, 0.0, 5.0], "sum") == 8.0
    np.testing.assert_array_equal(
        mse_loss([[1.0, 2.0, 3.0]], [[1.0, 0.0, 5.0]], "none"), [[0, 4, 4]]
    )


def test_cross_entropy_uniform_logits():
    """Equal logits [0, 0, 0, 0]: softmax is 1/4 each, so the loss is -log(1/4) = log 4
    whatever the target class."""
    d = cross_entropy_details(np.zeros(4), np.int64(2))
    assert float(d.loss) == pytest.approx(math.log(4), rel=1e-15)
    np.testing.assert_allclose(d.probabilities, [0.25] * 4, rtol=1e-15)


def test_cross_entropy_by_hand():
    """logits [2, 1, 0], target class 0:
    log-sum-exp = 2 + log(1 + e^-1 + e^-2) = 2 + log(1.5032147...) = 2.4076059...
    loss = lse - 2 = log(1 + e^-1 + e^-2) = 0.4076059644...
    p = [e^0, e^-1, e^-2] / 1.5032147 = [0.66524096, 0.24472847, 0.09003057]."""
    d = cross_entropy_details([2.0, 1.0, 0.0], np.int64(0))
    assert float(d.loss) == pytest.approx(0.40760596444437, rel=1e-12)
    np.testing.assert_allclose(d.probabilities, [0.66524096, 0.24472847, 0.09003057], atol=1e-8)
    assert d.per_sample.shape == ()


def test_cross_entropy_two_samples_mean_and_none():
    """Row 0: logits [0, 0], class 1 -> log 2 = 0.693147...; row 1: logits [3, 0],
    class 0 -> log(1 + e^-3) = 0.048587...; mean = (0.693147 + 0.048587) / 2 = 0.370867."""
    x = [[0.0, 0.0], [3.0, 0.0]]
    y = np.array([1, 0])
    per = cross_entropy(x, y, reduction="none")
    np.testing.assert_allclose(per, [math.log(2), math.log1p(math.exp(-3))], rtol=1e-14)
    assert float(cross_entropy(x, y)) == pytest.approx((math.log(2) + math.log1p(math.exp(-3))) / 2)


def test_cross_entropy_probability_target():
    """logits [0, 0], target [0.25, 0.75]: -(0.25 log 1/2 + 0.75 log 1/2) = log 2."""
    assert float(cross_entropy([0.0, 0.0], [0.25, 0.75])) == pytest.approx(math.log(2), rel=1e-15)


def test_label_smoothing_by_hand():
    """logits [0, log 3] -> p = [1/4, 3/4]; class 1 with smoothing 0.2 over 2 classes:
    target [0.1, 0.9]; loss = -(0.1 log 1/4 + 0.9 log 3/4) = 0.1 * 1.386294 + 0.9 * 0.287682
    = 0.1386294 + 0.2589139 = 0.3975433."""
    loss = cross_entropy([0.0, math.log(3)], np.int64(1), label_smoothing=0.2)
    expected = -(0.1 * math.log(0.25) + 0.9 * math.log(0.75))
    assert float(loss) == pytest.approx(expected, rel=1e-14)


def test_log_softmax_is_stable_for_huge_logits():
    out = log_softmax(np.array([1000.0, 0.0]))
    np.testing.assert_allclose(out, [0.0, -1000.0])
    assert float(cross_entropy([1000.0, 0.0], np.int64(1))) == 1000.0  # naive exp overflows


# ---- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field", "words"),
    [
        (lambda: mse_loss([1.0, 2.0], [1.0]), "target", "shape [2], got [1]"),
        (lambda: mse_loss([1.0], [1.0], "avg"), "reduction", "must be one of"),
        (
            lambda: cross_entropy([1.0, 2.0], np.int64(2)),
            "target",
            "target class index 2 is out of range",
        ),
        (lambda: cross_entropy([1.0, 2.0], np.int64(-1)), "target", "target class index -1"),
        (lambda: cross_entropy([[1.0, 2.0]], np.array([0, 1])), "target", "shape [1]"),
        (lambda: cross_entropy([1.0, 2.0], [0.5, 0.6]), "target", "sum to 1"),
        (lambda: cross_entropy([1.0, 2.0], [1.5, -0.5]), "target", ">= 0"),
        (lambda: cross_entropy([1.0, 2.0], [1.0, 0.0, 0.0]), "target", "shape [2]"),
        (lambda: cross_entropy(np.ones((1, 2, 2)), np.array([0])), "input", "(C,) or (N, C)"),
        (
            lambda: cross_entropy([1.0], np.int64(0), weight=[1.0, 2.0]),
            "weight",
            "one value per class",
        ),
    ],
)
def test_errors_name_the_field(call, field, words):
    with pytest.raises(ParamError) as err:
        call()
    assert err.value.field == field
    assert words in err.value.message


def test_probabilities_within_tolerance_pass():
    """Rows summing to 1 within 1e-6 are accepted and used as given (as torch does)."""
    target = [0.5, 0.5 + 5e-7]
    loss = cross_entropy([1.0, 2.0], target)
    # log_softmax([1, 2]) = [-log(1 + e), 1 - log(1 + e)]
    lse = math.log(1 + math.e)
    assert float(loss) == pytest.approx(-(0.5 * -lse + (0.5 + 5e-7) * (1 - lse)), rel=1e-12)
    expected = F.cross_entropy(
        torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor(target, dtype=torch.float64)
    )
    assert float(loss) == pytest.approx(expected.item(), rel=1e-12)
    with pytest.raises(ParamError, match="sum to 1"):
        cross_entropy([1.0, 2.0], [0.5, 0.5 + 2e-6])


# ---- against torch ----------------------------------------------------------------------


@st.composite
def ce_cases(draw):
    classes = draw(st.integers(1, 5))
    batched = draw(st.booleans())
    n = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (n, classes) if batched else (classes,)
    logits = rng.standard_normal(shape) * draw(st.sampled_from([1.0, 10.0, 100.0]))
    if draw(st.booleans()):
        target = rng.integers(0, classes, size=shape[:-1])
    else:
        raw = rng.random(shape) ** 3
        target = raw / raw.sum(axis=-1, keepdims=True)
    weight = rng.random(classes) + 0.1 if draw(st.booleans()) else None
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    smoothing = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    return logits, target, weight, reduction, smoothing


@settings(max_examples=80, deadline=None)
@given(ce_cases())
def test_cross_entropy_matches_torch(case):
    logits, target, weight, reduction, smoothing = case
    ours = cross_entropy_details(
        logits, target, weight=weight, reduction=reduction, label_smoothing=smoothing
    )
    theirs = F.cross_entropy(
        torch.tensor(logits),
        torch.tensor(target),
        weight=None if weight is None else torch.tensor(weight),
        reduction=reduction,
        label_smoothing=smoothing,
    )
    np.testing.assert_allclose(ours.loss, theirs.numpy(), rtol=1e-9, atol=1e-12)
    unreduced = F.cross_entropy(
        torch.tensor(logits),
        torch.tensor(target),
        weight=None if weight is None else torch.tensor(weight),
        reduction="none",
        label_smoothing=smoothing,
    )
    np.testing.assert_allclose(ours.per_sample, unreduced.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        ours.probabilities, torch.softmax(torch.tensor(logits), -1).numpy(), rtol=1e-9, atol=1e-15
    )


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=3),
    st.sampled_from(["mean", "sum", "none"]),
    st.integers(0, 2**32 - 1),
)
def test_mse_matches_torch(shape, reduction, seed):
    rng = np.random.default_rng(seed)
    x, t = rng.standard_normal(shape), rng.standard_normal(shape)
    theirs = F.mse_loss(torch.tensor(x), torch.tensor(t), reduction=reduction).numpy()
    np.testing.assert_allclose(mse_loss(x, t, reduction), theirs, rtol=1e-12)
