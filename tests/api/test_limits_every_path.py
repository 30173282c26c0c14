"""Each limit answers the same on every path that can breach it.

For every limit whose breach is a 413, an app is built with a small value of it and the
same breach is sent down each path (JSON operations, image endpoints, the pipeline,
learn): every answer is 413 with ``"<field>: <what> (<value>) is over the limit of
<limit> (set CONVSCOPE_<NAME> to change it)"``, the same text after the field path.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.config import Settings
from app.limits import LIMITS
from app.main import create_app

Send = Callable[[TestClient], Any]  # -> the response
BOUNDARY = "limitsboundary"


def _png(side: int, *, rgb: bool = False) -> bytes:
    shape = (side, side, 3) if rgb else (side, side)
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


GRAY_20 = _png(20)
RGB_20 = _png(20, rgb=True)


def post_json(url: str, body: dict[str, Any], *, pad_to: int = 0) -> Send:
    """POST ``body`` as JSON, padded with trailing spaces to ``pad_to`` bytes."""
    raw = json.dumps(body).ljust(pad_to).encode()
    headers = {"content-type": "application/json"}
    return lambda c: c.post(url, content=raw, headers=headers)


def post_image(
    url: str,
    params: dict[str, Any],
    *,
    image: bytes = GRAY_20,
    pad_to: int = 0,
    **fields: str,
) -> Send:
    """POST a multipart form (fixed boundary) whose ``params`` is padded to ``pad_to``
    characters, so bodies to different endpoints can have the same length."""
    parts = [("params", json.dumps(params).ljust(pad_to)), *fields.items()]
    body = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in parts
    )
    body += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    body += image + f"\r\n--{BOUNDARY}--\r\n".encode()
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    return lambda c: c.post(url, content=body, headers=headers)


IMAGE = "/api/v1/images/"
ONES = [[1.0] * 20 for _ in range(20)]
LAYERS_1 = {"layers": [{"type": "activation"}]}
CROP = {"rows": [0, 2], "cols": [0, 2]}


def every_image_path(**fields: str) -> list[tuple[str, Send]]:
    """The same upload to every image endpoint, each with parameters it accepts."""
    return [
        ("conv2d", post_image(IMAGE + "conv2d", {"kernel": "identity"}, **fields)),
        ("pool2d", post_image(IMAGE + "pool2d", {}, **fields)),
        ("activation", post_image(IMAGE + "activation", {}, **fields)),
        ("pixels", post_image(IMAGE + "pixels", CROP, **fields)),
        ("pipeline", post_image(IMAGE + "pipeline", LAYERS_1, **fields)),
    ]


@dataclass
class Case:
    limit: str
    value: int
    paths: list[tuple[str, str, Send]]  # (label, the field the answer must name, request)


def learn(body: dict[str, Any], fmt: str = "json") -> Send:
    return post_json(f"/api/v1/learn?format={fmt}", {"sample": None, "steps": 1} | body)


def _cases() -> Iterator[Case]:
    pad = 400
    yield Case(
        "max_body_bytes",
        300,
        [
            (url, "body", post_json(f"/api/v1/{url}", body, pad_to=pad))
            for url, body in [
                ("conv2d", {"input": [[1.0]], "kernel": [[1.0]]}),
                ("pool2d", {"input": [[1.0]], "kernel_size": 1}),
                ("activation", {"input": [1.0]}),
                ("loss", {"input": [1.0], "target": [1.0]}),
                ("geometry", {"input_size": [4, 4], "kernel_size": 1}),
                ("learn", {"sample": None, "steps": 1}),
            ]
        ],
    )
    yield Case(
        "max_upload_bytes",
        len(GRAY_20),
        [
            (url, "body", post_image(IMAGE + url, params, pad_to=100))
            for url, params in [
                ("conv2d", {"kernel": "identity"}),
                ("pool2d", {}),
                ("activation", {}),
                ("pixels", CROP),
                ("pipeline", LAYERS_1),
            ]
        ],
    )
    eleven = [1.0] * 11
    yield Case(
        "max_tensor_elements",
        10,
        [
            ("conv2d", "input", post_json("/api/v1/conv2d", {"input": [eleven], "kernel": [[1]]})),
            (
                "conv_transpose2d",
                "input",
                post_json("/api/v1/conv_transpose2d", {"input": [eleven], "kernel": [[1]]}),
            ),
            ("pool2d", "input", post_json("/api/v1/pool2d", {"input": [eleven]})),
            ("activation", "input", post_json("/api/v1/activation", {"input": eleven})),
            ("dropout", "input", post_json("/api/v1/dropout", {"input": eleven})),
            ("batch_norm", "input", post_json("/api/v1/batch_norm", {"input": [[eleven]]})),
            ("loss", "input", post_json("/api/v1/loss", {"input": eleven, "target": eleven})),
            (
                "geometry",
                "output",
                post_json("/api/v1/geometry", {"input_size": [1, 11], "kernel_size": 1}),
            ),
            ("learn", "target", learn({"target": [eleven]})),
        ],
    )
    nine = [1.0] * 9
    yield Case(
        "max_side",
        8,
        [
            ("conv2d", "input", post_json("/api/v1/conv2d", {"input": [nine], "kernel": [[1]]})),
            ("activation", "input", post_json("/api/v1/activation", {"input": nine})),
            ("loss", "input", post_json("/api/v1/loss", {"input": nine, "target": nine})),
            (
                "geometry",
                "input_size",
                post_json("/api/v1/geometry", {"input_size": [9, 9], "kernel_size": 1}),
            ),
            ("learn", "target", learn({"target": [nine]})),
            (
                "learn resume",
                "initial_kernel",
                learn({"target": [[1.0]], "initial_kernel": [nine]}),
            ),
        ],
    )
    rgb_conv = {"input": [[[1.0] * 4] * 4] * 3, "kernel": [[[1.0]]] * 3}
    yield Case(
        "max_channels",
        2,
        [
            ("conv2d", "input", post_json("/api/v1/conv2d", rgb_conv)),
            (
                "conv_transpose2d",
                "input",
                post_json(
                    "/api/v1/conv_transpose2d",
                    {"input": rgb_conv["input"], "kernel": [[[[1.0]]]] * 3},
                ),
            ),
            (
                "image conv2d",
                "input",
                post_image(IMAGE + "conv2d", {"kernel": "identity"}, image=RGB_20, color="rgb"),
            ),
            ("image pool2d", "input", post_image(IMAGE + "pool2d", {}, image=RGB_20, color="rgb")),
            (
                "pipeline",
                "input",
                post_image(
                    IMAGE + "pipeline",
                    {"layers": [{"type": "conv2d", "kernel": "identity"}]},
                    image=RGB_20,
                    color="rgb",
                ),
            ),
        ],
    )
    three = ["identity"] * 3
    yield Case(
        "max_channels",
        2,
        [
            (
                "conv2d",
                "output",
                post_json("/api/v1/conv2d", {"input": [[1.0] * 4] * 4, "kernel": [[[[1.0]]]] * 3}),
            ),
            ("image conv2d", "output", post_image(IMAGE + "conv2d", {"kernel": three})),
            (
                "pipeline",
                "output",
                post_image(IMAGE + "pipeline", {"layers": [{"type": "conv2d", "kernel": three}]}),
            ),
        ],
    )
    k4 = [[1.0] * 4] * 4
    six = [[1.0] * 6] * 6
    yield Case(
        "max_kernel_side",
        3,
        [
            ("conv2d", "kernel", post_json("/api/v1/conv2d", {"input": six, "kernel": k4})),
            (
                "conv_transpose2d",
                "kernel",
                post_json("/api/v1/conv_transpose2d", {"input": six, "kernel": k4}),
            ),
            (
                "pool2d",
                "kernel_size",
                post_json("/api/v1/pool2d", {"input": six, "kernel_size": 4}),
            ),
            (
                "geometry",
                "kernel_size",
                post_json("/api/v1/geometry", {"input_size": [6, 6], "kernel_size": 4}),
            ),
            ("image conv2d", "params.kernel", post_image(IMAGE + "conv2d", {"kernel": k4})),
            (
                "image pool2d",
                "params.kernel_size",
                post_image(IMAGE + "pool2d", {"kernel_size": 4}),
            ),
            (
                "pipeline conv2d",
                "params.layers[1].kernel",
                post_image(
                    IMAGE + "pipeline",
                    {"layers": [{"type": "activation"}, {"type": "conv2d", "kernel": k4}]},
                ),
            ),
            (
                "pipeline pool2d",
                "params.layers[0].kernel_size",
                post_image(IMAGE + "pipeline", {"layers": [{"type": "pool2d", "kernel_size": 4}]}),
            ),
        ],
    )
    # 18 x 18 outputs of 3 x 3 windows: 2,916 multiply-adds on every path
    yield Case(
        "max_work",
        2_000,
        [
            (
                "conv2d",
                "output",
                post_json("/api/v1/conv2d", {"input": ONES, "kernel": [[1.0] * 3] * 3}),
            ),
            (
                "conv_transpose2d",
                "output",
                post_json(
                    "/api/v1/conv_transpose2d",
                    {"input": [[1.0] * 16] * 16, "kernel": [[1.0] * 3] * 3},
                ),
            ),
            (
                "pool2d",
                "output",
                post_json("/api/v1/pool2d", {"input": ONES, "kernel_size": 3, "stride": 1}),
            ),
            ("image conv2d", "output", post_image(IMAGE + "conv2d", {"kernel": "box_blur"})),
            (
                "image pool2d",
                "output",
                post_image(IMAGE + "pool2d", {"kernel_size": 3, "stride": 1}),
            ),
            (
                "pipeline",
                "output",
                post_image(
                    IMAGE + "pipeline", {"layers": [{"type": "conv2d", "kernel": "box_blur"}]}
                ),
            ),
        ],
    )
    five = [[1.0] * 5] * 5
    k3 = [[1.0] * 3] * 3
    region = {"rows": [0, 3], "cols": [0, 3]}
    traced = [
        (
            "conv2d",
            "trace_region",
            post_json("/api/v1/conv2d", {"input": five, "kernel": k3, "trace": True}),
        ),
        (
            "pool2d",
            "trace_region",
            post_json(
                "/api/v1/pool2d", {"input": five, "kernel_size": 3, "stride": 1, "trace": True}
            ),
        ),
        (
            "conv2d region",
            "trace_region",
            post_json(
                "/api/v1/conv2d",
                {"input": ONES, "kernel": k3, "trace": True, "trace_region": region},
            ),
        ),
        (
            "image conv2d",
            "params.trace_region",
            post_image(IMAGE + "conv2d", {"kernel": "box_blur", "trace_region": region}),
        ),
        (
            "image pool2d",
            "params.trace_region",
            post_image(IMAGE + "pool2d", {"kernel_size": 3, "stride": 1, "trace_region": region}),
        ),
    ]
    transposed = (
        "conv_transpose2d",
        "trace_region",
        post_json(
            "/api/v1/conv_transpose2d", {"input": [[1.0] * 3] * 3, "kernel": k3, "trace": True}
        ),
    )
    yield Case("max_trace_steps", 8, [*traced, transposed])  # 9 steps (input cells)
    yield Case("max_trace_values", 100, traced)  # 9 steps x (9 window + 9 products)
    # conv_transpose2d: 9 steps x (9 scaled + 9 targets) + its direct convolution's
    # 7 x 7 input and 3 x 3 kernel = 220 values
    yield Case("max_trace_values", 200, [transposed])
    yield Case(
        "max_image_pixels",
        100,
        [(url, "image", send) for url, send in every_image_path()],  # 400 pixels
    )
    yield Case(
        "max_image_side",
        16,
        [(url, "max_side", send) for url, send in every_image_path(max_side="17")],
    )
    yield Case(
        "max_feature_elements",
        100,
        [(url, "input", send) for url, send in every_image_path()],  # 400 values
    )
    yield Case(
        "max_crop_side",
        4,
        [
            (
                "rows",
                "params.rows",
                post_image(IMAGE + "pixels", {"rows": [0, 5], "cols": [0, 1]}),
            ),
            (
                "cols",
                "params.cols",
                post_image(IMAGE + "pixels", {"rows": [0, 1], "cols": [2, 7]}),
            ),
        ],
    )
    yield Case(
        "max_pipeline_layers",
        2,
        [
            (
                fmt,
                "params.layers",
                post_image(
                    IMAGE + f"pipeline?format={fmt}", {"layers": [{"type": "activation"}] * 3}
                ),
            )
            for fmt in ("json", "npy", "png")
        ],
    )
    for name, value, out_features in (
        ("max_linear_features", 4, 5),
        ("max_linear_weights", 100, 1),  # 20 x 20 = 400 inputs x 1 output
    ):
        dense = {"layers": [{"type": "flatten"}, {"type": "linear", "out_features": out_features}]}
        yield Case(
            name,
            value,
            [
                (
                    fmt,
                    "params.layers[1].out_features",
                    post_image(IMAGE + f"pipeline?format={fmt}", dense),
                )
                for fmt in ("json", "npy")
            ],
        )
    yield Case(
        "max_learn_steps",
        10,
        [(fmt, "steps", learn({"steps": 11}, fmt)) for fmt in ("json", "sse")],
    )
    yield Case(
        "max_learn_kernel_side",
        2,
        [
            ("preset", "target", learn({"target": "sobel_x"})),
            ("values", "target", learn({"target": k3})),
            ("kernel_size", "kernel_size", learn({"target": [[1.0]], "kernel_size": 3})),
            ("sse", "target", learn({"target": "sobel_x"}, "sse")),
        ],
    )
    yield Case(
        "max_learn_image_side",
        16,
        [
            ("noise", "max_side", learn({"max_side": 17})),
            ("sample", "max_side", learn({"max_side": 17, "sample": "scene"})),
            ("sse", "max_side", learn({"max_side": 17}, "sse")),
        ],
    )
    yield Case(
        "max_model_samples",
        5,
        [
            (
                "samples",
                "limit",
                lambda c: c.get("/api/v1/models/digits/samples", params={"limit": 6}),
            ),
            (
                "misclassified",
                "limit",
                lambda c: c.get(
                    "/api/v1/models/digits/samples", params={"limit": 6, "misclassified": True}
                ),
            ),
        ],
    )

    own = {
        "classes": ["a", "b"],
        "examples": [{"label": "ab"[i % 2], "input": [[1.0] * 28] * 28} for i in range(6)],
    }
    for name, value, body, field in (
        ("max_train_epochs", 2, {"dataset": "digits", "epochs": 3}, "epochs"),
        ("max_train_width", 8, {"dataset": "digits", "widths": [8, 8, 16, 16]}, "widths"),
        ("max_train_examples", 5, {"dataset": own}, "dataset.examples"),
    ):
        yield Case(
            name,
            value,
            [
                ("json", field, post_json("/api/v1/models/train?format=json", body)),
                ("sse", field, post_json("/api/v1/models/train", body)),
            ],
        )


CASES = list(_cases())


def test_every_413_limit_has_a_case() -> None:
    assert {c.limit for c in CASES} == {n for n, lim in LIMITS.items() if lim.status == 413}


@pytest.fixture(scope="module")
def make_client() -> Iterator[Callable[[str, int], TestClient]]:
    clients: list[TestClient] = []

    def make(limit: str, value: int) -> TestClient:
        client = TestClient(create_app(Settings(**{limit: value})))  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.limit}-{c.paths[0][1]}" for c in CASES])
def test_a_limit_answers_the_same_on_every_path(
    make_client: Callable[[str, int], TestClient], case: Case
) -> None:
    client = make_client(case.limit, case.value)
    limit = LIMITS[case.limit]
    tail = f"is over the limit of {case.value:,} (set {limit.env} to change it)"
    reasons = {}
    for label, field, send in case.paths:
        r = send(client)
        assert r.status_code == 413, (label, r.text)
        detail = r.json()["detail"]
        assert detail.startswith(f"{field}: "), (label, detail)
        assert detail.endswith(tail), (label, detail)
        reasons[label] = detail.removeprefix(f"{field}: ")
    assert len(set(reasons.values())) == 1, reasons
