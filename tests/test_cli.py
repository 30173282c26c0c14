"""``convscope``: each subcommand runs once in a subprocess on the local core and once
against a live server (plus one bad-input exit 2); every other behaviour is checked by
calling ``app.cli.main(argv)`` in this process (the same code, without a new interpreter
building the app each time). Outputs are decoded and compared with ``app.core``, sizes and
formulas with ``/api/v1/geometry``, errors with the API's own messages."""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from PIL import Image

from app import core
from app.cli import main
from app.client import Client, ConvScopeError, as_png, image_conv2d
from app.core.kernels import PRESETS
from app.imaging import decode_image, encode_png
from app.main import create_app
from app.models import teach
from app.samples import sample_path
from tests.live import serving
from tests.teach_shapes import SHAPES, examples

ROOT = Path(__file__).resolve().parents[1]
FLOAT32 = {"rtol": 1e-5, "atol": 1e-5}
TIMES = "\N{MULTIPLICATION SIGN}"


def convscope(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """``cli("conv", ...)`` runs ``app.cli.main`` here and returns its exit code and output."""

    def run(*args: str) -> Ran:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = capsys.readouterr()
        code = exited.value.code
        return Ran(code if isinstance(code, int) else 1, out, err)

    return run


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving(create_app()) as base:
        yield base


@pytest.fixture(params=["local", "server"])
def where(request: pytest.FixtureRequest, url: str) -> list[str]:
    """Extra arguments: none to compute in the subprocess, ``--server URL`` for the server."""
    return [] if request.param == "local" else ["--server", url]


def _picture() -> bytes:
    rows, cols = np.mgrid[0:20, 0:28]
    rgb = np.stack([cols * 9, rows * 12, 255 - cols * 9], axis=-1).astype(np.uint8)
    rgb[5:12, 8:18] = 240
    return encode_png(rgb)


PNG = _picture()


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "picture.png"
    path.write_bytes(PNG)
    return path


def _server_messages(url: str, **arguments: object) -> list[str]:
    """What the API says about an image convolution with these arguments."""
    with Client(url) as client, pytest.raises(ConvScopeError) as caught:
        client.images.conv2d(**arguments)  # type: ignore[arg-type]
    return caught.value.messages


# ---- help and serving -----------------------------------------------------------------------


def test_top_level_help_in_a_subprocess_imports_no_app() -> None:
    top = convscope("--help")
    assert top.returncode == 0, top.stderr
    for flag in ("--host", "--port", "--reload", "serve", "conv", "pool", "geometry", "predict",
                 "train"):  # fmt: skip
        assert flag in top.stdout
    # parsing a whole command line loads neither numpy, nor the HTTP client, nor the app
    probe = subprocess.run(
        [sys.executable, "-c",
         "import sys; from app.cli import build_parser; "
         "build_parser().parse_args(['conv', 'x.png', '--kernel', 'sobel_x']); "
         "print(sorted(m for m in ('numpy', 'httpx2', 'app.main', 'app.client') "
         "if m in sys.modules))"],
        capture_output=True, text=True, env=os.environ | {"PYTHONPATH": str(ROOT)}, timeout=60,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        ("serve", ("--host", "--port", "--workers")),
        ("conv", ("--kernel", "--padding", "--server", "-o")),
        ("pool", ("--kernel-size", "--mode", "--ceil-mode", "--server")),
        ("geometry", ("--input", "--kernel", "--stride", "--transposed")),
        ("predict", ("IMAGE", "--top", "--weights", "--classes", "--server")),
        ("train", ("--epochs", "--dataset", "--batch-size", "-o", "--server")),
    ],
)
def test_every_command_has_help(cli: Callable[..., Ran], command: str, flags: tuple[str]) -> None:
    result = cli(command, "--help")
    assert result.returncode == 0, result.stderr
    assert f"usage: convscope {command}" in result.stdout
    for flag in flags:
        assert flag in result.stdout, flag


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _health(port: int) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


@pytest.mark.parametrize("command", [["serve"], []], ids=["serve", "no-command"])
def test_serving_with_and_without_the_serve_command(command: list[str]) -> None:
    port = _free_port()
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while _health(port) != 200:
            assert proc.poll() is None, "convscope exited"
            assert time.monotonic() < deadline, "convscope did not answer /healthz"
            time.sleep(0.1)
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0


def test_serving_options_are_refused_beside_another_command(cli: Callable[..., Ran]) -> None:
    result = cli("--port", "9000", "geometry", "--input", "8", "--kernel", "3")
    assert result.returncode == 2
    assert "--port" in result.stderr and "convscope serve" in result.stderr


