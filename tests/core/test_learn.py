"""learn_kernel: the loss falls and the kernel converges to the target on a sample image."""

from __future__ import annotations

import re

import numpy as np
import pytest

from app.core import ParamError
from app.core.kernels import PRESETS
from app.core.learn import embed_kernel, learn_kernel
from app.imaging import decode_image
from app.samples import sample_path

SOBEL_X = PRESETS["sobel_x"].array()
TOLERANCE = 0.05  # max |learned - Sobel x| after the run


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    """The "scene" sample, gray, longest side 64 (64x48)."""
    return decode_image(sample_path("scene").read_bytes(), color="gray", max_side=64)[0].astype(
        np.float64
    )


@pytest.mark.parametrize(("optimizer", "lr"), [("sgd", 1.0), ("adam", 0.1)])
def test_recovers_sobel_x_on_a_sample_image(scene, optimizer, lr):
    records = list(learn_kernel(scene, SOBEL_X, steps=250, lr=lr, seed=0, optimizer=optimizer))
    losses = np.array([r["loss"] for r in records])
    assert [r["step"] for r in records] == list(range(251))
    assert losses[-1] < 1e-3 * losses[0]
    # "monotonically-ish": momentum and Adam may rise for a step, but every later
    # quarter of the run ends lower than the one before it
    quarters = losses[[0, 62, 125, 187, 250]]
    assert np.all(np.diff(quarters) < 0), quarters
    final = records[-1]
    assert np.abs(final["kernel"] - SOBEL_X).max() < TOLERANCE, final["kernel"]
    assert abs(final["bias"]) < TOLERANCE
    assert not final["diverged"]


def test_records_hold_output_and_first_holds_target(scene):
    first, second = list(learn_kernel(scene, SOBEL_X, steps=1, seed=3))
    assert first["target_output"].shape == first["output"].shape == scene.shape  # "same"
    assert "target_output" not in second and "input" not in second
    # The kernels convolve the standardised image, which the first record carries.
    assert first["input_mean"] == pytest.approx(scene.mean()) and first[
        "input_std"
    ] == pytest.approx(scene.std())
    np.testing.assert_allclose(first["input"], (scene - scene.mean()) / scene.std(), rtol=1e-12)
    assert first["kernel"].shape == (3, 3)
    assert np.abs(first["kernel"]).max() < 0.5  # a small random start
    assert first["grad_norm"] > 0


def test_same_seed_same_run(scene):
    a = [r["loss"] for r in learn_kernel(scene, SOBEL_X, steps=5, seed=7, optimizer="adam")]
    b = [r["loss"] for r in learn_kernel(scene, SOBEL_X, steps=5, seed=7, optimizer="adam")]
    assert a == b


def test_zero_steps_gives_only_the_start(scene):
    (record,) = learn_kernel(scene, SOBEL_X, steps=0)
    assert record["step"] == 0
    assert record["loss"] > 0  # a random start, not the target


def test_too_large_a_step_diverges_and_stops(scene):
    records = list(learn_kernel(scene, SOBEL_X, steps=200, lr=8.0, optimizer="sgd"))
    assert records[-1]["diverged"]
    assert len(records) < 201


def test_embed_kernel_centres_the_target():
    out = embed_kernel(np.ones((1, 1)), (3, 3))
    np.testing.assert_array_equal(out, [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    with pytest.raises(ParamError, match="at least"):
        embed_kernel(np.ones((3, 3)), (2, 3))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"steps": -1}, "steps"),
        ({"steps": 2, "lr": 0.0}, "lr"),
        ({"steps": 2, "optimizer": "rmsprop"}, "optimizer"),
        ({"steps": 2, "momentum": 1.0}, "momentum"),
    ],
)
def test_bad_arguments(scene, kwargs, field):
    with pytest.raises(ParamError) as err:
        next(learn_kernel(scene, SOBEL_X, **kwargs))
    assert err.value.field == field


# ---- resume: start from a given kernel ------------------------------------------------


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_starting_from_the_target_gives_zero_loss(scene, optimizer):
    records = list(
        learn_kernel(scene, SOBEL_X, steps=10, optimizer=optimizer, initial_kernel=SOBEL_X)
    )
    assert records[0]["loss"] < 1e-20
    np.testing.assert_array_equal(records[0]["kernel"], SOBEL_X)
    assert records[0]["bias"] == 0.0
    # the gradient there is zero, so the kernel stays put
    assert max(r["loss"] for r in records) < 1e-20
    assert not records[-1]["diverged"]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_resume_from_a_runs_last_kernel_continues_at_its_loss(scene, optimizer):
    full = list(learn_kernel(scene, SOBEL_X, steps=100, seed=2, optimizer=optimizer))
    stop = full[40]
    resumed = list(
        learn_kernel(
            scene,
            SOBEL_X,
            steps=60,
            seed=2,
            optimizer=optimizer,
            initial_kernel=stop["kernel"],
            initial_bias=stop["bias"],
            start_step=40,
        )
    )
    assert [r["step"] for r in resumed] == list(range(40, 101))
    assert "target_output" in resumed[0]
    # step 40 is the stopped run's kernel: the same loss, far below the random start's
    assert resumed[0]["loss"] == pytest.approx(stop["loss"], rel=1e-12)
    assert resumed[0]["loss"] < 0.05 * full[0]["loss"]
    # and it keeps learning (the optimizer's state restarts, so the path differs a little)
    assert resumed[-1]["loss"] < 0.5 * resumed[0]["loss"]
    assert resumed[-1]["loss"] < 10 * full[-1]["loss"]
    assert max(r["loss"] for r in resumed) < 0.2 * full[0]["loss"]


def test_start_step_only_renumbers(scene):
    a = list(learn_kernel(scene, SOBEL_X, steps=5, seed=4))
    b = list(learn_kernel(scene, SOBEL_X, steps=5, seed=4, start_step=1000))
    assert [r["step"] for r in b] == list(range(1000, 1006))
    assert [r["loss"] for r in a] == [r["loss"] for r in b]


def test_resume_at_the_minimum_is_not_called_diverged(scene):
    """Adam's restarted moments move every value by about lr at first, so the loss of
    a nearly perfect kernel rises by many orders of magnitude, harmlessly."""
    records = list(
        learn_kernel(scene, SOBEL_X, steps=20, optimizer="adam", initial_kernel=SOBEL_X + 1e-9)
    )
    assert records[0]["loss"] < 1e-15
    assert len(records) == 21 and not any(r["diverged"] for r in records)


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"initial_kernel": np.zeros((3, 4))}, "initial_kernel", "shape [3, 3], got [3, 4]"),
        ({"initial_kernel": np.zeros(9)}, "initial_kernel", "shape [3, 3], got [9]"),
        ({"initial_kernel": np.full((3, 3), np.nan)}, "initial_kernel", "finite"),
        ({"initial_bias": float("inf")}, "initial_bias", "finite"),
        ({"start_step": -1}, "start_step", ">= 0"),
    ],
)
def test_bad_resume_arguments(scene, kwargs, field, words):
    with pytest.raises(ParamError, match=re.escape(words)) as err:
        next(learn_kernel(scene, SOBEL_X, steps=2, **kwargs))
    assert err.value.field == field
