"""The models API: description, weights loaded into the documented PyTorch module, predict
(JSON and upload), traces, samples, and every bad input naming its field."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

from app.models.data import load_split

torch.set_num_threads(1)
PREDICT = "/api/v1/models/digits/predict"


@pytest.fixture(scope="module")
def digit() -> np.ndarray:
    return load_split().test_images[5, 0]  # a held-out "0"


def test_list_and_describe(client) -> None:
    r = client.get("/api/v1/models")
    assert r.status_code == 200
    assert [m["name"] for m in r.json()["models"]] == ["digits"]
    d = client.get("/api/v1/models/digits").json()
    assert d["input"] == [1, 28, 28]
    assert d["classes"] == [str(i) for i in range(10)]
    names = [layer["name"] for layer in d["layers"]]
    assert names[0] == "conv1" and names[-3:] == ["flatten", "linear", "softmax"]
    conv1 = d["layers"][0]
    assert {"in_channels", "out_channels", "kernel_size", "stride", "padding"} <= set(conv1)
    assert conv1["params"] == conv1["out_channels"] * (9 + 1)
    linear = d["layers"][-2]
    assert linear["in_features"] == d["layers"][-3]["output"][0]
    assert sum(layer["params"] for layer in d["layers"]) == d["parameters"]
    assert d["test_size"] == 2000
    confusion = np.array(d["confusion"])
    assert confusion.sum() == 2000 and (confusion.sum(axis=1) == 200).all()
    assert d["test_accuracy"] == pytest.approx(np.trace(confusion) / 2000)


def test_unknown_model_is_404(client) -> None:
    r = client.get("/api/v1/models/cats")
    assert r.status_code == 404
    assert r.json()["detail"].startswith("name: unknown model 'cats'")


def _torch_model(client):
    source = client.get("/api/v1/models/digits/pytorch")
    assert source.status_code == 200
    namespace: dict[str, object] = {}
    exec(source.text, namespace)
    model = namespace["make_model"]()  # type: ignore[operator]
    blob = client.get("/api/v1/models/digits/weights")
    assert blob.status_code == 200
    with np.load(io.BytesIO(blob.content)) as f:
        model.load_state_dict({k: torch.from_numpy(f[k]) for k in f.files})
    return model.eval()


def test_weights_in_pytorch_give_the_apis_logits(client, digit) -> None:
    model = _torch_model(client)
    body = client.post(PREDICT, json={"input": digit.tolist()}).json()
    with torch.no_grad():
        logits = model(torch.tensor(np.array(body["input"], np.float32))[None, None])[0]
    np.testing.assert_allclose(body["logits"], logits.numpy(), atol=1e-4)
    np.testing.assert_allclose(body["probabilities"], torch.softmax(logits, 0).numpy(), atol=1e-5)


def test_predict_json(client, digit) -> None:
    r = client.post(PREDICT, json={"input": digit.tolist()})
    assert r.status_code == 200
    body = r.json()
    assert sum(body["probabilities"]) == pytest.approx(1.0, abs=1e-9)
    assert body["prediction"] == int(np.argmax(body["probabilities"]))
    assert body["label"] == str(body["prediction"])
    np.testing.assert_allclose(body["input"], digit, atol=1e-7)
    layers = {layer["name"]: layer for layer in body["layers"]}
    assert layers["input"]["atlas"]["colormap"] == "gray"
    conv1 = layers["conv1"]
    channels = conv1["shape"][0]
    atlas = conv1["atlas"]
    assert conv1["shape"] == [channels, 28, 28] and len(conv1["maps"]) == channels
    assert atlas["tile"] == [28, 28] and atlas["shape"] == [channels * 28, 28]
    assert atlas["colormap"] == "diverging" and atlas["vmin"] == -atlas["vmax"]
    assert max(abs(conv1["min"]), abs(conv1["max"])) == pytest.approx(atlas["vmax"])
    png = Image.open(io.BytesIO(base64.b64decode(atlas["data_url"].split(",", 1)[1])))
    assert png.size == (28, channels * 28)
    with np.load(
        io.BytesIO(client.post(PREDICT + "?format=npz", json={"input": digit.tolist()}).content)
    ) as f:
        maps = f["conv1"]
    for k, m in enumerate(conv1["maps"]):
        assert m["min"] == pytest.approx(float(maps[k].min()), abs=1e-6)
        assert m["max"] == pytest.approx(float(maps[k].max()), abs=1e-6)
    # White is zero: a cell whose value is exactly 0 (ReLU output) is drawn white.
    relu1 = layers["relu1"]
    relu_png = np.asarray(
        Image.open(io.BytesIO(base64.b64decode(relu1["atlas"]["data_url"].split(",", 1)[1])))
    )
    with np.load(
        io.BytesIO(client.post(PREDICT + "?format=npz", json={"input": digit.tolist()}).content)
    ) as f:
        zero = np.argwhere(f["relu1"].reshape(-1, 28) == 0)[0]
    assert tuple(relu_png[zero[0], zero[1], :3]) == (255, 255, 255)
    assert conv1["inputs"]["rows"][0] == [-1, 0, 1]
    assert layers["pool1"]["inputs"]["rows"][3] == [6, 7]
    np.testing.assert_allclose(layers["linear"]["values"], body["logits"], atol=1e-6)


def test_predict_npz_holds_every_layer(client, digit) -> None:
    r = client.post(PREDICT + "?format=npz", json={"input": digit.tolist()})
    assert r.status_code == 200
    body = client.post(PREDICT, json={"input": digit.tolist()}).json()
    with np.load(io.BytesIO(r.content)) as f:
        assert f["conv1"].shape == tuple(body["layers"][1]["shape"])
        np.testing.assert_allclose(f["linear"], body["logits"], atol=1e-6)
        assert f["input"].shape == (1, 28, 28)


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_predict_upload_is_preprocessed_the_mnist_way(client) -> None:
    """A dark "1" drawn on white, off-centre, comes back white on black, 20 px tall and
    centred by mass."""
    canvas = np.full((200, 300), 255, np.uint8)
    canvas[20:120, 40:52] = 0  # a vertical bar, 100 x 12
    r = client.post(PREDICT, files={"image": ("one.png", _png(canvas), "image/png")})
    assert r.status_code == 200
    x = np.array(r.json()["input"])
    assert x.shape == (28, 28) and x.max() == pytest.approx(1.0) and x[0, 0] == 0
    rows = np.flatnonzero(x.max(axis=1) > 0.1)
    assert rows[-1] - rows[0] + 1 == 20
    yy, xx = np.mgrid[0:28, 0:28]
    assert (x * yy).sum() / x.sum() == pytest.approx(13.5, abs=0.6)
    assert (x * xx).sum() / x.sum() == pytest.approx(13.5, abs=0.6)


def test_conv_trace_sums_equal_the_activations(client, digit) -> None:
    body = client.post(
        PREDICT, json={"input": digit.tolist(), "trace": {"layer": "conv2", "unit": [3, 10, 12]}}
    ).json()
    tr = body["trace"]
    assert tr["input_layer"] == "relu1" and len(tr["channels"]) == 8
    for ch in tr["channels"]:
        assert ch["sum"] == pytest.approx(np.sum(ch["products"]), abs=1e-9)
        np.testing.assert_allclose(
            np.array(ch["window"]) * np.array(ch["kernel"]), ch["products"], atol=1e-12
        )
    assert tr["pre_activation"] == pytest.approx(tr["sum"] + tr["bias"], abs=1e-9)
    with np.load(
        io.BytesIO(client.post(PREDICT + "?format=npz", json={"input": digit.tolist()}).content)
    ) as f:
        assert tr["pre_activation"] == pytest.approx(float(f["conv2"][3, 10, 12]), abs=1e-4)
        assert tr["relu"] == pytest.approx(float(f["relu2"][3, 10, 12]), abs=1e-4)
        relu1 = f["relu1"]
    # The window is relu1 around (10, 12), zero-padded: channel 5's centre is relu1[5, 10, 12].
    assert tr["channels"][5]["window"][1][1] == pytest.approx(float(relu1[5, 10, 12]), abs=1e-6)


def test_linear_and_softmax_traces(client, digit) -> None:
    body = client.post(
        PREDICT, json={"input": digit.tolist(), "trace": {"layer": "linear", "unit": [4]}}
    ).json()
    tr = body["trace"]
    assert tr["logit"] == pytest.approx(body["logits"][4], abs=1e-4)
    assert tr["top_sum"] + tr["rest_sum"] == pytest.approx(tr["sum"], abs=1e-9)
    assert [abs(c["product"]) for c in tr["top"]] == sorted(
        (abs(c["product"]) for c in tr["top"]), reverse=True
    )
    sm = client.post(
        PREDICT, json={"input": digit.tolist(), "trace": {"layer": "softmax", "unit": [0]}}
    ).json()["trace"]
    np.testing.assert_allclose(np.array(sm["exp"]) / sm["sum"], sm["probabilities"], atol=1e-12)
    np.testing.assert_allclose(sm["probabilities"], body["probabilities"], atol=1e-9)
    pool = client.post(
        PREDICT, json={"input": digit.tolist(), "trace": {"layer": "pool1", "unit": [0, 2, 3]}}
    ).json()["trace"]
    assert pool["max"] == pytest.approx(np.max(pool["window"])) and pool["origin"] == [4, 6]


def _msg(r) -> str:
    detail = r.json()["detail"]
    return detail if isinstance(detail, str) else detail[0]["msg"]


@pytest.mark.parametrize(
    ("body", "start"),
    [
        ({"input": [[0.5] * 28] * 27}, "input: must be 28 rows of 28 values (28×28), got 27 rows"),  # noqa: RUF001
        ({"input": [[0.5] * 27] + [[0.5] * 28] * 27}, "input: must be 28 rows of 28 values"),
        ({"input": [[1.5] + [0.0] * 27] + [[0.0] * 28] * 27}, "input: values must lie in [0, 1]"),
        ({"input": [[-0.1] * 28] * 28}, "input: values must lie in [0, 1]; input[0][0] is -0.1"),
        ({"input": [[0.0] * 28] * 28}, "input: the drawing is blank"),
        ({"input": "seven"}, "input: "),
        ({"input": [[0.5] * 28] * 28, "colour": 1}, "colour: "),
        ({"input": [[0.5] * 28] * 28, "trace": {"layer": "conv9", "unit": [0]}}, "trace.layer: "),
        (
            {"input": [[0.5] * 28] * 28, "trace": {"layer": "conv1", "unit": [8, 0, 0]}},
            "trace.unit: must be 3 indices within the conv1 output [8, 28, 28]",
        ),
    ],
)
def test_bad_json_input_is_422_naming_the_field(client, body, start) -> None:
    r = client.post(PREDICT, json=body)
    assert r.status_code == 422
    assert _msg(r).startswith(start), _msg(r)


def test_nan_is_422(client) -> None:
    raw = (
        '{"input": ['
        + ",".join(["[NaN" + ",0" * 27 + "]"] + ["[" + ",".join(["0"] * 28) + "]"] * 27)
        + "]}"
    )
    r = client.post(PREDICT, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert _msg(r) == "input: must hold finite numbers; input[0][0] is nan"


def test_upload_errors(client) -> None:
    blank = np.full((50, 50), 255, np.uint8)
    r = client.post(PREDICT, files={"image": ("b.png", _png(blank), "image/png")})
    assert r.status_code == 422 and _msg(r) == "image: the drawing is blank (no ink found)"
    r = client.post(PREDICT, files={"image": ("a.txt", b"not an image at all", "text/plain")})
    assert r.status_code == 415 and _msg(r).startswith("image: unsupported type")
    r = client.post(PREDICT, files={"other": ("a.png", _png(blank), "image/png")})
    assert r.status_code == 422 and _msg(r).startswith("image: required")
    r = client.post(PREDICT, content=b"x=1", headers={"content-type": "text/plain"})
    assert r.status_code == 415 and _msg(r).startswith("body: ")


def test_samples(client) -> None:
    split = load_split()
    r = client.get("/api/v1/models/digits/samples", params={"label": 3, "limit": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 200 and [s["label"] for s in body["samples"]] == ["3"] * 5
    wrong = client.get(
        "/api/v1/models/digits/samples", params={"misclassified": True, "limit": 200}
    ).json()
    accuracy = client.get("/api/v1/models/digits").json()["test_accuracy"]
    assert wrong["total"] == round(2000 * (1 - accuracy))
    assert all(s["label"] != s["prediction"] and not s["correct"] for s in wrong["samples"])
    one = client.get("/api/v1/models/digits/samples/1234").json()
    np.testing.assert_allclose(one["input"], split.test_images[1234, 0], atol=1e-7)
    assert one["label"] == str(split.test_labels[1234])
    predicted = client.post(PREDICT, json={"input": one["input"]}).json()
    assert predicted["label"] == one["prediction"]
    assert client.get("/api/v1/models/digits/samples/2000").status_code == 404
    r = client.get("/api/v1/models/digits/samples", params={"limit": 201})
    assert r.status_code == 413
    assert _msg(r) == (
        "limit: samples asked (201) is over the limit of 200 "
        "(set CONVSCOPE_MAX_MODEL_SAMPLES to change it)"
    )
    assert client.get("/api/v1/models/digits/samples", params={"label": 10}).status_code == 422


def test_shipped_weights_reach_97_percent_held_out() -> None:
    """Computed here from the weights file and the split, not read from the API."""
    from app.models.digits import WEIGHTS_FILE
    from app.models.network import Architecture, predict

    split = load_split()
    with np.load(WEIGHTS_FILE) as f:
        params = {k: f[k] for k in f.files}
    arch = Architecture.from_params(params)
    accuracy = (predict(arch, params, split.test_images).argmax(1) == split.test_labels).mean()
    assert len(split.test_labels) == 2000
    assert accuracy >= 0.97
