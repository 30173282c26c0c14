"""/teach in a real Chromium: draw examples of two classes, train, watch the progress and
curves, read the final accuracy, try a drawing; webcam frames (Chromium's fake camera)
become examples."""

from __future__ import annotations

import base64
import io
import itertools
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM_ARGS, PHONE, TIMEOUT_MS, watch_page
from tests.browser.helpers import shown_link
from tests.teach_shapes import draw

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def model_loaded(live_server: str) -> None:
    """The page reads GET /api/v1/models/digits (its widths and preprocess ways); the
    server scores the held-out digits on first use: do it before pages are timed."""
    with urlopen(f"{live_server}/api/v1/models/digits", timeout=300) as response:
        assert response.status == 200


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
    assert "bar" not in shown_link(page) and "epochs=15" in shown_link(page)

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
    page.set_default_timeout(TIMEOUT_MS)
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


# ---- seeded examples: the drawings of tests/teach_shapes.py in the page's storage ---------

STORAGE_KEY = "convscope.teach.v1"
PREDICT = "/api/v1/models/digits/predict"


def _seed(page: Any, live_server: str, path: str, per_class: int = 5) -> None:
    """Store two classes of made-up drawings (crosses, squares) in the page's localStorage
    and open ``path`` with them; wait until the page has read its settings."""
    rng = np.random.default_rng(3)
    classes = [
        {"name": kind, "examples": [draw(kind, rng).round(3).tolist() for _ in range(per_class)]}
        for kind in ("cross", "square")
    ]
    page.evaluate(
        "([key, value]) => localStorage.setItem(key, value)",
        [STORAGE_KEY, json.dumps({"classes": classes})],
    )
    page.goto(f"{live_server}{path}")
    expect(page.locator("#main")).to_have_attribute("data-ready", "1")
    expect(page.locator("#main")).to_have_attribute("data-examples", str(2 * per_class))


def _number(text: str) -> float:
    return float(text.replace("\u2212", "-").replace("%", "").strip())


