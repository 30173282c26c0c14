"""Lecture mode in a real Chromium: a 1024x768 projector at 150 % zoom is a 683x512 CSS
viewport with device_scale_factor 1.5. With ?lecture=1 the page's main figure is on the
first screen, the settings are collapsed, and the switch travels with the app's links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

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
    assert_on_first_screen(page, ".figures")
    screenshot(page, "lecture-step-683x512@1.5")
    page.get_by_test_id("lecture-expand").click()
    expect(page.get_by_test_id("step-settings")).to_be_visible()

    # The switch travels with the navigation.
    expect(page.get_by_test_id("nav-playground")).to_have_attribute("href", "/?lecture=1")
    expect(page.get_by_test_id("nav-docs")).to_have_attribute("href", "/docs")
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
