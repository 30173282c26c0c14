"""app.samples: the catalogue matches the shipped files, which decode and are small."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.imaging import decode_image
from app.samples import SAMPLES, sample_path

ROOT = Path(__file__).resolve().parent.parent
NAMES = [sample["name"] for sample in SAMPLES]


def test_catalogue_has_unique_complete_entries() -> None:
    assert len(SAMPLES) >= 5
    assert len(set(NAMES)) == len(NAMES)
    assert {"shapes", "checkerboard", "text", "gradient", "scene"} <= set(NAMES)
    for sample in SAMPLES:
        assert set(sample) == {"name", "label", "description", "url", "width", "height"}
        assert sample["url"] == f"/static/samples/{sample['name']}.png"
        assert sample["label"]
        assert len(sample["description"]) > 20


@pytest.mark.parametrize("name", NAMES)
def test_sample_file_matches_its_entry(name: str) -> None:
    sample = next(s for s in SAMPLES if s["name"] == name)
    path = sample_path(name)
    assert path == ROOT / "static" / "samples" / f"{name}.png"
    assert path.is_file()
    assert path.stat().st_size < 150_000
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.size == (sample["width"], sample["height"])
    pixels = decode_image(path.read_bytes(), color="rgb")
    assert pixels.shape == (3, sample["height"], sample["width"])
    assert pixels.std() > 0.1  # not blank: real content with contrast


def test_unknown_sample_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="nope"):
        sample_path("nope")
    with pytest.raises(KeyError):
        sample_path("../config")


def test_make_samples_redraws_the_shipped_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "scripts/make_samples.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_samples", module)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in NAMES:
        fresh = np.asarray(Image.open(tmp_path / f"{name}.png"))
        shipped = np.asarray(Image.open(sample_path(name)))
        np.testing.assert_array_equal(fresh, shipped)
