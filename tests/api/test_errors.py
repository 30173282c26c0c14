"""Malformed and over-limit requests: a 4xx whose detail names the field, never a 500."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings, get_settings
from app.limits import LIMITS
from app.main import create_app

CONV = "/api/v1/conv2d"
PATCH = "[[0.6, 0.2, 0.6], [0.1, -0.2, -0.3], [-0.5, -0.1, -0.3]]"
JSON = {"content-type": "application/json"}


def messages(response: Any) -> list[str]:
    detail = response.json()["detail"]
    return [detail] if isinstance(detail, str) else [d["msg"] for d in detail]


def assert_names(response: Any, field: str) -> None:
    """Every 4xx names its field: a plain string mentions it; each 422 item is about the
    top-level field (a union such as 2-D | 3-D input reports each branch), by a message
    that starts with it or by its loc and a mention; one item names the exact path."""
    detail = response.json()["detail"]
    if isinstance(detail, str):
        assert field in detail, detail
        return
    assert detail, "an empty error list explains nothing"
    top = field.split("[")[0].split(".")[0]
    for item in detail:
        assert set(item) == {"loc", "msg", "type"}
        assert item["msg"].startswith(top) or (item["loc"][1] == top and top in item["msg"]), item
    assert any(field in item["msg"] for item in detail), detail


def post_raw(client: TestClient, body: str, url: str = CONV) -> Any:
    return client.post(url, content=body, headers=JSON)


# ---- undecodable and malformed bodies -----------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '{"input": ' + PATCH,  # truncated
        "{'input': [[1]], 'kernel': [[1]]}",  # single quotes
        '{"input": [[1]], "kernel": [[1]],}',  # trailing comma
        "",
    ],
)
def test_malformed_json_is_422_about_the_body(client: TestClient, body: str) -> None:
    r = post_raw(client, body)
    assert r.status_code == 422
    assert_names(r, "body")


@pytest.mark.parametrize(
    "path", [CONV, "/api/v1/loss", "/api/v1/learn", "/api/v1/models/train?format=json"]
)
def test_body_that_is_not_utf8_is_400_naming_the_body(client: TestClient, path: str) -> None:
    r = client.post(path, content=b'{"input": [[1\xff]]}', headers=JSON)
    assert r.status_code == 400
    assert r.json()["detail"] == "body: cannot be read as JSON text (send UTF-8 JSON)"


@pytest.mark.parametrize("body", ["[1, 2]", "3", "null", '"conv"'])
def test_body_that_is_not_an_object_is_422(client: TestClient, body: str) -> None:
    r = post_raw(client, body)
    assert r.status_code == 422
    assert_names(r, "body")


def test_missing_required_field_is_422(client: TestClient) -> None:
    r = client.post(CONV, json={"input": [[1.0]]})
    assert r.status_code == 422
    assert_names(r, "kernel")


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        (CONV, {"input": [[1.0]], "kernel": [[1.0]], "strides": 2}, "strides"),
        (CONV, {"input": [[1.0]], "kernel": [[1.0]], "paddin": 1}, "paddin"),
        ("/api/v1/pool2d", {"input": [[1.0]], "kernel_size": 1, "stride_": 1}, "stride_"),
        ("/api/v1/activation", {"input": [1.0], "fn": "relu"}, "fn"),
        ("/api/v1/geometry", {"input_size": [3, 3], "kernel_size": 3, "kernel": 3}, "kernel"),
        ("/api/v1/batch_norm", {"input": [[[1.0, 2.0]]], "gamma": [1.0]}, "gamma"),
        ("/api/v1/dropout", {"input": [1.0], "rate": 0.1}, "rate"),
        (
            "/api/v1/conv_transpose2d",
            {"input": [[1.0]], "kernel": [[1.0]], "out_padding": 1},
            "out_padding",
        ),
        (
            CONV,
            {
                "input": [[1.0]],
                "kernel": [[1.0]],
                "trace": True,
                "trace_region": {"rows": [0, 1], "cols": [0, 1], "x": 1},
            },
            "trace_region.x",
        ),
    ],
)
def test_unknown_field_is_422_naming_it(
    client: TestClient, url: str, body: dict[str, Any], field: str
) -> None:
    r = client.post(url, json=body)
    assert r.status_code == 422
    assert_names(r, field)
    assert any("Extra inputs" in m for m in messages(r))


# ---- tensors ------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
@pytest.mark.parametrize("field", ["input", "kernel"])
def test_non_finite_numbers_are_422(client: TestClient, token: str, field: str) -> None:
    tensors = {"input": "[[0.5, X], [0.1, -0.2]]", "kernel": "[[1, X], [0, 1]]"}
    tensors = {
        name: t.replace("X", token if name == field else "0.25") for name, t in tensors.items()
    }
    r = post_raw(client, f'{{"input": {tensors["input"]}, "kernel": {tensors["kernel"]}}}')
    assert r.status_code == 422, r.text
    assert_names(r, field)
    assert any("finite" in m for m in messages(r))


@pytest.mark.parametrize("token", ["NaN", "Infinity"])
def test_non_finite_scalars_are_422(client: TestClient, token: str) -> None:
    r = post_raw(client, f'{{"input": [[1]], "kernel": [[1]], "bias": {token}}}')
    assert r.status_code == 422
    assert_names(r, "bias")
    r = post_raw(
        client,
        f'{{"input": [1], "function": "leaky_relu", "negative_slope": {token}}}',
        "/api/v1/activation",
    )
    assert r.status_code == 422
    assert_names(r, "negative_slope")
    r = post_raw(client, f'{{"input": [1], "p": {token}}}', "/api/v1/dropout")
    assert r.status_code == 422
    assert_names(r, "p")


@pytest.mark.parametrize(
    ("tensor", "field_path"),
    [
        ([[1.0, 2.0], [3.0]], "input"),
        ([[[1.0, 2.0]], [[1.0]]], "input"),
        ([[[1.0, 2.0]], [[1.0, 2.0], [3.0, 4.0]]], "input"),
        ([], "input"),
        ([[]], "input[0]"),
        ([[1.0, "2"]], "input[0][1]"),
        ([[1.0, True]], "input[0][1]"),
        ([[1.0, None]], "input[0][1]"),
        ([[1.0, [2.0]]], "input"),
        ("1,2", "input"),
        (1.0, "input"),
    ],
)
def test_bad_tensors_are_422(client: TestClient, tensor: Any, field_path: str) -> None:
    r = client.post(CONV, json={"input": tensor, "kernel": [[1.0]]})
    assert r.status_code == 422, r.text
    assert_names(r, field_path)


@pytest.mark.parametrize(
    "url", ["/api/v1/activation", "/api/v1/dropout", "/api/v1/pool2d", "/api/v1/batch_norm"]
)
def test_ragged_input_is_422_everywhere(client: TestClient, url: str) -> None:
    r = client.post(url, json={"input": [[[1.0, 2.0], [3.0]]]})
    assert r.status_code == 422
    assert_names(r, "input")


def test_ragged_kernel_is_422(client: TestClient) -> None:
    r = client.post(CONV, json={"input": [[1.0, 2.0]], "kernel": [[1.0], [1.0, 2.0]]})
    assert r.status_code == 422
    assert_names(r, "kernel")


# ---- hyperparameters ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stride", 0),
        ("stride", [1, 0]),
        ("stride", -1),
        ("stride", 1.5),
        ("stride", True),
        ("stride", "2"),
        ("stride", [1, 1, 1]),
        ("dilation", 0),
        ("groups", 0),
        ("padding", -1),
        ("padding", [1, 2, 3]),
        ("padding", [0, 0, 0, 0, 0]),
        ("padding", "SAME"),
        ("padding", "causal"),
        ("padding_mode", "constant"),
        ("trace", "yes"),
        ("trace", 1),
        ("stride", 2**40),
    ],
)
def test_bad_conv_parameters_are_422(client: TestClient, field: str, value: Any) -> None:
    r = client.post(CONV, json={"input": [[1.0, 2.0], [3.0, 4.0]], "kernel": [[1.0]], field: value})
    assert r.status_code == 422, r.text
    assert_names(r, field)


def test_kernel_larger_than_input_names_both_sizes(client: TestClient) -> None:
    x = [[0.0] * 7 for _ in range(7)]
    k = [[1.0] * 5 for _ in range(5)]
    r = client.post(CONV, json={"input": x, "kernel": k, "dilation": 2})
    assert r.status_code == 422
    assert messages(r) == ["kernel: (5x5, dilation 2 -> 9x9) is larger than the padded input (7x7)"]
    r = client.post(CONV, json={"input": x, "kernel": k, "padding": 1, "dilation": 2})
    assert r.status_code == 200
    assert r.json()["shape"] == [1, 1]


def test_kernel_larger_than_input_without_dilation(client: TestClient) -> None:
    r = client.post(CONV, json={"input": [[1.0, 2.0]], "kernel": [[1.0, 1.0, 1.0]]})
    assert r.status_code == 422
    assert messages(r) == ["kernel: (1x3) is larger than the padded input (1x2)"]


@pytest.mark.parametrize("padding", [10**6, [10**6, 0], [0, 0, 0, 10**9], 2**31 - 1])
def test_huge_padding_is_413_naming_the_limit(client: TestClient, padding: Any) -> None:
    r = client.post(CONV, json={"input": [[1.0]], "kernel": [[1.0]], "padding": padding})
    assert r.status_code == 413
    assert r.json()["detail"].startswith("input: elements after padding (")
    assert r.json()["detail"].endswith(
        "is over the limit of 1,048,576 (set CONVSCOPE_MAX_TENSOR_ELEMENTS to change it)"
    )


def test_padding_past_int32_is_422(client: TestClient) -> None:
    r = client.post(CONV, json={"input": [[1.0]], "kernel": [[1.0]], "padding": 10**30})
    assert r.status_code == 422
    assert_names(r, "padding")


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        # 10**20 once overflowed numpy's int64 index arithmetic in max pooling (a 500).
        ("/api/v1/pool2d", {"input": [[1.0, 1.0]], "kernel_size": 1, "stride": 10**20}, "stride"),
        (
            "/api/v1/pool2d",
            {"input": [[1.0, 1.0]], "kernel_size": 1, "dilation": 10**20},
            "dilation",
        ),
        (
            "/api/v1/pool2d",
            {"input": [[1.0, 1.0]], "mode": "avg", "kernel_size": 1, "stride": 10**20},
            "stride",
        ),
        ("/api/v1/geometry", {"input_size": [4, 4], "kernel_size": 3, "stride": 10**20}, "stride"),
        (
            "/api/v1/conv_transpose2d",
            {"input": [[1.0]], "kernel": [[1.0]], "dilation": 10**20},
            "dilation",
        ),
    ],
)
def test_astronomical_ints_are_422_not_500(
    client: TestClient, url: str, body: dict[str, Any], field: str
) -> None:
    r = client.post(url, json=body)
    assert r.status_code == 422, r.text
    assert_names(r, field)


def test_largest_allowed_stride_works(client: TestClient) -> None:
    big = 2**31 - 1
    for mode in ("max", "avg"):
        body = {
            "input": [[1.0, 2.0]],
            "mode": mode,
            "kernel_size": 1,
            "stride": big,
            "ceil_mode": True,
            "trace": True,
        }
        r = client.post("/api/v1/pool2d", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["output"] == [[1.0]]


def test_overflow_to_infinity_is_422(client: TestClient) -> None:
    r = client.post(CONV, json={"input": [[1e308, 1e308]], "kernel": [[1e308, 1e308]]})
    assert r.status_code == 422
    assert_names(r, "output")


def test_int_with_too_many_digits_is_a_4xx(client: TestClient) -> None:
    # Python refuses to parse ints of more than 4,300 digits: an undecodable body.
    r = post_raw(client, '{"input": [[1]], "kernel": [[1]], "stride": 1' + "0" * 5000 + "}")
    assert r.status_code == 400
    assert "body" in r.json()["detail"]


# ---- limits -------------------------------------------------------------------------


def _big_body(rows: int) -> str:
    return '{"input": [' + ", ".join(["[1.0, 2.0]"] * rows) + '], "kernel": [[1.0]]}'


def test_body_over_the_limit_by_content_length_is_413(
    limited_client: Callable[..., TestClient],
) -> None:
    client = limited_client(max_body_bytes=200)
    body = _big_body(50)
    r = client.post(CONV, content=body, headers=JSON)
    assert r.status_code == 413
    assert r.json()["detail"] == (
        f"body: bytes ({len(body)}) is over the limit of 200 "
        "(set CONVSCOPE_MAX_BODY_BYTES to change it)"
    )
    assert client.post(CONV, content=_big_body(5), headers=JSON).status_code == 200


def test_streamed_body_over_the_limit_is_413(limited_client: Callable[..., TestClient]) -> None:
    client = limited_client(max_body_bytes=200)
    body = _big_body(50).encode()

    def chunks() -> Iterator[bytes]:  # a generator: sent chunked, with no Content-Length
        for start in range(0, len(body), 40):
            yield body[start : start + 40]

    r = client.post(CONV, content=chunks(), headers=JSON)
    assert r.status_code == 413
    assert "CONVSCOPE_MAX_BODY_BYTES" in r.json()["detail"]


def test_streamed_body_under_the_limit_is_fine(limited_client: Callable[..., TestClient]) -> None:
    client = limited_client(max_body_bytes=200)

    def chunks() -> Iterator[bytes]:
        yield b'{"input": [[1.0, 2.0]], '
        yield b'"kernel": [[3.0]]}'

    r = client.post(CONV, content=chunks(), headers=JSON)
    assert r.status_code == 200
    assert r.json()["output"] == [[3.0, 6.0]]


def test_lying_small_content_length_does_not_bypass_the_limit(
    limited_client: Callable[..., TestClient],
) -> None:
    client = limited_client(max_body_bytes=200)
    body = _big_body(50).encode()

    def chunks() -> Iterator[bytes]:
        yield body

    r = client.post(CONV, content=chunks(), headers=JSON | {"content-length": "10"})
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("url", "body", "what"),
    [
        (CONV, {"input": [[1.0] * 11], "kernel": [[1.0]]}, "input: elements (11)"),
        (CONV, {"input": [[1.0]], "kernel": [[1.0] * 11]}, "kernel: elements (11)"),
        (
            CONV,
            {"input": [[1.0] * 3], "kernel": [[1.0]], "padding": 1},
            "input: elements after padding (15)",
        ),
        ("/api/v1/activation", {"input": [1.0] * 11}, "input: elements (11)"),
        ("/api/v1/dropout", {"input": [1.0] * 11}, "input: elements (11)"),
        ("/api/v1/batch_norm", {"input": [[[1.0] * 11]]}, "input: elements (11)"),
        ("/api/v1/pool2d", {"input": [[1.0] * 11], "kernel_size": 1}, "input: elements (11)"),
        (
            "/api/v1/conv_transpose2d",
            {"input": [[1.0] * 3], "kernel": [[1.0] * 3], "stride": 4},
            "output: elements (11)",
        ),
        ("/api/v1/geometry", {"input_size": [4, 4], "kernel_size": 1}, "output: elements (16)"),
    ],
)
def test_tensor_over_the_element_limit_is_413(
    limited_client: Callable[..., TestClient], url: str, body: dict[str, Any], what: str
) -> None:
    client = limited_client(max_tensor_elements=10)
    r = client.post(url, json=body)
    assert r.status_code == 413, r.text
    assert r.json()["detail"] == (
        f"{what} is over the limit of 10 (set CONVSCOPE_MAX_TENSOR_ELEMENTS to change it)"
    )


def test_a_limited_app_leaves_the_shared_app_alone(client: TestClient) -> None:
    body = {"input": [1.0] * 100}
    with TestClient(create_app(Settings(max_tensor_elements=10))) as limited:
        assert limited.post("/api/v1/activation", json=body).status_code == 413
        r = client.post("/api/v1/activation", json=body)
    assert r.status_code == 200
    assert r.json()["shape"] == [100]
    assert get_settings().max_tensor_elements == LIMITS["max_tensor_elements"].default


def test_kernel_side_over_the_limit_is_413(limited_client: Callable[..., TestClient]) -> None:
    client = limited_client(max_kernel_side=3)
    r = client.post(CONV, json={"input": [[1.0] * 6] * 6, "kernel": [[1.0] * 4] * 4})
    assert r.status_code == 413
    assert r.json()["detail"] == (
        "kernel: side (4) is over the limit of 3 (set CONVSCOPE_MAX_KERNEL_SIDE to change it)"
    )
    r = client.post(CONV, json={"input": [[1.0] * 6] * 6, "kernel": [[1.0] * 3] * 3})
    assert r.status_code == 200
    assert r.json()["shape"] == [4, 4]


def test_trace_over_the_limit_is_413_pointing_to_trace_region(
    limited_client: Callable[..., TestClient],
) -> None:
    client = limited_client(max_trace_steps=8)
    body = {"input": [[1.0] * 3] * 3, "kernel": [[1.0]], "trace": True}
    r = client.post(CONV, json=body)
    expected = (
        "trace_region: trace steps (9) is over the limit of 8 "
        "(set CONVSCOPE_MAX_TRACE_STEPS to change it)"
    )
    assert (r.status_code, r.json()["detail"]) == (413, expected)
    r = client.post(CONV, json=body | {"trace_region": {"rows": [0, 2], "cols": [0, 3]}})
    assert r.status_code == 200
    assert len(r.json()["steps"]) == 6
    r = client.post(
        "/api/v1/pool2d", json={"input": [[1.0] * 3] * 3, "kernel_size": 1, "trace": True}
    )
    assert (r.status_code, r.json()["detail"]) == (413, expected)


def test_an_untraced_request_ignores_the_trace_limit(
    limited_client: Callable[..., TestClient],
) -> None:
    client = limited_client(max_trace_steps=1)
    r = client.post(CONV, json={"input": [[1.0] * 3] * 3, "kernel": [[1.0]]})
    assert r.status_code == 200


# ---- never a 500 --------------------------------------------------------------------


# (url, body, shape, output or None when only finiteness is known); outputs worked by hand
EDGE_CASES: list[tuple[str, dict[str, Any], list[int], Any]] = [
    # circular padding of one cell wraps the input's only value around: [[1, 1]]
    (
        CONV,
        {
            "input": [[1.0]],
            "kernel": [[1.0]],
            "padding": [0, 0, 0, 1],
            "padding_mode": "circular",
            "trace": True,
        },
        [1, 2],
        [[1.0, 1.0]],
    ),
    # replicate padding repeats the edge: [[1, 1, 1]]
    (
        CONV,
        {
            "input": [[1.0]],
            "kernel": [[1.0]],
            "padding": [0, 0, 0, 2],
            "padding_mode": "replicate",
            "trace": True,
        },
        [1, 3],
        [[1.0, 1.0, 1.0]],
    ),
    # "same" adds one column at the right, reflected: [1, 1 | 1]; windows sum to 2
    (
        CONV,
        {
            "input": [[1.0, 1.0]],
            "kernel": [[1.0, 1.0]],
            "padding": "same",
            "padding_mode": "reflect",
        },
        [1, 2],
        [[2.0, 2.0]],
    ),
    (
        CONV,
        {
            "input": [[1.0]],
            "kernel": [[1.0]],
            "stride": 2**31 - 1,
            "dilation": 2**31 - 1,
            "trace": True,
        },
        [1, 1],
        [[1.0]],
    ),
    (
        "/api/v1/activation",
        {"input": [1e308, -1e308], "function": "softmax", "dim": None},
        [2],
        [1.0, 0.0],
    ),
    ("/api/v1/activation", {"input": [1e308, -1e308], "function": "gelu"}, [2], None),
    # alpha * (exp(-1e308) - 1) = -alpha
    ("/api/v1/activation", {"input": [-1e308], "function": "elu", "alpha": 1e308}, [1], [-1e308]),
    # a constant channel: variance 0, so (x - mean) / sqrt(eps) = 0
    ("/api/v1/batch_norm", {"input": [[[1.0, 1.0]]], "eps": 1e-320}, [1, 1, 2], [[[0.0, 0.0]]]),
    # a kept 1e308 would be scaled past float64; with p this close to 1 it is dropped
    ("/api/v1/dropout", {"input": [1e308], "p": 0.9999999999999999, "seed": 3}, [1], [0.0]),
    ("/api/v1/dropout", {"input": [1.0], "seed": 2**63 - 1}, [1], None),
    # "same": ceil(4 / stride) = 1 per axis
    (
        "/api/v1/geometry",
        {"input_size": [4, 4], "kernel_size": 3, "stride": 2**31 - 1, "padding": "same"},
        [1, 1],
        None,
    ),
]


@pytest.mark.parametrize(("url", "body", "shape", "output"), EDGE_CASES)
def test_edge_requests_answer_200(
    client: TestClient, url: str, body: dict[str, Any], shape: list[int], output: Any
) -> None:
    r = client.post(url, json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["shape"] == shape
    if "output" in answer:
        assert np.all(np.isfinite(answer["output"]))
    if output is not None:
        assert answer["output"] == output


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/batch_norm", {"input": [[[1e308, -1e308]]]}, "var"),
        (
            "/api/v1/batch_norm",
            {"input": [[[1.0, 1.0]]], "eps": 1e-320, "weight": [1e308]},
            "output",
        ),
        ("/api/v1/activation", {"input": [1.0], "function": "softmax", "dim": 10**30}, "dim"),
        ("/api/v1/dropout", {"input": [1.0], "seed": 2**63}, "seed"),
    ],
)
def test_edge_requests_answer_422(
    client: TestClient, url: str, body: dict[str, Any], field: str
) -> None:
    r = client.post(url, json=body)
    assert r.status_code == 422, r.text
    assert_names(r, field)


def test_wrong_method_and_unknown_path(client: TestClient) -> None:
    assert client.get(CONV).status_code == 405
    assert client.post("/api/v1/conv3d", json={}).status_code == 404
