"""/classify in a real Chromium: a drawn stroke is classified as the API says, a unit's
trace shows the API's sum, and a held-out digit survives a reload through the URL."""

from __future__ import annotations

import re
from typing import Any
from urllib.request import urlopen

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import shown_link

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def model_loaded(live_server: str) -> None:
    """The server evaluates the model on the held-out digits once, on first use; do it
    before the pages are timed by their expectations."""
    with urlopen(f"{live_server}/api/v1/models/digits", timeout=120) as response:
        assert response.status == 200


DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
PREDICT = "/api/v1/models/digits/predict"
TIMES = "\u00d7"  # sizes are written C×H×W  # noqa: RUF003


def _draw_one(page: Any) -> None:
    """A vertical stroke on the drawing canvas, with real pointer events."""
    box = page.get_by_test_id("draw-canvas").bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(x + k * 0.5, box["y"] + box["height"] * (0.2 + 0.06 * k))
    page.mouse.up()


def _shown_probabilities(page: Any) -> list[float]:
    return [
        float(page.get_by_test_id(f"prob-{d}").inner_text().replace("\u2212", "-"))
        for d in range(10)
    ]


def test_drawing_a_stroke_shows_the_apis_prediction(open_page: Any, live_server: str) -> None:
    page, watch = open_page("/classify")
    expect(page.locator("#main")).to_have_attribute("data-model", "ready")
    answers: list[Any] = []
    page.on(
        "response",
        lambda r: answers.append(r) if r.url.endswith(PREDICT) and r.status == 200 else None,
    )
    _draw_one(page)
    # Settled: no debounce pending, no request in flight; the last answer is the one shown.
    expect(page.locator("#main")).to_have_attribute("data-busy", "0")
    expect(page.get_by_test_id("overview")).not_to_have_class(re.compile("stale"))
    api = answers[-1].json()
    expect(page.get_by_test_id("prediction")).to_have_text(api["label"])
    shown = _shown_probabilities(page)
    assert sum(shown) == pytest.approx(1.0, abs=5e-4)  # four decimals each
    assert max(range(10), key=lambda d: shown[d]) == api["prediction"]
    # The API agrees with itself on the same 28x28 input the page shows.
    again = page.request.post(f"{live_server}{PREDICT}", data={"input": api["input"]}).json()
    assert again["label"] == page.get_by_test_id("prediction").inner_text()
    expect(page.get_by_test_id("shape-conv1")).to_have_text(re.compile(rf"^\d+{TIMES}28{TIMES}28$"))
    watch.assert_clean()


def test_clicking_a_unit_shows_the_apis_trace_sum(open_page: Any, live_server: str) -> None:
    page, watch = open_page("/classify?sample=7")
    expect(page.get_by_test_id("source-text")).to_contain_text("#7")
    expect(page.get_by_test_id("overview")).not_to_have_class(re.compile("stale"))
    img = page.locator('.ov-map[data-layer="conv2"][data-channel="1"] canvas')
    img.scroll_into_view_if_needed()
    box = img.bounding_box()
    size = 28
    page.mouse.click(
        box["x"] + (12 + 0.5) * box["width"] / size, box["y"] + (9 + 0.5) * box["height"] / size
    )
    expect(page.get_by_test_id("trace")).to_have_attribute("data-unit", "conv2:1,9,12")
    sample = page.request.get(f"{live_server}/api/v1/models/digits/samples/7").json()
    api = page.request.post(
        f"{live_server}{PREDICT}",
        data={"input": sample["input"], "trace": {"layer": "conv2", "unit": [1, 9, 12]}},
    ).json()["trace"]
    shown = float(page.get_by_test_id("trace-value").inner_text().replace("\u2212", "-"))
    assert shown == pytest.approx(api["pre_activation"], abs=1e-5)
    # Play it: step 1 reads channel 0 with the API's running sum; the last step the ReLU.
    expect(page.get_by_test_id("trace-player")).to_be_visible()
    expect(page.get_by_test_id("player-counter")).to_have_text(
        f"Step 1 of {len(api['channels']) + 1}"
    )
    expect(page.get_by_test_id("play-text")).to_contain_text("channel 0:")
    first = page.get_by_test_id("play-text").inner_text().replace("\u2212", "-")
    assert float(first.rsplit("= ", 1)[1]) == pytest.approx(api["cumulative"][0], abs=1e-5)
    expect(page.locator('.ov-map[data-layer="relu1"][data-channel="0"] .ov-play')).to_have_count(1)
    page.get_by_test_id("player-scrubber").fill(str(len(api["channels"])))
    expect(page.get_by_test_id("play-text")).to_contain_text("ReLU")
    last = page.get_by_test_id("play-text").inner_text().replace("\u2212", "-")
    assert float(last.rsplit("\u2192 ", 1)[1]) == pytest.approx(api["relu"], abs=1e-5)
    # Hovering lights the 3x3 windows of every relu1 map that feeds it.
    img.scroll_into_view_if_needed()
    box = img.bounding_box()
    page.mouse.move(box["x"] + 12.5 * box["width"] / size, box["y"] + 9.5 * box["height"] / size)
    expect(page.locator('.ov-map[data-layer="relu1"] .ov-light')).to_have_count(
        sample_layers(page, live_server, sample)["relu1"]["shape"][0]
    )
    # A dense unit: its trace ends with the logit the API gives for that class.
    page.get_by_test_id("unit-linear-3").click()
    expect(page.get_by_test_id("trace")).to_have_attribute("data-unit", "linear:3")
    logit = float(page.get_by_test_id("trace-value").inner_text().replace("\u2212", "-"))
    assert logit == pytest.approx(
        sample_layers(page, live_server, sample)["linear"]["values"][3], abs=1e-5
    )
    watch.assert_clean()


