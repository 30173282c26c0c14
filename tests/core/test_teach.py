"""Training the digits architecture (app.models.teach): it learns, it is reproducible,
own datasets are checked and split, transfer learning touches only the last layer."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import ParamError
from app.models import digits as shipped
from app.models import teach
from app.models.data import load_split
from app.models.network import Architecture
from app.models.train import evaluate
from tests.teach_shapes import SHAPES, examples


def _run(data: teach.Dataset, **settings) -> list[teach.Event]:
    digits = shipped.digits_model().params if settings.get("init") == "digits" else None
    return list(teach.train_run(data, teach.Settings(**settings), max_seconds=1e9, digits=digits))


def _shapes(per_class: int, seed: int) -> teach.Dataset:
    pairs = [(e["label"], e["input"]) for e in examples(per_class, seed)]
    return teach.own_dataset(SHAPES, pairs, np.random.default_rng(seed))


def test_a_short_digits_run_beats_the_untrained_network() -> None:
    split = load_split()
    every = np.arange(len(split.train_images)) % 10 == 0  # 800 of the 8,000, all classes
    data = teach.Dataset(
        tuple(str(d) for d in range(10)),
        split.train_images[every],
        split.train_labels[every],
        split.test_images,
        split.test_labels,
    )
    events = _run(data, epochs=1, seed=3, learning_rate=0.003)  # a short run: a brisk rate
    start, done = events[0], events[-1]
    assert isinstance(start, teach.Start) and isinstance(done, teach.Done)
    assert start.test_size == done.confusion.sum() == 2000
    arch = Architecture()
    untrained = teach.starting_params(arch, "random", np.random.default_rng(3), None)
    np.testing.assert_array_equal(untrained["0.weight"], start.filters)  # the run's start
    before = evaluate(arch, untrained, data.test_images, data.test_labels).accuracy
    assert before < 0.2  # an untrained network guesses
    assert done.test_accuracy > before + 0.3
    assert done.step == start.steps == 25


def test_three_made_up_shapes_reach_90_percent_on_held_back_examples() -> None:
    data = _shapes(per_class=40, seed=7)
    assert data.classes == SHAPES
    assert len(data.test_labels) == 3 * 8  # a fifth of each class held back
    assert np.bincount(data.test_labels).tolist() == [8, 8, 8]
    done = _run(data, epochs=12, batch_size=16, seed=1, learning_rate=0.003)[-1]
    assert isinstance(done, teach.Done) and done.reason == "finished"
    assert done.confusion.sum() == 24
    assert done.test_accuracy >= 0.9, done.confusion


def test_the_same_seed_gives_the_same_losses_and_another_seed_does_not() -> None:
    data = _shapes(per_class=10, seed=2)
    a, b = _run(data, epochs=2, batch_size=8, seed=5), _run(data, epochs=2, batch_size=8, seed=5)
    c = _run(data, epochs=2, batch_size=8, seed=6)
    losses = [e.losses for e in (a[-1], b[-1], c[-1])]  # type: ignore[union-attr]
    assert len(losses[0]) == 2 * 3  # 24 training examples, batches of 8
    assert losses[0] == losses[1]
    assert losses[0] != losses[2]


def test_progress_events_come_every_n_steps_and_at_each_epochs_end() -> None:
    data = _shapes(per_class=10, seed=2)  # 24 training examples -> 6 batches of 4
    events = _run(data, epochs=2, batch_size=4, every=4, seed=0)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["Start", *["Progress"] * 2, "Epoch", *["Progress"] * 2, "Done"]
    steps = [e.step for e in events if isinstance(e, teach.Progress)]
    assert steps == [4, 6, 8, 12]
    done = events[-1]
    assert isinstance(done, teach.Done)
    joined = [x for e in events if isinstance(e, teach.Progress) for x in e.losses]
    assert joined == done.losses and len(done.losses) == 12


def test_transfer_learning_changes_only_the_last_layer() -> None:
    data = _shapes(per_class=10, seed=4)
    done = _run(data, epochs=3, batch_size=8, init="digits", seed=0)[-1]
    assert isinstance(done, teach.Done)
    digits = shipped.digits_model().params
    for key, value in done.params.items():
        if key.startswith("11."):
            assert value.shape[0] == 3
        else:
            np.testing.assert_array_equal(value, digits[key])
    assert done.losses[-1] < done.losses[0]


def test_a_stopped_run_yields_nothing_more() -> None:
    data = _shapes(per_class=10, seed=2)
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2

    events = list(
        teach.train_run(
            data, teach.Settings(epochs=5, batch_size=4, every=1), max_seconds=1e9, should_stop=stop
        )
    )
    assert [type(e).__name__ for e in events] == ["Start", "Progress", "Progress"]


def test_the_time_limit_ends_the_run_with_its_weights_evaluated() -> None:
    data = _shapes(per_class=10, seed=2)
    ticks = iter(range(1000))
    events = list(
        teach.train_run(
            data,
            teach.Settings(epochs=5, batch_size=4, every=100),
            max_seconds=2.5,
            clock=lambda: float(next(ticks)),
        )
    )
    done = events[-1]
    assert isinstance(done, teach.Done) and done.reason == "time_limit"
    assert 1 <= done.step < 30 and done.confusion.sum() == 6
    assert isinstance(events[-2], teach.Progress) and events[-2].step == done.step


BLANK = np.zeros((28, 28)).tolist()
DOT = np.pad(np.ones((2, 2)), 13).tolist()


@pytest.mark.parametrize(
    ("classes", "examples_", "field", "words"),
    [
        (["a"], [("a", DOT)] * 5, "dataset.classes", "need 2 to 10 classes, got 1"),
        (["a", "a"], [("a", DOT)] * 10, "dataset.classes", "'a' appears twice"),
        (["a", "b"], [("a", DOT)] * 5 + [("c", DOT)] * 5, "dataset.examples[5].label", "'c'"),
        (["a", "b"], [("a", DOT)] * 5 + [("b", BLANK)] * 5, "dataset.examples[5].input", "blank"),
        (
            ["a", "b"],
            [("a", DOT)] * 5 + [("b", [[0.5] * 27] * 28)] * 5,
            "dataset.examples[5].input",
            "row 0 has 27",
        ),
        (
            ["a", "b"],
            [("a", DOT)] * 5 + [("b", [[2.0] * 28] * 28)] * 5,
            "dataset.examples[5].input",
            "[0, 1]",
        ),
        (["a", "b"], [("a", DOT)] * 5 + [("b", DOT)] * 4, "dataset.examples", "'b' has 4 examples"),
    ],
)
def test_bad_own_datasets_name_the_field(classes, examples_, field, words) -> None:
    with pytest.raises(ParamError) as info:
        teach.own_dataset(classes, examples_, np.random.default_rng(0))
    assert info.value.field == field
    assert info.value.message.startswith(field.split("[")[0])
    assert words in info.value.message


def test_weights_round_trip_and_bad_files_name_the_field() -> None:
    params = {"0.weight": np.ones((2, 3), np.float32)}
    back = teach.weights_from_npz(teach.weights_to_npz(params), "weights", 10_000)
    np.testing.assert_array_equal(back["0.weight"], params["0.weight"])
    with pytest.raises(ParamError, match=r"^weights: not a readable \.npz"):
        teach.weights_from_npz(b"not a zip", "weights", 10_000)
    with pytest.raises(ParamError, match=r"^weights: the \.npz unpacks to"):
        teach.weights_from_npz(teach.weights_to_npz(params), "weights", 10)
    with pytest.raises(ParamError, match=r"^weights: not valid base64"):
        teach.decode_weights("@@@", "weights", 10_000)
