"""Lecture mode in a real Chromium: a 1024x768 projector at 150 % zoom is a 683x512 CSS
viewport with device_scale_factor 1.5. With ?lecture=1 every page of the page table
(app/pages.py) shows its main figure (``Page.main``) on the first screen in large type, with
the settings collapsed and canvas text scaled, and the switch travels with the app's links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from app.pages import PAGES, Page
from tests.browser.conftest import TIMEOUT_MS, screenshot, watch_page

pytestmark = pytest.mark.browser

PROJECTOR = {"width": 683, "height": 512}


@pytest.fixture
def projector(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(viewport=PROJECTOR, device_scale_factor=1.5)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page, watch_page(page), live_server
    context.close()


def assert_on_first_screen(page: Any, selector: str) -> None:
    page.wait_for_function(FITS, arg=selector)  # the settled layout, then its numbers
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= PROJECTOR["width"], (selector, box)
    assert box["y"] + box["height"] <= PROJECTOR["height"], (selector, box)
    assert page.evaluate("window.scrollY") == 0


def test_step_and_playground_fit_the_projector(projector: Any) -> None:
    page, watch, base = projector
    page.goto(f"{base}/step?lecture=1")
    expect(page.locator("html")).to_have_class(re.compile(r"\blecture\b"))
    expect(page.get_by_test_id("lecture-switch")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("output-caption")).not_to_be_empty()
    expect(page.get_by_test_id("formula")).not_to_be_empty()
    # Settings collapsed behind one button.
    expect(page.get_by_test_id("lecture-expand")).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_test_id("step-settings")).to_be_hidden()
    assert_on_first_screen(page, "[data-testid='figures']")
    screenshot(page, "lecture-step-683x512@1.5")
    page.get_by_test_id("lecture-expand").click()
    expect(page.get_by_test_id("step-settings")).to_be_visible()

    # The switch travels with the navigation.
    expect(page.get_by_test_id("nav-playground")).to_have_attribute("href", "/?lecture=1")
    expect(page.get_by_test_id("nav-docs")).to_have_attribute("href", "/docs?lecture=1")
    page.get_by_test_id("nav-playground").click()
    expect(page).to_have_url(re.compile(r"/\?lecture=1"))
    expect(page.locator("html")).to_have_class(re.compile(r"\blecture\b"))
    expect(page.get_by_test_id("output-caption")).not_to_be_empty()
    expect(page.get_by_test_id("colorbar")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert_on_first_screen(page, "[data-testid='image-panes']")
    screenshot(page, "lecture-playground-683x512@1.5")
    watch.assert_clean()


def test_the_switch_keeps_the_pages_own_state(projector: Any) -> None:
    page, watch, base = projector
    page.goto(f"{base}/activations?show=relu")
    expect(page.get_by_test_id("overlay-plot")).to_have_attribute("data-shown", "relu")
    page.get_by_test_id("lecture-switch").click()
    expect(page.locator("html")).to_have_class(re.compile(r"\blecture\b"))
    expect(page).to_have_url(re.compile(r"lecture=1"))
    # A page setting written after the switch keeps lecture=1 in the URL, and vice versa.
    page.get_by_test_id("show-tanh").check()
    expect(page).to_have_url(re.compile(r"show=relu%2Ctanh"))
    expect(page).to_have_url(re.compile(r"lecture=1"))
    expect(page.get_by_test_id("nav-step")).to_have_attribute("href", "/step?lecture=1")
    screenshot(page, "lecture-activations-683x512@1.5")
    page.get_by_test_id("lecture-switch").click()
    expect(page.locator("html")).not_to_have_class(re.compile(r"\blecture\b"))
    expect(page).not_to_have_url(re.compile(r"lecture="))
    expect(page).to_have_url(re.compile(r"show=relu%2Ctanh"))
    expect(page.get_by_test_id("nav-step")).to_have_attribute("href", "/step")
    watch.assert_clean()


FITS = """(selector) => {
    const main = document.querySelector(selector);
    if (!main) return false;
    const box = main.getBoundingClientRect();
    return box.height > 0 && box.left >= 0 && box.top >= 0 && window.scrollY === 0
      && box.right <= window.innerWidth && box.bottom <= window.innerHeight;
}"""

DRAWN = """(selector) => {
    const box = document.querySelector(selector).getBoundingClientRect();
    return box.width >= 200 && box.height >= 60;
}"""

READ = """(selector) => {
    const main = document.querySelector(selector);
    const box = main.getBoundingClientRect();
    const settings = [...document.querySelectorAll('.panel.settings, [data-lecture-collapse]')];
    const list = document.querySelector('.nav-links');
    const current = list && list.querySelector('[aria-current=page]');
    const inList = (el) => { const a = el.getBoundingClientRect(), b = list.getBoundingClientRect();
      return a.left >= b.left - 1 && a.right <= b.right + 1; };
    return {
      box: [box.left, box.top, box.width, box.height],
      zoom: Number(main.style.zoom || 1),
      fontSize: getComputedStyle(document.documentElement).fontSize,
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      collapsed: settings.map((p) => p.dataset.collapsed === 'true'
        && [...p.children].every((c) => c.matches('h2, .lecture-expand') || !c.offsetParent)),
      thinCanvases: [...main.querySelectorAll('canvas[data-pixel-ratio]')]
        .filter((c) => c.width < c.clientWidth * window.devicePixelRatio - 1)
        .map((c) => c.dataset.testid),
      currentInView: current ? inList(current) : null,
    };
}"""


@pytest.mark.parametrize("entry", PAGES, ids=[entry.name for entry in PAGES])
def test_every_page_fits_its_main_figure_on_the_projector(projector: Any, entry: Page) -> None:
    page, watch, base = projector
    page.goto(f"{base}{entry.path}?lecture=1")
    expect(page.locator("html")).to_have_class(re.compile(r"\blecture\b"))
    expect(page.locator(entry.main).first).to_be_visible()
    page.wait_for_function("() => !document.querySelector('main [aria-busy=true]')")
    # Drawn: pages fill their figure after their first answer (e.g. /network's columns).
    page.wait_for_function(DRAWN, arg=entry.main)
    try:  # the whole figure inside the window (an IntersectionObserver's ratio of 1)
        expect(page.locator(entry.main).first).to_be_in_viewport(ratio=1)
    finally:
        screenshot(page, f"lecture-{entry.name}-683x512@1.5")
    # ...and the page not scrolled: waited for, since lecture.js may still be settling the
    # figure's zoom when the first check passes (a state, not a second read that races).
    page.wait_for_function(FITS, arg=entry.main)
    seen = page.evaluate(READ, entry.main)
    _left, _top, width, height = seen["box"]
    # On the first screen, and not a speck: at least 60 % of its size and a real area.
    assert seen["zoom"] >= 0.6, seen
    assert width >= 200 and height >= 60, seen
    assert seen["overflow"] <= 0, seen  # nothing runs off to the side
    assert seen["fontSize"] == "18px", seen  # large type: 112.5 % of 16 px
    if not entry.rendered:  # /docs: Swagger UI with the app's bar, whose links keep the mode
        expect(page.get_by_test_id("docs-home")).to_have_attribute("href", "/?lecture=1")
        watch.assert_clean()
        return
    # The settings show only their title and one button.
    assert all(seen["collapsed"]), seen
    expect(page.get_by_test_id("lecture-expand")).to_have_count(len(seen["collapsed"]))
    # Canvas text is scaled for the room (render/text.js), and canvases keep a backing
    # store of the screen's pixel ratio, so the 150 % zoom draws their numbers sharp.
    scaled = page.evaluate("import('/static/js/render/text.js').then((m) => m.textPx(20))")
    assert scaled == 27, scaled
    assert seen["thinCanvases"] == [], seen
    # The navigation is one line: the current page's link is in view, a button says more.
    assert seen["currentInView"] is True, seen
    more = page.locator("[data-testid^='nav-more-']:visible")
    expect(more.first).to_be_visible()
    watch.assert_clean()


def test_the_nav_buttons_scroll_to_the_other_pages(projector: Any) -> None:
    page, watch, base = projector
    page.goto(f"{base}/?lecture=1")
    links = page.locator(".nav-links")
    expect(page.get_by_test_id("nav-more-start")).to_be_hidden()
    expect(page.get_by_test_id("nav-more-end")).to_be_visible()
    expect(page.get_by_test_id("nav-more-end")).to_have_accessible_name("Show more pages")
    page.get_by_test_id("nav-more-end").click()
    page.wait_for_function("() => document.querySelector('.nav-links').scrollLeft > 100")
    expect(page.get_by_test_id("nav-more-start")).to_be_visible()
    assert links.evaluate("l => l.scrollWidth > l.clientWidth")
    # Out of lecture mode the links wrap and the buttons go.
    page.get_by_test_id("lecture-switch").click()
    expect(page.get_by_test_id("nav-more-end")).to_be_hidden()
    expect(page.get_by_test_id("nav-more-start")).to_be_hidden()
    watch.assert_clean()
