"""Displays that tell the truth on /, /step and /pooling, one test per display bug of issue 9.

Every value a page shows is checked against the API's own answer for the same request;
the tests wait for states (rendered counters, attributes), never for time.
"""

from __future__ import annotations

import io
import json
import math
import re
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.helpers import renders, wait_rendered

pytestmark = pytest.mark.browser

TIMES = "\u00d7"
BIG = {"width": 1280, "height": 900}


# ---- helpers ---------------------------------------------------------------------------


def set_field(page: Any, testid: str, value: str) -> None:
    field = page.get_by_test_id(testid)
    field.fill(value)
    field.press("Tab")


def api_image(page: Any, base: str, params: dict[str, Any], max_side: int = 256) -> Any:
    """POST /images/conv2d on the "shapes" sample, as the playground sends it."""
    response = page.request.post(
        f"{base}/api/v1/images/conv2d",
        multipart={
            "sample": "shapes",
            "params": json.dumps(params),
            "color": "gray",
            "max_side": str(max_side),
        },
    )
    assert response.status == 200, response.text()
    return response.json()


PLAY = {  # what the playground sends with its default sliding settings
    "bias": 0,
    "stride": 1,
    "padding": "same",
    "padding_mode": "zeros",
    "dilation": 1,
    "channel_mode": "depthwise",
}


def evaluate_formula(text: str) -> tuple[float, int]:
    """A formula line's left side evaluated (floor, ceil, dot and minus signs), and its right."""
    left, right = text.rsplit("=", 1)
    python = (
        left.replace("⌊", "math.floor(")
        .replace("⌋", ")")
        .replace("⌈", "math.ceil(")
        .replace("⌉", ")")
        .replace("·", "*")
        .replace("\u2212", "-")
    )
    assert re.fullmatch(r"[\d\s+\-*/().a-z]*", python), python
    return eval(python, {"math": math}), int(right)  # digits and operators only


def shown_number(text: str) -> float:
    return float(text.strip().replace("\u2212", "-"))


def in_viewport(box: dict[str, float], viewport: dict[str, int]) -> bool:
    return (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= viewport["width"]
        and box["y"] + box["height"] <= viewport["height"]
    )


# ---- /step: the formula is the API's and equals the size shown ----------------------------


def test_step_formula_is_the_apis_and_equals_the_size_shown(
    open_page: Any, live_server: str
) -> None:
    page, watch = open_page("/step?ex=square")
    expect(page.get_by_test_id("player-counter")).to_have_text("Step 1 of 36")
    expect(page.get_by_test_id("output-caption")).to_have_text(f"6{TIMES}6")
    square = [[1.0 if 1 <= r <= 3 and 1 <= c <= 3 else 0.0 for c in range(6)] for r in range(6)]
    geometry = page.request.post(
        f"{live_server}/api/v1/conv2d",
        data={"input": square, "kernel": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]], "padding": 1},
    ).json()["geometry"]
    rows = page.get_by_test_id("formula-rows")
    cols = page.get_by_test_id("formula-cols")
    expect(rows).to_contain_text(geometry["formula"]["rows"])
    expect(cols).to_contain_text(geometry["formula"]["cols"])
    for shown in (rows, cols):
        left, right = evaluate_formula(shown.get_attribute("data-formula"))
        assert left == right == 6
    watch.assert_clean()


def test_pooling_formula_equals_the_size_shown(open_page: Any) -> None:
    page, watch = open_page("/pooling?k=3&stride=2&ceil=1")
    expect(page.get_by_test_id("player-counter")).to_contain_text("Step 1 of")
    caption = page.get_by_test_id("output-caption").inner_text()
    rows, cols = (int(n) for n in caption.split(TIMES))
    left, right = evaluate_formula(
        page.get_by_test_id("formula-rows").get_attribute("data-formula")
    )
    assert left == right == rows == 3  # ceil((6 - 3) / 2) + 1
    left, right = evaluate_formula(
        page.get_by_test_id("formula-cols").get_attribute("data-formula")
    )
    assert left == right == cols
    watch.assert_clean()


def cell_fill(page: Any, testid: str, r: int, c: int) -> tuple[int, int, int]:
    """A pixel of grid cell (r, c) away from its number and from any frame: its fill."""
    return page.evaluate(
        """([testid, r, c]) => {
            const el = document.querySelector(`[data-testid="${testid}"]`);
            const { cell, gap, x0, y0 } = el.dataset;
            const k = el.width / el.clientWidth; // device pixels per CSS pixel
            const x = (Number(x0) + c * (Number(cell) + Number(gap)) + 0.85 * Number(cell)) * k;
            const y = (Number(y0) + r * (Number(cell) + Number(gap)) + 0.15 * Number(cell)) * k;
            const px = el.getContext("2d").getImageData(Math.round(x), Math.round(y), 1, 1);
            return Array.from(px.data.slice(0, 3));
        }""",
        [testid, r, c],
    )