# ---- geometry ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "size", "kernel", "options"),
    [
        (["--input", "224", "--kernel", "7", "--stride", "2", "--padding", "3"], 224, 7,
         {"stride": 2, "padding": 3}),
        (["--input", "10,12", "--kernel", "3,5", "--padding", "same", "--dilation", "2"],
         [10, 12], [3, 5], {"padding": "same", "dilation": 2}),
        (["--input", "5", "--kernel", "3", "--stride", "2", "--transposed",
          "--output-padding", "1"], 5, 3, {"stride": 2, "transposed": True, "output_padding": 1}),
    ],
)  # fmt: skip
def test_geometry_prints_the_apis_sizes_and_formula(
    cli: Callable[..., Ran], where: list[str], url: str, arguments: list[str], size: object,
    kernel: object, options: dict[str, object],
) -> None:  # fmt: skip
    result = cli("geometry", *arguments, *where)
    assert result.returncode == 0, result.stderr
    with Client(url) as client:
        expected = client.geometry(size, kernel, **options)  # type: ignore[arg-type]
    lines = result.stdout.splitlines()
    assert f"output  {expected.shape[0]}{TIMES}{expected.shape[1]}" in lines
    assert expected.formula  # printed as the API gives it, one line per entry
    for name, formula in expected.formula.items():
        assert f"{name:<7} {formula}" in lines


def test_geometry_in_a_subprocess(where: list[str], url: str) -> None:
    result = convscope("geometry", "--input", "224", "--kernel", "7", "--stride", "2",
                       "--padding", "3", *where)  # fmt: skip
    assert result.returncode == 0, result.stderr
    with Client(url) as client:
        expected = client.geometry(224, 7, stride=2, padding=3)
    lines = result.stdout.splitlines()
    assert f"output  {expected.shape[0]}{TIMES}{expected.shape[1]}" in lines
    assert f"rows    {expected.formula['rows']}" in lines


# ---- conv and pool ---------------------------------------------------------------------------


def test_conv_writes_an_npy_that_agrees_with_core(
    where: list[str], picture: Path, tmp_path: Path
) -> None:
    out = tmp_path / "edges.npy"
    result = convscope(
        "conv", str(picture), "--kernel", "sobel_x", "--padding", "same", "-o", str(out), *where
    )
    assert result.returncode == 0, result.stderr
    edges = np.load(out)
    sobel = PRESETS["sobel_x"].array()[None, None]  # (kh, kw) -> (1, 1, kh, kw)
    assert edges.dtype == np.float32
    assert_allclose(edges, core.conv2d(decode_image(PNG), sobel, padding="same"), **FLOAT32)
    assert f"wrote {out} (float32 20{TIMES}28)" in result.stdout


