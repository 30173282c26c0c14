"""Helpers shared by the browser tests: waiting for a page's drawn states and reading the
link a page keeps of its settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs


def renders(page: Any, stage: str = "play-stage") -> int:
    """How many results the page's stage (`data-renders`) has drawn so far."""
    return int(page.get_by_test_id(stage).get_attribute("data-renders") or 0)


def wait_rendered(page: Any, before: int, stage: str = "play-stage") -> None:
    """Wait until the page has drawn a result newer than `before` and is no longer busy."""
    page.wait_for_function(
        """([testid, before]) => {
            const stage = document.querySelector(`[data-testid="${testid}"]`);
            return Number(stage.dataset.renders || 0) > before && !stage.hasAttribute("aria-busy");
        }""",
        arg=[stage, before],
    )


def shown_link(page: Any) -> str:
    """The path and query the page keeps in its address, read in the page itself:
    `page.url` learns of the page's `history.replaceState` by an event, so it can lag."""
    return str(page.evaluate("location.pathname + location.search"))


def shown_query(page: Any) -> dict[str, list[str]]:
    """The page's query parameters, read in the page (see `shown_link`)."""
    return parse_qs(page.evaluate("location.search.slice(1)"))
