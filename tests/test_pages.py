"""app/pages.py: one page table drives the routes and the navigation of every page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import app
from app.pages import PAGES

NAV_LINK = re.compile(r'<a href="([^"]+)" data-testid="nav-([a-z_-]+)"( aria-current="page")?>')


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def test_the_table_has_one_entry_per_path_and_name() -> None:
    assert len({p.path for p in PAGES}) == len(PAGES)
    assert len({p.name for p in PAGES}) == len(PAGES)


@pytest.mark.parametrize("entry", [p for p in PAGES if p.rendered], ids=lambda p: p.name)
def test_each_page_renders_the_table_as_its_navigation(client: TestClient, entry) -> None:
    r = client.get(entry.path)
    assert r.status_code == 200
    assert f'<body data-page="{entry.name}"' in r.text
    assert f"<title>{entry.title} · ConvScope</title>" in r.text
    links = NAV_LINK.findall(r.text)
    assert [(href, name) for href, name, _ in links] == [(p.path, p.name) for p in PAGES]
    assert [name for _, name, current in links if current] == [entry.name]


def test_an_entry_served_elsewhere_is_linked_and_answers(client: TestClient) -> None:
    elsewhere = [p for p in PAGES if not p.rendered]
    assert [p.path for p in elsewhere] == ["/docs"]
    for entry in elsewhere:
        assert client.get(entry.path).status_code == 200
