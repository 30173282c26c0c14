"""Upload once: after the first response, the playground never sends the user's file again.

Later requests carry the lossless PNG of the decoded input that the first response echoed;
the maps they bring back must be exactly the API's answer for the original file.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.browser.helpers import renders, wait_rendered

pytestmark = pytest.mark.browser


def photo_jpeg(width: int = 2000, height: int = 1500) -> bytes:
    yy, xx = np.mgrid[0:height, 0:width] / width
    rng = np.random.default_rng(7)
    rgb = np.stack([np.sin(xx * 11 + k) * np.cos(yy * 8 - k) for k in range(3)], axis=-1)
    rgb = np.clip(rgb * 0.45 + 0.5 + rng.normal(0, 0.05, rgb.shape), 0, 1)
    buffer = io.BytesIO()
    Image.fromarray((rgb * 255).astype(np.uint8)).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def test_the_original_upload_is_sent_once(
    open_page: Any, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chromium shows Playwright neither the body nor its size (``requestBodySize`` is 0)
    when a multipart body holds a file, so the page's requests are counted in the browser
    and their uploads recorded on the server's side, with the form they came with."""
    from app.api.images import ImageForm

    received: list[dict[str, Any]] = []
    real_decode = ImageForm.decode

    def recording_decode(self: ImageForm, settings: Any) -> Any:
        if self.image is not None:
            data = self.image.file.read()
            self.image.file.seek(0)
            received.append(
                {
                    "name": self.image.filename,
                    "data": data,
                    "params": self.params,
                    "color": self.color,
                    "max_side": self.max_side,
                }
            )
        return real_decode(self, settings)

    monkeypatch.setattr(ImageForm, "decode", recording_decode)
    original = photo_jpeg()
    page, watch = open_page("/")
    wait_rendered(page, 0)
    sent: list[Any] = []
    page.on("request", lambda r: sent.append(r) if "/images/conv2d" in r.url else None)

    before = renders(page)
    page.get_by_test_id("upload-input").set_input_files(
        {"name": "original-photo.jpg", "mimeType": "image/jpeg", "buffer": original}
    )
    wait_rendered(page, before)
    assert len(sent) == 1
    assert [(r["name"], r["data"]) for r in received] == [("original-photo.jpg", original)]

    for kernel in ("sharpen", "emboss"):
        before = renders(page)
        page.get_by_test_id(f"kernel-{kernel}").click()
        wait_rendered(page, before)
    assert len(sent) >= 3 and len(received) == len(sent)
    for upload in received[1:]:
        assert upload["name"] == "decoded.png" and upload["data"] != original
        assert len(upload["data"]) < len(original) // 2, (len(upload["data"]), len(original))

    # The echoed PNG decodes to the pixels the original decoded to, and what the page drew
    # last is the API's answer for the original file.
    last = received[-1]
    assert json.loads(last["params"])["kernel"] == "emboss"
    form = {"params": last["params"], "color": last["color"], "max_side": str(last["max_side"])}
    answer = page.request.post(
        f"{live_server}/api/v1/images/conv2d",
        multipart={
            "image": {"name": "original.jpg", "mimeType": "image/jpeg", "buffer": original},
            **form,
        },
    )
    assert answer.status == 200, answer.text()
    assert answer.json() == sent[-1].response().json()
    watch.assert_clean()
