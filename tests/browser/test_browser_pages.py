"""The pages in a real Chromium: what a person sees agrees with what the API returns."""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.helpers import renders, shown_link, wait_rendered

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
TIMES = "\u00d7"  # the pages write sizes and products with a multiplication sign
HIGHLIGHT = (214, 44, 106)  # the max-pooling highlight, static/js/views/pooling.js

READY = {
    "/": ("output-caption", re.compile(rf"\d+{TIMES}\d+ px")),
    "/step": ("step-sum", re.compile(r"2\.3")),
    "/pooling": ("step-value", re.compile(r"\d")),
}


# ---- helpers ---------------------------------------------------------------------------


def make_png(width: int = 48, height: int = 40) -> bytes:
    """A gray test image: a 0..255 ramp with a white and a black block (full range)."""
    ramp = np.linspace(0, 255, width).round().astype(np.uint8)
    pixels = np.tile(ramp, (height, 1))  # (H, W)
    pixels[6:18, 8:26] = 255
    pixels[24:34, 30:44] = 0
    buffer = io.BytesIO()
    Image.fromarray(pixels, "L").save(buffer, format="PNG")
    return buffer.getvalue()


def canvas_rgb(page: Any, testid: str) -> np.ndarray:
    """The canvas's pixels as an (H, W, 3) uint8 array."""
    data = page.evaluate(
        """(testid) => {
            const c = document.querySelector(`[data-testid="${testid}"]`);
            const d = c.getContext("2d").getImageData(0, 0, c.width, c.height);
            return {w: c.width, h: c.height, px: Array.from(d.data)};
        }""",
        testid,
    )
    rgba = np.array(data["px"], dtype=np.uint8).reshape(data["h"], data["w"], 4)
    return rgba[:, :, :3]


def canvas_pixel(page: Any, testid: str, x: int, y: int) -> tuple[int, int, int]:
    """One pixel (device pixels) of a canvas as (r, g, b)."""
    rgba = page.evaluate(
        """([testid, x, y]) => {
            const c = document.querySelector(`[data-testid="${testid}"]`);
            return Array.from(c.getContext("2d").getImageData(x, y, 1, 1).data);
        }""",
        [testid, x, y],
    )
    return tuple(rgba[:3])


def colormap_table(page: Any, name: str) -> np.ndarray:
    """The page's own colour table (static/js/render/colors.js) as a (256, 3) array."""
    table = page.evaluate(
        """async (name) => (await import("/static/js/render/colors.js")).colormapTable(name)""",
        name,
    )
    return np.array(table, dtype=np.int32)


def shown_number(text: str) -> float:
    return float(text.strip().replace("\u2212", "-"))


def wait_ready(page: Any, path: str) -> None:
    testid, pattern = READY[path.split("?")[0]]
    expect(page.get_by_test_id(testid)).to_have_text(pattern)


def upload(page: Any, png: bytes) -> None:
    before = renders(page)
    page.get_by_test_id("upload-input").set_input_files(
        {"name": "test.png", "mimeType": "image/png", "buffer": png}
    )
    wait_rendered(page, before)
    expect(page.get_by_test_id("input-caption")).to_contain_text(f"40{TIMES}48")  # H x W


def choose_kernel(page: Any, name: str) -> None:
    button = page.get_by_test_id(f"kernel-{name}")
    already = button.get_attribute("aria-pressed") == "true"
    before = renders(page)
    button.click()
    if not already:
        wait_rendered(page, before)
    expect(button).to_have_attribute("aria-pressed", "true")


def api_image_conv2d(
    page: Any, base: str, png: bytes, params: dict[str, Any], fmt: str = "json"
) -> Any:
    response = page.request.post(
        f"{base}/api/v1/images/conv2d?format={fmt}",
        multipart={
            "image": {"name": "test.png", "mimeType": "image/png", "buffer": png},
            "params": json.dumps(params),
            "color": "gray",
            "max_side": "256",
        },
    )
    assert response.status == 200, response.text()
    return response.json() if fmt == "json" else response.body()


