"""The playground's camera source in a real Chromium whose camera is the fake test-pattern
device: a captured frame goes the way of an upload (sent once, then the server's echoed
lossless PNG), the output map is drawn and the input size is stated; a denied or absent
camera says so."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM_ARGS, TIMEOUT_MS, screenshot, watch_page
from tests.browser.helpers import renders, wait_rendered

pytestmark = pytest.mark.browser

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture
def camera_browser(browser: Any) -> Iterator[Any]:
    """A second Chromium (same executable) whose camera is Chromium's fake device."""
    camera = browser.browser_type.launch(
        executable_path=os.environ.get("CONVSCOPE_CHROMIUM", "/usr/bin/chromium"),
        args=[*CHROMIUM_ARGS, *FAKE_MEDIA],
    )
    yield camera
    camera.close()


def test_a_captured_frame_is_filtered_like_an_upload(
    camera_browser: Any, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.api.images import ImageForm

    received: list[tuple[str, bytes, str]] = []  # (file name, bytes, max_side) per request
    real_decode = ImageForm.decode

    def recording_decode(self: ImageForm, settings: Any) -> Any:
        if self.image is not None:
            data = self.image.file.read()
            self.image.file.seek(0)
            received.append((self.image.filename or "", data, str(self.max_side)))
        return real_decode(self, settings)

    monkeypatch.setattr(ImageForm, "decode", recording_decode)
    context = camera_browser.new_context(
        permissions=["camera"], viewport={"width": 1280, "height": 800}
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    watch = watch_page(page)
    page.goto(f"{live_server}/?size=256")
    wait_rendered(page, 0)
    expect(page.get_by_test_id("camera-capture")).to_be_hidden()

    page.get_by_test_id("camera-start").click()
    expect(page.get_by_test_id("camera")).to_have_attribute("data-state", "on")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=camera-video]').videoWidth > 0"
    )
    width, height = page.get_by_test_id("camera-video").evaluate(
        "v => [v.videoWidth, v.videoHeight]"
    )
    assert width > height > 0  # the fake device is landscape (640x480 unless asked otherwise)
    before = renders(page)
    page.get_by_test_id("camera-capture").click()
    wait_rendered(page, before)

    # The frame was sent once, as a PNG of the video's own size.
    assert len(received) == 1
    name, frame, _ = received[0]
    assert name == "camera-frame-1.png" and frame.startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(frame[16:20], "big") == width
    assert int.from_bytes(frame[20:24], "big") == height
    expect(page.get_by_test_id("upload-name")).to_have_text(
        f"Using camera frame 1 ({width}\u00d7{height} px)"
    )
    # Its size as the server took it, rows x columns: the longest side at most 256, the
    # aspect kept (640x480 -> 192x256), gray by default; 'same' padding keeps it.
    side_h = round(height * 256 / width)
    expect(page.get_by_test_id("input-caption")).to_have_text(f"{side_h}\u00d7256 px, gray")
    expect(page.get_by_test_id("output-caption")).to_have_text(f"{side_h}\u00d7256 px")
    expect(page).to_have_url(re.compile(r"src=upload"))
    # The output map is drawn: its canvas holds the server's map, with non-white pixels.
    output = page.get_by_test_id("output-canvas")
    assert output.evaluate("c => [c.width, c.height]") == [256, side_h]
    ink = output.evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
           let n = 0; for (let i = 0; i < d.length; i += 4)
             if (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235) n++;
           return n; }"""
    )
    assert ink > 100, ink

    # Another kernel: the frame is not sent again, the server's echoed PNG is.
    before = renders(page)
    page.get_by_test_id("kernel-sharpen").click()
    wait_rendered(page, before)
    assert len(received) == 2
    assert received[1][0] == "decoded.png" and received[1][1] != frame
    screenshot(page, "playground-camera-1280")
    # On a phone the preview and its buttons stay inside the window.
    page.set_viewport_size({"width": 375, "height": 740})
    page.get_by_test_id("camera-video").scroll_into_view_if_needed()
    box = page.get_by_test_id("camera").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, box
    assert page.evaluate("document.documentElement.scrollWidth") == 375
    screenshot(page, "playground-camera-375")
    page.get_by_test_id("camera-stop").click()
    expect(page.get_by_test_id("camera")).to_have_attribute("data-state", "off")
    expect(page.get_by_test_id("camera-video")).to_be_hidden()
    assert page.get_by_test_id("camera-video").evaluate("v => v.srcObject") is None
    watch.assert_clean()
    context.close()


@pytest.mark.parametrize(
    ("stub", "says"),
    [
        (
            "navigator.mediaDevices.getUserMedia = () => Promise.reject("
            "new DOMException('Permission denied', 'NotAllowedError'));",
            "The camera was not allowed.",
        ),
        (
            "navigator.mediaDevices.getUserMedia = () => Promise.reject("
            "new DOMException('Requested device not found', 'NotFoundError'));",
            "No camera was found on this device.",
        ),
        (
            "Object.defineProperty(navigator, 'mediaDevices', {value: undefined});",
            "This browser offers no camera to this page",
        ),
    ],
    ids=["denied", "absent", "unsupported"],
)
def test_a_camera_that_cannot_start_says_why(open_page: Any, stub: str, says: str) -> None:
    page, watch = open_page("/")
    page.add_init_script(stub)
    page.reload()
    wait_rendered(page, 0)
    page.get_by_test_id("camera-start").click()
    expect(page.get_by_test_id("camera")).to_have_attribute("data-state", "error")
    expect(page.get_by_test_id("camera-msg")).to_be_visible()
    expect(page.get_by_test_id("camera-msg")).to_contain_text(says)
    expect(page.get_by_test_id("camera-capture")).to_be_hidden()
    # The picture on screen is still the sample's.
    expect(page.get_by_test_id("input-caption")).to_have_text("256\u00d7256 px, gray")
    watch.assert_clean()
