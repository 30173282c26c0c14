"""Issue 9 on /network, /arithmetic, /activations and /learn, in a real Chromium: what a
person reads equals what the API says, links reload exactly, errors name what the cards
show and sit beside dimmed results. Every test fails on an uncaught page error."""

from __future__ import annotations

import ast
import json
import math
import operator
import re
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import shown_query

pytestmark = pytest.mark.browser

TIMES = "\u00d7"
MINUS = "\u2212"


def base_url(page: Any) -> str:
    return re.match(r"https?://[^/]+", page.url).group(0)  # type: ignore[union-attr]


def api_get(page: Any, path: str) -> Any:
    response = page.request.get(f"{base_url(page)}/api/v1{path}")
    assert response.status == 200, response.text()
    return response.json()


def api_post(page: Any, path: str, body: dict[str, Any]) -> Any:
    response = page.request.post(
        f"{base_url(page)}/api/v1{path}",
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 200, response.text()
    return response.json()


def no_uncaught(watch: Any) -> None:
    uncaught = [e for e in watch.console_errors if e.startswith("uncaught")]
    assert uncaught == [], f"the page threw: {uncaught}"


def network_link(layers: list[dict[str, Any]], size: int = 64) -> str:
    return f"/network?size={size}&layers={quote(json.dumps(layers))}"


# ---- /network ---------------------------------------------------------------------------


def test_a_fifteen_layer_link_reloads_with_fifteen_cards(open_page: Any) -> None:
    layers: list[dict[str, Any]] = []
    for i in range(15):
        kinds = [
            {"type": "conv2d", "kernel": "sobel_x", "padding": 1},
            {"type": "activation", "function": "leaky_relu", "negative_slope": 0.2},
            {"type": "dropout", "p": 0.25, "seed": i},
        ]
        layers.append(kinds[i % 3])
    page, watch = open_page(network_link(layers))
    cards = page.locator('[data-testid^="layer-card-"]')
    expect(cards).to_have_count(15)
    expect(page.get_by_test_id("map-14-0")).to_be_visible()
    expect(page.get_by_test_id("layer-card-8")).to_contain_text("9.")
    # The link the page keeps is the same stack, and it reloads as the same 15 cards.
    kept = json.loads(shown_query(page)["layers"][0])
    assert kept == layers
    page.reload()
    expect(cards).to_have_count(15)
    expect(page.get_by_test_id("column-14")).to_be_visible()
    # The UI adds layers up to the server's limit (GET /api/v1/limits), then says why not.
    most = api_get(page, "/limits")["limits"]["max_pipeline_layers"]["value"]
    for _ in range(most - 15):
        page.get_by_test_id("add-activation").click()
    expect(cards).to_have_count(most)
    expect(page.get_by_test_id("add-activation")).to_be_disabled()
    expect(page.get_by_test_id("add-msg")).to_contain_text(f"at most {most} layers")
    expect(page.get_by_test_id(f"map-{most - 1}-0")).to_be_visible()
    watch.assert_clean()
    no_uncaught(watch)


def test_an_error_on_layer_9_names_layer_9(open_page: Any) -> None:
    layers = [{"type": "activation", "function": "relu"} for _ in range(8)]
    layers.append({"type": "pool2d", "mode": "max", "kernel_size": 2})
    page, watch = open_page(network_link(layers))
    expect(page.get_by_test_id("map-8-0")).to_be_visible()
    expect(page.get_by_test_id("columns")).not_to_have_class(re.compile(r"\bstale\b"))
    # The card labelled "9." gets a pooling window larger than the 64-pixel image.
    expect(page.get_by_test_id("layer-card-8")).to_contain_text("9.")
    field = page.get_by_test_id("layer-8-kernel_size")
    field.fill("500")
    field.press("Enter")
    notice = page.get_by_test_id("notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("layer 9")
    expect(notice).not_to_contain_text("layer 8")
    expect(notice).not_to_contain_text("layers[")
    card_error = page.get_by_test_id("layer-8-error")
    expect(card_error).to_be_visible()
    expect(card_error).to_contain_text("layer 9")
    expect(page.get_by_test_id("layer-7-error")).to_be_hidden()
    # The old maps stay, dimmed, until a valid stack answers.
    expect(page.get_by_test_id("columns")).to_have_class(re.compile(r"\bstale\b"))
    field = page.get_by_test_id("layer-8-kernel_size")
    field.fill("2")
    field.press("Enter")
    expect(notice).to_be_hidden()
    expect(page.get_by_test_id("columns")).not_to_have_class(re.compile(r"\bstale\b"))
    expect(page.get_by_test_id("layer-8-error")).to_be_hidden()
    watch.assert_clean(allow_status=(422,))
    no_uncaught(watch)


def test_a_huge_kernel_number_is_refused_visibly_and_never_throws(open_page: Any) -> None:
    layers = [{"type": "conv2d", "kernel": [[0, 1, 0], [1, -4, 1], [0, 1, 0]], "padding": 1}]
    page, watch = open_page(network_link(layers))
    expect(page.get_by_test_id("map-0-0")).to_be_visible()
    cell = page.get_by_test_id("layer-0-kernel-1-1")
    # The server judges the magnitude; its refusal names the card's number and is shown
    # in the notice and on the card itself, beside dimmed results.
    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/images/pipeline") and r.status == 422
    ) as refused:
        cell.fill("1e308")
    reason = refused.value.json()["detail"][0]["msg"]
    assert "float32" in reason
    notice = page.get_by_test_id("notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("layer 1")
    expect(notice).to_contain_text("float32")
    card_error = page.get_by_test_id("layer-0-error")
    expect(card_error).to_be_visible()
    expect(card_error).to_contain_text("float32")
    expect(page.get_by_test_id("columns")).to_have_class(re.compile(r"\bstale\b"))
    watch.assert_clean(allow_status=(422,))
    no_uncaught(watch)


def test_network_range_labels_equal_the_api_min_and_max(open_page: Any) -> None:
    layers = [
        {"type": "conv2d", "kernel": "sobel_x", "padding": 1},
        {"type": "activation", "function": "leaky_relu", "negative_slope": 0.1},
        {"type": "conv2d", "kernel": [[0]]},
    ]
    page, watch = open_page(network_link(layers))
    expect(page.get_by_test_id("map-2-0")).to_be_visible()
    response = page.request.post(
        f"{base_url(page)}/api/v1/images/pipeline",
        multipart={
            "sample": "shapes",
            "params": json.dumps({"layers": layers, "value_range": "map"}),
            "color": "gray",
            "max_side": "64",
        },
    )
    assert response.status == 200, response.text()
    api = response.json()
    checked = 0
    for li, layer in enumerate(api["layers"]):
        for ch, fmap in enumerate(layer["maps"]):
            testid = f"map-{li}-{ch}"
            if fmap["min"] == fmap["max"]:
                expect(page.get_by_test_id(f"{testid}-range")).to_have_text(
                    re.compile(r"constant " + re.escape(f"{fmap['min']:g}".replace("-", MINUS)))
                )
            else:
                shown_min = float(page.get_by_test_id(f"{testid}-min").get_attribute("data-value"))
                shown_max = float(page.get_by_test_id(f"{testid}-max").get_attribute("data-value"))
                assert shown_min == pytest.approx(fmap["min"], rel=1e-6)
                assert shown_max == pytest.approx(fmap["max"], rel=1e-6)
                label = page.get_by_test_id(f"{testid}-min").inner_text().replace(MINUS, "-")
                assert float(label) == pytest.approx(fmap["min"], abs=5e-4)
            bar = page.get_by_test_id(f"{testid}-bar")
            assert float(bar.get_attribute("data-vmin")) == pytest.approx(fmap["vmin"])
            assert float(bar.get_attribute("data-vmax")) == pytest.approx(fmap["vmax"])
            checked += 1
    # The leaky ReLU map's data range is not its colour scale; the zero map is constant 0.
    leaky = api["layers"][1]["maps"][0]
    assert leaky["min"] < 0 < leaky["max"] and leaky["vmin"] == -leaky["vmax"]
    assert leaky["min"] != leaky["vmin"] or leaky["max"] != leaky["vmax"]
    expect(page.get_by_test_id("map-2-0-range")).to_have_text("data: constant 0")
    assert checked == 3
    expect(page.get_by_test_id("column-0-shape")).to_have_text(f"64{TIMES}64")
    expect(page.get_by_test_id("colour-rule")).to_have_text(api_get(page, "/colormaps")["rule"])
    watch.assert_clean()
    no_uncaught(watch)


# ---- /arithmetic ------------------------------------------------------------------------

_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
}


def evaluate(expression: str) -> float:
    """The value of an arithmetic formula written with floor/ceil brackets, a middle dot
    for times and a minus sign (numbers only)."""
    text = (
        expression.replace("⌊", "floor(")
        .replace("⌋", ")")
        .replace("⌈", "ceil(")
        .replace("⌉", ")")
        .replace("·", "*")
        .replace(MINUS, "-")
    )

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.operand))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("floor", "ceil")
        ):
            return getattr(math, node.func.id)(walk(node.args[0]))
        raise ValueError(f"not arithmetic: {ast.dump(node)}")

    return walk(ast.parse(text, mode="eval"))


