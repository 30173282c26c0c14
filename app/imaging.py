"""Decode uploads safely and encode PNGs: the only module in the app that imports Pillow.

``decode_image`` turns untrusted bytes into a float32 ``(C, H, W)`` array in ``[0, 1]``:

1. sniff the magic bytes and open with only the accepted Pillow plugins (else 415);
2. read the declared size from the header and refuse giant images (413) before any
   pixel is decoded;
3. decode (a JPEG larger than ``max_side`` is decoded at a reduced DCT scale first);
   truncated or corrupt data is a 400;
4. apply the EXIF orientation, convert the mode (palette, alpha on white, 16-bit,
   CMYK, ...) and downscale so the longest side is at most ``max_side`` (Lanczos,
   never upscaling).

Everything happens in memory; nothing is written to disk.
"""

from __future__ import annotations

import base64
import io
import re
import struct
import warnings
import zlib
from typing import Literal, NamedTuple

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

try:  # optional accelerator: the same DEFLATE format, about 3x faster than zlib here
    from isal import isal_zlib as _isal_zlib
except ImportError:  # pragma: no cover - isal is a pinned dependency; zlib is the fallback
    _isal_zlib = None  # type: ignore[assignment]

from app.errors import LimitExceeded

__all__ = [
    "ACCEPTED_TYPES",
    "DecodedImage",
    "ImageError",
    "decode",
    "decode_image",
    "encode_png",
    "png_data_url",
]

Color = Literal["gray", "rgb"]

# Never hand back a half-decoded image: a truncated file must raise, not come out gray.
ImageFile.LOAD_TRUNCATED_IMAGES = False

#: Human names of the accepted types, in the order error messages list them.
ACCEPTED_TYPES = ("PNG", "JPEG", "GIF", "BMP", "WebP")
_ACCEPTED_LIST = ", ".join(ACCEPTED_TYPES)

#: Pillow plugins that may open an upload. MPO is how Pillow names a JPEG that carries
#: a multi-picture index (most phone cameras write one); it decodes as a JPEG.
_PILLOW_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
_OPENED_FORMATS = frozenset({*_PILLOW_FORMATS, "MPO"})

# Everything a Pillow decoder has been seen to raise on hostile or damaged input.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    struct.error,
    zlib.error,
)

_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})