def _ink(page: Any, testid: str) -> int:
    """Pixels of a plot canvas that are clearly coloured (a curve), not gray or white."""
    return page.get_by_test_id(testid).evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
           let n = 0; for (let i = 0; i < d.length; i += 4) {
             const hi = Math.max(d[i], d[i+1], d[i+2]), lo = Math.min(d[i], d[i+1], d[i+2]);
             if (hi - lo > 80) n++; }
           return n; }"""
    )


def test_widths_and_every_are_page_controls_kept_in_the_url(
    open_page: Any, live_server: str
) -> None:
    page, watch = open_page("/teach")
    _seed(page, live_server, "/teach?widths=4,4,8,8&every=3&epochs=3&batch=4")
    values = [page.get_by_test_id(f"width-{k}").input_value() for k in range(4)]
    assert values == ["4", "4", "8", "8"]
    expect(page.get_by_test_id("every")).to_have_value("3")
    most = page.request.get(f"{live_server}/api/v1/limits").json()["limits"]["max_train_width"]
    expect(page.get_by_test_id("widths-hint")).to_contain_text(f"1 to {most['value']}")
    # over the server's limit: refused, the reason names the limit, the value kept
    page.get_by_test_id("width-0").fill(str(most["value"] + 1))
    page.get_by_test_id("width-0").dispatch_event("change")
    expect(page.get_by_test_id("width-0-msg")).to_contain_text(most["env"])
    expect(page.get_by_test_id("width-0")).to_have_value("4")
    page.get_by_test_id("width-3").fill("6")
    page.get_by_test_id("width-3").dispatch_event("change")
    page.wait_for_function("() => location.search.includes('widths=4%2C4%2C8%2C6')")
    page.get_by_test_id("train").click()
    expect(page.get_by_test_id("run-0")).to_have_attribute("data-state", "done", timeout=120_000)
    # 10 examples, 2 held back: 8 in batches of 4 = 2 steps an epoch, 6 in all; a progress
    # event when step % 3 == 0 or an epoch ends: steps 2, 3, 4, 6.
    expect(page.get_by_test_id("run-0-progress")).to_have_attribute("data-step", "6")
    expect(page.get_by_test_id("run-0-progress")).to_have_attribute("data-events", "4")
    expect(page.get_by_test_id("run-0-filters")).to_have_attribute("data-count", "4")
    expect(page.get_by_test_id("run-0")).to_contain_text("widths 4, 4, 8, 6")
    watch.assert_clean()


def test_transfer_and_scratch_side_by_side(open_page: Any, live_server: str) -> None:
    """Both runs' curves drawn; both final accuracies shown, equal to the done events of
    the two streams the page read."""
    page, watch = open_page("/teach")
    _seed(page, live_server, "/teach?compare=1&init=digits&epochs=4&batch=4")
    streams: list[Any] = []
    page.on(
        "response",
        lambda r: streams.append(r) if r.url.endswith("/api/v1/models/train") else None,
    )
    page.get_by_test_id("train").click()
    for k in (0, 1):
        expect(page.get_by_test_id(f"run-{k}")).to_have_attribute(
            "data-state", "done", timeout=120_000
        )
    expect(page.get_by_test_id("run-0")).to_contain_text("From the digits model")
    expect(page.get_by_test_id("run-1")).to_contain_text("From scratch")
    assert len(streams) == 2
    for k, response in enumerate(streams):
        events = [
            json.loads(line[5:])
            for line in response.text().splitlines()
            if line.startswith("data:")
        ]
        done = events[-1]
        assert done["type"] == "done"
        assert [e["type"] for e in events].count("progress") >= 1
        shown = page.get_by_test_id(f"run-{k}-test-accuracy").inner_text()
        assert _number(shown) == pytest.approx(done["test_accuracy"] * 100, abs=5e-3)
        assert (
            sum(
                int(t)
                for t in page.get_by_test_id(f"run-{k}-confusion").locator("td").all_inner_texts()
            )
            == done["test_size"]
        )
        assert _ink(page, f"run-{k}-loss") > 50
        assert _ink(page, f"run-{k}-accuracy-plot") > 20
    watch.assert_clean()


def test_export_import_and_trace_agree_with_the_api(
    open_page: Any, live_server: str, tmp_path: Path
) -> None:
    """Train; the .npz download has the digits weights' layout; the .py download, run with
    torch, loads it and gives the API's logits; importing the .npz and trying a drawing
    shows the API's probabilities for those weights; a clicked unit shows the API's sum."""
    import torch

    page, watch = open_page("/teach")
    _seed(page, live_server, "/teach?epochs=3&batch=4")
    page.get_by_test_id("train").click()
    expect(page.get_by_test_id("run-0")).to_have_attribute("data-state", "done", timeout=120_000)
    expect(page.locator("#main")).to_have_attribute("data-model", "ready")

    with page.expect_download() as got:
        page.get_by_test_id("export-npz").click()
    npz = tmp_path / "teach.npz"
    got.value.save_as(npz)
    with page.expect_download() as got:
        page.get_by_test_id("export-py").click()
    source = tmp_path / "teach_model.py"
    got.value.save_as(source)

    shipped = page.request.get(f"{live_server}/api/v1/models/digits/weights").body()
    with np.load(io.BytesIO(shipped)) as f:
        layout = {k: f[k].shape for k in f.files}
    with np.load(npz) as f:
        mine = {k: f[k] for k in f.files}
    assert set(mine) == set(layout)
    for key, shape in layout.items():  # the same shapes but for the 2 classes
        want = (2, *shape[1:]) if key.startswith("11.") else shape
        assert mine[key].shape == want, key

    ns: dict[str, Any] = {}
    exec(compile(source.read_text(), str(source), "exec"), ns)
    module = ns["make_model"]()
    module.load_state_dict({k: torch.from_numpy(v) for k, v in mine.items()})
    module.eval()
    x = draw("cross", np.random.default_rng(11))
    weights = base64.b64encode(npz.read_bytes()).decode("ascii")
    api = page.request.post(
        f"{live_server}{PREDICT}", data={"input": x.tolist(), "weights": weights}
    ).json()
    with torch.no_grad():
        logits = module(torch.from_numpy(x).reshape(1, 1, 28, 28)).numpy()[0]
    np.testing.assert_allclose(logits, api["logits"], atol=1e-4)

    # Import into a fresh page (no model yet), try a drawing: the API's probabilities.
    page2, watch2 = open_page("/teach")
    _seed(page2, live_server, "/teach")
    page2.get_by_test_id("import").set_input_files(str(npz))
    expect(page2.locator("#main")).to_have_attribute("data-model", "ready")
    expect(page2.get_by_test_id("model-text")).to_contain_text("Imported teach.npz")
    answers: list[Any] = []
    page2.on(
        "response",
        lambda r: answers.append(r) if r.url.endswith(PREDICT) and r.status == 200 else None,
    )
    _stroke(page2, "try-canvas", [(0.3, 0.3), (0.7, 0.7)])
    # Nothing waits for its debounce or is in flight: the last answer is the one shown.
    expect(page2.locator("#main")).to_have_attribute("data-try-busy", "0")
    expect(page2.locator("#main")).to_have_attribute("data-tried", re.compile(r"\d+"))
    expect(page2.get_by_test_id("try-panel")).not_to_have_class(re.compile("stale"))
    seen = answers[-1].json()["input"]
    api = page2.request.post(
        f"{live_server}{PREDICT}",
        data={"input": seen, "weights": weights, "classes": ["cross", "square"]},
    ).json()
    for name, p in zip(("cross", "square"), api["probabilities"], strict=True):
        assert _number(page2.get_by_test_id(f"prob-{name}").inner_text()) == pytest.approx(
            p, abs=5e-5
        )
    expect(page2.get_by_test_id("prediction")).to_have_text(api["label"])

    # Click conv2's unit (1, 9, 12): the shown sum is the API's for these weights.
    img = page2.locator('.ov-map[data-layer="conv2"][data-channel="1"] canvas')
    img.scroll_into_view_if_needed()
    box = img.bounding_box()
    page2.mouse.click(box["x"] + 12.5 * box["width"] / 28, box["y"] + 9.5 * box["height"] / 28)
    expect(page2.get_by_test_id("trace")).to_have_attribute("data-unit", "conv2:1,9,12")
    trace = page2.request.post(
        f"{live_server}{PREDICT}",
        data={
            "input": seen,
            "weights": weights,
            "classes": ["cross", "square"],
            "trace": {"layer": "conv2", "unit": [1, 9, 12]},
        },
    ).json()["trace"]
    shown = _number(page2.get_by_test_id("trace-value").inner_text())
    assert shown == pytest.approx(trace["pre_activation"], abs=1e-5)
    watch.assert_clean()
    watch2.assert_clean()


def test_live_webcam_classify_loop(camera_page: Any, live_server: str, tmp_path: Path) -> None:
    """Import the shipped weights, switch to "fit", classify the fake camera live: several
    answers arrive one after another, each shown; stopping ends the loop."""
    page, watch = camera_page
    expect(page.locator("#main")).to_have_attribute("data-ready", "1")
    page.get_by_test_id("prep").select_option("fit")
    page.wait_for_function("() => location.search.includes('prep=fit')")
    weights = tmp_path / "digits.npz"
    weights.write_bytes(page.request.get(f"{live_server}/api/v1/models/digits/weights").body())
    page.get_by_test_id("import").set_input_files(str(weights))
    expect(page.locator("#main")).to_have_attribute("data-model", "ready")
    answers: list[Any] = []
    page.on(
        "response",
        lambda r: answers.append(r) if r.url.endswith(PREDICT) and r.status == 200 else None,
    )
    page.get_by_test_id("try-webcam").click()
    expect(page.locator("#main")).to_have_attribute("data-live", "on")
    # three answers in a row from the loop (tryToken counts them)
    page.wait_for_function("() => Number(document.querySelector('#main').dataset.tried) >= 3")
    expect(page.get_by_test_id("prob-bars").locator("[data-testid^=prob-]")).to_have_count(10)
    assert page.get_by_test_id("prediction").inner_text() in [str(d) for d in range(10)]
    # "fit" keeps the whole square frame: ink reaches the outer 4 pixels, which the
    # "digit" way (20x20 inside 28x28) always leaves black.
    inputs = [np.array(r.json()["input"]) for r in answers[:3]]
    assert len(inputs) == 3
    for x in inputs:
        frame = np.ones((28, 28), bool)
        frame[4:24, 4:24] = False
        assert x[frame].max() > 0
    page.get_by_test_id("try-webcam").click()
    expect(page.locator("#main")).to_have_attribute("data-live", "off")
    expect(page.get_by_test_id("try-webcam")).to_have_text("Classify the webcam live")
    watch.assert_clean()