def sample_layers(page: Any, live_server: str, sample: dict[str, Any]) -> dict[str, Any]:
    body = page.request.post(f"{live_server}{PREDICT}", data={"input": sample["input"]}).json()
    return {layer["name"]: layer for layer in body["layers"]}


def test_a_held_out_digit_survives_a_reload(open_page: Any, live_server: str) -> None:
    page, watch = open_page("/classify")
    expect(page.locator("#main")).to_have_attribute("data-model", "ready")
    page.get_by_test_id("cell-3-3").click()
    expect(page.get_by_test_id("gallery-title")).to_contain_text("True 3, predicted 3")
    expect(page.get_by_test_id("gallery")).to_have_attribute("data-filter", "label=3&prediction=3")
    first = page.locator('[data-testid^="sample-"]').first
    index = int(first.get_attribute("data-testid").split("-")[1])
    first.click()
    expect(page).to_have_url(re.compile(rf"sample={index}$"))
    expect(page.get_by_test_id("prediction")).to_have_text("3")
    page.reload()
    expect(page.get_by_test_id("source-text")).to_contain_text(f"#{index}")
    expect(page.get_by_test_id("prediction")).to_have_text("3")
    sample = page.request.get(f"{live_server}/api/v1/models/digits/samples/{index}").json()
    assert sample["label"] == "3" and sample["prediction"] == "3"
    watch.assert_clean()


@pytest.mark.parametrize(("viewport", "name"), [(DESKTOP, "1280"), (PHONE, "375")])
def test_screenshots(
    open_page: Any, save_screenshot: Any, viewport: dict[str, int], name: str
) -> None:
    page, watch = open_page("/classify?sample=1234", viewport)
    expect(page.get_by_test_id("source-text")).to_contain_text("#1234")
    expect(page.get_by_test_id("overview")).not_to_have_class(re.compile("stale"))
    path = save_screenshot(page, f"classify-{name}")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"/classify scrolls sideways at {name} px by {overflow} px"
    canvas = page.locator('.ov-map[data-layer="conv3"][data-channel="2"] canvas')
    canvas.scroll_into_view_if_needed()
    canvas.click(position={"x": 20, "y": 20})
    expect(page.get_by_test_id("trace")).to_have_attribute("data-unit", re.compile("^conv3:2,"))
    page.get_by_test_id("player-forward").click()
    expect(page.get_by_test_id("player-counter")).to_have_text(re.compile("^Step 2 of"))
    page.get_by_test_id("trace-panel").screenshot(
        path=str(path.with_name(f"classify-{name}-trace.png"))
    )
    watch.assert_clean()


@pytest.mark.parametrize("path", ["/network", "/activations"])
def test_network_and_activations_link_here(open_page: Any, path: str) -> None:
    page, watch = open_page(path)
    page.wait_for_load_state("networkidle")  # its view has loaded; leaving aborts nothing
    page.get_by_test_id("classify-link").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/classify$"))
    expect(page.locator("#main")).to_have_attribute("data-model", "ready")
    watch.assert_clean()


def test_an_upload_is_preprocessed_the_way_the_switch_says(
    open_page: Any, live_server: str, tmp_path: Any
) -> None:
    """A dark bar photographed on white: with "fit" the page shows the API's "fit" input
    (the whole picture, not cropped to 20x20); switching to "digit" re-sends it that way."""
    import io

    import numpy as np
    from PIL import Image

    pixels = np.full((56, 112), 255, np.uint8)
    pixels[10:40, 20:28] = 0
    png = tmp_path / "bar.png"
    Image.fromarray(pixels).save(png)
    page, watch = open_page("/classify?prep=fit")
    expect(page.locator("#main")).to_have_attribute("data-model", "ready")
    expect(page.get_by_test_id("prep")).to_have_value("fit")
    expect(page.get_by_test_id("prep-hint")).to_contain_text("whole picture")
    answers: list[Any] = []
    page.on(
        "response",
        lambda r: answers.append(r) if r.url.endswith(PREDICT) and r.status == 200 else None,
    )
    page.get_by_test_id("upload").set_input_files(str(png))
    expect(page.get_by_test_id("source-text")).to_contain_text('bar.png, preprocessed "fit"')
    expect(page.locator("#main")).to_have_attribute("data-busy", "0")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    for way in ("fit", "digit"):
        if way == "digit":
            page.get_by_test_id("prep").select_option("digit")
            expect(page.get_by_test_id("source-text")).to_contain_text('preprocessed "digit"')
            expect(page.locator("#main")).to_have_attribute("data-busy", "0")
            assert "prep=" not in shown_link(page)  # the default is not written
        api = page.request.post(
            f"{live_server}{PREDICT}",
            multipart={
                "image": {"name": "bar.png", "mimeType": "image/png", "buffer": buffer.getvalue()},
                "preprocess": way,
            },
        ).json()
        np.testing.assert_allclose(answers[-1].json()["input"], api["input"], atol=1e-9)
        expect(page.get_by_test_id("prediction")).to_have_text(api["label"])
    # the two ways differ: fit quarters the 30-row bar (rows 10..39 -> 2.5..10, 8 rows
    # touched), digit scales it to 20 rows
    fit_rows = (np.array(answers[0].json()["input"]).max(axis=1) > 0.1).sum()
    digit_rows = (np.array(answers[-1].json()["input"]).max(axis=1) > 0.1).sum()
    assert (fit_rows, digit_rows) == (8, 20)
    watch.assert_clean()
