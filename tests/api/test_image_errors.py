"""Image endpoints on bad input: the right 4xx with a detail that names the problem, never 500."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from starlette.formparsers import MultiPartParser

from app.config import Settings
from app.main import app, create_app
from tests.api.helpers import detail_text

CONV = "/api/v1/images/conv2d"
POOL = "/api/v1/images/pool2d"
ACTIVATION = "/api/v1/images/activation"
PIPELINE = "/api/v1/images/pipeline"
ACCEPTED = ("PNG", "JPEG", "GIF", "BMP", "WebP")
IDENTITY = json.dumps({"kernel": "identity"})


# ---- helpers -------------------------------------------------------------------------


def encode(pixels: np.ndarray, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def noise(h: int, w: int, *, rgb: bool = False, seed: int = 0) -> np.ndarray:
    shape = (h, w, 3) if rgb else (h, w)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height gray pixels, with almost no data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def upload(
    client: TestClient,
    data: bytes | None,
    *,
    url: str = CONV,
    params: str = IDENTITY,
    filename: str = "upload.png",
    content_type: str = "image/png",
    **form: str,
) -> Any:
    files = {"image": (filename, data, content_type)} if data is not None else None
    return client.post(url, files=files, data={"params": params, **form})


@pytest.fixture
def raw_client() -> Iterator[TestClient]:
    """A client that turns a server error into a 500 response instead of raising it."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def limited(limited_client: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``limited_client`` that also restores the multipart spool size ``create_app`` sets
    globally, so a small test limit does not leak into later tests."""
    monkeypatch.setattr(MultiPartParser, "spool_max_size", MultiPartParser.spool_max_size)
    return limited_client


# ---- missing or malformed fields -----------------------------------------------------


@pytest.mark.parametrize("url", [CONV, POOL, ACTIVATION, PIPELINE])
def test_no_image_and_no_sample_is_422(client: TestClient, url: str) -> None:
    params = json.dumps({"layers": [{"type": "activation"}]}) if url == PIPELINE else "{}"
    if url == CONV:
        params = IDENTITY
    r = client.post(url, data={"params": params})
    assert r.status_code == 422
    text = detail_text(r)
    assert "image" in text and "sample" in text


@pytest.mark.parametrize(
    "params",
    ["{kernel: identity}", "not json", '{"kernel": "identity"', "[1, 2]", "null", '"identity"'],
)
def test_params_that_are_not_a_json_object_are_422(client: TestClient, params: str) -> None:
    r = upload(client, encode(noise(5, 5), "PNG"), params=params)
    assert r.status_code == 422
    assert "params" in detail_text(r)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kernal": "identity"}, "kernal"),
        ({"kernel": "identity", "strides": 2}, "strides"),
        ({"kernel": "identity", "paddding": 1}, "paddding"),
        ({"kernel": "identity", "trace_region": {"rows": [0, 1], "colz": [0, 1]}}, "colz"),
    ],
)
def test_unknown_param_fields_are_422_naming_them(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    r = upload(client, encode(noise(5, 5), "PNG"), params=json.dumps(params))
    assert r.status_code == 422
    text = detail_text(r)
    assert field in text
    assert "params" in text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kernel": "identity", "stride": "two"}, "params.stride"),
        ({"kernel": "identity", "stride": 0}, "params.stride"),
        ({"kernel": "identity", "padding": "sam"}, "params.padding"),
        ({"kernel": "identity", "padding_mode": "mirror"}, "params.padding_mode"),
        ({"kernel": "identity", "channel_mode": "mix"}, "params.channel_mode"),
        ({"kernel": [[1.0, "a"]]}, "params.kernel"),
        ({"kernel": []}, "params.kernel"),
        ({"kernel": "identity", "bias": [1, 2]}, "bias"),
        ({"kernel": [[1, 2], [3]]}, "kernel"),
        ({"stride": 1}, "params.kernel"),
    ],
)
def test_invalid_param_values_are_422_naming_the_field(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    r = upload(client, encode(noise(5, 5), "PNG"), params=json.dumps(params))
    assert r.status_code == 422, r.text
    assert field in detail_text(r)


@pytest.mark.parametrize("kernel", ["sobel_z", ["sobel_x", "nope"], "Identity", ""])
def test_unknown_preset_is_422(client: TestClient, kernel: Any) -> None:
    r = upload(client, encode(noise(5, 5), "PNG"), params=json.dumps({"kernel": kernel}))
    assert r.status_code == 422
    assert "kernel" in detail_text(r)


def test_unknown_preset_lists_the_known_ones(client: TestClient) -> None:
    r = upload(client, encode(noise(5, 5), "PNG"), params=json.dumps({"kernel": "sobel_z"}))
    text = detail_text(r)
    assert "sobel_z" in text and "sobel_x" in text and "identity" in text


def test_presets_of_mixed_sizes_are_422(client: TestClient) -> None:
    params = json.dumps({"kernel": ["sobel_x", "gaussian_blur_5x5"]})
    r = upload(client, encode(noise(8, 8), "PNG"), params=params)
    assert r.status_code == 422
    text = detail_text(r)
    assert "3x3" in text and "5x5" in text


@pytest.mark.parametrize(
    ("field", "value"), [("color", "cmyk"), ("max_side", "0"), ("max_side", "big")]
)
def test_bad_form_fields_are_422(client: TestClient, field: str, value: str) -> None:
    r = upload(client, encode(noise(5, 5), "PNG"), **{field: value})
    assert r.status_code == 422
    assert field in detail_text(r)


def test_max_side_over_the_limit_is_413(client: TestClient) -> None:
    r = upload(client, encode(noise(5, 5), "PNG"), max_side="2049")
    assert r.status_code == 413
    assert r.json()["detail"] == (
        "max_side: side (2,049) is over the limit of 2,048 "
        "(set CONVSCOPE_MAX_IMAGE_SIDE to change it)"
    )


def test_max_side_at_the_limit_is_fine(client: TestClient) -> None:
    assert upload(client, encode(noise(5, 5), "PNG"), max_side="2048").status_code == 200


@pytest.mark.parametrize(
    ("h", "w", "params", "sizes"),
    [
        (5, 4, {"kernel": [[1.0] * 7] * 7}, ("7x7", "5x4")),
        (6, 6, {"kernel": "gaussian_blur_5x5", "dilation": 2}, ("9x9", "6x6")),
        (3, 8, {"kernel": "sobel_x", "stride": 1, "padding": [0, 0, 1, 1]}, ("3x3",)),
    ],
)
def test_kernel_larger_than_the_image_is_422_with_both_sizes(
    client: TestClient, h: int, w: int, params: dict[str, Any], sizes: tuple[str, ...]
) -> None:
    r = upload(client, encode(noise(h, w), "PNG"), params=json.dumps(params))
    if len(sizes) == 1:  # fits: 3 rows, 3x3 kernel
        assert r.status_code == 200
        return
    assert r.status_code == 422
    text = detail_text(r)
    assert "kernel" in text
    for size in sizes:
        assert size in text


def test_pool_window_larger_than_the_image_is_422(client: TestClient) -> None:
    r = upload(client, encode(noise(4, 6), "PNG"), url=POOL, params=json.dumps({"kernel_size": 8}))
    assert r.status_code == 422
    text = detail_text(r)
    assert "8x8" in text and "4x6" in text


# ---- refused and broken files --------------------------------------------------------


def _tiff() -> bytes:
    return encode(noise(8, 8), "TIFF")


def _pdf() -> bytes:
    return encode(noise(8, 8, rgb=True), "PDF")


def _ico() -> bytes:
    return encode(noise(16, 16, rgb=True), "ICO")


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
BARE_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (lambda: b"hello, this is plain text\n", None),
        (lambda: SVG, "SVG"),
        (lambda: BARE_SVG, "SVG"),
        (_pdf, "PDF"),
        (_tiff, "TIFF"),
        (_ico, "ICO"),
        (lambda: b"\x00" * 100, None),
        (lambda: b'{"kernel": "identity"}', None),
    ],
)
def test_unsupported_types_are_415_naming_the_accepted_ones(
    client: TestClient, make: Any, what: str | None
) -> None:
    r = upload(client, make(), filename="upload.png", content_type="image/png")
    assert r.status_code == 415, r.text
    text = detail_text(r)
    assert all(name in text for name in ACCEPTED)
    assert "image" in text
    if what:
        assert what in text


def test_the_declared_content_type_does_not_matter(client: TestClient) -> None:
    png = encode(noise(5, 5), "PNG")
    assert upload(client, png, filename="x.txt", content_type="text/plain").status_code == 200
    tiff = upload(client, _tiff(), filename="x.png", content_type="image/png")
    assert tiff.status_code == 415


def test_empty_file_is_400(client: TestClient) -> None:
    r = upload(client, b"")
    assert r.status_code == 400
    assert "empty" in detail_text(r)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "WEBP"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_files_are_400(client: TestClient, fmt: str, keep: float) -> None:
    rgb = fmt != "GIF"
    data = encode(noise(48, 48, rgb=rgb, seed=2), fmt)
    r = upload(client, data[: int(len(data) * keep)])
    assert r.status_code == 400, (fmt, r.text)
    assert "image" in detail_text(r)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n" + b"garbage" * 20,
        b"\xff\xd8\xff",
        b"\xff\xd8\xff\xe0" + b"\x00" * 50,
        b"GIF89a",
        b"BM" + b"\x00" * 60,
        b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 10,
    ],
)
def test_headers_without_an_image_are_400(client: TestClient, data: bytes) -> None:
    r = upload(client, data)
    assert r.status_code == 400, r.text
    assert "image" in detail_text(r)


def test_corrupt_png_data_is_400(client: TestClient) -> None:
    data = bytearray(encode(noise(32, 32, seed=3), "PNG"))
    data[60:80] = b"\xff" * 20  # inside the IDAT stream
    r = upload(client, bytes(data))
    assert r.status_code == 400


def test_a_header_declaring_a_giant_image_is_413(client: TestClient) -> None:
    r = upload(client, png_declaring(100_000, 100_000))
    assert r.status_code == 413, r.text
    assert r.json()["detail"] == (
        "image: declared pixels (10,000,000,000) is over the limit of 40,000,000 "
        "(set CONVSCOPE_MAX_IMAGE_PIXELS to change it)"
    )


def test_a_header_just_over_the_pixel_limit_is_413_naming_its_pixels(client: TestClient) -> None:
    r = upload(client, png_declaring(8_000, 6_000))  # 48,000,000 > 40,000,000
    assert r.status_code == 413, r.text
    assert r.json()["detail"] == (
        "image: declared pixels (48,000,000) is over the limit of 40,000,000 "
        "(set CONVSCOPE_MAX_IMAGE_PIXELS to change it)"
    )


def test_a_small_file_with_too_many_pixels_is_413(limited: Any) -> None:
    client = limited(max_image_pixels=10_000)
    bomb = encode(np.zeros((200, 200), dtype=np.uint8), "PNG")  # 40,000 pixels, few bytes
    assert len(bomb) < 2_000
    r = upload(client, bomb)
    assert r.status_code == 413
    assert "10,000" in detail_text(r)
    assert upload(client, encode(np.zeros((100, 100), dtype=np.uint8), "PNG")).status_code == 200


# ---- size and work limits -------------------------------------------------------------


def test_upload_over_the_byte_limit_is_413(limited: Any) -> None:
    client = limited(max_upload_bytes=2_000)
    big = encode(noise(64, 64, seed=4), "PNG")
    assert len(big) > 2_000
    r = upload(client, big)
    assert r.status_code == 413
    assert "CONVSCOPE_MAX_UPLOAD_BYTES" in detail_text(r)
    small = encode(np.zeros((8, 8), dtype=np.uint8), "PNG")
    assert upload(client, small).status_code == 200


def test_upload_limit_holds_without_a_content_length(limited: Any) -> None:
    client = limited(max_upload_bytes=2_000)
    boundary = "testboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="params"\r\n\r\n{IDENTITY}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + encode(noise(64, 64, seed=5), "PNG")
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    r = client.post(
        CONV,
        content=chunks(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413
    assert "CONVSCOPE_MAX_UPLOAD_BYTES" in detail_text(r)


def test_a_limited_app_leaves_the_shared_app_alone(client: TestClient) -> None:
    big = encode(noise(64, 64, seed=4), "PNG")
    assert len(big) > 2_000
    with TestClient(create_app(Settings(max_upload_bytes=2_000))) as limited:
        refused = upload(limited, big)
        r = upload(client, big)
    assert refused.status_code == 413
    assert refused.json()["detail"].endswith(
        "is over the limit of 2,000 (set CONVSCOPE_MAX_UPLOAD_BYTES to change it)"
    )
    assert r.status_code == 200
    assert r.json()["shape"] == [1, 62, 62]  # the 3x3 identity kernel, no padding


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (CONV, {"kernel": "sobel_x"}),
        (CONV, {"kernel": ["sobel_x", "sobel_y"], "padding": "same"}),
        (POOL, {"kernel_size": 3, "stride": 1}),
        (PIPELINE, {"layers": [{"type": "activation"}, {"type": "conv2d", "kernel": "box_blur"}]}),
    ],
)
def test_work_over_the_limit_is_413(limited: Any, url: str, params: dict[str, Any]) -> None:
    client = limited(max_work=2_000)
    r = upload(client, encode(noise(20, 20), "PNG"), url=url, params=json.dumps(params))
    assert r.status_code == 413, r.text
    assert r.json()["detail"].startswith("output: multiply-adds (")
    assert r.json()["detail"].endswith(
        ") is over the limit of 2,000 (set CONVSCOPE_MAX_WORK to change it)"
    )


def test_work_limit_counts_every_rgb_channel(limited: Any) -> None:
    # 10 x 10 x 9 = 900 per channel: under 2,000 in gray, over it for 3 RGB channels.
    client = limited(max_work=2_000)
    image = encode(noise(12, 12, rgb=True), "PNG")
    assert upload(client, image, color="gray").status_code == 200
    r = upload(client, image, color="rgb")
    assert r.status_code == 413
    assert "CONVSCOPE_MAX_WORK" in detail_text(r)


def test_feature_elements_over_the_limit_is_413(limited: Any) -> None:
    client = limited(max_feature_elements=500)
    params = json.dumps({"kernel": "identity", "padding": 10})
    r = upload(client, encode(noise(10, 10), "PNG"), params=params)
    assert r.status_code == 413
    assert "CONVSCOPE_MAX_FEATURE_ELEMENTS" in detail_text(r)


# ---- never a 500 ----------------------------------------------------------------------


NASTY_PARAMS = [
    "[" * 100_000 + "]" * 100_000,
    '{"kernel":' + "[" * 5_000 + "1" + "]" * 5_000 + "}",
    '{"kernel": "identity", "stride": ' + "9" * 5_000 + "}",
    '{"kernel": "identity", "stride": 99999999999999999999999}',
    '{"kernel": "identity", "dilation": 99999999999999999999999}',
    '{"kernel": "identity", "padding": 99999999999999999999999}',
    '{"kernel": "identity", "padding": [0, 0, 0, 99999999999999999999999]}',
    '{"kernel": [[NaN]]}',
    '{"kernel": "identity", "bias": Infinity}',
    '{"kernel": "identity", "bias": 1e999}',
    '{"kernel": [[1e308, 1e308], [1e308, 1e308]]}',
    '{"kernel": [[3e38, 3e38, 3e38]], "trace_region": {"rows": [0, 1], "cols": [0, 1]}}',
    '{"kernel": "identity", "bias": 3e38}',
    '{"kernel": "\\u0000"}',
    '{"kernel": ["identity"]}',
    '{"kernel": ' + json.dumps(["identity"] * 300) + "}",
    '{"kernel": [[[[1]]]], "groups": 2}',
    '{"kernel": [[[[1]]], [[[1]]]], "groups": 2}',
    '{"kernel": [[[1]], [[1]]]}',
    '{"kernel": [[[[[1]]]]]}',
    '{"kernel": [[]]}',
    '{"kernel": "identity", "trace_region": {"rows": [5, 2], "cols": [0, 1]}}',
    '{"kernel": "identity", "trace_region": {"rows": [-1, 2], "cols": [0, 1]}}',
    '{"kernel": "identity", "trace_region": null}',
    '{"kernel": "identity", "padding": "same", "stride": 1000}',
    '{"kernel": "identity", "padding": 100, "padding_mode": "reflect"}',
    '{"kernel": "identity", "padding": 100, "padding_mode": "circular"}',
    '{"kernel": "identity", "padding": 7, "padding_mode": "replicate"}',
    '{"kernel": true}',
    '{"kernel": 1}',
    '{"kernel": {"name": "identity"}}',
    "",
    " ",
    "\x00",
]


@pytest.mark.parametrize("params", NASTY_PARAMS, ids=range(len(NASTY_PARAMS)))
def test_nasty_conv_params_never_500(raw_client: TestClient, params: str) -> None:
    for color in ("gray", "rgb"):
        r = upload(raw_client, encode(noise(6, 7, rgb=True), "PNG"), params=params, color=color)
        assert r.status_code < 500, r.text


NASTY_OTHER = [
    (POOL, '{"kernel_size": 2, "padding": 1, "dilation": 2, "stride": 1}'),
    (POOL, '{"kernel_size": 99999999999999999999999}'),
    (POOL, '{"kernel_size": [1, 7], "padding": [0, 3], "ceil_mode": true, "stride": 5}'),
    (POOL, '{"mode": "avg", "kernel_size": 3, "padding": 1, "count_include_pad": false}'),
    (POOL, '{"kernel_size": 2, "trace_region": {"rows": [0, 3], "cols": [0, 3]}}'),
    (ACTIVATION, '{"function": "softmax", "dim": 5}'),
    (ACTIVATION, '{"function": "softmax", "dim": null}'),
    (ACTIVATION, '{"function": "leaky_relu", "negative_slope": 1e308}'),
    (ACTIVATION, '{"function": "elu", "alpha": -1e308}'),
    (PIPELINE, '{"layers": [{"type": "batch_norm", "weight": [1e308]}]}'),
    (PIPELINE, '{"layers": [{"type": "batch_norm", "training": false, "running_var": [0]}]}'),
    (PIPELINE, '{"layers": [{"type": "batch_norm", "eps": 1e-300, "training": false}]}'),
    (PIPELINE, '{"layers": [{"type": "dropout", "p": 1.0}]}'),
    (PIPELINE, '{"layers": [{"type": "dropout", "seed": 9223372036854775807}]}'),
    (PIPELINE, '{"layers": [{"type": "conv2d", "kernel": [[3e38]]}, {"type": "batch_norm"}]}'),
    (PIPELINE, '{"layers": [{"type": "pool2d", "kernel_size": 6}, {"type": "pool2d"}]}'),
    (PIPELINE, '{"layers": [{"type": "activation", "function": "softmax", "dim": 3}]}'),
    (PIPELINE, '{"layers": null}'),
    (PIPELINE, '{"layers": [null]}'),
    (PIPELINE, '{"layers": [{"type": "conv2d"}]}'),
    (PIPELINE, '{"layers": [{"type": "activation"}], "value_range": "layer"}'),
    (PIPELINE, '{"layers": [{"type": "conv2d", "kernel": "sobel_x"}], "value_range": "layer"}'),
]


@pytest.mark.parametrize(("url", "params"), NASTY_OTHER, ids=range(len(NASTY_OTHER)))
def test_nasty_layer_params_never_500(raw_client: TestClient, url: str, params: str) -> None:
    for color in ("gray", "rgb"):
        for fmt in ("json", "png"):
            r = raw_client.post(
                f"{url}?format={fmt}",
                files={"image": ("a.png", encode(noise(6, 7, rgb=True), "PNG"), "image/png")},
                data={"params": params, "color": color},
            )
            assert r.status_code < 500, r.text


def _multipart(parts: bytes, boundary: str = "b0undary") -> dict[str, Any]:
    return {
        "content": parts,
        "headers": {"content-type": f"multipart/form-data; boundary={boundary}"},
    }


NASTY_REQUESTS = [
    {"data": {"params": IDENTITY, "image": "not a file"}},
    {"data": {"params": IDENTITY, "sample": ""}},
    {"data": {"params": IDENTITY, "sample": "../../../etc/passwd"}},
    {"data": {"params": IDENTITY, "sample": "shapes\x00"}},
    {"data": {"params": IDENTITY, "sample": "shapes", "max_side": "1"}},
    {"data": {"params": IDENTITY, "sample": "shapes", "max_side": "-5"}},
    {"data": {"params": IDENTITY, "sample": "shapes", "max_side": "9" * 50}},
    {"json": {"kernel": "identity"}},
    {"content": b"\xff\xfe garbage", "headers": {"content-type": "multipart/form-data"}},
    _multipart(b'--b0undary\r\nContent-Disposition: form-data; name="image"\r\n\r\nxx'),
    _multipart(b"--b0undary\r\n\r\n--b0undary--\r\n"),
    _multipart(b"not multipart at all"),
    {"content": b"", "headers": {"content-type": "application/x-www-form-urlencoded"}},
    {"files": {"image": ("", b"", "")}, "data": {"params": IDENTITY}},
    {"files": {"image": ("a.png", b"\x89PNG", "image/png")}, "data": {"params": IDENTITY}},
    {"files": {"image": ("a.png", png_declaring(0, 0), "image/png")}, "data": {"params": IDENTITY}},
    {
        "files": {"image": ("a.png", png_declaring(2**31 - 1, 1), "image/png")},
        "data": {"params": IDENTITY},
    },
    {
        "files": {"image": ("a.png", png_declaring(1, 1), "image/png")},
        "data": {"params": IDENTITY},
    },
    {
        "files": [
            ("image", ("a.png", encode(noise(4, 4), "PNG"), "image/png")),
            ("image", ("b.png", encode(noise(4, 4), "PNG"), "image/png")),
        ],
        "data": {"params": IDENTITY},
    },
]


@pytest.mark.parametrize("request_kwargs", NASTY_REQUESTS, ids=range(len(NASTY_REQUESTS)))
@pytest.mark.parametrize("url", [CONV, PIPELINE])
def test_nasty_requests_never_500(
    raw_client: TestClient, url: str, request_kwargs: dict[str, Any]
) -> None:
    r = raw_client.post(url, **request_kwargs)
    assert r.status_code < 500, r.text
    assert r.status_code != 200 or url == CONV


@pytest.mark.parametrize(
    "make",
    [
        lambda: encode(noise(20, 20, rgb=True), "PNG", optimize=True),
        lambda: encode(noise(20, 20).astype(np.uint16) * 257, "PNG"),
        lambda: encode(noise(20, 20, rgb=True), "JPEG", quality=5),
        lambda: encode(noise(20, 20, rgb=True), "WEBP", lossless=True),
        lambda: encode(noise(20, 20, rgb=True), "BMP"),
        lambda: encode(noise(20, 20), "GIF"),
        lambda: _rgba_png(),
        lambda: _palette_png(),
        lambda: _cmyk_jpeg(),
        lambda: _one_bit_png(),
    ],
    ids=["png", "png16", "jpeg", "webp", "bmp", "gif", "rgba", "palette", "cmyk", "1bit"],
)
def test_every_accepted_kind_decodes_through_every_endpoint(
    raw_client: TestClient, make: Any
) -> None:
    data = make()
    for url, params in [
        (CONV, IDENTITY),
        (POOL, "{}"),
        (ACTIVATION, "{}"),
        (PIPELINE, json.dumps({"layers": [{"type": "conv2d", "kernel": "sobel_x"}]})),
    ]:
        for color in ("gray", "rgb"):
            r = upload(raw_client, data, url=url, params=params, color=color)
            assert r.status_code == 200, (url, color, r.text)
            shape = r.json()["input"]["shape"]
            assert shape[-2:] == [20, 20]
            assert (len(shape) == 3) == (color == "rgb")


def _rgba_png() -> bytes:
    pixels = np.dstack([noise(20, 20, rgb=True), noise(20, 20, seed=9)])
    return encode(pixels, "PNG")


def _palette_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(noise(20, 20, rgb=True)).convert("P").save(buffer, format="PNG")
    return buffer.getvalue()


def _cmyk_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(noise(20, 20, rgb=True)).convert("CMYK").save(buffer, format="JPEG")
    return buffer.getvalue()


def _one_bit_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(noise(20, 20) > 127).save(buffer, format="PNG")
    return buffer.getvalue()
