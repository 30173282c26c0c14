"""The two ways an upload becomes 28x28 (``preprocess``: "digit" and "fit"), worked by
hand and against Pillow, directly and through POST /api/v1/models/digits/predict."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.errors import ParamError
from app.main import app
from app.models.preprocess import PREPROCESS, fit, mnist_style, preprocess

PREDICT = "/api/v1/models/digits/predict"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def _square_on_white() -> np.ndarray:
    """100x100 white with a black 40x40 square at rows 10..49, columns 30..69."""
    g = np.ones((100, 100))
    g[10:50, 30:70] = 0.0
    return g


def _wide_picture() -> np.ndarray:
    """28x56 white (a light background) with a black 4x8 block at rows 10..13, columns
    20..27 and one black pixel at (20, 41)."""
    g = np.ones((28, 56))
    g[10:14, 20:28] = 0.0
    g[20, 41] = 0.0
    return g


def _png(gray: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.round(gray * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_digit_way_by_hand() -> None:
    """Inverted (white border), cropped to the 40x40 square, scaled to 20x20 of ones, its
    centre of mass (9.5, 9.5) put at 13.5: rows and columns 4..23 are 1, the rest 0."""
    want = np.zeros((28, 28), np.float32)
    want[4:24, 4:24] = 1.0
    np.testing.assert_array_equal(mnist_style(_square_on_white()), want)
    np.testing.assert_array_equal(preprocess(_square_on_white(), "digit"), want)


def test_fit_way_by_hand_and_equals_a_pil_resize() -> None:
    """28x56 -> inverted, halved to 14x28 (2x2 means), rows 7..20 of a black 28x28: the
    block lands on rows 12..13, columns 10..13 (all 1); the lone pixel gives one 2x2 mean
    of 0.25 at (7 + 10, 20). No crop, no rescale, no centring by mass."""
    out = fit(_wide_picture())
    want = np.zeros((28, 28), np.float32)
    want[12:14, 10:14] = 1.0
    want[17, 20] = 0.25
    np.testing.assert_array_equal(out, want)
    # The same as Pillow: invert, BOX-resize to (28 wide, 14 tall), paste at row 7.
    inverted = Image.fromarray((1.0 - _wide_picture()).astype(np.float32), mode="F")
    resized = np.asarray(inverted.resize((28, 14), Image.Resampling.BOX))
    pil = np.zeros((28, 28), np.float32)
    pil[7:21] = resized
    np.testing.assert_allclose(out, pil, atol=1e-6)


def test_fit_keeps_the_aspect_of_a_tall_picture_and_a_dark_one_as_is() -> None:
    """A dark 112x56 picture (not inverted) with a gray 4x4 patch: 4x area-means to 28x14,
    placed at column 7; the patch's value 0.6 is kept, not stretched to 1."""
    g = np.zeros((112, 56))
    g[40:44, 20:24] = 0.6
    out = fit(g)
    want = np.zeros((28, 28), np.float32)
    want[10, 7 + 5] = 0.6
    np.testing.assert_allclose(out, want, atol=1e-7)
    pil = np.asarray(
        Image.fromarray(g.astype(np.float32), mode="F").resize((14, 28), Image.Resampling.BOX)
    )
    np.testing.assert_allclose(out[:, 7:21], pil, atol=1e-6)


def test_fit_refuses_a_blank_picture_naming_the_field() -> None:
    with pytest.raises(ParamError, match=r"^image: the picture is blank"):
        fit(np.ones((30, 40)), "image")


def test_the_api_applies_the_way_named_and_digit_by_default(client: TestClient) -> None:
    png = _png(_square_on_white())
    got = {}
    for name in ("default", "digit", "fit"):
        data = {} if name == "default" else {"preprocess": name}
        r = client.post(PREDICT, files={"image": ("s.png", png, "image/png")}, data=data)
        assert r.status_code == 200, r.text
        got[name] = np.array(r.json()["input"])
    np.testing.assert_allclose(got["default"], got["digit"], atol=0)
    np.testing.assert_allclose(got["digit"], mnist_style(_square_on_white()), atol=1e-6)
    np.testing.assert_allclose(got["fit"], fit(_square_on_white()), atol=1e-6)
    # fit keeps the square where it was: rows 10..49 of 100 -> rows 2.8..14 of 28
    assert got["fit"][3:14, 9:19].min() == pytest.approx(1.0) and got["fit"][20:, :].max() == 0
    described = client.get("/api/v1/models/digits").json()
    assert set(described["preprocess"]) == set(PREPROCESS) == {"digit", "fit"}
    assert described["preprocess_default"] == "digit"


@pytest.mark.parametrize(
    ("send", "message"),
    [
        ({"data": {"preprocess": "centre"}}, "preprocess: must be one of 'digit', 'fit'"),
        ({"json": {"input": [[0.5] * 28] * 28, "preprocess": "fit"}}, "preprocess: only for"),
    ],
)
def test_bad_preprocess_is_a_422_naming_the_field(
    client: TestClient, send: dict, message: str
) -> None:
    if "data" in send:
        send = send | {"files": {"image": ("s.png", _png(_square_on_white()), "image/png")}}
    r = client.post(PREDICT, **send)
    assert r.status_code == 422
    assert message in r.text