def test_pooling_cells_keep_their_values_colour_inside_the_window(open_page: Any) -> None:
    # 2x2 windows, stride 2: cell (0, 0) is in step 1's window and in no window at step 2.
    page, watch = open_page("/pooling")
    counter = page.get_by_test_id("player-counter")
    expect(counter).to_contain_text("Step 1 of")
    inside = cell_fill(page, "input-canvas", 0, 0)
    page.get_by_role("button", name=re.compile("Next")).click()
    expect(counter).to_contain_text("Step 2 of")
    assert cell_fill(page, "input-canvas", 0, 0) == inside
    watch.assert_clean()


# ---- ranges: the data's own, apart from the colour scale ----------------------------------


def test_playground_range_labels_are_the_apis_data_range(open_page: Any, live_server: str) -> None:
    # [[-1]] on an image in 0…1 gives an all-negative map: data -1 to 0, scale +-1.
    page, watch = open_page("/?kernel=custom&k=-1&pad=valid")
    label = page.get_by_test_id("output-range")
    expect(label).to_have_attribute("data-min", re.compile(r"."))
    body = api_image(page, live_server, {**PLAY, "kernel": [[-1]], "padding": "valid"})
    out = body["output"][0]
    assert out["max"] <= 0 < -out["min"]  # an all-negative map, so the check means something
    assert float(label.get_attribute("data-min")) == out["min"]
    assert float(label.get_attribute("data-max")) == out["max"]
    expect(page.get_by_test_id("output-range-data")).to_have_text(
        re.compile(r"data \u2212[\d.]+ to \u2212?[\d.]+")
    )
    bar = page.get_by_test_id("colorbar")
    assert float(bar.get_attribute("data-vmin")) == out["vmin"] == -out["vmax"]
    assert (out["min"], out["max"]) != (out["vmin"], out["vmax"])  # two different ranges
    # The input: its own data range beside its 0…1 scale.
    inp = page.get_by_test_id("input-range")
    assert float(inp.get_attribute("data-min")) == body["input"]["min"]
    assert float(inp.get_attribute("data-max")) == body["input"]["max"]
    watch.assert_clean()


def test_a_constant_map_says_constant(open_page: Any, live_server: str) -> None:
    page, watch = open_page("/?kernel=custom&k=0&pad=valid")
    expect(page.get_by_test_id("output-range-data")).to_have_text("data constant 0")
    body = api_image(page, live_server, {**PLAY, "kernel": [[0]], "padding": "valid"})
    assert body["output"][0]["min"] == body["output"][0]["max"] == 0
    expect(page.get_by_test_id("output-range-scale")).to_have_text("colour scale \u00b11")
    watch.assert_clean()


def test_step_range_labels_are_the_grids_own(open_page: Any) -> None:
    page, watch = open_page("/step")  # the edge patch: input -0.5 to 0.6, output 2.3
    expect(page.get_by_test_id("step-sum")).to_have_text("2.3")
    expect(page.get_by_test_id("input-range-data")).to_have_text("data \u22120.5 to 0.6")
    expect(page.get_by_test_id("input-range-scale")).to_have_text("colour scale \u00b10.6")
    expect(page.get_by_test_id("output-range-data")).to_have_text("data constant 2.3")
    watch.assert_clean()


# ---- one colour rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "kernel"),
    [("kernel=custom&k=1", [[1]]), ("kernel=custom&k=2", [[2]]), ("kernel=box_blur", "box_blur")],
    ids=["one", "two", "blur"],
)
def test_the_colour_rule_does_not_change_with_the_values(
    open_page: Any, live_server: str, query: str, kernel: Any
) -> None:
    page, watch = open_page(f"/?{query}")
    bar = page.get_by_test_id("colorbar")
    expect(bar).to_have_attribute("data-colormap", "diverging")
    body = api_image(page, live_server, {**PLAY, "kernel": kernel})
    out = body["output"][0]
    assert out["colormap"] == "diverging"
    assert out["vmin"] == -out["vmax"] == -max(abs(out["min"]), abs(out["max"]))
    assert float(bar.get_attribute("data-vmax")) == out["vmax"]
    expect(page.get_by_test_id("color-rule")).to_contain_text("diverging")
    watch.assert_clean()


