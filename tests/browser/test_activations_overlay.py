"""/activations in a real Chromium: one plot of every function, toggles, and a hover readout
whose value and derivative are the API's at the hovered x."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

MINUS = "\u2212"
NAMES = ("relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "step")


def shown_number(text: str) -> float:
    return float(text.strip().replace(MINUS, "-"))


def api_activation(page: Any, body: dict[str, Any]) -> Any:
    base = re.match(r"https?://[^/]+", page.url)
    assert base is not None
    response = page.request.post(
        f"{base.group(0)}/api/v1/activation",
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 200, response.text()
    return response.json()


def test_hover_reads_the_apis_value_and_derivative(open_page: Any, save_screenshot: Any) -> None:
    page, watch = open_page("/activations?slope=0.2&alpha=1.5")
    plot = page.get_by_test_id("overlay-plot")
    expect(plot).to_have_attribute("data-shown", ",".join(NAMES))
    box = plot.bounding_box()
    assert box is not None
    # Hover at about x = -1.3 (of -4 .. 4): negative, so leaky_relu and elu are on their
    # parameterised branch.
    left, right = box["x"] + 48, box["x"] + box["width"] - 10
    page.mouse.move(left + (right - left) * (2.7 / 8), box["y"] + box["height"] / 2)
    expect(page.get_by_test_id("readout-x")).not_to_have_text("0")
    x = float(page.get_by_test_id("readout").get_attribute("data-x") or "nan")
    assert -1.5 < x < -1.1
    assert shown_number(page.get_by_test_id("readout-x").inner_text()) == pytest.approx(x, abs=1e-4)
    for name in NAMES:
        truth = api_activation(
            page,
            {
                "input": [x],
                "function": name,
                "negative_slope": 0.2,
                "alpha": 1.5,
                "derivative": True,
            },
        )
        value = shown_number(page.get_by_test_id(f"value-{name}").inner_text())
        deriv = shown_number(page.get_by_test_id(f"deriv-{name}").inner_text())
        assert value == pytest.approx(truth["output"][0], abs=1e-4), name
        assert deriv == pytest.approx(truth["derivative"][0], abs=1e-4), name
    # Hand-worked: leaky_relu's slope and elu's alpha·e^x on the negative side.
    assert shown_number(page.get_by_test_id("deriv-leaky_relu").inner_text()) == 0.2
    save_screenshot(page, "activations-overlay-hover-1280")

    # The keyboard moves the same cursor one sample (8/240) at a time.
    plot.focus()
    plot.press("ArrowRight")
    expect(page.get_by_test_id("readout")).not_to_have_attribute("data-x", str(x))
    moved = float(page.get_by_test_id("readout").get_attribute("data-x") or "nan")
    assert moved == pytest.approx(x + 8 / 240, abs=1e-9)

    # Toggles remove a function from the plot, the readout and the URL.
    page.get_by_test_id("show-step").uncheck()
    page.get_by_test_id("show-gelu").uncheck()
    expect(plot).to_have_attribute("data-shown", "relu,leaky_relu,elu,sigmoid,tanh")
    expect(page.get_by_test_id("value-step")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"show=relu%2Cleaky_relu%2Celu%2Csigmoid%2Ctanh"))
    page.get_by_test_id("opt-equal").check()
    expect(page).to_have_url(re.compile(r"equal=1"))
    save_screenshot(page, "activations-overlay-equal-1280")
    watch.assert_clean()


def test_shown_functions_come_from_the_url(open_page: Any, save_screenshot: Any) -> None:
    page, watch = open_page("/activations?show=tanh,sigmoid&deriv=0", {"width": 375, "height": 740})
    expect(page.get_by_test_id("overlay-plot")).to_have_attribute("data-shown", "sigmoid,tanh")
    expect(page.get_by_test_id("show-relu")).not_to_be_checked()
    expect(page.get_by_test_id("opt-deriv")).not_to_be_checked()
    expect(page.get_by_test_id("value-tanh")).to_have_text("0")
    expect(page.get_by_test_id("deriv-tanh")).to_have_text("1")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    save_screenshot(page, "activations-overlay-375")
    watch.assert_clean()