def data_url_rgb(url: str) -> np.ndarray:
    raw = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"))


PAGE_PARAMS = {  # what the playground sends with its default sliding settings
    "bias": 0,
    "stride": 1,
    "padding": "same",
    "padding_mode": "zeros",
    "dilation": 1,
    "channel_mode": "depthwise",
}


def focus_page(page: Any) -> None:
    """Give the keyboard to the page itself, not to a control."""
    page.locator("h1").click()


# ---- every page ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/step", "/pooling"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_page_loads_cleanly(
    open_page: Any, save_screenshot: Any, path: str, viewport: dict[str, int]
) -> None:
    page, watch = open_page(path, viewport)
    wait_ready(page, path)
    nav = page.get_by_role("navigation", name="Main")
    for label in ["Playground", "Step by step", "Pooling", "API docs"]:
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    expect(nav.locator("[aria-current=page]")).to_have_count(1)
    page.wait_for_load_state("networkidle")  # late requests (thumbnails, traces) have finished
    name = {"/": "playground"}.get(path, path.strip("/"))
    save_screenshot(page, f"{name}-{viewport['width']}")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {viewport['width']}px"
    watch.assert_clean()


# ---- playground -----------------------------------------------------------------------------


def test_identity_kernel_reproduces_the_uploaded_image(open_page: Any) -> None:
    page, watch = open_page("/")
    wait_ready(page, "/")
    png = make_png()
    upload(page, png)
    choose_kernel(page, "identity")

    source = np.asarray(Image.open(io.BytesIO(png)), dtype=np.float64) / 255  # (H, W)
    shown_input = canvas_rgb(page, "input-canvas")
    assert shown_input.shape[:2] == source.shape
    assert np.array_equal(shown_input[:, :, 0], np.asarray(Image.open(io.BytesIO(png))))

    # Read the output back through the colour bar's scale: colour -> table index -> value.
    bar = page.get_by_test_id("colorbar")
    colormap = bar.get_attribute("data-colormap")
    vmin = float(bar.get_attribute("data-vmin"))
    vmax = float(bar.get_attribute("data-vmax"))
    shown_output = canvas_rgb(page, "output-canvas").astype(np.int32)
    assert shown_output.shape[:2] == source.shape
    table = colormap_table(page, colormap)
    distance = ((shown_output[:, :, None, :] - table[None, None, :, :]) ** 2).sum(axis=-1)
    index = distance.argmin(axis=-1)  # (H, W)
    assert distance.min(axis=-1).max() == 0, "output colours are not on the stated colormap"
    values = vmin + index / 255 * (vmax - vmin)
    assert np.abs(values - source).max() <= 1.01 / 255
    watch.assert_clean()


def test_edge_kernel_output_matches_the_api(open_page: Any, live_server: str) -> None:
    page, watch = open_page("/")
    wait_ready(page, "/")
    png = make_png()
    upload(page, png)
    choose_kernel(page, "identity")
    identity = canvas_rgb(page, "output-canvas")
    choose_kernel(page, "sobel_x")
    shown = canvas_rgb(page, "output-canvas")
    assert not np.array_equal(shown, identity)

    params = {"kernel": "sobel_x", **PAGE_PARAMS}
    body = api_image_conv2d(page, live_server, png, params)
    assert np.array_equal(shown, data_url_rgb(body["output"][0]["data_url"]))

    # One strong edge pixel, from the raw float32 array, in the colour the bar states.
    raw = np.load(io.BytesIO(api_image_conv2d(page, live_server, png, params, "npy")))
    values = raw.reshape(raw.shape[-2:])
    row, col = np.unravel_index(np.abs(values).argmax(), values.shape)
    bar = page.get_by_test_id("colorbar")
    vmin = float(bar.get_attribute("data-vmin"))
    vmax = float(bar.get_attribute("data-vmax"))
    table = colormap_table(page, bar.get_attribute("data-colormap"))
    index = int(np.clip(np.rint((values[row, col] - vmin) / (vmax - vmin) * 255), 0, 255))
    assert np.abs(shown[row, col].astype(int) - table[index]).max() <= 2
    watch.assert_clean()


