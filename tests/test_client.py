"""``app.client`` against a real uvicorn server: every method agrees with ``app.core``,
every error class comes from the server's matching answer, 503s are retried.

Each test runs twice, with ``Client`` and with ``AsyncClient`` (``cs`` fixture).
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx2
import numpy as np
import pytest
from numpy.testing import assert_allclose
from PIL import Image

from app import core
from app.client import (
    AsyncClient,
    Busy,
    Client,
    ConvScopeError,
    InvalidInput,
    NotFound,
    ServerError,
    TooLarge,
    UnsupportedMedia,
    conv2d,
    models_predict,
    retry_delay,
    weights_of,
)
from app.core.kernels import PRESETS
from app.imaging import decode_image, encode_png
from app.main import create_app
from app.middleware import ConcurrencyLimit
from app.models import digits, teach
from app.models.network import Architecture
from app.models.preprocess import fit, mnist_style
from app.samples import sample_path
from tests.live import serving

EXACT = {"rtol": 1e-12, "atol": 1e-12}  # JSON carries float64 both ways
FLOAT32 = {"rtol": 1e-5, "atol": 1e-5}  # image endpoints compute and answer in float32


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving(create_app()) as base:
        yield base


class _AsyncFromSync:
    """``AsyncClient``'s methods called from a test: each call awaits them on a fresh
    client in its own event loop, so a test body reads the same for both clients."""

    def __init__(self, url: str, namespace: str | None = None, **options: Any) -> None:
        self._url, self._namespace, self._options = url, namespace, options

    def __getattr__(self, name: str) -> Any:
        if name in ("images", "models"):
            return _AsyncFromSync(self._url, name, **self._options)

        def call(*args: Any, **kwargs: Any) -> Any:
            async def run() -> Any:
                async with AsyncClient(self._url, **self._options) as client:
                    target = getattr(client, self._namespace) if self._namespace else client
                    if name == "train":  # an async iterator: gather its events
                        return [event async for event in client.train(*args, **kwargs)]
                    return await getattr(target, name)(*args, **kwargs)

            return anyio.run(run)

        return call


@contextmanager
def _client(kind: str, url: str, **options: Any) -> Iterator[Any]:
    if kind == "async":
        yield _AsyncFromSync(url, **options)
        return
    with Client(url, **options) as client:
        yield client


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def cs(kind: str, url: str) -> Iterator[Any]:
    with _client(kind, url) as client:
        yield client


rng = np.random.default_rng(14)


# ---- JSON operations against app.core ----------------------------------------------------


def test_conv2d_hand_worked_edge_filter_gives_2_3(cs: Any) -> None:
    patch = [[0.6, 0.2, 0.6], [0.1, -0.2, -0.3], [-0.5, -0.1, -0.3]]
    kernel = np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
    result = cs.conv2d(patch, kernel)
    assert result.output.shape == (1, 1)
    assert result.output[0, 0] == pytest.approx(2.3)
    assert result.geometry is None  # the output came back as .npy


def test_arrays_travel_as_npy_files_not_json_lists() -> None:
    x, w = rng.standard_normal((4, 5)), np.ones((2, 2), dtype=np.int64)
    call = conv2d(x, w, padding=1)
    assert call.files is not None and call.content is None
    assert set(call.files) == {"input", "kernel"}  # the scalar bias rides in params
    assert np.array_equal(np.load(io.BytesIO(call.files["input"][1])), x)
    assert np.load(io.BytesIO(call.files["kernel"][1])).dtype == np.int64
    assert call.data is not None
    assert json.loads(call.data["params"])["bias"] == 0.0
    assert "input" not in json.loads(call.data["params"])
    assert call.params == {"format": "npy"}


def test_a_1000_by_1000_conv2d_fits_as_npy(cs: Any) -> None:
    # As JSON lists this input alone is over the 8 MiB body limit.
    x = rng.standard_normal((1000, 1000))
    w = rng.standard_normal((3, 3))
    result = cs.conv2d(x, w, padding=1)
    assert result.output.shape == (1000, 1000)
    expected = core.conv2d(x[None], w[None, None], padding=1)[0]  # (H, W) -> (1, H, W)
    assert_allclose(result.output, expected, **EXACT)


@pytest.mark.parametrize(
    "options",
    [
        {"stride": 2, "padding": 1},
        {"padding": "same", "dilation": 2, "padding_mode": "reflect"},
        {"stride": [1, 2], "padding": [1, 0, 2, 1], "padding_mode": "circular"},
        {"groups": 2, "padding": "full"},
    ],
)
def test_conv2d_agrees_with_core(cs: Any, options: dict[str, Any]) -> None:
    x = rng.standard_normal((4, 9, 11))
    w = rng.standard_normal((6, 4 // options.get("groups", 1), 3, 3))
    b = rng.standard_normal(6)
    result = cs.conv2d(x, w, b, **options)
    expected = core.conv2d(x, w, b, **options)
    assert_allclose(result.output, expected, **EXACT)


def test_conv2d_trace_steps_sum_to_the_output(cs: Any) -> None:
    x, w = rng.standard_normal((5, 5)), rng.standard_normal((3, 3))
    result = cs.conv2d(x, w, 0.5, padding=1, trace=True)
    assert result.padded_input is not None and result.padded_input.shape == (1, 7, 7)
    assert result.steps is not None and len(result.steps) == 25
    assert result.geometry is not None and result.geometry["output"] == [5, 5]
    for step in result.steps:
        _, r, c = step["out"]
        assert step["sum"] == pytest.approx(result.output[r, c])


def test_conv_transpose2d_agrees_with_core(cs: Any) -> None:
    x, w, b = rng.standard_normal((2, 5, 6)), rng.standard_normal((2, 3, 3, 3)), [0.1, 0, -2]
    options = {"stride": 2, "padding": 1, "output_padding": 1, "dilation": 1}
    result = cs.conv_transpose2d(x, w, b, **options)
    assert_allclose(result.output, core.conv_transpose2d(x, w, b, **options), **EXACT)


def test_max_pool2d_agrees_with_core_including_indices(cs: Any) -> None:
    x = rng.standard_normal((3, 7, 8))
    result = cs.pool2d(x, 3, 2, 1, ceil_mode=True)
    out, idx = core.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, return_indices=True)
    assert_allclose(result.output, out, **EXACT)
    assert result.indices is not None
    assert result.indices.dtype == np.int64
    assert np.array_equal(result.indices, idx)


def test_avg_pool2d_agrees_with_core(cs: Any) -> None:
    x = rng.standard_normal((7, 8))
    result = cs.pool2d(x, [2, 3], padding=1, mode="avg", count_include_pad=False)
    expected = core.avg_pool2d(x[None], [2, 3], padding=1, count_include_pad=False)[0]
    assert_allclose(result.output, expected, **EXACT)
    assert result.indices is None


@pytest.mark.parametrize(
    ("function", "options"),
    [
        ("relu", {}),
        ("leaky_relu", {"negative_slope": 0.2}),
        ("elu", {"alpha": 0.5}),
        ("gelu", {}),
        ("softmax", {"dim": 1}),
        ("softmax", {"dim": None}),
    ],
)
def test_activation_agrees_with_core(cs: Any, function: str, options: dict[str, Any]) -> None:
    x = rng.standard_normal((3, 4))
    assert_allclose(
        cs.activation(x, function, **options), core.activation(x, function, **options), **EXACT
    )


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_agrees_with_core(cs: Any, training: bool) -> None:
    x = rng.standard_normal((2, 3, 4, 5))
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    weight, bias = rng.standard_normal(3), rng.standard_normal(3)
    options = {"training": training, "momentum": 0.2, "eps": 1e-3}
    result = cs.batch_norm(x, mean, var, weight, bias, **options)
    expected = core.batch_norm(x, mean, var, weight, bias, **options)
    for name in ("output", "mean", "var", "running_mean", "running_var"):
        assert_allclose(getattr(result, name), getattr(expected, name), **EXACT, err_msg=name)


def test_dropout_agrees_with_core(cs: Any) -> None:
    x = rng.standard_normal((6, 7))
    result = cs.dropout(x, 0.3, seed=7)
    out, mask = core.dropout(x, 0.3, True, seed=7)
    assert_allclose(result.output, out, **EXACT)
    assert result.mask.dtype == bool
    assert np.array_equal(result.mask, mask.astype(bool))


@pytest.mark.parametrize(
    ("size", "kernel_size", "options"),
    [
        (224, 7, {"stride": 2, "padding": 3}),
        ([10, 12], [3, 5], {"padding": "same", "dilation": 2}),
        ([5, 6], 3, {"stride": 2, "padding": 1, "transposed": True, "output_padding": 1}),
    ],
)
def test_geometry_agrees_with_core(
    cs: Any, size: Any, kernel_size: Any, options: dict[str, Any]
) -> None:
    result = cs.geometry(size, kernel_size, **options)
    pair = (size, size) if isinstance(size, int) else tuple(size)
    options = dict(options)  # the parameters are shared by the sync and async runs
    transposed = options.pop("transposed", False)
    if transposed:
        geo = core.conv_transpose_geometry(pair, kernel_size, **options)
    else:
        geo = core.conv_geometry(pair, kernel_size, **options)
    expected = geo.as_dict()
    assert {k: result.geometry[k] for k in expected} == expected
    assert result.shape == tuple(geo.output)
    fields = core.receptive_fields(geo, transposed=transposed)
    assert (result.rows, result.cols) == (fields["rows"], fields["cols"])
    assert result.formula["rows"].endswith(f"= {geo.output[0]}")
    assert result.formula["cols"].endswith(f"= {geo.output[1]}")


def test_kernels_are_the_presets(cs: Any) -> None:
    kernels = cs.kernels()
    assert list(kernels) == list(PRESETS)
    for name, preset in PRESETS.items():
        assert np.array_equal(kernels[name].values, preset.array())
    sobel = cs.kernel("sobel_x")
    assert sobel.name == "sobel_x"
    assert np.array_equal(sobel.values, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])


def test_mse_loss_agrees_with_core(cs: Any) -> None:
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    result = cs.loss(x, t)
    assert isinstance(result.loss, float)
    assert result.loss == pytest.approx(float(core.mse_loss(x, t)), rel=1e-12)
    assert_allclose(result.per_element, core.mse_loss(x, t, "none"), **EXACT)
    unreduced = cs.loss(x, t, reduction="none").loss
    assert_allclose(unreduced, core.mse_loss(x, t, "none"), **EXACT)


def test_cross_entropy_agrees_with_core(cs: Any) -> None:
    logits, target, weight = rng.standard_normal((4, 3)), [0, 2, 1, 2], [1.0, 0.5, 2.0]
    options = {"weight": weight, "label_smoothing": 0.1}
    result = cs.loss(logits, target, function="cross_entropy", **options)
    expected = core.cross_entropy(logits, np.array(target), **options)
    assert result.loss == pytest.approx(float(expected), rel=1e-12)
    assert result.probabilities is not None
    assert_allclose(result.probabilities.sum(axis=1), np.ones(4), **EXACT)


# ---- image endpoints against app.core ------------------------------------------------------


def _picture() -> np.ndarray:
    """A 24 x 32 RGB picture: a gradient with a bright square, uint8 (H, W, 3)."""
    rows, cols = np.mgrid[0:24, 0:32]
    picture = np.stack([cols * 8, rows * 10, 255 - cols * 8], axis=-1).astype(np.uint8)
    picture[6:14, 10:20] = 250
    return picture


PICTURE = _picture()
PNG = encode_png(PICTURE)


def _pixels(color: str = "gray") -> np.ndarray:
    return decode_image(PNG, color=color)  # what the server decodes: (C, H, W) float32


def test_images_conv2d_agrees_with_core(cs: Any) -> None:
    out = cs.images.conv2d(PNG, kernel="sobel_x", padding="same")
    sobel = PRESETS["sobel_x"].array()[None, None]  # (kh, kw) -> (1, 1, kh, kw)
    assert out.dtype == np.float32
    assert_allclose(out, core.conv2d(_pixels(), sobel, padding="same"), **FLOAT32)


def test_images_conv2d_sums_named_filters_over_rgb(cs: Any) -> None:
    out = cs.images.conv2d(
        PNG, kernel=["sobel_x", "sobel_y"], channel_mode="sum", color="rgb", stride=2
    )
    flat = np.stack([PRESETS[n].array() for n in ("sobel_x", "sobel_y")])
    weight = np.repeat(flat[:, None], 3, axis=1)  # (O, kh, kw) -> (O, 3, kh, kw)
    assert_allclose(out, core.conv2d(_pixels("rgb"), weight, stride=2), **FLOAT32)


@pytest.mark.parametrize(
    "image",
    [
        "path",
        PNG,
        Image.open(io.BytesIO(PNG)),
        PICTURE,
        PICTURE / 255.0,
        np.moveaxis(PICTURE, -1, 0),
    ],
    ids=["path", "bytes", "pil", "uint8-hwc", "float-hwc", "uint8-chw"],
)
def test_every_kind_of_image_argument_is_the_same_image(cs: Any, image: Any, tmp_path: Any) -> None:
    if isinstance(image, str):
        image = tmp_path / "picture.png"
        image.write_bytes(PNG)
    out = cs.images.pool2d(image, kernel_size=2, color="rgb")
    assert_allclose(out, core.max_pool2d(_pixels("rgb"), 2), **FLOAT32)


def test_images_from_a_sample(cs: Any) -> None:
    out = cs.images.pool2d(sample="shapes", mode="avg", kernel_size=3, max_side=64)
    x = decode_image(sample_path("shapes").read_bytes(), max_side=64)
    assert_allclose(out, core.avg_pool2d(x, 3), **FLOAT32)


def test_images_activation_agrees_with_core(cs: Any) -> None:
    out = cs.images.activation(PNG, function="tanh")
    assert_allclose(out, core.activation(_pixels(), "tanh"), **FLOAT32)


def test_images_pipeline_agrees_with_core(cs: Any) -> None:
    layers = [
        {"type": "conv2d", "kernel": "sobel_x", "padding": 1},
        {"type": "activation", "function": "relu"},
        {"type": "pool2d", "kernel_size": 2},
    ]
    out = cs.images.pipeline(PNG, layers=layers)
    sobel = PRESETS["sobel_x"].array()[None, None]
    expected = core.max_pool2d(core.relu(core.conv2d(_pixels(), sobel, padding=1)), 2)
    assert_allclose(out, expected, **FLOAT32)


def test_an_image_array_outside_0_1_is_refused_before_sending() -> None:
    with Client("http://127.0.0.1:9") as client, pytest.raises(ValueError, match=r"\[0, 1\]"):
        client.images.conv2d(PICTURE * 2.0, kernel="sobel_x")


# ---- models: predict, weights, train -------------------------------------------------------


def _digit() -> np.ndarray:
    """A hand-drawn-like 28 x 28 "1": a bright vertical stroke, white on black."""
    x = np.zeros((28, 28))
    x[5:23, 13:16] = 1.0
    x[5:8, 11:13] = 0.6
    return x


def _bar(i: int) -> np.ndarray:
    x = np.zeros((28, 28))
    x[4:24, 11 + i % 4 : 14 + i % 4] = 1.0
    return x


def _ring(i: int) -> np.ndarray:
    r, c = np.mgrid[0:28, 0:28]
    d = np.hypot(r - 14, c - 13 - i % 3)
    return ((d > 6 + i % 2) & (d < 9 + i % 2)).astype(np.float64)


CLASSES = ["bar", "ring"]
DATASET = {
    "classes": CLASSES,
    "examples": [{"label": "bar", "input": _bar(i).tolist()} for i in range(6)]
    + [{"label": "ring", "input": _ring(i).tolist()} for i in range(6)],
}
SHORT = {"epochs": 2, "batch_size": 4, "every": 1, "seed": 3}


def test_models_predict_agrees_with_the_model(cs: Any) -> None:
    model = digits.digits_model()
    expected = digits.probabilities(digits.run(model, _digit()))
    result = cs.models.predict(_digit())
    assert_allclose(result.probabilities, expected, rtol=1e-6, atol=1e-9)
    assert result.prediction == int(np.argmax(expected)) == int(result.label)
    assert result.top(2)[0] == (str(result.prediction), pytest.approx(expected.max()))
    assert result.top(2)[1][1] == pytest.approx(np.sort(expected)[-2])
    assert result.classes is None
    assert cs.models.describe()["classes"] == list(model.classes)


@pytest.mark.parametrize("form", ["path", "bytes", "pil", "array"])
def test_models_predict_an_image_preprocessed_as_the_server_does(
    cs: Any, form: str, tmp_path: Any
) -> None:
    picture = np.full((40, 30), 255, np.uint8)  # a dark "1" on white paper, as photographed
    picture[6:34, 13:18] = 20
    png = encode_png(picture)
    image: Any = {"bytes": png, "pil": Image.open(io.BytesIO(png)), "array": picture}.get(form)
    if form == "path":
        image = tmp_path / "digit.png"
        image.write_bytes(png)
    result = cs.models.predict(image=image)
    seen = mnist_style(decode_image(png, color="gray")[0], "image")
    assert_allclose(result.input, seen, atol=1e-6)
    expected = digits.probabilities(digits.run(digits.digits_model(), seen))
    assert_allclose(result.probabilities, expected, rtol=1e-5, atol=1e-8)


def test_models_predict_passes_the_preprocess_way(cs: Any) -> None:
    picture = np.full((40, 30), 255, np.uint8)
    picture[6:34, 13:18] = 20
    png = encode_png(picture)
    gray = decode_image(png, color="gray")[0]
    result = cs.models.predict(image=png, preprocess="fit")
    assert_allclose(result.input, fit(gray), atol=1e-6)
    assert not np.allclose(result.input, mnist_style(gray), atol=1e-3)  # a different way
    with pytest.raises(ValueError, match="preprocess applies to an image"):
        models_predict(_digit(), preprocess="fit")


def test_models_weights_are_the_shipped_ones(cs: Any) -> None:
    weights = cs.models.weights()
    shipped = digits.digits_model().params
    assert list(weights) == list(shipped)
    for name, value in shipped.items():
        assert_allclose(weights[name], value, rtol=0, atol=0, err_msg=name)


def test_train_streams_the_runs_events_and_agrees_with_the_core(cs: Any) -> None:
    events = list(cs.train(DATASET, **SHORT))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and "progress" in kinds
    assert kinds.count("epoch") == SHORT["epochs"] - 1
    done = events[-1]
    # The same run in this process, on the core: the same losses, step for step.
    rng = np.random.default_rng([SHORT["seed"], 1])
    examples = [(e["label"], e["input"]) for e in DATASET["examples"]]
    data = teach.own_dataset(CLASSES, examples, rng)
    settings = teach.Settings(**SHORT)
    *_, last = teach.train_run(data, settings, max_seconds=60)
    assert_allclose(done["losses"], last.losses, rtol=1e-6)
    weights = weights_of(done)
    for name, value in last.params.items():
        assert_allclose(weights[name], value, rtol=1e-6, atol=1e-7, err_msg=name)
    # ... and those weights predict with their class names.
    prediction = cs.models.predict(_ring(0), weights=weights, classes=CLASSES)
    model = digits.Model(
        "digits", Architecture.from_params(last.params), last.params, ("bar", "ring")
    )
    expected = digits.probabilities(digits.run(model, _ring(0)))
    assert_allclose(prediction.probabilities, expected, rtol=1e-5, atol=1e-8)
    assert prediction.label == CLASSES[int(np.argmax(expected))]
    assert [name for name, _ in prediction.top(2)] == [CLASSES[i] for i in np.argsort(-expected)]


def test_train_refusals_are_the_servers(cs: Any, url: str) -> None:
    one_class = {"classes": ["bar"], "examples": DATASET["examples"][:6]}
    with pytest.raises(InvalidInput) as caught:
        list(cs.train(one_class, epochs=1))
    raw = httpx2.post(url + "/api/v1/models/train", json={"dataset": one_class, "epochs": 1})
    assert caught.value.detail == raw.json()["detail"]
    assert caught.value.messages[0].startswith("dataset.classes")
    with pytest.raises(TooLarge) as too_many:
        list(cs.train(DATASET, epochs=10_000))
    assert "CONVSCOPE_MAX_TRAIN_EPOCHS" in str(too_many.value)


def test_predict_takes_input_or_image_not_both() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        models_predict(_digit(), image=PNG)


# ---- errors: one class per meaning, carrying the server's own answer --------------------------


def _server_detail(url: str, path: str, body: Any) -> Any:
    return httpx2.post(url + path, json=body).json()["detail"]


def test_invalid_input_is_the_servers_422(cs: Any, url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        cs.conv2d([[1.0, 2.0]], [[1.0]], stride=0)
    exc = caught.value
    assert exc.status == 422
    assert isinstance(exc, ValueError)
    expected = _server_detail(
        url, "/api/v1/conv2d", {"input": [[1, 2]], "kernel": [[1]], "stride": 0}
    )
    assert exc.detail == expected
    assert exc.messages == [d["msg"] for d in expected]
    assert exc.messages[0].startswith("stride")


def test_nan_reaches_the_server_which_names_the_field(cs: Any, url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        cs.activation([[1.0, float("nan")]], "relu")
    raw = httpx2.post(
        url + "/api/v1/activation",
        content=b'{"input": [[1.0, NaN]], "function": "relu"}',
        headers={"content-type": "application/json"},
    )
    assert caught.value.detail == raw.json()["detail"]
    assert any(m.startswith("input[0][1]: ") for m in caught.value.messages)


def test_undecodable_image_is_invalid_input_400(cs: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        cs.images.conv2d(PNG[: len(PNG) // 2], kernel="sobel_x")
    assert caught.value.status == 400
    assert isinstance(caught.value.detail, str) and caught.value.detail


def test_over_a_limit_is_too_large_413(cs: Any, url: str) -> None:
    kernel = np.ones((65, 65))
    with pytest.raises(TooLarge) as caught:
        cs.conv2d(np.ones((70, 70)), kernel)
    body = {"input": np.ones((70, 70)).tolist(), "kernel": kernel.tolist()}
    assert caught.value.status == 413
    assert caught.value.detail == _server_detail(url, "/api/v1/conv2d", body)
    assert "CONVSCOPE_MAX_KERNEL_SIDE" in str(caught.value)


def test_not_an_image_is_unsupported_media_415(cs: Any) -> None:
    with pytest.raises(UnsupportedMedia) as caught:
        cs.images.conv2d(b"plain text, not an image", kernel="sobel_x")
    assert caught.value.status == 415


def test_unknown_preset_is_not_found_404(cs: Any, url: str) -> None:
    with pytest.raises(NotFound) as caught:
        cs.kernel("nope")
    assert caught.value.status == 404
    assert caught.value.detail == httpx2.get(url + "/api/v1/kernels/nope").json()["detail"]


# ---- 503: retried after Retry-After, then surfaced --------------------------------------------


class Trickle:
    """A tiny ASGI app: the first ``busy`` requests get ``status`` (503 with Retry-After: 0),
    later ones a one-number ``.npy`` (what ``activation`` reads)."""

    def __init__(self, busy: int, status: int = 503) -> None:
        self.busy, self.status, self.seen = busy, status, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        while (await receive()).get("more_body"):
            pass
        self.seen += 1
        if self.seen <= self.busy:
            status, media = self.status, b"application/json"
            content = json.dumps({"detail": f"busy ({self.seen})"}).encode()
            headers = [(b"retry-after", b"0")]
        else:
            buffer = io.BytesIO()
            np.save(buffer, np.ones((1, 1)))
            status, media, content, headers = 200, b"application/x-npy", buffer.getvalue(), []
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", media), *headers],
            }
        )
        await send({"type": "http.response.body", "body": content})


def test_a_trickle_of_503s_is_retried_until_an_answer(kind: str) -> None:
    app = Trickle(busy=2)
    with serving(app) as base, _client(kind, base, retries=3) as client:
        output = client.activation([[1.0]])
    assert app.seen == 3
    assert output.tolist() == [[1.0]]


def test_503s_past_the_retries_surface_as_busy(kind: str) -> None:
    app = Trickle(busy=10)
    with (
        serving(app) as base,
        _client(kind, base, retries=2) as client,
        pytest.raises(Busy) as caught,
    ):
        client.activation([[1.0]])
    assert app.seen == 3  # the first try and two retries
    assert caught.value.status == 503
    assert caught.value.detail == "busy (3)"


class TrickleStream:
    """The first ``busy`` requests get 503 (Retry-After: 0), later ones two server-sent
    events, split across body chunks."""

    def __init__(self, busy: int) -> None:
        self.busy, self.seen = busy, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        self.seen += 1
        if self.seen <= self.busy:
            headers = [(b"content-type", b"application/json"), (b"retry-after", b"0")]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": b'{"detail": "busy"}'})
            return
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for chunk in (b'data: {"type": "start"}\n\nda', b'ta: {"type": "done", "step": 2}\n\n'):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def test_the_training_stream_is_retried_after_503s_then_read_event_by_event(kind: str) -> None:
    app = TrickleStream(busy=2)
    with serving(app) as base, _client(kind, base, retries=2) as client:
        events = list(client.train(DATASET, epochs=1))
    assert app.seen == 3
    assert events == [{"type": "start"}, {"type": "done", "step": 2}]
    app = TrickleStream(busy=5)
    with serving(app) as base, _client(kind, base, retries=1) as client, pytest.raises(Busy):
        list(client.train(DATASET, epochs=1))
    assert app.seen == 2


def test_other_statuses_are_server_errors(kind: str) -> None:
    app = Trickle(busy=1, status=500)
    with serving(app) as base, _client(kind, base) as client, pytest.raises(ServerError) as caught:
        client.activation([[1.0]])
    assert app.seen == 1  # not retried
    assert caught.value.status == 500
    assert isinstance(caught.value, ConvScopeError)


class Hold:
    """Holds every request until ``release`` is set; ``holding`` says one arrived."""

    def __init__(self) -> None:
        self.holding, self.release = threading.Event(), threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        self.holding.set()
        await anyio.to_thread.run_sync(self.release.wait)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def test_the_servers_concurrency_limit_surfaces_as_busy(kind: str) -> None:
    hold = Hold()
    with serving(ConcurrencyLimit(hold, limit=1, retry_after=0)) as base:
        blocker = threading.Thread(target=httpx2.post, args=(base + "/hold",), daemon=True)
        blocker.start()
        try:
            assert hold.holding.wait(10)
            with _client(kind, base, retries=1) as client, pytest.raises(Busy) as caught:
                client.activation([[1.0]])
        finally:
            hold.release.set()
            blocker.join(10)
    assert "CONVSCOPE_MAX_CONCURRENT" in caught.value.messages[0]


def test_timeouts_are_configurable(kind: str) -> None:
    hold = Hold()
    with serving(hold) as base:
        try:
            with (
                _client(kind, base, timeout=0.2) as client,
                pytest.raises(httpx2.TimeoutException),
            ):
                client.activation([[1.0]])
            assert hold.holding.is_set()
        finally:
            hold.release.set()


@pytest.mark.parametrize(
    ("header", "cap", "seconds"),
    [("2", 30.0, 2.0), ("0", 30.0, 0.0), ("120", 5.0, 5.0), ("-3", 30.0, 0.0), ("soon", 30.0, 1.0)],
)
def test_retry_delay_reads_retry_after(header: str, cap: float, seconds: float) -> None:
    response = httpx2.Response(503, headers={"retry-after": header})
    assert retry_delay(response, cap) == seconds


def test_retry_delay_reads_an_http_date_capped() -> None:
    response = httpx2.Response(503, headers={"retry-after": "Fri, 31 Dec 2100 23:59:59 GMT"})
    assert retry_delay(response, 7.0) == 7.0
    past = httpx2.Response(503, headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_delay(past, 7.0) == 0.0