def test_step_tints_each_input_cell_by_its_own_value(open_page: Any) -> None:
    """Negating the kernel leaves the input's colours alone (they are the input's values)."""
    page, watch = open_page("/step")
    expect(page.get_by_test_id("step-sum")).to_have_text("2.3")
    before = page.get_by_test_id("input-canvas").screenshot()
    page.goto(page.url.split("?")[0] + "?ex=custom&k=-1,-1,-1;0,0,0;1,1,1")
    expect(page.get_by_test_id("step-sum")).to_have_text("\u22122.3")
    after = page.get_by_test_id("input-canvas").screenshot()
    a = np.asarray(Image.open(io.BytesIO(before)).convert("RGB"), dtype=int)
    b = np.asarray(Image.open(io.BytesIO(after)).convert("RGB"), dtype=int)
    assert a.shape == b.shape
    # Cell (0, 0) holds 0.6 in both: its background is the same red either way.
    size = a.shape[1] // 3
    assert np.abs(a[size // 4, size // 4] - b[size // 4, size // 4]).max() <= 2
    assert a[size // 4, size // 4][0] > a[size // 4, size // 4][2]  # red, a positive value
    watch.assert_clean()


# ---- error states ----------------------------------------------------------------------------


def test_a_failed_upload_is_shown_beside_it_and_forgotten(open_page: Any) -> None:
    page, watch = open_page("/", BIG)
    wait_rendered(page, 0)
    page.get_by_test_id("upload-input").set_input_files(
        {"name": "fake.png", "mimeType": "image/png", "buffer": b"this is not a picture"}
    )
    message = page.get_by_test_id("upload-msg")
    expect(message).to_be_visible()
    expect(message).to_contain_text("unsupported")
    assert in_viewport(message.bounding_box(), BIG)
    expect(page.get_by_test_id("upload-name")).to_have_text("")
    expect(page).not_to_have_url(re.compile(r"src=upload"))

    # The next change is computed from the sample: the file is never sent again.
    sent: list[bytes] = []
    page.on(
        "request",
        lambda request: (
            sent.append(request.post_data_buffer or b"")
            if "/images/conv2d" in request.url
            else None
        ),
    )
    before = renders(page)
    set_field(page, "stride", "2")
    wait_rendered(page, before)
    assert sent and not any(b"fake.png" in body for body in sent)
    expect(page.get_by_test_id("play-stage")).not_to_have_class(re.compile(r"\bstale\b"))
    watch.assert_clean(allow_status=(415, 400))


def test_a_failed_setting_dims_the_old_output_until_a_fresh_one(open_page: Any) -> None:
    page, watch = open_page("/?kernel=gaussian_blur_5x5&size=128&pad=valid", BIG)
    wait_rendered(page, 0)
    stage = page.get_by_test_id("play-stage")
    expect(stage).not_to_have_class(re.compile(r"\bstale\b"))
    set_field(page, "dilation", "64")
    notice = page.get_by_test_id("notice")
    expect(notice).to_contain_text("larger than the padded input")
    expect(stage).to_have_class(re.compile(r"\bstale\b"))
    assert in_viewport(notice.bounding_box(), BIG)
    # The same reason sits beside the field that was changed, as on /step and /pooling.
    beside = page.get_by_test_id("dilation-msg")
    expect(beside).to_contain_text("larger than the padded input")
    expect(page.get_by_test_id("dilation")).to_have_attribute("aria-invalid", "true")
    expect(beside).to_be_in_viewport(ratio=0.95)
    before = renders(page)
    set_field(page, "dilation", "1")
    wait_rendered(page, before)
    expect(stage).not_to_have_class(re.compile(r"\bstale\b"))
    expect(notice).to_be_hidden()
    expect(beside).not_to_contain_text("larger")
    expect(page.get_by_test_id("dilation")).not_to_have_attribute("aria-invalid", "true")
    watch.assert_clean(allow_status=(422,))


@pytest.mark.parametrize("path", ["/", "/step"])
def test_the_padding_modes_offered_are_the_servers(
    open_page: Any, live_server: str, path: str
) -> None:
    page, watch = open_page(path, BIG)
    layers = page.request.get(f"{live_server}/api/v1/layers").json()["layers"]
    conv = next(layer for layer in layers if layer["type"] == "conv2d")
    modes = conv["schema"]["properties"]["padding_mode"]["enum"]
    assert "reflect" in modes
    options = page.get_by_test_id("padding-mode").locator("option")
    expect(options).to_have_count(len(modes))
    assert options.all_inner_texts() == modes
    watch.assert_clean()


# /step computes in float64: 1e308 overflows only when the sums pass 1.8e308, so its link
# holds inputs of 2 (2 * (1 + 1 + 1 + 1e308) overflows); images are float32 throughout.
@pytest.mark.parametrize("path", ["/?kernel=custom", "/step?x=2,2,2;2,2,2;2,2,2&k=1,1;1,1"])
def test_a_huge_kernel_value_is_judged_by_the_server_and_shown_beside_the_editor(
    open_page: Any, path: str
) -> None:
    page, watch = open_page(path, BIG)
    stage = "play-stage" if path.startswith("/?") else "step-stage"
    wait_rendered(page, 0, stage)
    cell = page.get_by_test_id(
        "kernel-editor-1-1" if stage == "play-stage" else "kernel-editor-0-1-1"
    )
    message = page.get_by_test_id(
        "kernel-editor-msg" if stage == "play-stage" else "kernel-editor-0-msg"
    )
    # Text that is not a number is marked in its cell and never sent.
    sent: list[str] = []
    page.on(
        "request",
        lambda request: sent.append(request.post_data or "") if "/api/" in request.url else None,
    )
    cell.fill("1e3x")
    expect(cell).to_have_attribute("aria-invalid", "true")
    expect(message).to_contain_text("not a number")
    before = renders(page, stage)
    set_field(page, "stride", "2")
    wait_rendered(page, before, stage)
    assert sent and not any("1e3x" in body for body in sent)
    # A number too large to compute with is the server's to judge: its refusal is shown
    # under the grid, word for word, and the old output is dimmed; the page never throws.
    with page.expect_response(
        lambda r: "/api/v1/" in r.url and r.request.method == "POST" and r.status == 422
    ) as refused:
        cell.fill("1e308")
    details = refused.value.json()["detail"]
    assert details and all(d["msg"] for d in details)
    expect(cell).not_to_have_attribute("aria-invalid", "true")
    for detail in details:
        expect(message).to_contain_text(detail["msg"])
    expect(page.get_by_test_id(stage)).to_have_class(re.compile(r"\bstale\b"))
    before = renders(page, stage)
    cell.fill("2")
    wait_rendered(page, before, stage)
    expect(page.get_by_test_id(stage)).not_to_have_class(re.compile(r"\bstale\b"))
    expect(message).to_be_empty()
    assert not [e for e in watch.console_errors if e.startswith("uncaught")]
    watch.assert_clean(allow_status=(422,))


# ---- the playground's layout and true sizes -------------------------------------------------


def test_playground_controls_sit_beside_the_output(open_page: Any) -> None:
    page, watch = open_page("/", BIG)
    wait_rendered(page, 0)
    output = page.get_by_test_id("output-canvas")
    for testid in [
        "sample-checkerboard",
        "kernel-box_blur",
        "kernel-editor-0-0",
        "stride",
        "padding-mode",
    ]:
        control = page.get_by_test_id(testid)
        control.evaluate("(el) => el.scrollIntoView({block: 'center'})")
        box = control.bounding_box()
        out = output.bounding_box()
        assert in_viewport(box, BIG), testid
        assert in_viewport(out, BIG), f"the output is off-screen while {testid} is in view"
        assert box["x"] + box["width"] <= out["x"], f"{testid} is not beside the output"
    watch.assert_clean()


def test_stride_2_output_is_drawn_half_as_big_and_zoom_scales_both(open_page: Any) -> None:
    page, watch = open_page("/?stride=2&size=128", BIG)
    wait_rendered(page, 0)
    expect(page.get_by_test_id("output-caption")).to_contain_text(f"64{TIMES}64")
    inp = page.get_by_test_id("input-canvas").bounding_box()
    out = page.get_by_test_id("output-canvas").bounding_box()
    assert out["width"] == pytest.approx(inp["width"] / 2, abs=1.5)
    assert out["height"] == pytest.approx(inp["height"] / 2, abs=1.5)
    page.get_by_test_id("zoom").select_option("1")
    expect(page.get_by_test_id("zoom-caption")).to_contain_text("at 1 screen px per pixel")
    one = page.get_by_test_id("input-canvas").bounding_box()["width"]
    page.get_by_test_id("zoom").select_option("2")
    expect(page.get_by_test_id("zoom-caption")).to_contain_text("at 2 screen px per pixel")
    two_in = page.get_by_test_id("input-canvas").bounding_box()["width"]
    two_out = page.get_by_test_id("output-canvas").bounding_box()["width"]
    assert two_in == pytest.approx(2 * one, abs=2)
    assert two_out == pytest.approx(two_in / 2, abs=1.5)
    expect(page).to_have_url(re.compile(r"zoom=2"))
    watch.assert_clean()