def test_hovering_an_output_pixel_shows_the_api_sum(open_page: Any, live_server: str) -> None:
    page, watch = open_page("/")
    wait_ready(page, "/")
    png = make_png()
    upload(page, png)
    choose_kernel(page, "sobel_x")
    params = {"kernel": "sobel_x", **PAGE_PARAMS}
    raw = np.load(io.BytesIO(api_image_conv2d(page, live_server, png, params, "npy")))
    values = raw.reshape(raw.shape[-2:])
    py, px = (int(v) for v in np.unravel_index(np.abs(values).argmax(), values.shape))

    canvas = page.get_by_test_id("output-canvas")
    box = canvas.bounding_box()
    height, width = values.shape
    traces = int(page.get_by_test_id("trace-panel").get_attribute("data-traces") or 0)
    canvas.hover(
        position={"x": (px + 0.5) * box["width"] / width, "y": (py + 0.5) * box["height"] / height}
    )
    page.wait_for_function(
        """(n) => {
            const panel = document.querySelector('[data-testid="trace-panel"]');
            return Number(panel.dataset.traces || 0) > n;
        }""",
        arg=traces,
    )
    expect(page.get_by_test_id("trace-title")).to_have_text(f"Output pixel (row {py}, column {px})")

    traced = api_image_conv2d(
        page,
        live_server,
        png,
        {**params, "trace_region": {"rows": [py, py + 1], "cols": [px, px + 1]}},
    )
    expected = traced["steps"][0]["sum"]
    shown = shown_number(page.get_by_test_id("trace-sum").first.inner_text())
    assert shown == pytest.approx(expected, abs=6e-5)
    assert abs(expected) > 0.1  # an edge, so the check means something
    # The receptive field is outlined on the input: a 3x3 box around the same pixel.
    assert (
        page.get_by_test_id("input-overlay").get_attribute("data-field") == f"{py - 1},{px - 1},3,3"
    )
    watch.assert_clean()


def test_hovering_a_second_output_map_shows_its_api_sum(open_page: Any, live_server: str) -> None:
    page, watch = open_page("/")
    wait_ready(page, "/")
    png = make_png()
    upload(page, png)
    page.get_by_test_id("kernel-compare").check()
    before = renders(page)
    page.get_by_test_id("kernel-sobel_y").click()
    wait_rendered(page, before)
    expect(page.get_by_test_id("map-strip")).to_be_visible()
    expect(page.get_by_test_id("map-1")).to_contain_text("sobel_y")

    params = {"kernel": ["sobel_x", "sobel_y"], **PAGE_PARAMS}
    raw = np.load(io.BytesIO(api_image_conv2d(page, live_server, png, params, "npy")))
    assert raw.shape[0] == 2  # one channel per kernel, in the order they were picked
    values = raw[1]  # sobel_y: horizontal edges
    py, px = (int(v) for v in np.unravel_index(np.abs(values).argmax(), values.shape))

    small = page.get_by_test_id("map-canvas-1")
    box = small.bounding_box()
    height, width = values.shape
    small.hover(
        position={"x": (px + 0.5) * box["width"] / width, "y": (py + 0.5) * box["height"] / height}
    )
    expect(page.get_by_test_id("map-1")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("trace-title")).to_have_text(
        f"Output pixel (row {py}, column {px}) of map 2, sobel_y"
    )
    traced = api_image_conv2d(
        page,
        live_server,
        png,
        {**params, "trace_region": {"rows": [py, py + 1], "cols": [px, px + 1]}},
    )
    expected = next(step["sum"] for step in traced["steps"] if step["out"][0] == 1)
    shown = page.get_by_test_id("trace-sum")
    expect(shown).to_have_count(1)
    expect(shown).to_have_attribute("data-channel", "1")
    assert shown_number(shown.inner_text()) == pytest.approx(expected, abs=6e-5)
    assert abs(expected) > 0.1
    # The large output now shows map 2: the same picture as the API's second map.
    body = api_image_conv2d(page, live_server, png, params)
    assert np.array_equal(
        canvas_rgb(page, "output-canvas"), data_url_rgb(body["output"][1]["data_url"])
    )
    expect(page).to_have_url(re.compile(r"map=1"))
    watch.assert_clean()


