"""Teaching depth (issue 13): kernel actions, true convolution.

Every number a page shows is checked against the API's answer for the same request or a
hand-worked case; the tests wait for states, never for time.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser.helpers import shown_link

pytestmark = pytest.mark.browser

MINUS = "\u2212"
EDGE_PATCH = [[0.6, 0.2, 0.6], [0.1, -0.2, -0.3], [-0.5, -0.1, -0.3]]
EDGE_KERNEL = [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]


def api_conv2d(page: Any, live_server: str, kernel: list[list[float]]) -> float:
    body = {"input": EDGE_PATCH, "kernel": kernel}
    response = page.request.post(f"{live_server}/api/v1/conv2d", data=body)
    assert response.status == 200, response.text()
    (value,) = [v for row in response.json()["output"] for v in row]
    return float(value)


def shown(value: float) -> str:
    return f"{value:g}".replace("-", MINUS)


def test_negate_turns_the_edge_example_into_its_negative(open_page: Any, live_server: str) -> None:
    page, watch = open_page("/step")
    expect(page.get_by_test_id("step-sum")).to_have_text("2.3")
    page.get_by_test_id("kernel-negate").click()
    negated = api_conv2d(page, live_server, [[-v for v in row] for row in EDGE_KERNEL])
    assert negated == pytest.approx(-2.3)
    expect(page.get_by_test_id("step-sum")).to_have_text(shown(round(negated, 4)))
    expect(page.get_by_test_id("kernel-editor-0-0-0")).to_have_value("-1")
    expect(page.get_by_test_id("kernel-editor-0-2-0")).to_have_value("1")
    assert "k=-1" in shown_link(page)  # the negated kernel is in the link
    watch.assert_clean()


def test_transpose_and_flip_reshape_the_step_kernel(open_page: Any) -> None:
    page, watch = open_page("/step?ex=custom&k=1,2;3,4;5,6")
    expect(page.get_by_test_id("kernel-caption")).to_have_text("3\u00d72")
    page.get_by_test_id("kernel-transpose").click()
    expect(page.get_by_test_id("kernel-caption")).to_have_text("2\u00d73")
    values = [
        [page.get_by_test_id(f"kernel-editor-0-{r}-{c}").input_value() for c in range(3)]
        for r in range(2)
    ]
    assert values == [["1", "3", "5"], ["2", "4", "6"]]
    page.get_by_test_id("kernel-flip").click()
    expect(page.get_by_test_id("kernel-editor-0-0-0")).to_have_value("6")
    expect(page.get_by_test_id("kernel-editor-0-1-2")).to_have_value("1")
    watch.assert_clean()


def test_true_convolution_on_step_multiplies_by_the_flipped_kernel(open_page: Any) -> None:
    """Hand-worked: with the kernel rotated by 180° the edge patch gives −2.3."""
    by_hand = float(np.sum(np.array(EDGE_PATCH) * np.array(EDGE_KERNEL)[::-1, ::-1]))
    assert by_hand == pytest.approx(-2.3)
    page, watch = open_page("/step")
    expect(page.get_by_test_id("step-sum")).to_have_text("2.3")
    page.get_by_test_id("true-conv").check()
    expect(page.get_by_test_id("step-sum")).to_have_text(shown(round(by_hand, 4)))
    expect(page.get_by_test_id("kernel-caption")).to_contain_text("flipped 180°")
    expect(page.get_by_test_id("operator")).to_have_text("\u2217")
    # The editor still shows the kernel as typed; the link keeps the switch.
    expect(page.get_by_test_id("kernel-editor-0-0-0")).to_have_value("1")
    assert "flip=1" in shown_link(page)
    watch.assert_clean()


def test_true_convolution_on_the_playground_sends_the_flipped_preset(
    open_page: Any, live_server: str
) -> None:
    page, watch = open_page("/?kernel=sobel_x")
    expect(page.get_by_test_id("play-stage")).to_have_attribute("data-renders", "1")
    with page.expect_request(
        lambda r: r.method == "POST" and "/images/conv2d" in r.url and "flip" not in r.url
    ) as sent:
        page.get_by_test_id("true-conv").check()
    body = sent.value.post_data_buffer or b""
    start = body.index(b'{"kernel"')
    params = json.JSONDecoder().raw_decode(body[start:].decode())[0]
    preset = page.request.get(f"{live_server}/api/v1/kernels/sobel_x").json()["values"]
    assert params["kernel"] == [row[::-1] for row in preset[::-1]]
    expect(page.get_by_test_id("kernel-caption")).to_contain_text("flipped 180°")
    expect(page.get_by_test_id("operator")).to_have_text("\u2217")
    watch.assert_clean()


def test_about_cites_the_tools_and_docs_leads_back(open_page: Any) -> None:
    page, watch = open_page("/docs")
    expect(page.locator(".swagger-ui .info")).to_be_visible()
    page.wait_for_load_state("networkidle")  # leave no request to abort
    page.get_by_test_id("docs-home").click()
    expect(page.get_by_test_id("play-stage")).to_have_attribute("data-renders", "1")
    page.wait_for_load_state("networkidle")
    page.get_by_test_id("footer-about").click()
    expect(page.get_by_role("heading", name="About ConvScope", level=1)).to_be_visible()
    cited = page.get_by_test_id("about-inspired")
    for name, host in [
        ("CNN Explainer", "poloclub.github.io"),
        ("Convolution Visualizer", "ezyang.github.io"),
        ("Image Kernels explained visually", "setosa.io"),
        ("conv_arithmetic", "github.com/vdumoulin/conv_arithmetic"),
        ("CS231n", "cs231n.github.io"),
    ]:
        link = cited.get_by_role("link", name=name).first
        expect(link).to_have_attribute("href", re.compile(host))
    watch.assert_clean()