def test_conv_sums_several_presets_over_rgb(
    cli: Callable[..., Ran], where: list[str], picture: Path, tmp_path: Path
) -> None:
    out = tmp_path / "both.npy"
    result = cli(
        "conv", str(picture), "--kernel", "sobel_x", "--kernel", "sobel_y",
        "--channel-mode", "sum", "--color", "rgb", "--stride", "2", "-o", str(out), *where,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    flat = np.stack([PRESETS[n].array() for n in ("sobel_x", "sobel_y")])
    weight = np.repeat(flat[:, None], 3, axis=1)  # (O, kh, kw) -> (O, 3, kh, kw)
    expected = core.conv2d(decode_image(PNG, color="rgb"), weight, stride=2)
    assert_allclose(np.load(out), expected, **FLOAT32)


def test_conv_takes_a_kernel_from_an_npy_file(
    cli: Callable[..., Ran], where: list[str], picture: Path, tmp_path: Path
) -> None:
    kernel = np.array([[1.0, 0.0], [0.0, -1.0]])
    np.save(tmp_path / "k.npy", kernel)
    out = tmp_path / "diag.npy"
    result = cli("conv", str(picture), "--kernel", str(tmp_path / "k.npy"), "-o", str(out), *where)
    assert result.returncode == 0, result.stderr
    expected = core.conv2d(decode_image(PNG), kernel[None, None])
    assert_allclose(np.load(out), expected, **FLOAT32)


def test_conv_writes_the_png_the_api_draws(
    cli: Callable[..., Ran], where: list[str], url: str, picture: Path, tmp_path: Path
) -> None:
    out = tmp_path / "edges.png"
    result = cli("conv", str(picture), "--kernel", "sobel_x", "-o", str(out), *where)
    assert result.returncode == 0, result.stderr
    with Client(url) as client:
        expected = client.send(as_png(image_conv2d(PNG, kernel="sobel_x")))
    written = np.asarray(Image.open(out))
    assert written.shape[:2] == (18, 26)  # 20 x 28 through a 3 x 3 kernel, no padding
    assert np.array_equal(written, np.asarray(Image.open(io.BytesIO(expected))))


def test_pool_writes_an_npy_that_agrees_with_core(where: list[str], tmp_path: Path) -> None:
    out = tmp_path / "pooled.npy"
    result = convscope(
        "pool", "--sample", "shapes", "--max-side", "64", "--mode", "avg", "--kernel-size",
        "3", "--stride", "2", "--padding", "1", "--no-count-include-pad", "-o", str(out), *where,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    x = decode_image(sample_path("shapes").read_bytes(), max_side=64)
    expected = core.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
    assert_allclose(np.load(out), expected, **FLOAT32)


def test_without_output_the_size_and_range_are_printed(
    cli: Callable[..., Ran], where: list[str], picture: Path
) -> None:
    result = cli("pool", str(picture), "--kernel-size", "2", *where)
    assert result.returncode == 0, result.stderr
    pooled = core.max_pool2d(decode_image(PNG), 2)
    assert result.stdout.strip() == (
        f"output 10{TIMES}14, min {pooled.min():.6g}, max {pooled.max():.6g}"
    )


# ---- errors ----------------------------------------------------------------------------------


def test_bad_input_prints_the_apis_message_and_exits_2(
    cli: Callable[..., Ran], where: list[str], url: str, picture: Path
) -> None:
    result = cli("conv", str(picture), "--kernel", "sobel_x", "--padding", "banana", *where)
    assert result.returncode == 2
    expected = _server_messages(url, image=PNG, kernel="sobel_x", padding="banana")
    assert result.stderr.splitlines() == [f"convscope conv: error: {m}" for m in expected]
    assert expected[0].startswith("params.padding")


def test_bad_input_in_a_subprocess_exits_2_with_the_apis_message(url: str, picture: Path) -> None:
    result = convscope("conv", str(picture), "--kernel", "sobel_x", "--padding", "banana")
    assert result.returncode == 2
    expected = _server_messages(url, image=PNG, kernel="sobel_x", padding="banana")
    assert result.stderr.splitlines() == [f"convscope conv: error: {m}" for m in expected]


def test_an_unknown_preset_and_a_non_image_exit_2_with_the_apis_message(
    cli: Callable[..., Ran], where: list[str], url: str, tmp_path: Path
) -> None:
    text = tmp_path / "notes.png"
    text.write_bytes(b"plain text, not an image")
    result = cli("conv", str(text), "--kernel", "sobel_x", *where)
    assert result.returncode == 2
    expected = _server_messages(url, image=text.read_bytes(), kernel="sobel_x")
    assert result.stderr.splitlines() == [f"convscope conv: error: {m}" for m in expected]

    result = cli("conv", "--sample", "scene", "--kernel", "nope", *where)
    assert result.returncode == 2
    expected = _server_messages(url, sample="scene", kernel="nope")
    assert result.stderr.splitlines() == [f"convscope conv: error: {m}" for m in expected]


def test_over_a_limit_exits_2_with_the_apis_message(
    cli: Callable[..., Ran], where: list[str], url: str
) -> None:
    result = cli("geometry", "--input", "5000", "--kernel", "3", *where)
    assert result.returncode == 2
    with Client(url) as client, pytest.raises(ConvScopeError) as caught:
        client.geometry(5000, 3)
    assert caught.value.status == 413
    assert result.stderr.splitlines() == [
        f"convscope geometry: error: {m}" for m in caught.value.messages
    ]


def test_an_unreachable_server_exits_1(cli: Callable[..., Ran]) -> None:
    port = _free_port()
    result = cli(
        "geometry", "--input", "8", "--kernel", "3", "--server", f"http://127.0.0.1:{port}"
    )
    assert result.returncode == 1
    assert "cannot reach the server" in result.stderr


def test_an_output_that_is_neither_npy_nor_png_exits_2(
    cli: Callable[..., Ran], picture: Path
) -> None:
    result = cli("conv", str(picture), "--kernel", "sobel_x", "-o", "edges.jpg")
    assert result.returncode == 2
    assert ".npy or .png" in result.stderr


# ---- predict and train -------------------------------------------------------------------------


def _digit_png() -> bytes:
    """A dark "1" on white paper, 40 x 30 (the server finds, scales and centres it)."""
    picture = np.full((40, 30), 255, np.uint8)
    picture[6:34, 13:18] = 20
    return encode_png(picture)


def _printed(stdout: str) -> list[tuple[str, float]]:
    """``"8   97.68 %"`` lines -> [("8", 97.68), ...]."""
    return [(line.split()[0], float(line.split()[1])) for line in stdout.splitlines()]


def test_predict_prints_the_top_classes_in_a_subprocess(
    where: list[str], url: str, tmp_path: Path
) -> None:
    image = tmp_path / "digit.png"
    image.write_bytes(_digit_png())
    result = convscope("predict", str(image), "--top", "3", *where)
    assert result.returncode == 0, result.stderr
    with Client(url) as client:
        expected = client.models.predict(image=image).top(3)
    assert _printed(result.stdout) == [(name, round(p * 100, 2)) for name, p in expected]


DATASET = {"classes": list(SHAPES), "examples": examples(6, seed=5)}
SHORT = {"epochs": 2, "batch_size": 4, "every": 1, "seed": 1}


def _core_run() -> teach.Event:
    """The run the train command asks for, on the core in this process."""
    rng = np.random.default_rng([SHORT["seed"], 1])  # the held-back split's own stream
    pairs = [(e["label"], e["input"]) for e in DATASET["examples"]]
    data = teach.own_dataset(list(SHAPES), pairs, rng)
    *_, last = teach.train_run(data, teach.Settings(**SHORT), max_seconds=60)
    return last


def test_train_in_a_subprocess_shows_progress_and_writes_the_weights(
    where: list[str], tmp_path: Path
) -> None:
    dataset = tmp_path / "shapes.json"
    dataset.write_text(json.dumps(DATASET))
    options = [f"--{k.replace('_', '-')}={v}" for k, v in SHORT.items()]
    result = convscope(
        "train", "--dataset", str(dataset), *options, "-o", str(tmp_path / "w.npz"), *where
    )
    assert result.returncode == 0, result.stderr
    assert "100 %" in result.stderr.rsplit("\r", 1)[-1]  # the bar's last state
    last = _core_run()
    assert f"test accuracy {last.test_accuracy * 100:.2f} % on 3 held-out" in result.stdout
    with np.load(tmp_path / "w.npz") as written:
        assert sorted(written.files) == sorted(last.params)
        for name, value in last.params.items():
            assert_allclose(written[name], value, rtol=1e-6, atol=1e-7, err_msg=name)


def test_predict_with_your_weights_names_your_classes(
    cli: Callable[..., Ran], url: str, tmp_path: Path
) -> None:
    weights = tmp_path / "shapes.npz"
    params = _core_run().params
    np.savez(weights, **params)  # type: ignore[arg-type]
    drawing = tmp_path / "cross.npy"
    np.save(drawing, np.asarray(DATASET["examples"][0]["input"]))
    result = cli("predict", str(drawing), "--weights", str(weights), "--classes",
                 ",".join(SHAPES), "--top", "2", "--server", url)  # fmt: skip
    assert result.returncode == 0, result.stderr
    with Client(url) as client:
        expected = client.models.predict(
            np.load(drawing), weights=params, classes=list(SHAPES)
        ).top(2)
    assert _printed(result.stdout) == [(name, round(p * 100, 2)) for name, p in expected]
    assert {name for name, _ in expected} <= set(SHAPES)


def test_predict_passes_the_preprocess_way(
    cli: Callable[..., Ran], url: str, tmp_path: Path
) -> None:
    image = tmp_path / "digit.png"
    image.write_bytes(_digit_png())
    result = cli("predict", str(image), "--preprocess", "fit", "--top", "3", "--server", url)
    assert result.returncode == 0, result.stderr
    with Client(url) as client:
        expected = client.models.predict(image=image, preprocess="fit").top(3)
    assert _printed(result.stdout) == [(name, round(p * 100, 2)) for name, p in expected]
    wrong = cli("predict", str(image), "--preprocess", "squash", "--server", url)
    assert wrong.returncode == 2
    assert "convscope predict: error: preprocess: " in wrong.stderr


def test_predict_a_blank_drawing_exits_2_with_the_apis_message(
    cli: Callable[..., Ran], tmp_path: Path
) -> None:
    blank = tmp_path / "blank.npy"
    np.save(blank, np.zeros((28, 28)))
    result = cli("predict", str(blank))
    assert result.returncode == 2
    assert "convscope predict: error: input: the drawing is blank" in result.stderr


def test_train_refusals_exit_2_with_the_apis_message(
    cli: Callable[..., Ran], tmp_path: Path
) -> None:
    dataset = tmp_path / "one.json"
    dataset.write_text(json.dumps({"classes": ["cross"], "examples": examples(5, 0)[:5]}))
    result = cli("train", "--dataset", str(dataset), "--epochs", "1")
    assert result.returncode == 2
    assert "convscope train: error: dataset.classes: " in result.stderr
    wrong = cli("train", "--epochs", "1", "-o", str(tmp_path / "w.txt"))
    assert wrong.returncode == 2
    assert "-o: the weights are an .npz file" in wrong.stderr