@pytest.mark.parametrize("how", ["drop", "paste"])
def test_an_image_can_be_dropped_or_pasted(open_page: Any, how: str) -> None:
    page, watch = open_page("/")
    wait_ready(page, "/")
    before = renders(page)
    page.evaluate(
        """([b64, how]) => {
            const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], `${how}.png`, {type: "image/png"}));
            if (how === "drop") {
                const zone = document.querySelector('[data-testid="dropzone"]');
                const init = {dataTransfer: data, bubbles: true, cancelable: true};
                zone.dispatchEvent(new DragEvent("drop", init));
            } else {
                const init = {clipboardData: data, bubbles: true, cancelable: true};
                document.dispatchEvent(new ClipboardEvent("paste", init));
            }
        }""",
        [base64.b64encode(make_png()).decode(), how],
    )
    wait_rendered(page, before)
    expect(page.get_by_test_id("upload-name")).to_have_text(f"Using {how}.png")
    expect(page.get_by_test_id("input-caption")).to_contain_text(f"40{TIMES}48")  # H x W
    watch.assert_clean()


def test_an_impossible_setting_shows_the_api_reason(open_page: Any) -> None:
    page, watch = open_page("/?kernel=gaussian_blur_5x5&dilation=64&size=128&pad=valid")
    notice = page.get_by_test_id("notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("larger than the padded input")
    expect(notice).to_have_attribute("role", "alert")
    watch.assert_clean(allow_status=(422,))


def test_the_output_downloads_as_png_and_npy(open_page: Any, tmp_path: Any) -> None:
    page, watch = open_page("/")
    wait_ready(page, "/")
    upload(page, make_png())
    with page.expect_download() as png_download:
        page.get_by_test_id("download-png").click()
    png_path = tmp_path / "out.png"
    png_download.value.save_as(png_path)
    assert png_download.value.suggested_filename == "convscope-sobel_x.png"
    with Image.open(png_path) as image:
        assert image.size == (48, 40)
    with page.expect_download() as npy_download:
        page.get_by_test_id("download-npy").click()
    npy_path = tmp_path / "out.npy"
    npy_download.value.save_as(npy_path)
    array = np.load(npy_path)
    assert array.dtype == np.float32
    assert array.shape[-2:] == (40, 48)
    expect(page.get_by_test_id("download-msg")).to_contain_text("Saved convscope-sobel_x.npy")
    watch.assert_clean()


def test_a_shared_playground_link_restores_the_settings(open_page: Any) -> None:
    page, watch = open_page("/?kernel=sharpen&stride=2&pad=valid&px=10&py=12")
    expect(page.get_by_test_id("formula")).to_contain_text("= 127")
    expect(page.get_by_test_id("kernel-sharpen")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("stride")).to_have_value("2")
    expect(page.get_by_test_id("padding")).to_have_value("valid")
    expect(page.get_by_test_id("trace-title")).to_have_text("Output pixel (row 12, column 10)")

    # Change a setting by hand; the address now carries it to a fresh page.
    page.get_by_test_id("dilation").fill("2")
    page.get_by_test_id("dilation").press("Tab")
    expect(page).to_have_url(re.compile(r"dilation=2"))
    again, watch_again = open_page(shown_link(page))
    expect(again.get_by_test_id("formula")).to_contain_text("= 126")
    expect(again.get_by_test_id("dilation")).to_have_value("2")
    expect(again.get_by_test_id("kernel-sharpen")).to_have_attribute("aria-pressed", "true")
    watch.assert_clean()
    watch_again.assert_clean()


# ---- step by step ----------------------------------------------------------------------------


def test_step_default_example_gives_2_3(open_page: Any) -> None:
    page, watch = open_page("/step")
    expect(page.get_by_test_id("step-sum")).to_have_text("2.3")
    expect(page.get_by_test_id("player-counter")).to_have_text("Step 1 of 1")
    expect(page.get_by_test_id("step-detail")).to_contain_text(
        f"0.6{TIMES}1 + 0.2{TIMES}1 + 0.6{TIMES}1"
    )
    watch.assert_clean()


def test_step_buttons_and_scrubber_agree(open_page: Any, live_server: str) -> None:
    page, watch = open_page("/step?ex=square")
    counter = page.get_by_test_id("player-counter")
    scrubber = page.get_by_test_id("player-scrubber")
    expect(counter).to_have_text("Step 1 of 36")
    for _ in range(3):
        page.get_by_test_id("player-forward").click()
    expect(counter).to_have_text("Step 4 of 36")
    expect(scrubber).to_have_value("3")
    scrubber.evaluate(
        "(el) => { el.value = '20'; el.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    expect(counter).to_have_text("Step 21 of 36")
    page.get_by_test_id("player-back").click()
    expect(counter).to_have_text("Step 20 of 36")
    expect(scrubber).to_have_value("19")
    expect(page.get_by_test_id("step-detail")).to_contain_text(
        "Step 20: output cell (row 3, column 1)"
    )
    # Every value of this example is shown exactly: no rounding note.
    expect(page.get_by_test_id("terms-rounded")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"step=19"))

    square = [[1.0 if 1 <= r <= 3 and 1 <= c <= 3 else 0.0 for c in range(6)] for r in range(6)]
    response = page.request.post(
        f"{live_server}/api/v1/conv2d",
        data={
            "input": square,
            "kernel": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
            "padding": 1,
            "trace": True,
        },
    )
    expected = response.json()["steps"][19]["sum"]
    assert shown_number(page.get_by_test_id("step-sum").inner_text()) == pytest.approx(
        expected, abs=1e-4
    )

    page.get_by_test_id("player-reset").click()
    expect(counter).to_have_text("Step 1 of 36")
    expect(scrubber).to_have_value("0")
    watch.assert_clean()


def test_step_keyboard_controls(open_page: Any) -> None:
    page, watch = open_page("/step?ex=stride")
    counter = page.get_by_test_id("player-counter")
    expect(counter).to_have_text("Step 1 of 16")
    focus_page(page)
    page.keyboard.press("ArrowRight")
    expect(counter).to_have_text("Step 2 of 16")
    page.keyboard.press("ArrowLeft")
    expect(counter).to_have_text("Step 1 of 16")
    page.keyboard.press("End")
    expect(counter).to_have_text("Step 16 of 16")
    page.keyboard.press("Home")
    expect(counter).to_have_text("Step 1 of 16")

    # The page's animation frames run on a clock the test moves: playing at 2 steps per
    # second, 2 s of page time after the first frame advance exactly 4 steps; paused,
    # 10 s advance none.
    page.clock.install()
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)
    play = page.get_by_test_id("player-play")
    page.keyboard.press("Space")
    expect(play).to_have_attribute("aria-pressed", "true")
    page.clock.run_for(2100)  # the first frame only notes the time: 2 s follow it
    expect(counter).to_have_text("Step 5 of 16")
    page.keyboard.press("Space")
    expect(play).to_have_attribute("aria-pressed", "false")
    page.clock.run_for(10_000)
    expect(counter).to_have_text("Step 5 of 16")
    watch.assert_clean()


