"""GET /api/v1/kernels and /api/v1/kernels/{name}."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.spec import REQUIRED_PRESETS

REQUIRED = REQUIRED_PRESETS


def test_list_has_every_required_preset(client: TestClient) -> None:
    r = client.get("/api/v1/kernels")
    assert r.status_code == 200
    kernels = r.json()
    names = [k["name"] for k in kernels]
    assert set(REQUIRED) <= set(names)
    assert len(names) == len(set(names))
    for k in kernels:
        assert set(k) == {"name", "label", "description", "values"}
        assert k["label"] and k["description"].endswith(".")
        rows = k["values"]
        assert rows and all(len(row) == len(rows[0]) > 0 for row in rows)


@pytest.mark.parametrize("name", REQUIRED)
def test_one_kernel_equals_its_list_entry(client: TestClient, name: str) -> None:
    r = client.get(f"/api/v1/kernels/{name}")
    assert r.status_code == 200
    listed = {k["name"]: k for k in client.get("/api/v1/kernels").json()}
    assert r.json() == listed[name]


def test_known_values(client: TestClient) -> None:
    get = lambda name: client.get(f"/api/v1/kernels/{name}").json()["values"]  # noqa: E731
    assert get("horizontal_edge") == [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]
    assert get("identity") == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert get("sobel_x") == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert len(get("gaussian_blur_5x5")) == 5
    assert sum(map(sum, get("gaussian_blur_3x3"))) == pytest.approx(1.0)
    assert sum(map(sum, get("box_blur"))) == pytest.approx(1.0)


def test_horizontal_edge_preset_gives_2_3(client: TestClient) -> None:
    kernel = client.get("/api/v1/kernels/horizontal_edge").json()["values"]
    patch = [[0.6, 0.2, 0.6], [0.1, -0.2, -0.3], [-0.5, -0.1, -0.3]]
    r = client.post("/api/v1/conv2d", json={"input": patch, "kernel": kernel})
    assert r.status_code == 200
    assert r.json()["output"] == [[pytest.approx(2.3, abs=1e-12)]]


@pytest.mark.parametrize("name", ["nope", "Sobel_X", "sobel-x", "%20"])
def test_unknown_name_is_404(client: TestClient, name: str) -> None:
    r = client.get(f"/api/v1/kernels/{name}")
    assert r.status_code == 404
    assert "kernel" in r.json()["detail"] and "sobel_x" in r.json()["detail"]