class ImageError(Exception):
    """An upload that cannot be used, with the HTTP status and a message for the user.

    ``status_code`` is 400 (empty, truncated or corrupt), 413 (too many pixels) or
    415 (not an accepted type); ``detail`` names the form field ``image``.
    """

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def _sniff(data: bytes) -> str | None:
    """The accepted type the magic bytes announce, or ``None``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data.startswith(b"BM"):
        return "BMP"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return None


def _describe(data: bytes) -> str:
    """A short guess at what a refused upload is, for the 415 message."""
    head = data[:512].lstrip()
    known = (
        (b"II*\x00", "TIFF"),
        (b"MM\x00*", "TIFF"),
        (b"%PDF", "PDF"),
        (b"\x00\x00\x01\x00", "ICO"),
        (b"<svg", "SVG"),
        (b"<?xml", "XML/SVG"),
        (b"8BPS", "PSD"),
    )
    for magic, name in known:
        if head.startswith(magic):
            return name
    if b"<svg" in head[:512].lower():
        return "SVG"
    return "an unrecognised format"


def _target_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """``(width, height)`` scaled so the longest side is at most ``max_side``; never larger."""
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


class DecodedImage(NamedTuple):
    """An upload after decoding: the float values the math uses and the integer pixels they
    are (so echoing the input never goes back through floats, and decoding the echo gives
    the same values)."""

    values: np.ndarray  # float32 (C, H, W) in [0, 1]
    # uint8 (H, W) gray or (H, W, 3) RGB with values = pixels / 255; or, for a 16-bit or
    # float source, uint16 (H, W) gray with values = pixels / 65535 in every channel
    pixels: np.ndarray


def decode_image(
    data: bytes,
    *,
    color: Color = "gray",
    max_side: int = 512,
    max_pixels: int = 40_000_000,
) -> np.ndarray:
    """Decode an uploaded image into a float32 array of shape ``(C, H, W)`` in ``[0, 1]``;
    ``decode`` with only the values."""
    return decode(data, color=color, max_side=max_side, max_pixels=max_pixels).values


def decode(
    data: bytes,
    *,
    color: Color = "gray",
    max_side: int = 512,
    max_pixels: int = 40_000_000,
) -> DecodedImage:
    """Decode an uploaded image into float32 values ``(C, H, W)`` in ``[0, 1]`` and the
    uint8 pixels they are ``/ 255`` of.

    Parameters
    ----------
    data:
        The raw upload: PNG, JPEG, GIF (first frame), BMP or WebP.
    color:
        ``"gray"`` gives ``C = 1`` (ITU-R 601-2 luma, Pillow's ``"L"``); ``"rgb"`` gives
        ``C = 3``.
    max_side:
        Downscale (Lanczos) so the longest side is at most this; never upscale.
    max_pixels:
        Refuse an image whose header declares more than this many pixels (bomb guard).

    Conversions: EXIF orientation applied; palette, transparency and alpha (``RGBA``,
    ``LA``, ``PA``) composited on white; 16-bit gray scaled from ``0..65535``; CMYK,
    YCbCr and 1-bit converted to RGB or gray.

    Raises
    ------
    ImageError
        415 for any other type, 413 for too many pixels, 400 for empty, truncated or
        corrupt data.
    ValueError
        For a bad ``color``, ``max_side`` or ``max_pixels`` (a programming error).
    """
    if color not in ("gray", "rgb"):
        raise ValueError(f"color must be 'gray' or 'rgb', got {color!r}")
    if max_side < 1 or max_pixels < 1:
        raise ValueError(
            f"max_side and max_pixels must be >= 1, got max_side={max_side}, "
            f"max_pixels={max_pixels}"
        )
    if not data:
        raise ImageError(400, "image: the upload is empty")
    kind = _sniff(data)
    if kind is None:
        raise ImageError(
            415,
            f"image: unsupported type ({_describe(data)}); accepted types are {_ACCEPTED_LIST}",
        )

    # Pillow warns (DecompressionBombWarning) or raises (DecompressionBombError) on its
    # own global limit; turn the warning into an error here so it never leaks, and apply
    # our own, usually lower, limit from the header right after opening.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS) as im:
                return _decode_opened(im, kind, color, max_side, max_pixels)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(413, _bomb_detail(kind, exc, max_pixels)) from None
        except UnidentifiedImageError:
            raise ImageError(
                400, f"image: looks like {kind} but the file header is corrupt"
            ) from None
        except _DECODE_ERRORS as exc:
            raise ImageError(
                400, f"image: the {kind} file is truncated or corrupt ({exc})"
            ) from None


def _bomb_detail(kind: str, exc: Exception, max_pixels: int) -> str:
    """The 413 detail when Pillow refused first, on its own limit: the declared size and the
    limit that applied (Pillow's message quotes its own limit, which can contradict ours)."""
    declared = re.search(r"\((\d+) pixels\)", str(exc))
    pillow_limit = Image.MAX_IMAGE_PIXELS or max_pixels
    if declared is None:
        return f"image: the {kind} header declares more pixels than the limit of {max_pixels:,}"
    if max_pixels <= pillow_limit:
        return _too_many_pixels(int(declared[1]), max_pixels)
    return (
        f"image: declared pixels ({int(declared[1]):,}) is over Pillow's decompression-bomb "
        f"limit of {pillow_limit:,} (a hard cap that CONVSCOPE_MAX_IMAGE_PIXELS cannot raise)"
    )


def _too_many_pixels(pixels: int, max_pixels: int) -> str:
    """The limits module's wording for a breach of ``max_image_pixels``."""
    return LimitExceeded("image", "declared pixels", pixels, max_pixels, "max_image_pixels").detail


def _decode_opened(
    im: Image.Image, kind: str, color: Color, max_side: int, max_pixels: int
) -> DecodedImage:
    """Check, decode, orient, convert and downscale an opened (not yet loaded) image."""
    if im.format not in _OPENED_FORMATS:  # formats= already limits this; belt and braces
        raise ImageError(
            415, f"image: unsupported type {im.format}; accepted types are {_ACCEPTED_LIST}"
        )
    width, height = im.size
    if width < 1 or height < 1:
        raise ImageError(400, f"image: the {kind} header declares an empty {width}x{height} image")
    if width * height > max_pixels:
        raise ImageError(413, _too_many_pixels(width * height, max_pixels))

    if im.format in ("JPEG", "MPO"):
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still covers the target
        # (the EXIF rotation swaps sides but keeps the longest one).
        target = _target_size(width, height, max_side)
        if target != (width, height):
            im.draft("L" if color == "gray" else "RGB", target)
    im.load()

    orientation = im.getexif().get(0x0112, 1)
    if orientation in range(2, 9):
        im = ImageOps.exif_transpose(im)

    size = _target_size(im.width, im.height, max_side)
    if im.mode in _SIXTEEN_BIT_MODES or im.mode == "F":
        return _from_high_depth(im, color, size)
    if "A" in im.getbands() or "transparency" in im.info:
        return _from_alpha(im, color, size)
    if color == "gray":
        im = im.convert("L") if im.mode in ("L", "1") else im.convert("RGB").convert("L")
    else:
        im = im.convert("RGB")
    return _to_chw(_resize(im, size))


def _resize(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Lanczos downscale; ``reducing_gap`` first box-reduces by an integer factor (fast)."""
    if im.size == size:
        return im
    return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _to_chw(im: Image.Image) -> DecodedImage:
    """An ``L`` or ``RGB`` image -> float32 ``(C, H, W)`` in ``[0, 1]`` and its uint8 pixels."""
    pixels = np.asarray(im)  # (H, W) or (H, W, 3) uint8
    if pixels.ndim == 2:
        return DecodedImage(np.divide(pixels, np.float32(255), dtype=np.float32)[None], pixels)
    h, w, _ = pixels.shape
    values = np.empty((3, h, w), np.float32)  # (H, W, 3) -> (3, H, W) in the same pass
    np.divide(pixels.transpose(2, 0, 1), np.float32(255), out=values)
    return DecodedImage(values, pixels)


def _from_alpha(im: Image.Image, color: Color, size: tuple[int, int]) -> DecodedImage:
    """Composite an image with alpha or a transparent colour on white."""
    if im.mode == "La":
        im = im.convert("LA")
    # Resize first (Pillow premultiplies alpha while resampling), then composite.
    rgba = _resize(im.convert("RGBA"), size)
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(white, rgba).convert("RGB")
    return _to_chw(rgb.convert("L") if color == "gray" else rgb)


def _from_high_depth(im: Image.Image, color: Color, size: tuple[int, int]) -> DecodedImage:
    """16-bit or 32-bit gray: scale ``0..65535`` to ``0..1`` in float, keeping 16 bits.

    The values are whole steps of 1/65535 (a resized or float image is rounded to them), so
    the 16-bit PNG echoed back decodes to exactly these values.
    """
    values = np.asarray(im).astype(np.float32)
    if im.mode != "F":
        values /= np.float32(65535)
    np.clip(values, 0.0, 1.0, out=values)
    if size != im.size:
        values = np.array(_resize(Image.fromarray(values), size), dtype=np.float32)
        np.clip(values, 0.0, 1.0, out=values)  # Lanczos overshoots at edges
    pixels = np.rint(values * np.float32(65535)).astype(np.uint16)
    gray = (pixels.astype(np.float32) / np.float32(65535))[None]  # as decoding the echo does
    if color == "rgb":
        return DecodedImage(np.repeat(gray, 3, axis=0), pixels)  # (1, H, W) -> (3, H, W)
    return DecodedImage(gray, pixels)


def _deflate_zlib(data: memoryview) -> bytes:
    """zlib level 1 with run-length matching (``Z_RLE``): faster and smaller than the
    default strategy on filtered image rows."""
    z = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    return z.compress(data) + z.flush()


def _deflate_isal(data: memoryview) -> bytes:
    return _isal_zlib.compress(data, 1)


#: The DEFLATE used for PNG data: ``isal`` when installed, else stdlib zlib.
_deflate = _deflate_zlib if _isal_zlib is None else _deflate_isal


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(tag))
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def encode_png(pixels: np.ndarray, palette: np.ndarray | None = None) -> bytes:
    """Encode uint8 pixels as PNG bytes: ``(H, W)`` gray, ``(H, W, 3)`` RGB, or ``(H, W)``
    indices into ``palette`` (``(N, 3)`` uint8, N <= 256) as an indexed PNG; uint16
    pixels (no palette) as a 16-bit PNG.

    Every row uses the "Up" filter (difference with the row above), then one fast DEFLATE
    pass; trying every filter per row, as general encoders do, costs far more than it saves.
    """
    if pixels.dtype not in (np.uint8, np.uint16) or (palette is not None and pixels.itemsize > 1):
        raise ValueError(f"encode_png needs uint8 (or uint16) pixels, got {pixels.dtype}")
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] == 3)):
        raise ValueError(f"encode_png needs shape (H, W) or (H, W, 3), got {pixels.shape}")
    if pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise ValueError(f"encode_png needs a non-empty image, got shape {pixels.shape}")
    h, w = pixels.shape[:2]
    if palette is not None:
        if pixels.ndim != 2 or palette.dtype != np.uint8 or palette.shape[1:] != (3,):
            raise ValueError("an indexed PNG needs (H, W) indices and an (N, 3) uint8 palette")
        if not 1 <= len(palette) <= 256:
            raise ValueError(f"a PNG palette has 1 to 256 entries, got {len(palette)}")
        color_type = 3
    else:
        color_type = 0 if pixels.ndim == 2 else 2
    depth = 8 * pixels.itemsize
    if depth == 16:  # PNG stores 16-bit samples big-endian; filter and deflate their bytes
        pixels = np.ascontiguousarray(pixels, dtype=">u2").view(np.uint8).reshape(h, w, -1)
    rows = pixels.reshape(h, -1)  # (H, W * bytes per pixel)
    filtered = np.empty((h, rows.shape[1] + 1), np.uint8)
    filtered[:, 0] = 2  # filter type "Up" (the row above the first counts as zeros)
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # wraps modulo 256, as PNG says
    parts = [
        b"\x89PNG\r\n\x1a\n",
        _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0)),
    ]
    if palette is not None:
        parts.append(_chunk(b"PLTE", np.ascontiguousarray(palette).tobytes()))
    parts += [_chunk(b"IDAT", _deflate(filtered.data)), _chunk(b"IEND", b"")]
    return b"".join(parts)


def png_data_url(pixels: np.ndarray, palette: np.ndarray | None = None) -> str:
    """``encode_png`` as a ``data:image/png;base64,...`` URL."""
    png = encode_png(pixels, palette)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