def test_step_says_why_a_dilation_is_impossible_and_dims_the_old_result(open_page: Any) -> None:
    page, watch = open_page("/step")
    expect(page.get_by_test_id("step-sum")).to_have_text("2.3")
    dilation = page.get_by_test_id("dilation")
    dilation.fill("3")
    dilation.press("Tab")
    # The server says why, next to the field that was changed; the old result is dimmed.
    expect(page.get_by_test_id("dilation-msg")).to_contain_text("larger than the padded input")
    expect(page.get_by_test_id("step-stage")).to_have_class(re.compile(r"\bstale\b"))
    expect(page.get_by_test_id("step-sum")).to_have_text("2.3")
    dilation.fill("1")
    dilation.press("Tab")
    expect(page.get_by_test_id("step-stage")).not_to_have_class(re.compile(r"\bstale\b"))
    expect(page.get_by_test_id("dilation-msg")).to_have_text("")
    watch.assert_clean(allow_status=(422,))


def test_step_hovering_an_output_cell_jumps_to_its_step(open_page: Any) -> None:
    page, watch = open_page("/step?ex=square")
    counter = page.get_by_test_id("player-counter")
    expect(counter).to_have_text("Step 1 of 36")
    canvas = page.get_by_test_id("output-canvas")
    box = canvas.bounding_box()
    cell = box["width"] / 6
    canvas.hover(position={"x": 2.5 * cell, "y": 4.5 * cell})  # row 4, column 2
    expect(counter).to_have_text("Step 27 of 36")

    # An input corner cell (padded row 1, column 1) feeds the four outputs around it.
    inputs = page.get_by_test_id("input-canvas")
    pitch = inputs.bounding_box()["width"] / 8
    inputs.hover(position={"x": 1.5 * pitch, "y": 1.5 * pitch})
    expect(page.get_by_test_id("hover-info")).to_have_text(
        "Padded cell (row 1, column 1) is used by output cells (0, 0), (0, 1), (1, 0), (1, 1)."
    )
    watch.assert_clean()


