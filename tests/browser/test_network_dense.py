"""/network in a real Chromium: a stack ended by the flatten, linear and softmax cards (built
from GET /api/v1/layers like every other card) shows class scores that sum to 1."""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PIPELINE = "/api/v1/images/pipeline"
CONV = [
    {"type": "conv2d", "kernel": ["sobel_x", "sobel_y"], "padding": 1, "channel_mode": "sum"},
    {"type": "activation", "function": "relu"},
    {"type": "pool2d", "mode": "max", "kernel_size": 2},
]


def _shown(page: Any, testid: str, count: int) -> list[float]:
    return [
        float(page.get_by_test_id(f"{testid}-{i}").get_attribute("data-value"))
        for i in range(count)
    ]


DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE])
def test_a_stack_ending_in_linear_and_softmax_shows_scores_summing_to_1(
    open_page: Any, save_screenshot: Any, viewport: dict[str, int]
) -> None:
    page, watch = open_page(f"/network?size=64&layers={quote(json.dumps(CONV))}", viewport)
    expect(page.get_by_test_id("map-2-0")).to_be_visible()
    answers: list[Any] = []
    page.on(
        "response",
        lambda r: answers.append(r) if r.url.endswith(PIPELINE) and r.status == 200 else None,
    )
    for kind in ("flatten", "linear", "softmax"):
        page.get_by_test_id(f"add-{kind}").click()
    # The linear card's controls come from its schema: out_features defaults to 10.
    out_features = page.get_by_test_id("layer-4-out_features")
    expect(out_features).to_have_value("10")
    expect(page.get_by_test_id("values-5-9")).to_be_visible()
    expect(page.get_by_test_id("columns")).not_to_have_class(re.compile(r"\bstale\b"))
    expect(page.get_by_test_id("column-5-shape")).to_have_text("10")
    api = next(a.json() for a in reversed(answers) if len(a.json()["layers"]) == 6)
    c, h, w = api["layers"][2]["shape"]
    expect(page.get_by_test_id("column-3-shape")).to_have_text(str(c * h * w))
    probabilities = _shown(page, "values-5", 10)
    assert all(0 <= p <= 1 for p in probabilities)
    assert math.fsum(probabilities) == pytest.approx(1.0, abs=1e-5)
    assert probabilities == pytest.approx(api["layers"][5]["values"], abs=1e-12)
    scores = _shown(page, "values-4", 10)
    assert scores == pytest.approx(api["layers"][4]["values"], abs=1e-12)
    # softmax by hand from the shown scores gives the shown probabilities
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    assert probabilities == pytest.approx([e / math.fsum(exps) for e in exps], abs=1e-6)
    # the strip's caption states its data range, the numbers under it
    expect(page.get_by_test_id("map-5-0-range")).to_contain_text("data")
    # a 4-out linear layer (an edited card) answers 4 probabilities
    out_features.fill("4")
    out_features.press("Enter")
    expect(page.get_by_test_id("column-5-shape")).to_have_text("4")
    expect(page.get_by_test_id("values-5-3")).to_be_visible()
    expect(page.get_by_test_id("values-5-4")).to_have_count(0)
    assert math.fsum(_shown(page, "values-5", 4)) == pytest.approx(1.0, abs=1e-5)
    page.get_by_test_id("column-5").scroll_into_view_if_needed()
    save_screenshot(page, f"network-dense-{viewport['width']}")
    watch.assert_clean()
