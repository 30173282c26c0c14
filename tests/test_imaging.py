"""app.imaging: every accepted format decodes to the right pixels; every refused kind
gets its status and a clear detail. All files are made here with Pillow."""

from __future__ import annotations

import base64
import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from app.imaging import ImageError, decode_image, encode_png, png_data_url

RNG = np.random.default_rng(1234)
RGB = RNG.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)  # (H, W, 3)


@pytest.fixture
def pixel_loads(monkeypatch: pytest.MonkeyPatch) -> list:
    """Records every pixel decode (``ImageFile.load``), to prove a refusal came before it."""
    calls: list = []
    original = ImageFile.ImageFile.load

    def spy(self):  # type: ignore[no-untyped-def]
        calls.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return calls


def save(im: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **options)
    return buf.getvalue()


def chw(pixels: np.ndarray) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) -> float32 (C, H, W) in [0, 1], what decode returns."""
    arr = pixels.astype(np.float32) / 255
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def luma(pixels: np.ndarray) -> np.ndarray:
    """Pillow's "L" conversion of uint8 RGB, as (1, H, W) float."""
    return chw(np.asarray(Image.fromarray(pixels).convert("L")))


def refused(data: bytes, **kwargs: object) -> ImageError:
    with pytest.raises(ImageError) as info:
        decode_image(data, **kwargs)  # type: ignore[arg-type]
    assert "image" in info.value.detail
    assert str(info.value) == info.value.detail
    return info.value


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_header(width: int, height: int) -> bytes:
    """A hand-built 8-bit gray PNG that declares width x height but carries one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


# --- accepted formats --------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("PNG", {}), ("BMP", {}), ("WEBP", {"lossless": True})],
)
def test_lossless_formats_decode_exactly(fmt: str, options: dict[str, object]) -> None:
    data = save(Image.fromarray(RGB), fmt, **options)
    out = decode_image(data, color="rgb")
    assert out.dtype == np.float32
    assert out.shape == (3, 12, 16)
    assert out.flags.c_contiguous
    np.testing.assert_allclose(out, chw(RGB), atol=1e-6)


def test_gray_is_pillow_luma_of_rgb() -> None:
    out = decode_image(save(Image.fromarray(RGB), "PNG"), color="gray")
    assert out.shape == (1, 12, 16)
    np.testing.assert_allclose(out, luma(RGB), atol=1e-6)
    # ITU-R 601-2: pure green is much brighter than pure blue.
    colours = np.array([[[0, 255, 0], [0, 0, 255]]], dtype=np.uint8)
    g, b = decode_image(save(Image.fromarray(colours), "PNG"))[0, 0]
    assert g == pytest.approx(150 / 255, abs=1 / 255)
    assert b == pytest.approx(29 / 255, abs=1 / 255)


def test_gray_image_as_rgb_repeats_the_channel() -> None:
    gray = RGB[..., 0]
    out = decode_image(save(Image.fromarray(gray), "PNG"), color="rgb")
    assert out.shape == (3, 12, 16)
    for channel in out:
        np.testing.assert_allclose(channel, chw(gray)[0], atol=1e-6)


def test_jpeg_decodes_to_close_pixels() -> None:
    smooth = np.zeros((32, 48, 3), dtype=np.uint8)
    smooth[..., 0] = np.linspace(0, 255, 48, dtype=np.uint8)[None, :]
    smooth[..., 1] = np.linspace(0, 255, 32, dtype=np.uint8)[:, None]
    smooth[..., 2] = 128
    data = save(Image.fromarray(smooth), "JPEG", quality=95)
    out = decode_image(data, color="rgb")
    assert out.shape == (3, 32, 48)
    assert np.abs(out - chw(smooth)).mean() < 0.01
    assert np.abs(out - chw(smooth)).max() < 0.1


def test_gif_gives_the_first_frame_of_an_animation() -> None:
    frames = [Image.new("RGB", (10, 8), colour) for colour in [(255, 0, 0), (0, 0, 255)]]
    data = save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    out = decode_image(data, color="rgb")
    assert out.shape == (3, 8, 10)
    np.testing.assert_allclose(out[:, 0, 0], [1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out, out[:, :1, :1] * np.ones((3, 8, 10)), atol=1e-6)


def test_palette_with_transparency_is_composited_on_white() -> None:
    im = Image.new("P", (4, 2))
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 6))
    im.putdata([0, 1, 1, 1, 1, 1, 1, 0])
    data = save(im, "PNG", transparency=0)
    out = decode_image(data, color="rgb")
    np.testing.assert_allclose(out[:, 0, 0], [1.0, 1.0, 1.0])  # index 0: transparent
    np.testing.assert_allclose(out[:, 1, 3], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(out[:, 0, 1], [1.0, 0.0, 0.0])  # index 1: opaque red
    gif = decode_image(save(im, "GIF", transparency=0), color="gray")
    assert gif[0, 0, 0] == pytest.approx(1.0)
    assert gif[0, 0, 1] == pytest.approx(76 / 255, abs=1 / 255)  # luma of red


def test_rgba_is_composited_on_white() -> None:
    rgba = np.array(
        [[[0, 0, 0, 0], [0, 0, 0, 255], [0, 0, 0, 128], [255, 0, 0, 255]]], dtype=np.uint8
    )
    out = decode_image(save(Image.fromarray(rgba), "PNG"), color="rgb")
    np.testing.assert_allclose(out[:, 0, 0], [1.0, 1.0, 1.0])  # fully transparent
    np.testing.assert_allclose(out[:, 0, 1], [0.0, 0.0, 0.0])  # opaque black
    np.testing.assert_allclose(out[:, 0, 2], [0.5, 0.5, 0.5], atol=2 / 255)  # half black
    np.testing.assert_allclose(out[:, 0, 3], [1.0, 0.0, 0.0])
    webp = decode_image(save(Image.fromarray(rgba), "WEBP", lossless=True), color="rgb")
    np.testing.assert_allclose(webp[:, 0, 0], [1.0, 1.0, 1.0])


def test_la_is_composited_on_white() -> None:
    la = Image.fromarray(np.array([[[0, 0], [0, 255], [100, 255]]], dtype=np.uint8), mode="LA")
    out = decode_image(save(la, "PNG"))
    np.testing.assert_allclose(out[0, 0], [1.0, 0.0, 100 / 255], atol=1e-6)


def test_sixteen_bit_png_scales_to_unit_range() -> None:
    values = np.array([[0, 32768, 65535, 1]], dtype=np.uint16)
    data = save(Image.fromarray(values), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    out = decode_image(data)
    assert out.dtype == np.float32
    assert out[0, 0, 0] == 0.0
    assert out[0, 0, 1] == pytest.approx(0.5, abs=1e-4)
    assert out[0, 0, 2] == 1.0
    assert 0 < out[0, 0, 3] < 1 / 255  # below one 8-bit step: precision kept
    rgb = decode_image(data, color="rgb")
    assert rgb.shape == (3, 1, 4)
    np.testing.assert_array_equal(rgb[0], rgb[2])


def test_sixteen_bit_png_downscales_within_unit_range() -> None:
    ramp = np.tile(np.linspace(0, 65535, 300).astype(np.uint16), (100, 1))  # (100, 300)
    ramp[:, 150:] = 65535 - ramp[:, 150:]  # a sharp edge: Lanczos would overshoot
    out = decode_image(save(Image.fromarray(ramp), "PNG"), max_side=60)
    assert out.shape == (1, 20, 60)
    assert out.min() >= 0.0
    assert out.max() <= 1.0


def test_cmyk_jpeg_converts_to_rgb() -> None:
    cmyk = Image.new("CMYK", (16, 16), (0, 0, 0, 0))  # white
    cmyk.paste((0, 255, 255, 0), (0, 0, 8, 16))  # left half red
    out = decode_image(save(cmyk, "JPEG", quality=95), color="rgb")
    assert out.shape == (3, 16, 16)
    np.testing.assert_allclose(out[:, 8, 2], [1.0, 0.0, 0.0], atol=0.08)
    np.testing.assert_allclose(out[:, 8, 13], [1.0, 1.0, 1.0], atol=0.08)


def test_one_bit_bmp_and_ycbcr_jpeg() -> None:
    bits = Image.new("1", (8, 4), 0)
    bits.paste(1, (0, 0, 4, 4))
    out = decode_image(save(bits, "BMP"))
    np.testing.assert_array_equal(out[0, :, :4], 1.0)
    np.testing.assert_array_equal(out[0, :, 4:], 0.0)
    ycbcr = Image.new("RGB", (16, 16), (0, 0, 255)).convert("YCbCr")
    blue = decode_image(save(ycbcr, "JPEG", quality=95), color="rgb")
    np.testing.assert_allclose(blue[:, 8, 8], [0.0, 0.0, 1.0], atol=0.05)


def test_exif_orientation_is_applied() -> None:
    pixels = np.full((20, 40, 3), 255, dtype=np.uint8)  # (H=20, W=40) white
    pixels[:, :20] = 0  # left half black
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = save(Image.fromarray(pixels), "JPEG", quality=95, exif=exif.tobytes())
    out = decode_image(data)
    assert out.shape == (1, 40, 20)
    # The left half, turned clockwise, is now the top half.
    assert out[0, :20].mean() < 0.05
    assert out[0, 20:].mean() > 0.95


def test_max_side_downscales_keeping_aspect_and_never_upscales() -> None:
    big = Image.fromarray(np.tile(RGB, (20, 25, 1)))  # 400 x 240
    out = decode_image(save(big, "PNG"), color="rgb", max_side=100)
    assert out.shape == (3, 60, 100)
    assert out.min() >= 0.0
    assert out.max() <= 1.0
    tall = decode_image(save(Image.new("L", (30, 90), 200), "PNG"), max_side=45)
    assert tall.shape == (1, 45, 15)
    np.testing.assert_allclose(tall, 200 / 255, atol=1e-6)
    small = decode_image(save(Image.fromarray(RGB), "PNG"), max_side=512)
    assert small.shape == (1, 12, 16)


def test_large_jpeg_is_downscaled_with_right_colours() -> None:
    pixels = np.zeros((1000, 2000, 3), dtype=np.uint8)
    pixels[:, :1000] = (255, 0, 0)
    pixels[:, 1000:] = (0, 0, 255)
    data = save(Image.fromarray(pixels), "JPEG", quality=90)
    out = decode_image(data, color="rgb", max_side=250)
    assert out.shape == (3, 125, 250)
    np.testing.assert_allclose(out[:, 60, 50], [1.0, 0.0, 0.0], atol=0.08)
    np.testing.assert_allclose(out[:, 60, 200], [0.0, 0.0, 1.0], atol=0.08)
    gray = decode_image(data, color="gray", max_side=250)
    assert gray.shape == (1, 125, 250)
    assert gray[0, 60, 50] == pytest.approx(76 / 255, abs=0.05)


# --- refused kinds -----------------------------------------------------------------


def test_empty_upload_is_400() -> None:
    err = refused(b"")
    assert err.status_code == 400
    assert "empty" in err.detail


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (save(Image.fromarray(RGB), "TIFF"), "TIFF"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>', "SVG"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
        (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "PDF"),
        (b"hello, this is plain text\n", "unrecognised"),
        (save(Image.new("RGB", (16, 16)), "ICO"), "ICO"),
        (save(Image.new("RGB", (4, 4)), "PPM"), "unrecognised"),
    ],
    ids=["tiff", "svg", "svg-xml", "pdf", "text", "ico", "ppm"],
)
def test_other_types_are_415_naming_the_accepted_ones(data: bytes, named: str) -> None:
    err = refused(data)
    assert err.status_code == 415
    assert named in err.detail
    for accepted in ("PNG", "JPEG", "GIF", "BMP", "WebP"):
        assert accepted in err.detail


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_files_are_400(fmt: str, keep: float) -> None:
    noisy = RNG.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    data = save(Image.fromarray(noisy), fmt)
    err = refused(data[: int(len(data) * keep)])
    assert err.status_code == 400
    assert fmt in err.detail


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"\xff\xd8\xff\xe0" + b"garbage" * 10,
        b"GIF89a" + b"\x01",
        b"BM" + b"\xff" * 60,
        b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8,
    ],
    ids=["png", "jpeg", "gif", "bmp", "webp"],
)
def test_corrupt_headers_are_400(data: bytes) -> None:
    err = refused(data)
    assert err.status_code == 400


def test_corrupt_png_pixel_data_is_400() -> None:
    data = bytearray(save(Image.fromarray(RGB), "PNG"))
    start = data.index(b"IDAT") + 4
    data[start : start + 20] = b"\xff" * 20  # zlib stream garbage; CRC now wrong too
    err = refused(bytes(data))
    assert err.status_code == 400


def test_header_declaring_a_giant_size_is_413_before_decoding(pixel_loads: list) -> None:
    data = png_with_header(100_000, 100_000)
    assert len(data) < 100
    err = refused(data)
    assert pixel_loads == []
    assert err.status_code == 413
    assert "40,000,000" in err.detail


def test_pillow_bomb_warning_becomes_413_and_never_leaks() -> None:
    data = png_with_header(10_000, 10_000)  # over Pillow's warning limit, under its error one
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageError) as info:
            decode_image(data, max_pixels=10**9)
    assert info.value.status_code == 413
    assert caught == []


def test_header_over_max_pixels_is_413_before_decoding(pixel_loads: list) -> None:
    data = png_with_header(5000, 4000)  # 20 MP declared, pixel data missing
    err = refused(data, max_pixels=10_000_000)
    assert pixel_loads == []
    assert err.status_code == 413
    assert err.detail == (
        "image: declared pixels (20,000,000) is over the limit of 10,000,000 "
        "(set CONVSCOPE_MAX_IMAGE_PIXELS to change it)"
    )


def test_small_file_with_many_real_pixels_is_413(pixel_loads: list) -> None:
    data = save(Image.new("L", (8000, 8000), 0), "PNG", compress_level=9)
    assert len(data) < 200_000  # a compression bomb: 64 MB of pixels in a small file
    err = refused(data, max_pixels=16_000_000)
    assert pixel_loads == []
    assert err.status_code == 413
    assert err.detail == (
        "image: declared pixels (64,000,000) is over the limit of 16,000,000 "
        "(set CONVSCOPE_MAX_IMAGE_PIXELS to change it)"
    )


def test_bad_arguments_are_value_errors() -> None:
    data = save(Image.fromarray(RGB), "PNG")
    with pytest.raises(ValueError, match="color"):
        decode_image(data, color="cmyk")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_side"):
        decode_image(data, max_side=0)


# --- encoding ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3)])
def test_encode_png_round_trips(shape: tuple[int, ...]) -> None:
    pixels = RNG.integers(0, 256, size=shape, dtype=np.uint8)
    data = encode_png(pixels)
    assert data.startswith(b"\x89PNG")
    back = np.asarray(Image.open(io.BytesIO(data)))
    np.testing.assert_array_equal(back, pixels)
    np.testing.assert_allclose(
        decode_image(data, color="rgb" if len(shape) == 3 else "gray"), chw(pixels), atol=1e-6
    )


def test_png_data_url() -> None:
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    url = png_data_url(pixels)
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    assert base64.b64decode(url[len(prefix) :]) == encode_png(pixels)


@pytest.mark.parametrize(
    "pixels",
    [
        np.zeros((4, 4), dtype=np.float32),
        np.zeros((4, 4, 4), dtype=np.uint8),
        np.zeros((4,), dtype=np.uint8),
        np.zeros((0, 4), dtype=np.uint8),
    ],
    ids=["float", "rgba", "1d", "empty"],
)
def test_encode_png_rejects_bad_input(pixels: np.ndarray) -> None:
    with pytest.raises(ValueError, match="encode_png"):
        encode_png(pixels)