def api_crop(page: Any, base: str, crop: list[int]) -> list[Any]:
    r0, c0, rows, cols = crop
    response = page.request.post(
        f"{base}/api/v1/images/pixels",
        multipart={
            "sample": "shapes",
            "params": json.dumps({"rows": [r0, r0 + rows], "cols": [c0, c0 + cols]}),
            "color": "gray",
            "max_side": "64",
        },
    )
    assert response.status == 200, response.text()
    return response.json()["pixels"]


def test_step_through_a_crop_of_an_image(open_page: Any, live_server: str) -> None:
    page, watch = open_page("/step")
    expect(page.get_by_test_id("step-sum")).to_have_text("2.3")
    page.get_by_test_id("crop-use").click()
    counter = page.get_by_test_id("player-counter")
    expect(counter).to_have_text("Step 1 of 16")  # the default 6x6 crop, 3x3 kernel
    expect(page.get_by_test_id("crop-info")).to_contain_text("of the 64\u00d764 px image")

    # Click near the bottom-right of the picture: the crop moves there.
    picture = page.get_by_test_id("crop-image")
    page.wait_for_function(  # its size is known once it has loaded
        "() => { const i = document.querySelector('[data-testid=crop-image]');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    box = picture.bounding_box()
    before = renders(page, "step-stage")
    picture.click(position={"x": box["width"] * 0.42, "y": box["height"] * 0.37})
    wait_rendered(page, before, "step-stage")
    expect(page).to_have_url(re.compile(r"crop=(?!23%2C4)"))
    crop = [int(v) for v in re.search(r"crop=([\d%C]+)", shown_link(page))[1].split("%2C")]
    assert crop[2:] == [6, 6]
    expect(page.get_by_test_id("crop-info")).to_contain_text(f"rows {crop[0]}\u2013{crop[0] + 5}")

    pixels = api_crop(page, live_server, crop)
    steps = page.request.post(
        f"{live_server}/api/v1/conv2d",
        data={"input": pixels[0], "kernel": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]], "trace": True},
    ).json()["steps"]
    # The step with the largest |sum|, reached with the scrubber, shows the API's sum.
    n = max(range(len(steps)), key=lambda i: abs(steps[i]["sum"]))
    page.get_by_test_id("player-scrubber").evaluate(
        f"(el) => {{ el.value = '{n}'; el.dispatchEvent(new Event('input', {{bubbles: true}})); }}"
    )
    expect(counter).to_have_text(f"Step {n + 1} of 16")
    shown = shown_number(page.get_by_test_id("step-sum").inner_text())
    assert shown == pytest.approx(steps[n]["sum"], abs=1e-4)
    assert abs(steps[n]["sum"]) > 0.5  # the crop holds an edge, so the check means something
    # The pixels are k/255: the written-out terms are rounded, and the page says so. Added by
    # hand, they give the shown sum to within their rounding (9 terms, |k| <= 2 here).
    equation = page.get_by_test_id("step-detail").locator(".equation").first
    expect(equation.get_by_test_id("terms-rounded")).to_contain_text("rounded to 4 decimals")
    text = equation.inner_text().split("=")[0].replace("\u2212", "-")
    by_hand = sum(
        float(a) * float(b) for a, b in re.findall(r"\(?(-?[\d.]+)\)?\u00d7\(?(-?[\d.]+)\)?", text)
    )
    assert by_hand == pytest.approx(shown, abs=9 * 0.5e-4 * 2 + 1e-4)

    # The link carries the crop, not the numbers: a fresh page fetches the same pixels.
    assert not re.search(r"[?&]x=", shown_link(page))
    again, watch_again = open_page(shown_link(page))
    expect(again.get_by_test_id("player-counter")).to_have_text(f"Step {n + 1} of 16")
    expect(again.get_by_test_id("step-sum")).to_have_text(
        page.get_by_test_id("step-sum").inner_text()
    )
    watch.assert_clean()
    watch_again.assert_clean()


