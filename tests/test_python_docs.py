"""docs/python.md's code blocks run, in order and in one namespace, against a live server
(as a notebook would), and leave the values the page says they do."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from app import core
from app.core.kernels import PRESETS
from app.imaging import decode_image
from app.main import create_app
from app.samples import sample_path
from tests.live import serving

DOC = Path(__file__).resolve().parents[1] / "docs" / "python.md"
README = DOC.parents[1] / "README.md"
DOC_URL = "http://127.0.0.1:8000"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving(create_app()) as base:
        yield base


@pytest.fixture(scope="module")
def ran(url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every block of docs/python.md run once, in a scratch directory."""
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) >= 6
    namespace: dict[str, Any] = {"__name__": "docs_python"}
    notebook = tmp_path_factory.mktemp("notebook")
    namespace["__notebook__"] = notebook
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(notebook)
        for n, block in enumerate(blocks, 1):
            assert DOC_URL in block or "Client(" not in block
            code = compile(block.replace(DOC_URL, url), f"docs/python.md block {n}", "exec")
            exec(code, namespace)
    return namespace


def test_the_edge_maps_are_the_cores(ran: dict[str, Any]) -> None:
    x = decode_image(sample_path("shapes").read_bytes(), color="gray")
    kernels = np.stack([PRESETS[n].array() for n in ("sobel_x", "sobel_y")])[:, None]
    expected = core.conv2d(x, kernels, padding="same")
    assert ran["edges"].shape == (2, 256, 256)
    assert_allclose(ran["edges"], expected, rtol=1e-5, atol=1e-5)


def test_the_conv_and_its_size(ran: dict[str, Any]) -> None:
    assert ran["out"].shape == (8, 32, 32)
    assert_allclose(ran["out"], core.conv2d(ran["x"], ran["w"], stride=2, padding=1), atol=1e-9)
    assert ran["size"].shape == (32, 32)


def test_the_error_was_caught_with_the_servers_message(ran: dict[str, Any]) -> None:
    error = ran["refusal"]
    assert error.status == 422 and error.messages[0].startswith("stride")


def test_the_digit_and_the_trained_classes(ran: dict[str, Any]) -> None:
    assert ran["prediction"].label == "1"
    assert ran["prediction"].probabilities.sum() == pytest.approx(1.0)
    assert ran["weights"]["0.weight"].shape == (8, 1, 3, 3)
    assert ran["done"]["type"] == "done" and ran["done"]["reason"] == "finished"
    assert ran["mine"]["11.weight"].shape == (2, 784)
    assert {name for name, _ in ran["guess"].top(2)} == {"bar", "ring"}


def test_the_figure_is_saved_exactly_when_matplotlib_is_present(ran: dict[str, Any]) -> None:
    saved = (ran["__notebook__"] / "edges.png").is_file()
    assert saved == (importlib.util.find_spec("matplotlib") is not None)


def test_the_readme_blocks_run_too(url: str, tmp_path: Path, monkeypatch: Any) -> None:
    section = README.read_text().split("## Use from Python", 1)[1].split("\n## ", 1)[0]
    blocks = python_blocks(section)
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    for block in blocks:
        exec(compile(block.replace(DOC_URL, url), "README.md", "exec"), namespace)
    assert namespace["top"][0][0] == "1"
