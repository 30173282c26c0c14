"""The ``client`` fixture for API tests, and ``limited_client`` for tests of the limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.main import app, create_app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def limited_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., TestClient]]:
    """``limited_client(max_body_bytes=100, ...)``: a fresh app built with those limits.

    Settings are read once (``get_settings`` is cached), so the cache is cleared before
    and after; the handlers read the same cached settings while the test runs.
    """
    clients: list[TestClient] = []

    def make(**limits: int) -> TestClient:
        for name, value in limits.items():
            monkeypatch.setenv(f"CONVSCOPE_{name.upper()}", str(value))
        get_settings.cache_clear()
        c = TestClient(create_app())
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()
    monkeypatch.undo()
    get_settings.cache_clear()