def test_step_link_from_another_page_with_rgb_crop_and_preset(
    open_page: Any, live_server: str
) -> None:
    page, watch = open_page("/step?src=shapes&crop=23,4,4,5&color=rgb&kernel=sobel_y&at=1,2")
    expect(page.get_by_test_id("channels")).to_have_value("3")
    expect(page.get_by_test_id("input-caption")).to_have_text(f"3{TIMES}4{TIMES}5")
    expect(page.get_by_test_id("player-counter")).to_have_text("Step 6 of 6")  # output (1, 2)
    pixels = page.request.post(
        f"{live_server}/api/v1/images/pixels",
        multipart={
            "sample": "shapes",
            "params": json.dumps({"rows": [23, 27], "cols": [4, 9]}),
            "color": "rgb",
            "max_side": "64",
        },
    ).json()["pixels"]
    sobel_y = [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]
    steps = page.request.post(
        f"{live_server}/api/v1/conv2d",
        data={"input": pixels, "kernel": [sobel_y] * 3, "trace": True},
    ).json()["steps"]
    shown = shown_number(page.get_by_test_id("step-sum").inner_text())
    assert shown == pytest.approx(steps[5]["sum"], abs=1e-4)
    expect(page.get_by_test_id("step-detail")).to_contain_text("Channel B")
    watch.assert_clean()


# ---- pooling -------------------------------------------------------------------------------


def test_pooling_highlights_the_api_maximum(open_page: Any, live_server: str) -> None:
    page, watch = open_page("/pooling")
    counter = page.get_by_test_id("player-counter")
    expect(counter).to_have_text("Step 1 of 9")
    grid = [
        [1, 3, 2, 9, 0, 4],
        [5, 6, 1, 2, 7, 3],
        [0, 2, 8, 4, 1, 1],
        [3, 1, 5, 7, 2, 6],
        [9, 4, 2, 0, 3, 5],
        [2, 8, 6, 1, 4, 0],
    ]
    steps = page.request.post(
        f"{live_server}/api/v1/pool2d",
        data={"input": grid, "mode": "max", "kernel_size": 2, "stride": 2, "trace": True},
    ).json()["steps"]
    canvas = page.get_by_test_id("input-canvas")
    focus_page(page)
    for n, step in enumerate(steps):
        expect(counter).to_have_text(f"Step {n + 1} of 9")
        r, c = step["argmax"]
        expect(page.get_by_test_id("argmax-text")).to_have_text(f" at input row {r}, column {c}")
        assert shown_number(page.get_by_test_id("step-value").inner_text()) == step["value"]
        size, gap, x0, y0 = (
            float(canvas.get_attribute(f"data-{k}")) for k in ("cell", "gap", "x0", "y0")
        )
        left = int(x0 + c * (size + gap)) + 1  # inside the 4 px outline of the chosen cell
        middle = int(y0 + r * (size + gap) + size / 2)
        assert canvas_pixel(page, "input-canvas", left, middle) == HIGHLIGHT
        page.keyboard.press("ArrowRight")
    watch.assert_clean()