@pytest.mark.parametrize(
    ("query", "body"),
    [
        (
            "h=7&w=9&kh=3&kw=3&s=2&p=1&d=1",
            {"input_size": [7, 9], "kernel_size": 3, "stride": 2, "padding": 1, "dilation": 1},
        ),
        (
            "h=11&w=6&kh=3&kw=2&s=3&d=2&pf=four&pt=2&pb=0&pl=1&pr=0",
            {
                "input_size": [11, 6],
                "kernel_size": [3, 2],
                "stride": 3,
                "padding": [2, 0, 1, 0],
                "dilation": 2,
            },
        ),
        (
            "h=5&w=4&kh=3&kw=3&s=2&p=1&d=1&tr=1&op=1",
            {
                "input_size": [5, 4],
                "kernel_size": 3,
                "stride": 2,
                "padding": 1,
                "dilation": 1,
                "transposed": True,
                "output_padding": 1,
            },
        ),
    ],
)
def test_the_arithmetic_formula_equals_the_size_shown(
    open_page: Any, query: str, body: dict[str, Any]
) -> None:
    page, watch = open_page(f"/arithmetic?{query}")
    api = api_post(page, "/geometry", body)
    out_h, out_w = api["geometry"]["output"]
    size = page.get_by_test_id("output-size")
    expect(size).to_have_text(f"{out_h}{TIMES}{out_w}")
    rows = page.get_by_test_id("formula-rows")
    cols = page.get_by_test_id("formula-cols")
    expect(rows).to_have_text(api["geometry"]["formula"]["rows"])
    expect(cols).to_have_text(api["geometry"]["formula"]["cols"])
    expect(page.get_by_test_id("formula-general")).to_have_text(
        api["geometry"]["formula"]["general"]
    )
    shown_h, shown_w = (int(n) for n in size.inner_text().split(TIMES))
    for formula, shown in ((rows.inner_text(), shown_h), (cols.inner_text(), shown_w)):
        left, right = formula.rsplit("=", 1)
        assert evaluate(left) == shown, formula
        assert int(right) == shown, formula
    watch.assert_clean()
    no_uncaught(watch)


