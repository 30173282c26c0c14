"""A corpus of hostile and odd images through the upload endpoint: every answer is a 200 or a
4xx whose detail names the image and the problem; never a 5xx.

Truncated files at several cut points, wrong magic, zero bytes, headers that declare giant
images, decompression bombs, polyglots, every odd pixel mode the decoders know, random bytes
(fixed seeds), and metadata chunks built to exhaust memory.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

CONV = "/api/v1/images/conv2d"
PIPELINE = "/api/v1/images/pipeline"
ONE_BY_ONE = json.dumps({"kernel": [[1]]})  # any image size works
PROBLEM_WORDS = ("empty", "truncated", "corrupt", "unsupported", "over the limit", "declares")


# ---- builders ------------------------------------------------------------------------------


def picture(mode: str = "L", size: tuple[int, int] = (48, 32)) -> Image.Image:
    """A small image with a gradient and texture, converted to ``mode``."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 255 // max(1, w - 1), yy * 255 // max(1, h - 1), (xx * yy) % 256], -1)
    return Image.fromarray(rgb.astype(np.uint8)).convert(mode)


def encode(im: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png(
    width: int,
    height: int,
    idat: bytes,
    *,
    depth: int = 8,
    color: int = 0,
    extra: bytes = b"",
) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    return PNG_MAGIC + chunk(b"IHDR", header) + extra + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def zeros_compressed(row_bytes: int, rows: int) -> bytes:
    """zlib of ``rows`` all-zero scanlines (filter byte + ``row_bytes``), streamed."""
    z = zlib.compressobj(9)
    row = b"\x00" * (row_bytes + 1)
    parts = [z.compress(row) for _ in range(rows)]
    return b"".join(parts) + z.flush()


def bomb_png(side: int) -> bytes:
    """A 1-bit ``side`` x ``side`` PNG of zeros: a few KB that inflate to ``side**2`` pixels."""
    return png(side, side, zeros_compressed((side + 7) // 8, side), depth=1)


def cmyk_jpeg() -> bytes:
    return encode(picture("CMYK"), "JPEG")


def transparent_palette_png() -> bytes:
    im = picture("P")
    return encode(im, "PNG", transparency=0)


def hand_png(depth: int, color: int, w: int = 8, h: int = 4) -> bytes:
    """A PNG of a bit depth and colour type Pillow cannot write (16-bit RGB, 2-bit gray...)."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    row_bytes = (w * channels * depth + 7) // 8
    rows = b"".join(b"\x00" + bytes(i % 256 for i in range(row_bytes)) for _ in range(h))
    return png(w, h, zlib.compress(rows), depth=depth, color=color)


def interlaced_png() -> bytes:
    """An Adam7-interlaced 8x8 gray PNG (every pass of an all-grey image)."""
    passes = [(1, 1), (1, 1), (2, 1), (2, 2), (4, 2), (4, 4), (8, 4)]  # (cols, rows)
    data = b"".join(
        b"".join(b"\x00" + b"\x80" * cols for _ in range(rows)) for cols, rows in passes
    )
    header = struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 1)
    return (
        PNG_MAGIC
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(data))
        + chunk(b"IEND", b"")
    )


def exif_rotated_jpeg() -> bytes:
    im = picture("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(im, "JPEG", exif=exif.tobytes())


def animated_gif() -> bytes:
    frames = [picture("P"), picture("L").convert("P")]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)


def gif_with_screen(width: int, height: int) -> bytes:
    """A GIF whose logical screen and only frame declare ``width`` x ``height``."""
    header = (
        b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00" * 3 + b"\xff" * 3
    )
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return header + frame + b"\x3b"


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real JPEG with the SOF0 frame size rewritten."""
    data = bytearray(encode(picture("L"), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def webp_declaring(width: int, height: int) -> bytes:
    """A VP8X WebP container whose canvas is ``width`` x ``height`` with no image data."""
    vp8x = (
        b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    )
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


def bmp_declaring(width: int, height: int, bits: int = 24) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + 16, 0, 0, 54) + info + b"\x00" * 16


def png_with_text(size: int, *, compressed: bool = False) -> bytes:
    """A valid PNG with a ``size``-byte text chunk (zTXt: ``size`` bytes once inflated)."""
    base = encode(picture("L", (16, 16)), "PNG")
    if compressed:
        text = chunk(b"zTXt", b"Comment\x00\x00" + zeros_compressed(1023, size // 1024))
    else:
        text = chunk(b"tEXt", b"Comment\x00" + b"A" * size)
    return base[:33] + text + base[33:]  # right after IHDR


def png_zip_polyglot() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("evil.html", "<script>alert(1)</script>")
    return encode(picture("L"), "PNG") + archive.getvalue()


def cuts(data: bytes) -> Iterator[tuple[int, bytes]]:
    """``data`` cut at fixed and relative points, each shorter than the whole."""
    points = {1, 4, 8, 12, 16, 24, 33, 64, len(data) // 4, len(data) // 2, len(data) - 12}
    points |= {len(data) - 2}
    for n in sorted(p for p in points if 0 < p < len(data)):
        yield n, data[:n]


VALID = {
    "PNG": encode(picture("L"), "PNG"),
    "JPEG": encode(picture("RGB"), "JPEG", quality=80),
    "GIF": encode(picture("P"), "GIF"),
    "WebP": encode(picture("RGB"), "WEBP", quality=80),
    "BMP": encode(picture("RGB"), "BMP"),
}


def corpus() -> Iterator[Any]:
    """``pytest.param(data, expected)``: expected is a status, or None for 200-or-4xx."""
    yield pytest.param(b"", 400, id="zero-bytes")
    for fmt, data in VALID.items():
        for n, cut in cuts(data):
            yield pytest.param(cut, None, id=f"truncated-{fmt}-{n}")
        yield pytest.param(b"\x00" + data[1:], 415, id=f"wrong-magic-{fmt}")
        yield pytest.param(data[:4] + bytes(len(data) - 4), None, id=f"zeroed-{fmt}")
    # the right magic glued to another format's body
    yield pytest.param(PNG_MAGIC + VALID["JPEG"], 400, id="png-magic-jpeg-body")
    yield pytest.param(b"GIF89a" + VALID["PNG"], 400, id="gif-magic-png-body")
    yield pytest.param(b"\xff\xd8\xff" + VALID["BMP"], 400, id="jpeg-magic-bmp-body")
    yield pytest.param(b"BM" + VALID["GIF"], None, id="bmp-magic-gif-body")
    # headers that declare giant images
    yield pytest.param(png(100_000, 100_000, zlib.compress(b"\x00" * 64)), 413, id="png-100000^2")
    yield pytest.param(png(2**31 - 1, 1, b""), None, id="png-2^31-wide")
    yield pytest.param(png(0, 10, zlib.compress(b"")), 400, id="png-0-wide")
    yield pytest.param(jpeg_declaring(65_500, 65_500), 413, id="jpeg-65500^2")
    yield pytest.param(jpeg_declaring(0, 0), 400, id="jpeg-0x0")
    yield pytest.param(gif_with_screen(65_535, 65_535), 413, id="gif-65535^2")
    yield pytest.param(gif_with_screen(0, 0), None, id="gif-0x0")
    yield pytest.param(webp_declaring(16_383, 16_383), 413, id="webp-16383^2")
    yield pytest.param(bmp_declaring(100_000, 100_000), 413, id="bmp-100000^2")
    yield pytest.param(bmp_declaring(2**31 - 1, -(2**31 - 1)), None, id="bmp-extremes")
    yield pytest.param(bmp_declaring(16, 16, bits=7), None, id="bmp-7-bit")
    # decompression bombs: a few KB that inflate to hundreds of megapixels
    yield pytest.param(bomb_png(20_000), 413, id="bomb-png-20000^2")
    yield pytest.param(bomb_png(7_000), 413, id="bomb-png-7000^2")
    yield pytest.param(png_with_text(4_000_000, compressed=True), None, id="bomb-ztxt-4MB")
    yield pytest.param(png_with_text(8_000_000), None, id="huge-text-8MB")
    # polyglots
    yield pytest.param(png_zip_polyglot(), 200, id="polyglot-png+zip")
    yield pytest.param(b"GIF89a/*\x00\x00*/=1;alert(document.domain);//", 400, id="polyglot-gif+js")
    yield pytest.param(
        b"GIF89a<html><body><script>alert(1)</script></body></html>", 400, id="polyglot-gif+html"
    )
    yield pytest.param(b"<svg onload=alert(1)>", 415, id="svg")
    yield pytest.param(b"<!doctype html><script>alert(1)</script>", 415, id="html")
    # odd modes: all of these are real images and must decode
    yield pytest.param(encode(picture("1"), "PNG"), 200, id="mode-1-png")
    yield pytest.param(encode(picture("1"), "BMP"), 200, id="mode-1-bmp")
    yield pytest.param(encode(picture("I;16"), "PNG"), 200, id="mode-I;16-png")
    yield pytest.param(hand_png(16, 4), 200, id="mode-gray16-alpha-png")
    yield pytest.param(hand_png(2, 0), 200, id="mode-gray2-png")
    yield pytest.param(hand_png(4, 0), 200, id="mode-gray4-png")
    yield pytest.param(hand_png(16, 2), 200, id="mode-rgb16-png")
    yield pytest.param(hand_png(16, 6), 200, id="mode-rgba16-png")
    yield pytest.param(cmyk_jpeg(), 200, id="mode-cmyk-jpeg")
    yield pytest.param(transparent_palette_png(), 200, id="mode-P-transparency-png")
    yield pytest.param(
        encode(picture("P"), "GIF", transparency=0), 200, id="mode-P-transparency-gif"
    )
    yield pytest.param(encode(picture("LA"), "PNG"), 200, id="mode-LA-png")
    yield pytest.param(encode(picture("RGBA"), "PNG"), 200, id="mode-RGBA-png")
    yield pytest.param(encode(picture("RGBA"), "WEBP"), 200, id="mode-RGBA-webp")
    yield pytest.param(encode(picture("RGBA"), "WEBP", lossless=True), 200, id="lossless-webp")
    yield pytest.param(encode(picture("L"), "JPEG"), 200, id="gray-jpeg")
    yield pytest.param(encode(picture("RGB"), "JPEG", progressive=True), 200, id="progressive-jpeg")
    yield pytest.param(exif_rotated_jpeg(), 200, id="exif-rotated-jpeg")
    yield pytest.param(animated_gif(), 200, id="animated-gif")
    yield pytest.param(interlaced_png(), 200, id="interlaced-png")
    yield pytest.param(encode(picture("L", (1, 1)), "PNG"), 200, id="1x1-png")
    yield pytest.param(encode(picture("L", (4000, 1)), "PNG"), 200, id="4000x1-png")
    # random bytes, bare and behind each accepted magic
    rng = np.random.default_rng(20261125)
    for i in range(4):
        yield pytest.param(rng.bytes(int(rng.integers(1, 4096))), 415, id=f"random-{i}")
    for fmt, data in VALID.items():
        head = data[:16] if fmt != "WebP" else data[:12]
        yield pytest.param(head + rng.bytes(2048), None, id=f"random-behind-{fmt}-magic")


CORPUS = list(corpus())


def post_image(client: TestClient, url: str, data: bytes, color: str, params: str) -> Any:
    return client.post(
        url,
        files={"image": ("upload.bin", data, "application/octet-stream")},
        data={"params": params, "color": color},
    )


def assert_handled(r: Any, expected: int | None) -> None:
    assert r.status_code < 500, r.text
    if expected is not None:
        assert r.status_code == expected, r.text
    if r.status_code == 200:
        return
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"] == "application/json"
    detail = r.json()["detail"]
    assert isinstance(detail, str), detail
    assert detail.startswith("image"), detail
    assert any(word in detail for word in PROBLEM_WORDS), detail


@pytest.fixture(scope="module")
def module_client() -> Iterator[TestClient]:
    from app.main import app

    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize(("data", "expected"), CORPUS)
@pytest.mark.parametrize("color", ["gray", "rgb"])
def test_every_corpus_image_is_200_or_a_named_4xx(
    module_client: TestClient, data: bytes, expected: int | None, color: str
) -> None:
    r = post_image(module_client, CONV, data, color, ONE_BY_ONE)
    assert_handled(r, expected)


PIPELINE_PARAMS = json.dumps(
    {
        "layers": [
            {"type": "conv2d", "kernel": "sobel_x"},
            {"type": "activation", "function": "relu"},
            {"type": "pool2d", "kernel_size": 2},
        ]
    }
)


@pytest.mark.parametrize(
    ("data", "expected"), [p for p in CORPUS if str(p.id).startswith(("mode-", "bomb-", "trunc"))]
)
def test_the_pipeline_handles_the_corpus_too(
    module_client: TestClient, data: bytes, expected: int | None
) -> None:
    r = post_image(module_client, PIPELINE, data, "rgb", PIPELINE_PARAMS)
    # a 1-pixel-high or -wide image may be too small for the 2x2 pool: that is a params 422
    if r.status_code == 422:
        assert "params" in json.dumps(r.json()["detail"])
        return
    assert_handled(r, expected)


def test_a_polyglot_is_decoded_as_an_image_and_nothing_else(module_client: TestClient) -> None:
    r = post_image(module_client, CONV, png_zip_polyglot(), "gray", ONE_BY_ONE)
    assert r.status_code == 200
    assert "<script>" not in r.text and "evil.html" not in r.text
    assert r.json()["shape"] == [1, 32, 48]


@pytest.mark.parametrize("max_image_pixels", [40_000_000, 1_000_000_000])
def test_a_413_quotes_one_limit_and_the_declared_size(
    make_app: Callable[..., FastAPI], max_image_pixels: int
) -> None:
    # Pillow refuses on its own past ~89 MP even when the setting allows more; the detail
    # must then quote the limit that applied, not a larger one the image is under.
    with TestClient(make_app(max_image_pixels=max_image_pixels)) as c:
        r = post_image(c, CONV, bomb_png(10_000), "gray", ONE_BY_ONE)
    assert r.status_code == 413
    pillow = Image.MAX_IMAGE_PIXELS
    assert pillow is not None and 40_000_000 < pillow < 100_000_000
    if max_image_pixels < pillow:
        expected = (
            "image: declared pixels (100,000,000) is over the limit of 40,000,000 "
            "(set CONVSCOPE_MAX_IMAGE_PIXELS to change it)"
        )
    else:
        expected = (
            f"image: declared pixels (100,000,000) is over Pillow's decompression-bomb limit "
            f"of {pillow:,} (a hard cap that CONVSCOPE_MAX_IMAGE_PIXELS cannot raise)"
        )
    assert r.json()["detail"] == expected