def test_average_pooling_shows_the_divisor_and_the_link_restores_it(open_page: Any) -> None:
    page, watch = open_page("/pooling")
    expect(page.get_by_test_id("player-counter")).to_have_text("Step 1 of 9")
    page.get_by_test_id("mode-avg").check()
    kernel = page.get_by_test_id("kernel-size")
    kernel.fill("3")
    kernel.press("Tab")
    expect(page.get_by_test_id("player-counter")).to_have_text("Step 1 of 4")
    expect(page.get_by_test_id("divisor")).to_have_text("9")
    expect(page.get_by_test_id("step-value")).to_have_text("3.1111")  # (1+3+2+5+6+1+0+2+8) / 9

    again, watch_again = open_page(shown_link(page))
    expect(again.get_by_test_id("mode-avg")).to_be_checked()
    expect(again.get_by_test_id("kernel-size")).to_have_value("3")
    expect(again.get_by_test_id("divisor")).to_have_text("9")
    watch.assert_clean()
    watch_again.assert_clean()


def test_pooling_dilation_highlights_the_api_maximum(open_page: Any, live_server: str) -> None:
    page, watch = open_page("/pooling?stride=1")
    counter = page.get_by_test_id("player-counter")
    expect(counter).to_have_text("Step 1 of 25")
    dilation = page.get_by_test_id("dilation")
    dilation.fill("2")
    dilation.press("Tab")
    expect(counter).to_have_text("Step 1 of 16")  # a 2x2 window spread over 3x3
    expect(page).to_have_url(re.compile(r"dil=2"))
    grid = [
        [1, 3, 2, 9, 0, 4],
        [5, 6, 1, 2, 7, 3],
        [0, 2, 8, 4, 1, 1],
        [3, 1, 5, 7, 2, 6],
        [9, 4, 2, 0, 3, 5],
        [2, 8, 6, 1, 4, 0],
    ]
    steps = page.request.post(
        f"{live_server}/api/v1/pool2d",
        data={"input": grid, "kernel_size": 2, "stride": 1, "dilation": 2, "trace": True},
    ).json()["steps"]
    canvas = page.get_by_test_id("input-canvas")
    focus_page(page)
    for n, step in enumerate(steps[:6]):
        expect(counter).to_have_text(f"Step {n + 1} of 16")
        r, c = step["argmax"]
        expect(page.get_by_test_id("argmax-text")).to_have_text(f" at input row {r}, column {c}")
        assert shown_number(page.get_by_test_id("step-value").inner_text()) == step["value"]
        size, gap, x0, y0 = (
            float(canvas.get_attribute(f"data-{k}")) for k in ("cell", "gap", "x0", "y0")
        )
        left = int(x0 + c * (size + gap)) + 1
        middle = int(y0 + r * (size + gap) + size / 2)
        assert canvas_pixel(page, "input-canvas", left, middle) == HIGHLIGHT
        # A gap cell between the taps is not part of the window: no highlight there.
        gap_left = int(x0 + (step["origin"][1] + 1) * (size + gap)) + 1
        assert canvas_pixel(page, "input-canvas", gap_left, middle) != HIGHLIGHT
        page.keyboard.press("ArrowRight")

    # Average pooling has no dilation: choosing it resets the field and disables it.
    page.get_by_test_id("mode-avg").check()
    expect(dilation).to_be_disabled()
    expect(dilation).to_have_value("1")
    watch.assert_clean()