def test_an_invalid_arithmetic_setting_shows_the_servers_reason_beside_a_dimmed_result(
    open_page: Any,
) -> None:
    page, watch = open_page("/arithmetic?h=4&w=4&kh=3&kw=3&p=0&s=1")
    expect(page.get_by_test_id("output-size")).to_have_text(f"2{TIMES}2")
    page.get_by_test_id("kh").fill("6")
    page.get_by_test_id("kh").press("Enter")
    notice = page.get_by_test_id("notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("kernel")
    expect(notice).to_be_in_viewport()
    for testid in ("figures", "formula", "output-size-line"):
        expect(page.get_by_test_id(testid)).to_have_class(re.compile(r"\bstale\b"))
    page.get_by_test_id("kh").fill("2")
    page.get_by_test_id("kh").press("Enter")
    expect(page.get_by_test_id("output-size")).to_have_text(f"3{TIMES}2")
    expect(notice).to_be_hidden()
    expect(page.get_by_test_id("figures")).not_to_have_class(re.compile(r"\bstale\b"))
    watch.assert_clean(allow_status=(422,))
    no_uncaught(watch)


# ---- /activations -----------------------------------------------------------------------


def test_softmax_and_cross_entropy_dim_beside_a_visible_error(open_page: Any) -> None:
    page, watch = open_page("/activations")
    expect(page.get_by_test_id("softmax-sum")).to_have_text("1.000000")
    stale = re.compile(r"\bstale\b")
    for area, field, bad in (("softmax", "logits", "1, x"), ("ce", "ce-logits", "2, , 1")):
        out = page.get_by_test_id(f"{area}-out")
        error = page.get_by_test_id(f"{area}-error")
        expect(out.locator("table")).to_be_visible()
        expect(out).not_to_have_class(stale)
        page.get_by_test_id(field).fill(bad)
        expect(error).to_be_visible()
        expect(error).not_to_be_empty()
        expect(out).to_have_class(stale)
        expect(out.locator("table")).to_be_visible()  # the old table stays, dimmed
        page.get_by_test_id(field).fill("1, 2")
        expect(error).to_be_hidden()
        expect(out).not_to_have_class(stale)
    # Extreme numbers are the server's to judge; the page never throws.
    page.get_by_test_id("logits").fill("1e308, -1e308, 5")
    expect(page.get_by_test_id("prob-2")).to_be_visible()
    page.get_by_test_id("ce-class").fill("7")
    page.get_by_test_id("ce-class").press("Enter")
    expect(page.get_by_test_id("ce-error")).to_contain_text("between 0 and 1")
    expect(page.get_by_test_id("ce-out")).to_have_class(stale)
    watch.assert_clean(allow_status=(422,))
    no_uncaught(watch)


# ---- /learn -----------------------------------------------------------------------------


def test_learn_lists_every_sample_from_the_api(open_page: Any) -> None:
    page, watch = open_page("/learn")
    samples = api_get(page, "/samples")
    names = [s["name"] for s in samples]
    assert "stripes" in names
    select = page.get_by_test_id("sample")
    options = select.locator("option")
    expect(options).to_have_count(len(names) + 1)  # and random noise
    values = [o.get_attribute("value") for o in options.all()]
    assert values[: len(names)] == names
    labels = [o.inner_text() for o in options.all()]
    assert labels[: len(names)] == [s["label"] for s in samples]
    # The step bound is the server's (GET /api/v1/limits).
    most = api_get(page, "/limits")["limits"]["max_learn_steps"]["value"]
    steps = page.get_by_test_id("steps")
    expect(steps).to_have_attribute("max", str(most))
    steps.fill(str(most + 1))
    steps.press("Enter")
    expect(page.get_by_test_id("steps-msg")).to_contain_text(f"at most {most}")
    watch.assert_clean()
    no_uncaught(watch)
