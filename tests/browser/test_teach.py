"""/teach in a real Chromium: draw examples of two classes, train, watch the progress and
curves, read the final accuracy, try a drawing; webcam frames (Chromium's fake camera)
become examples."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM_ARGS, PHONE, watch_page

pytestmark = pytest.mark.browser

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def _stroke(page: Any, testid: str, points: list[tuple[float, float]]) -> None:
    """One stroke through ``points`` (fractions of the canvas) with real pointer events."""
    page.get_by_test_id(testid).scroll_into_view_if_needed()
    box = page.get_by_test_id(testid).bounding_box()
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for a, b in itertools.pairwise(xy):
        for k in range(1, 6):
            page.mouse.move(a[0] + (b[0] - a[0]) * k / 5, a[1] + (b[1] - a[1]) * k / 5)
    page.mouse.up()


def _bar(page: Any, k: int, testid: str = "example-canvas") -> None:
    """A vertical bar, a little to the side each time (class 0)."""
    x = 0.35 + 0.06 * (k % 5)
    _stroke(page, testid, [(x, 0.15), (x + 0.02, 0.85)])


def _ring(page: Any, k: int, testid: str = "example-canvas") -> None:
    """A closed square loop (class 1)."""
    d = 0.04 * (k % 5)
    a, b = 0.25 + d, 0.7 - d
    _stroke(page, testid, [(a, a), (b, a), (b, b), (a, b), (a, a)])


def _add(page: Any, k: int, n: int) -> None:
    expect(page.locator("#main")).not_to_have_attribute("data-adding", "1")
    page.get_by_test_id(f"add-drawing-{k}").click()
    expect(page.get_by_test_id(f"class-{k}")).to_have_attribute("data-count", str(n))


def test_draw_two_classes_train_and_try(open_page: Any, save_screenshot: Any) -> None:
    page, watch = open_page("/teach?epochs=15&batch=4")
    expect(page.locator("#main")).to_have_attribute("data-ready", "1")
    page.get_by_test_id("class-name-0").fill("bar")
    page.get_by_test_id("class-name-0").dispatch_event("change")
    page.get_by_test_id("class-name-1").fill("ring")
    page.get_by_test_id("class-name-1").dispatch_event("change")
    for i in range(6):
        _bar(page, i)
        _add(page, 0, i + 1)
        _ring(page, i)
        _add(page, 1, i + 1)
    expect(page.get_by_test_id("thumbs-0").locator("canvas")).to_have_count(6)
    # each thumbnail can be removed
    page.get_by_test_id("remove-1-5").click()
    expect(page.get_by_test_id("class-1")).to_have_attribute("data-count", "5")
    # the examples survive a reload (localStorage); the URL keeps the settings
    page.reload()
    expect(page.get_by_test_id("class-1")).to_have_attribute("data-count", "5")
    expect(page.get_by_test_id("class-name-0")).to_have_value("bar")
    expect(page.get_by_test_id("epochs")).to_have_value("15")
    assert "bar" not in page.url and "epochs=15" in page.url

    page.get_by_test_id("train").click()
    run = page.get_by_test_id("run-0")
    expect(run).to_have_attribute("data-state", "done", timeout=120_000)
    # 11 examples: 2 held back (one per class), 9 train in batches of 4 -> 3 steps x 15
    expect(page.get_by_test_id("run-0-status")).to_contain_text("Done after 45 steps")
    expect(page.get_by_test_id("run-0-progress")).to_have_attribute("data-step", "45")
    assert page.get_by_test_id("run-0-progress").evaluate("p => p.value / p.max") == 1
    accuracy = page.get_by_test_id("run-0-test-accuracy").inner_text()
    assert re.fullmatch(r"\d+(\.\d+)? %", accuracy), accuracy
    confusion = page.get_by_test_id("run-0-confusion").locator("td")
    assert sum(int(t) for t in confusion.all_inner_texts()) == 2
    # the curves were drawn: the loss canvas has ink in its plot area
    ink = page.get_by_test_id("run-0-loss").evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
           let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i+2] > 150 && d[i] < 120) n++;
           return n; }"""
    )
    assert ink > 50
    expect(page.get_by_test_id("run-0-filters")).to_have_attribute("data-count", "8")

    # try it: a new bar gets probabilities over the two classes, summing to 1
    expect(page.locator("#main")).to_have_attribute("data-model", "ready")
    _bar(page, 2, "try-canvas")
    expect(page.locator("#main")).to_have_attribute("data-tried", re.compile(r"\d+"))
    expect(page.get_by_test_id("try-panel")).not_to_have_class(re.compile("stale"))
    texts = [page.get_by_test_id(f"prob-{c}").inner_text() for c in ("bar", "ring")]
    shown = [float(t.replace("\u2212", "-")) for t in texts]
    assert sum(shown) == pytest.approx(1, abs=2e-4)
    assert page.get_by_test_id("prediction").inner_text() in ("bar", "ring")
    expect(page.get_by_test_id("export-npz")).to_be_enabled()
    save_screenshot(page, "teach-1280")
    page.set_viewport_size(PHONE)
    save_screenshot(page, "teach-375")
    watch.assert_clean()


@pytest.fixture
def camera_page(browser: Any, live_server: str) -> Iterator[Any]:
    """A page in a second Chromium (same executable, same Playwright) whose camera is the
    fake test-pattern device, with no permission prompt."""
    camera = browser.browser_type.launch(
        executable_path=os.environ.get("CONVSCOPE_CHROMIUM", "/usr/bin/chromium"),
        args=[*CHROMIUM_ARGS, *FAKE_MEDIA],
    )
    context = camera.new_context(permissions=["camera"])
    page = context.new_page()
    page.set_default_timeout(15_000)
    watch = watch_page(page)
    page.goto(f"{live_server}/teach")
    yield page, watch
    camera.close()


def test_webcam_frames_become_examples(camera_page: Any) -> None:
    page, watch = camera_page  # a fresh context: no stored examples
    expect(page.locator("#main")).to_have_attribute("data-ready", "1")
    page.get_by_test_id("webcam-start").click()
    expect(page.locator("#main")).to_have_attribute("data-webcam", "on")
    page.wait_for_function("document.querySelector('[data-testid=webcam]').videoWidth > 0")
    for n in (1, 2):
        page.get_by_test_id("add-webcam-0").click()
        expect(page.get_by_test_id("class-0")).to_have_attribute("data-count", str(n))
    expect(page.get_by_test_id("thumbs-0").locator("canvas")).to_have_count(2)
    page.get_by_test_id("webcam-stop").click()
    expect(page.locator("#main")).to_have_attribute("data-webcam", "off")
    watch.assert_clean()
