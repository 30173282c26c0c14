"""/network in a real Chromium: full [out][in][kh][kw] conv weights, batch norm in eval and
train, and the step-through link of a 2-channel layer, each checked against PyTorch run on
the same decoded image (the page's input, read with POST /images/pixels)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import pytest
import torch
import torch.nn.functional as F
from playwright.sync_api import expect

from tests.browser.helpers import shown_query
from tests.browser.test_accessibility import blocking_violations

pytestmark = pytest.mark.browser

SIZE = 64
SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
SOBEL_Y = [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]


def centre(w: float) -> list[list[float]]:
    return [[0, 0, 0], [0, w, 0], [0, 0, 0]]


def link(layers: list[dict[str, Any]]) -> str:
    """A /network link written as the page writes its own (compact JSON)."""
    return f"/network?size={SIZE}&layers={quote(json.dumps(layers, separators=(',', ':')))}"


CORNERS = [
    {"type": "conv2d", "kernel": [[SOBEL_X], [SOBEL_Y]], "padding": 1},
    {
        "type": "conv2d",
        "kernel": [[SOBEL_Y, SOBEL_X], [centre(1), centre(1)], [centre(1), centre(-1)]],
        "padding": 1,
    },
]


def base_url(page: Any) -> str:
    parts = urlparse(page.url)
    return f"{parts.scheme}://{parts.netloc}"


def decoded_image(page: Any, sample: str = "shapes", size: int = SIZE) -> torch.Tensor:
    """The gray image the page computes on, (1, 1, H, W) float64, read in 32x32 crops."""

    def crop(rows: list[int], cols: list[int]) -> Any:
        response = page.request.post(
            f"{base_url(page)}/api/v1/images/pixels",
            multipart={
                "sample": sample,
                "params": json.dumps({"rows": rows, "cols": cols}),
                "color": "gray",
                "max_side": str(size),
            },
        )
        assert response.status == 200, response.text()
        return response.json()

    _, height, width = crop([0, 1], [0, 1])["image_shape"]
    image = torch.zeros(1, 1, height, width, dtype=torch.float64)
    for r0 in range(0, height, 32):
        for c0 in range(0, width, 32):
            r1, c1 = min(height, r0 + 32), min(width, c0 + 32)
            pixels = crop([r0, r1], [c0, c1])["pixels"]
            image[0, 0, r0:r1, c0:c1] = torch.tensor(pixels[0], dtype=torch.float64)
    return image


def shown_layers(page: Any) -> str:
    """The stack as the page keeps it in its link."""
    return shown_query(page)["layers"][0]


def wait_rendered(page: Any) -> None:
    """Wait until the maps drawn are those of the stack in the link, and nothing is pending."""
    stage = page.get_by_test_id("net-stage")
    expect(stage).to_have_attribute("data-layers", shown_layers(page))
    expect(stage).not_to_have_attribute("aria-busy", "true")
    expect(page.get_by_test_id("columns")).not_to_have_class(re.compile(r"\bstale\b"))


def click_pixel(page: Any, testid: str, r: int, c: int, shape: tuple[int, int]) -> None:
    canvas = page.get_by_test_id(testid)
    box = canvas.bounding_box()
    assert box is not None
    height, width = shape
    canvas.click(
        position={"x": (c + 0.5) * box["width"] / width, "y": (r + 0.5) * box["height"] / height}
    )
    expect(page.get_by_test_id("inspect-title")).to_contain_text(f"pixel row {r}, column {c}")


def shown_value(page: Any) -> float:
    value = page.get_by_test_id("inspect-value")
    expect(value).to_be_visible()
    return float(value.text_content().replace("\N{MINUS SIGN}", "-"))


def strongest_inside(values: torch.Tensor, margin: int = 4) -> tuple[int, int]:
    """The (row, col) of the largest |value| at least `margin` cells from every border."""
    inner = values[margin:-margin, margin:-margin].abs()
    index = int(torch.argmax(inner))
    return index // inner.shape[1] + margin, index % inner.shape[1] + margin


def test_stacked_edges_to_corners_with_edited_full_weights_equal_torch(
    open_page: Any,
) -> None:
    page, watch = open_page(f"/network?size={SIZE}")
    expect(page.get_by_test_id("map-0-0")).to_be_visible()
    page.get_by_test_id("preset-corners").click()
    # Layer 1: two filters, sobel_x and sobel_y, on the image's one channel.
    expect(page.get_by_test_id("layer-0-in-channels")).to_contain_text("Input: 1 channel")
    expect(page.get_by_test_id("layer-0-w-1-0-0-1")).to_have_value("-2")
    # Layer 2 reads layer 1's two maps, a count the server reported.
    expect(page.get_by_test_id("layer-1-in-channels")).to_contain_text("Input: 2 channels")
    expect(page.get_by_test_id("layer-1-filter-2")).to_be_visible()
    wait_rendered(page)
    # Edit through the grid: filter 0 reads channel 1 with a different centre, and a bias.
    cell = page.get_by_test_id("layer-1-w-0-1-1-1")
    cell.fill("0.5")
    expect(cell).to_be_focused()  # the rebuilt card keeps the cell being typed in
    bias = page.get_by_test_id("layer-1-bias-0")
    bias.fill("0.25")
    bias.press("Enter")
    kept = json.loads(shown_layers(page))
    assert kept[1]["kernel"][0][1] == [[-1, 0, 1], [-2, 0.5, 2], [-1, 0, 1]]
    assert kept[1]["bias"] == [0.25, 0, 0]
    wait_rendered(page)

    # PyTorch runs the same two layers on the same image.
    x = decoded_image(page)
    w1 = torch.tensor([[SOBEL_X], [SOBEL_Y]], dtype=torch.float64)
    edited_x: list[list[float]] = [[float(v) for v in row] for row in SOBEL_X]
    edited_x[1][1] = 0.5
    w2 = torch.tensor(
        [
            [SOBEL_Y, edited_x],
            [centre(1), centre(1)],
            [centre(1), centre(-1)],
        ],
        dtype=torch.float64,
    )
    b2 = torch.tensor([0.25, 0.0, 0.0], dtype=torch.float64)
    edges = F.conv2d(x, w1, torch.zeros(2, dtype=torch.float64), padding=1)
    maps = F.conv2d(edges, w2, b2, padding=1)[0]
    height, width = maps.shape[1:]
    for ch in range(3):
        # The whole map: the page shows each map's exact minimum and maximum.
        low = float(page.get_by_test_id(f"map-1-{ch}-min").get_attribute("data-value"))
        high = float(page.get_by_test_id(f"map-1-{ch}-max").get_attribute("data-value"))
        assert low == pytest.approx(float(maps[ch].min()), rel=1e-5, abs=1e-5)
        assert high == pytest.approx(float(maps[ch].max()), rel=1e-5, abs=1e-5)
    # One pixel of the corner map, through the page's pixel readout.
    r, c = strongest_inside(maps[0])
    assert abs(float(maps[0, r, c])) > 1  # a corner, not a flat patch
    click_pixel(page, "map-1-0", r, c, (height, width))
    assert shown_value(page) == pytest.approx(float(maps[0, r, c]), abs=1e-4)
    # The link keeps the whole stack: a reload shows the same cards and weights.
    page.reload()
    expect(page.get_by_test_id("layer-1-w-0-1-1-1")).to_have_value("0.5")
    expect(page.get_by_test_id("layer-1-bias-0")).to_have_value("0.25")
    watch.assert_clean()


def test_batch_norm_card_in_eval_and_train_gives_torch_batch_norm(open_page: Any) -> None:
    layers = [
        {"type": "conv2d", "kernel": ["sobel_x", "sobel_y"], "padding": 1, "channel_mode": "sum"},
        {"type": "batch_norm"},
    ]
    page, watch = open_page(link(layers))
    expect(page.get_by_test_id("map-1-1")).to_be_visible()
    page.get_by_test_id("layer-1-training-eval").check()
    expect(page.get_by_test_id("layer-1-running_mean-1")).to_have_value("0")
    for name, value in (
        ("weight", "1.5"),
        ("bias", "-0.25"),
        ("running_mean", "0.2"),
        ("running_var", "2.5"),
    ):
        field = page.get_by_test_id(f"layer-1-{name}-1")
        field.fill(value)
        field.press("Tab")
        expect(page.get_by_test_id(f"layer-1-{name}-1")).to_have_value(value)
    kept = json.loads(shown_layers(page))[1]
    assert kept["training"] is False
    assert kept["weight"] == [1, 1.5]
    assert kept["bias"] == [0, -0.25]
    assert kept["running_mean"] == [0, 0.2]
    assert kept["running_var"] == [1, 2.5]
    wait_rendered(page)

    x = decoded_image(page)
    w1 = torch.tensor([[SOBEL_X], [SOBEL_Y]], dtype=torch.float64)
    edges = F.conv2d(x, w1, padding=1)
    running_mean = torch.tensor([0.0, 0.2], dtype=torch.float64)
    running_var = torch.tensor([1.0, 2.5], dtype=torch.float64)
    weight = torch.tensor([1.0, 1.5], dtype=torch.float64)
    bias = torch.tensor([0.0, -0.25], dtype=torch.float64)
    out = F.batch_norm(edges, running_mean, running_var, weight, bias, training=False, eps=1e-5)
    r, c = strongest_inside(out[0, 1] - bias[1])
    click_pixel(page, "map-1-1", r, c, tuple(out.shape[2:]))
    assert shown_value(page) == pytest.approx(float(out[0, 1, r, c]), abs=1e-4)

    # Train: the batch's statistics are used and the running ones move by momentum.
    page.get_by_test_id("layer-1-training-train").check()
    wait_rendered(page)
    mean, var = running_mean.clone(), running_var.clone()
    F.batch_norm(edges, mean, var, weight, bias, training=True, momentum=0.1, eps=1e-5)
    for ch in range(2):
        after_mean = page.get_by_test_id(f"layer-1-running_mean_after-{ch}")
        after_var = page.get_by_test_id(f"layer-1-running_var_after-{ch}")
        assert float(after_mean.get_attribute("data-value")) == pytest.approx(
            float(mean[ch]), rel=1e-5, abs=1e-6
        )
        assert float(after_var.get_attribute("data-value")) == pytest.approx(
            float(var[ch]), rel=1e-5
        )
    watch.assert_clean()


def test_a_field_being_typed_in_is_not_replaced_by_an_answer(open_page: Any) -> None:
    """An answer that changes a card (here the batch norm statistics) waits while a field of
    the cards has the focus: the field keeps its node, text and caret; Tab then goes on."""
    layers = [
        {"type": "conv2d", "kernel": ["sobel_x", "sobel_y"], "padding": 1, "channel_mode": "sum"},
        {"type": "batch_norm", "training": False},
    ]
    page, watch = open_page(link(layers))
    wait_rendered(page)
    field = page.get_by_test_id("layer-1-weight-1")
    field.fill("2")
    field.press("Enter")  # commits and keeps the focus in the field
    layers[1]["weight"] = [1, 2]
    assert json.loads(shown_layers(page)) == layers
    typing = page.evaluate_handle("document.activeElement")
    assert typing.get_attribute("data-testid") == "layer-1-weight-1"
    page.keyboard.press("Control+A")
    page.keyboard.type("25")  # not committed yet
    wait_rendered(page)  # the answer for weight [1, 2] has been drawn
    assert page.get_by_test_id("map-1-1").is_visible()
    assert typing.evaluate("node => node.isConnected && document.activeElement === node")
    assert typing.evaluate("node => node.value") == "25"
    assert json.loads(shown_layers(page)) == layers  # typing alone commits nothing
    page.keyboard.press("Tab")  # commits 25; the cards are redrawn; the focus moves on
    layers[1]["weight"] = [1, 25]
    assert json.loads(shown_layers(page)) == layers
    expect(page.locator(":focus")).to_have_attribute("data-testid", "layer-1-bias-0")
    page.keyboard.type("0.5")
    page.keyboard.press("Tab")
    layers[1]["bias"] = [0.5, 0]
    assert json.loads(shown_layers(page)) == layers
    expect(page.locator(":focus")).to_have_attribute("data-testid", "layer-1-bias-1")
    wait_rendered(page)
    watch.assert_clean()


def test_step_link_of_a_two_channel_layer_carries_both_channels(open_page: Any) -> None:
    page, watch = open_page(f"/network?size={SIZE}")
    expect(page.get_by_test_id("map-0-0")).to_be_visible()
    page.get_by_test_id("preset-corners").click()
    expect(page.get_by_test_id("layer-1-in-channels")).to_contain_text("Input: 2 channels")
    wait_rendered(page)
    x = decoded_image(page)
    w1 = torch.tensor([[SOBEL_X], [SOBEL_Y]], dtype=torch.float64)
    w2 = torch.tensor([[SOBEL_Y, SOBEL_X]], dtype=torch.float64)
    corners = F.conv2d(F.conv2d(x, w1, padding=1), w2, padding=1)[0, 0]
    r, c = strongest_inside(corners)
    click_pixel(page, "map-1-0", r, c, tuple(corners.shape))
    value = shown_value(page)
    assert value == pytest.approx(float(corners[r, c]), abs=1e-4)

    link = page.get_by_test_id("step-link")
    expect(link).to_be_visible()
    query = parse_qs(urlparse(link.get_attribute("href")).query)
    assert query["ex"] == ["custom"]
    channels = query["x"][0].split("|")
    assert len(channels) == 2  # the two edge maps
    assert len({len(ch.split(";")) for ch in channels}) == 1
    kernel = [
        [[float(v) for v in row.split(",")] for row in ch.split(";")]
        for ch in query["k"][0].split("|")
    ]
    assert kernel == [SOBEL_Y, SOBEL_X]  # filter 0 of layer 2: [2][3][3]
    link.click()
    expect(page).to_have_url(re.compile(r"/step\?"))
    step_sum = page.get_by_test_id("step-sum")
    expect(step_sum).to_be_visible()
    shown = float(step_sum.text_content().replace("\N{MINUS SIGN}", "-"))
    # The crop's values are sent to 6 significant digits.
    assert shown == pytest.approx(value, abs=2e-3)
    assert shown == pytest.approx(float(corners[r, c]), abs=2e-3)
    watch.assert_clean()


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 375, "height": 740}]
)
def test_weight_grids_and_batch_norm_tables_have_no_serious_violations(
    open_page: Any, viewport: dict[str, int]
) -> None:
    layers = [
        *CORNERS,
        {"type": "batch_norm", "training": False},
        {"type": "batch_norm"},
        {"type": "dropout", "p": 0.3, "seed": 2},
    ]
    page, watch = open_page(link(layers), viewport)
    expect(page.get_by_test_id("layer-2-stats")).to_be_visible()
    expect(page.get_by_test_id("layer-3-running_var_after-2")).not_to_have_text("…")
    expect(page.get_by_test_id("mask-4-0")).to_be_visible()
    wait_rendered(page)
    assert blocking_violations(page) == []
    # Nothing wider than the phone's screen: wide grids scroll inside their own box.
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    watch.assert_clean()


def test_a_new_filter_upstream_is_met_by_fitting_the_next_layer_to_the_servers_count(
    open_page: Any,
) -> None:
    page, watch = open_page(link(CORNERS))
    expect(page.get_by_test_id("map-1-2")).to_be_visible()
    page.get_by_test_id("layer-0-add-filter").click()
    # The server refuses layer 2 (2 channels per filter, 3 maps in), and the card learns
    # the 3 from the server's answer for the layers before it.
    expect(page.get_by_test_id("layer-1-error")).to_contain_text("layer 2 (conv2d)")
    mismatch = page.get_by_test_id("layer-1-channel-mismatch")
    expect(mismatch).to_contain_text("this layer's input has 3")
    page.get_by_test_id("layer-1-fit-channels").click()
    expect(page.get_by_test_id("layer-1-in-channels")).to_contain_text("Input: 3 channels")
    expect(page.get_by_test_id("layer-1-w-0-2-1-1")).to_have_value("0")
    expect(page.get_by_test_id("layer-1-error")).to_be_hidden()
    wait_rendered(page)
    kept = json.loads(shown_layers(page))
    assert [len(f) for f in kept[1]["kernel"]] == [3, 3, 3]
    assert len(kept[0]["kernel"]) == 3 and kept[0]["bias"] == [0, 0, 0]
    watch.assert_clean(allow_status=(422,))
