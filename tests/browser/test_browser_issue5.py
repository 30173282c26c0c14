"""Issue 5's pages in a real Chromium: network, arithmetic, activations, learn.

What a person sees is compared with what the API returns for the same settings.
"""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
TIMES = "\u00d7"
MINUS = "\u2212"


def shape_text(shape: list[int]) -> str:
    """A size as the pages write it: CxHxW, or HxW for one channel (with TIMES)."""
    dims = shape[1:] if len(shape) == 3 and shape[0] == 1 else shape
    return TIMES.join(str(n) for n in dims)


def shown_number(text: str) -> float:
    return float(text.strip().replace(MINUS, "-"))


def post_json(page: Any, base: str, path: str, body: dict[str, Any]) -> Any:
    response = page.request.post(
        f"{base}/api/v1{path}", data=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert response.status == 200, response.text()
    return response.json()


def base_url(page: Any) -> str:
    return re.match(r"https?://[^/]+", page.url).group(0)  # type: ignore[union-attr]


def shots(open_page: Any, save_screenshot: Any, path: str, name: str, ready: str) -> None:
    """Open `path` at 375 px, wait for `ready`, screenshot, and check it is clean."""
    page, watch = open_page(path, PHONE)
    expect(page.get_by_test_id(ready).first).to_be_visible()
    page.wait_for_load_state("networkidle")  # late requests (maps, thumbnails) have finished
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{path} scrolls sideways at 375 px by {overflow} px"
    save_screenshot(page, f"{name}-375")
    watch.assert_clean()


# ---- network --------------------------------------------------------------------------


def test_network_builds_a_three_layer_stack(open_page: Any, save_screenshot: Any) -> None:
    one = [{"type": "conv2d", "kernel": ["sobel_x", "sobel_y"], "padding": 1}]
    page, watch = open_page(f"/network?size=64&layers={quote(json.dumps(one))}")
    expect(page.get_by_test_id("column-0-shape")).to_have_text(f"2{TIMES}64{TIMES}64")
    page.get_by_test_id("add-activation").click()
    page.get_by_test_id("add-pool2d").click()
    expect(page.get_by_test_id("column-2")).to_be_visible()
    expect(page.locator('[data-testid^="column-"][data-testid$="-shape"]')).to_have_count(4)

    params = {
        "layers": [
            {"type": "conv2d", "kernel": ["sobel_x", "sobel_y"], "padding": 1, "stride": 1},
            {"type": "activation", "function": "relu"},
            {"type": "pool2d", "mode": "max", "kernel_size": 2},
        ]
    }
    response = page.request.post(
        f"{base_url(page)}/api/v1/images/pipeline",
        multipart={
            "sample": "shapes",
            "params": json.dumps(params),
            "color": "gray",
            "max_side": "64",
        },
    )
    assert response.status == 200, response.text()
    api = response.json()
    for i, layer in enumerate(api["layers"]):
        expect(page.get_by_test_id(f"column-{i}-shape")).to_have_text(shape_text(layer["shape"]))
        for ch in range(layer["shape"][0]):
            expect(page.get_by_test_id(f"map-{i}-{ch}")).to_be_visible()
        assert page.get_by_test_id(f"map-{i}-{layer['shape'][0]}").count() == 0

    # A pixel of the first conv layer: its exact computation and a link to /step.
    page.get_by_test_id("map-0-0").click(position={"x": 40, "y": 60})
    expect(page.get_by_test_id("inspect-title")).to_contain_text("Layer 1 (conv2d)")
    expect(page.get_by_test_id("inspect-value")).to_have_text(re.compile(r"\d"))
    expect(page.get_by_test_id("step-link")).to_have_attribute(
        "href", re.compile(r"^/step\?ex=custom")
    )
    page.get_by_test_id("map-2-1").click(position={"x": 60, "y": 30})
    expect(page.get_by_test_id("inspect-title")).to_contain_text("Layer 3 (pool2d)")
    expect(page.get_by_test_id("inspect-value")).to_have_text(re.compile(r"\d"))

    # Dropout shows its masks; reordering moves the columns.
    page.get_by_test_id("add-dropout").click()
    expect(page.get_by_test_id("mask-3-0")).to_be_visible()
    page.get_by_test_id("layer-2-up").click()
    expect(page.get_by_test_id("column-1-shape")).to_have_text(f"2{TIMES}32{TIMES}32")
    save_screenshot(page, "network-1280")
    watch.assert_clean()
    shots(open_page, save_screenshot, "/network?size=64", "network", "map-2-0")


def test_network_presets_and_shared_colour_range(open_page: Any) -> None:
    page, watch = open_page("/network?size=64")
    expect(page.get_by_test_id("map-2-0")).to_be_visible()
    page.get_by_test_id("preset-random").click()
    expect(page.get_by_test_id("mask-6-0")).to_be_visible()
    expect(page.get_by_test_id("column-3-shape")).to_have_text(f"4{TIMES}32{TIMES}32")
    page.get_by_test_id("range").select_option("layer")
    expect(page.locator(".layer-legend").first).to_be_visible()
    # A deeper conv layer: computed from the previous layer's exact values.
    page.get_by_test_id("map-3-0").click(position={"x": 50, "y": 50})
    expect(page.get_by_test_id("inspect-title")).to_contain_text("Layer 4 (conv2d)")
    expect(page.get_by_test_id("inspect-value")).to_have_text(re.compile(r"\d"))
    # Its input has 4 channels: the step link carries all 4 (x and k: 4 "|"-separated slices).
    link = page.get_by_test_id("step-link")
    one = r"(?:(?!%7C)[^&])+"  # one channel's rows
    expect(link).to_have_attribute(
        "href", re.compile(rf"^/step\?ex=custom&x={one}(?:%7C{one}){{3}}&k={one}(?:%7C{one}){{3}}&")
    )
    watch.assert_clean()


# ---- arithmetic -----------------------------------------------------------------------


def test_arithmetic_follows_the_sliders_and_matches_the_api(
    open_page: Any, save_screenshot: Any
) -> None:
    page, watch = open_page("/arithmetic")
    base = base_url(page)
    body = {"input_size": [7, 7], "kernel_size": 3, "stride": 2, "padding": 1, "dilation": 1}
    geo = post_json(page, base, "/geometry", body)
    expect(page.get_by_test_id("output-size")).to_have_text(
        f"{geo['shape'][0]}{TIMES}{geo['shape'][1]}"
    )
    expect(page.get_by_test_id("formula-rows")).to_contain_text(f"= {geo['shape'][0]}")
    expect(page.get_by_test_id("code-pytorch")).to_contain_text(
        "nn.Conv2d(1, 1, kernel_size=3, stride=2, padding=1, dilation=1)"
    )

    # The stride slider, by keyboard: 2 -> 1.
    page.get_by_test_id("s-slider").focus()
    page.keyboard.press("ArrowLeft")
    geo = post_json(page, base, "/geometry", {**body, "stride": 1})
    expect(page.get_by_test_id("output-size")).to_have_text(
        f"{geo['shape'][0]}{TIMES}{geo['shape'][1]}"
    )
    expect(page.get_by_test_id("code-pytorch")).to_contain_text("stride=1,")
    expect(page.get_by_test_id("code-curl")).to_contain_text('"stride":1')

    # A rectangular kernel typed into its number box.
    page.get_by_test_id("kw").fill("5")
    page.get_by_test_id("kw").press("Enter")
    geo = post_json(page, base, "/geometry", {**body, "stride": 1, "kernel_size": [3, 5]})
    expect(page.get_by_test_id("output-size")).to_have_text(
        f"{geo['shape'][0]}{TIMES}{geo['shape'][1]}"
    )
    expect(page.get_by_test_id("code-pytorch")).to_contain_text("kernel_size=(3, 5)")

    # Hover output (0, 0): the 3x5 input cells it reads light up.
    canvas = page.get_by_test_id("output-canvas")
    cell = int(canvas.get_attribute("data-cell") or 0)
    canvas.hover(position={"x": 2 + cell / 2, "y": 2 + cell / 2})
    expect(page.get_by_test_id("hover-info")).to_contain_text("Output (0, 0) reads input rows")
    expect(page.get_by_test_id("input-canvas")).to_have_attribute("data-highlighted", "15")
    # Hover input (0, 0) (past one padding cell): the outputs that use it.
    inp = page.get_by_test_id("input-canvas")
    inp.hover(position={"x": 2 + cell * 1.5 + 2, "y": 2 + cell * 1.5 + 2})
    expect(page.get_by_test_id("hover-info")).to_contain_text("Input cell (0, 0) is used by")
    used = sum(1 for r in geo["rows"] if 0 in r) * sum(1 for c in geo["cols"] if 0 in c)
    expect(page.get_by_test_id("output-canvas")).to_have_attribute("data-highlighted", str(used))

    # Transposed mode with output_padding.
    page.get_by_test_id("transposed").check()
    page.get_by_test_id("s").fill("2")
    page.get_by_test_id("s").press("Enter")
    page.get_by_test_id("op").fill("1")
    page.get_by_test_id("op").press("Enter")
    tbody = {
        "input_size": [7, 7],
        "kernel_size": [3, 5],
        "stride": 2,
        "padding": 1,
        "dilation": 1,
        "transposed": True,
        "output_padding": 1,
    }
    geo = post_json(page, base, "/geometry", tbody)
    expect(page.get_by_test_id("output-size")).to_have_text(
        f"{geo['shape'][0]}{TIMES}{geo['shape'][1]}"
    )
    expect(page.get_by_test_id("code-pytorch")).to_contain_text(
        "nn.ConvTranspose2d(1, 1, kernel_size=(3, 5), stride=2, padding=1, "
        "output_padding=1, dilation=1)"
    )
    expect(page.get_by_test_id("code-curl")).to_contain_text('"output_padding":1')
    # output_padding must stay below the stride or the dilation: the server says so beside
    # the dimmed last result.
    page.get_by_test_id("op").fill("3")
    page.get_by_test_id("op").press("Enter")
    expect(page.get_by_test_id("notice")).to_contain_text("output_padding")
    expect(page.get_by_test_id("figures")).to_have_class(re.compile(r"\bstale\b"))
    page.get_by_test_id("op").fill("1")
    page.get_by_test_id("op").press("Enter")
    expect(page.get_by_test_id("notice")).to_be_hidden()
    save_screenshot(page, "arithmetic-1280")
    watch.assert_clean(allow_status=(422,))
    shots(
        open_page,
        save_screenshot,
        "/arithmetic?pf=four&pt=2&pb=0&pl=1&pr=0",
        "arithmetic",
        "code-pytorch",
    )


def test_arithmetic_uneven_padding_becomes_a_zero_pad_layer(open_page: Any) -> None:
    page, watch = open_page("/arithmetic?h=3&w=4&kh=2&kw=2&p=0&s=1")
    expect(page.get_by_test_id("output-size")).to_have_text(f"2{TIMES}3")
    page.get_by_test_id("padding-form").select_option("four")
    page.get_by_test_id("pt").fill("2")
    page.get_by_test_id("pt").press("Enter")
    expect(page.get_by_test_id("code-pytorch")).to_contain_text("nn.ZeroPad2d((1, 1, 2, 1))")
    watch.assert_clean()


# ---- activations ----------------------------------------------------------------------


def test_activations_plots_softmax_and_losses(open_page: Any, save_screenshot: Any) -> None:
    page, watch = open_page("/activations")
    base = base_url(page)
    expect(page.get_by_test_id("overlay-plot")).to_have_attribute("data-points", "241")
    expect(page.get_by_test_id("readout-x")).to_have_text("0")
    expect(page.get_by_test_id("value-sigmoid")).to_have_text("0.5")
    expect(page.get_by_test_id("softmax-sum")).to_have_text("1.000000")

    page.get_by_test_id("logits").fill("3, 0.5, -2, 7")
    expect(page.get_by_test_id("prob-3")).to_be_visible()
    expect(page.get_by_test_id("softmax-sum")).to_have_text("1.000000")

    page.get_by_test_id("mse-pred").fill("1, 2, 3")
    page.get_by_test_id("mse-target").fill("1, 0, 5")
    mse = post_json(
        page, base, "/loss", {"function": "mse", "input": [1, 2, 3], "target": [1, 0, 5]}
    )
    expect(page.get_by_test_id("mse-loss")).to_have_text("2.666667")
    assert shown_number(page.get_by_test_id("mse-loss").inner_text()) == pytest.approx(
        mse["loss"], abs=1e-6
    )

    page.get_by_test_id("ce-logits").fill("2, 1, 0")
    ce = post_json(
        page, base, "/loss", {"function": "cross_entropy", "input": [2, 1, 0], "target": 0}
    )
    expect(page.get_by_test_id("ce-loss")).to_have_text(re.compile(r"^0\.4076"))
    assert shown_number(page.get_by_test_id("ce-loss").inner_text()) == pytest.approx(
        ce["loss"], abs=1e-6
    )
    page.get_by_test_id("ce-logits").fill("2, x")
    expect(page.locator('[data-testid="ce"] [role="alert"]')).to_contain_text("“x” is not a number")
    save_screenshot(page, "activations-1280")
    watch.assert_clean()
    shots(open_page, save_screenshot, "/activations", "activations", "softmax-sum")


# ---- learn ----------------------------------------------------------------------------


def open_learn(open_page: Any, path: str, viewport: dict[str, int] = DESKTOP) -> tuple[Any, Any]:
    """Open /learn and wait until its view has mounted (the settings it builds appear in
    the same task that wires the buttons), so a click on Start is never lost."""
    page, watch = open_page(path, viewport)
    expect(page.get_by_test_id("sample")).to_be_visible()
    return page, watch


def test_learn_loss_falls_while_it_runs(
    open_page: Any, save_screenshot: Any, learn_gate: Any
) -> None:
    page, watch = open_learn(open_page, "/learn?steps=60&size=32")
    stage = page.get_by_test_id("learn-stage")
    # The server holds the run after step 30, so the page is caught mid-run, not raced.
    hold = learn_gate.hold(after_step=30)
    page.get_by_test_id("start").click()
    expect(stage).to_have_attribute("data-step", "30")
    expect(page.get_by_test_id("progress")).to_have_js_property("value", 30)
    expect(page.get_by_test_id("step-text")).to_have_text("Step 30 of 60")
    expect(page.get_by_test_id("stop")).to_be_enabled()
    expect(stage).to_have_attribute("data-done", "false")
    hold.release()
    expect(stage).to_have_attribute("data-done", "true")
    expect(page.get_by_test_id("step-text")).to_have_text("Step 60 of 60")
    expect(page.get_by_test_id("status")).to_contain_text("Finished all steps")
    first = float(stage.get_attribute("data-first-loss") or "nan")
    last = float(stage.get_attribute("data-loss") or "nan")
    assert last < first / 10, (first, last)
    save_screenshot(page, "learn-1280")
    watch.assert_clean()

    page, watch = open_learn(open_page, "/learn?steps=400&size=32&every=2", PHONE)
    hold = learn_gate.hold(after_step=10)
    page.get_by_test_id("start").click()
    expect(page.get_by_test_id("learn-stage")).to_have_attribute("data-step", "10")
    page.get_by_test_id("stop").click()
    expect(page.get_by_test_id("status")).to_contain_text("Stopped at step 10.")
    hold.release()
    expect(page.get_by_test_id("start")).to_have_text("Start again")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"/learn scrolls sideways at 375 px by {overflow} px"
    save_screenshot(page, "learn-375")
    # Stop aborts the stream on purpose (that is how the server learns to stop).
    stopped = [f for f in watch.failed_requests if "/api/v1/learn" in f and "ERR_ABORTED" in f]
    assert len(stopped) <= 1, watch.failed_requests
    for failure in stopped:
        watch.failed_requests.remove(failure)
    watch.assert_clean()


def learn_events(base: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every event of POST /api/v1/learn for ``body``, read from the stream."""
    request = urllib.request.Request(
        f"{base}/api/v1/learn",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        lines = response.read().decode().splitlines()
    return [json.loads(line[len("data:") :]) for line in lines if line.startswith("data:")]


def test_learn_states_each_maps_range_apart_from_its_scale(
    open_page: Any, live_server: str
) -> None:
    page, watch = open_learn(open_page, "/learn?steps=20&size=32")
    with page.expect_request(lambda r: r.url.endswith("/api/v1/learn")) as sent:
        page.get_by_test_id("start").click()
    expect(page.get_by_test_id("learn-stage")).to_have_attribute("data-done", "true")
    events = learn_events(live_server, sent.value.post_data_json)  # the same seed: same run
    first, last = events[0], events[-1]
    assert last["done"] and last["output"]["min"] != first["output"]["min"]
    for testid, shown in [
        ("input-range", first["input"]),
        ("target-output-range", first["target_output"]),
        ("output-range", last["output"]),
    ]:
        label = page.get_by_test_id(testid)
        for key in ("min", "max", "vmin", "vmax"):
            assert float(label.get_attribute(f"data-{key}") or "nan") == shown[key], testid
    # The current output is drawn on the target's scale, and says so.
    assert last["output"]["vmax"] == first["target_output"]["vmax"]
    expect(page.get_by_test_id("output-range-scale")).to_contain_text("the target's")
    # The image is shown as the kernels see it, standardised, with the numbers used.
    caption = page.get_by_test_id("input-caption").inner_text()
    mean, std = (float(v) for v in re.findall(r"[-\d.]+", caption.replace("\u2212", "-"))[-2:])
    assert mean == pytest.approx(first["input_mean"], abs=5e-4)  # shown to 3 decimals
    assert std == pytest.approx(first["input_std"], abs=5e-4)
    assert first["input"]["colormap"] == "diverging" and first["input"]["min"] < 0
    watch.assert_clean()


def test_learn_stop_and_resume_continues_the_curve(
    open_page: Any, save_screenshot: Any, learn_gate: Any
) -> None:
    # Each phase holds the server's run at a known step, stops or waits there, and only
    # then reads the page: nothing it reads is still changing.
    page, watch = open_learn(open_page, "/learn?steps=300&size=32&every=2&pace=fast")
    stage = page.get_by_test_id("learn-stage")
    plot = page.get_by_test_id("loss-plot")
    status = page.get_by_test_id("status")
    resume = page.get_by_test_id("resume")
    expect(resume).to_be_disabled()
    hold = learn_gate.hold(after_step=30)
    page.get_by_test_id("start").click()
    expect(resume).to_be_disabled()  # not while running
    expect(stage).to_have_attribute("data-step", "30")
    page.get_by_test_id("stop").click()
    expect(status).to_contain_text("Stopped at step 30.")
    hold.release()
    expect(status).to_contain_text("Resume")
    expect(resume).to_be_enabled()
    expect(stage).to_have_attribute("data-done", "true")
    expect(plot).to_have_attribute("data-points", "31")
    stop_loss = float(stage.get_attribute("data-loss") or "nan")
    first_loss = float(stage.get_attribute("data-first-loss") or "nan")
    assert stop_loss < first_loss / 5, (first_loss, stop_loss)

    hold = learn_gate.hold(after_step=50)
    resume.click()
    expect(status).to_contain_text("Resumed at step 30")
    expect(stage).to_have_attribute("data-resumed-at", "30")
    expect(page.get_by_test_id("resume-legend")).to_be_visible()  # the dashed marker's key
    # The resumed run starts from the stopped kernel: its first loss is the stop's loss
    # (the attribute is written once, by the resumed run's first event).
    expect(stage).to_have_attribute("data-resume-loss", re.compile(r"."))
    resume_loss = float(stage.get_attribute("data-resume-loss") or "nan")
    assert resume_loss == pytest.approx(stop_loss, rel=1e-9), (stop_loss, resume_loss)
    # Held mid-resume at step 50: the step numbers carry on past the stop, the loss stays
    # near the stop's (not back at the random start's), and the curve holds one point per
    # step.
    expect(stage).to_have_attribute("data-step", "50")
    expect(plot).to_have_attribute("data-points", "51")
    expect(page.get_by_test_id("step-text")).to_have_text("Step 50 of 300")
    expect(stage).to_have_attribute("data-done", "false")
    mid_loss = float(stage.get_attribute("data-loss") or "nan")
    assert mid_loss < 2 * stop_loss and mid_loss < first_loss / 5, (stop_loss, mid_loss)
    hold.release()
    expect(stage).to_have_attribute("data-done", "true")
    expect(page.get_by_test_id("step-text")).to_have_text("Step 300 of 300")
    expect(plot).to_have_attribute("data-points", "301")
    final_loss = float(stage.get_attribute("data-loss") or "nan")
    assert final_loss < stop_loss, (stop_loss, final_loss)
    # the summary still measures from the first run's random start
    assert float(stage.get_attribute("data-first-loss") or "nan") == first_loss
    expect(status).to_contain_text("Finished all steps")
    save_screenshot(page, "learn-resume-1280")
    # Finished: Resume needs more steps; raising Steps offers it again.
    expect(resume).to_be_disabled()
    expect(page.get_by_test_id("resume-note")).to_contain_text("Raise Steps above 300")
    page.get_by_test_id("steps").fill("320")
    page.get_by_test_id("steps").press("Enter")
    expect(resume).to_be_enabled()
    # Changing the image makes Resume meaningless: it turns off and says why.
    page.get_by_test_id("size").select_option("64")
    expect(resume).to_be_disabled()
    expect(page.get_by_test_id("resume-note")).to_contain_text("Start again")

    # "Start again" still restarts from the random kernel on a fresh curve.
    page.get_by_test_id("size").select_option("32")
    hold = learn_gate.hold(after_step=4)
    page.get_by_test_id("start").click()
    expect(stage).to_have_attribute("data-step", "4")
    page.get_by_test_id("stop").click()
    expect(status).to_contain_text("Stopped at step 4.")
    hold.release()
    expect(stage).not_to_have_attribute("data-resumed-at", re.compile(r"."))
    expect(page.get_by_test_id("resume-legend")).to_be_hidden()
    expect(plot).to_have_attribute("data-points", "5")
    # Each Stop aborts its stream on purpose.
    stopped = [f for f in watch.failed_requests if "/api/v1/learn" in f and "ERR_ABORTED" in f]
    assert len(stopped) <= 2, watch.failed_requests
    for failure in stopped:
        watch.failed_requests.remove(failure)
    watch.assert_clean()


def test_new_pages_are_in_the_navigation(open_page: Any) -> None:
    page, watch = open_page("/arithmetic")
    for name, path in (
        ("network", "/network"),
        ("arithmetic", "/arithmetic"),
        ("activations", "/activations"),
        ("learn", "/learn"),
    ):
        expect(page.get_by_test_id(f"nav-{name}")).to_have_attribute("href", path)
    expect(page.get_by_test_id("nav-arithmetic")).to_have_attribute("aria-current", "page")
    watch.assert_clean()
