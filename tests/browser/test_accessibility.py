"""Accessibility as a test: axe-core (vendored, MPL-2.0) on every page of the page table.

Each page is opened at 1280 and 375 px, left to finish its requests, and checked against
the WCAG 2.0/2.1 A and AA rules; a serious or critical violation fails the test with the
rule, its help text and the offending elements.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from app.pages import PAGES

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_VERSION = "4.14.1"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


def page_paths() -> list[str]:
    """Every path of the page table in app/pages.py (the one list of pages)."""
    return [getattr(row, "path", None) or row[0] for row in PAGES]


def test_the_vendored_axe_is_the_pinned_release() -> None:
    source = AXE.read_bytes()
    assert hashlib.sha256(source).hexdigest() == AXE_SHA256
    assert source.startswith(f"/*! axe v{AXE_VERSION}".encode())


def test_axe_finds_a_serious_violation_when_there_is_one(open_page: Any) -> None:
    """The harness itself: a button without a name is a critical violation axe reports."""
    page, watch = open_page("/about")
    assert blocking_violations(page) == []
    page.evaluate(
        "document.querySelector('main').append(Object.assign("
        "document.createElement('button'), {className: 'nameless'}))"
    )
    found = blocking_violations(page)
    assert [v.split(":")[0] for v in found] == ["button-name (critical)"], found
    watch.assert_clean()


# Swagger UI 5.35 (vendored, /docs) nests each operation's copy-path button inside the
# operation's summary button; that markup is the library's, so on /docs that one rule is
# off. Every other rule runs there, and every rule runs on the app's own pages.
VENDORED_RULES_OFF = {"/docs": ["nested-interactive"]}


def blocking_violations(page: Any, rules_off: list[str] | None = None) -> list[str]:
    # Evaluated through the DevTools protocol, which the page's CSP (script-src 'self') allows.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        """([tags, off]) => axe.run(document, {
          runOnly: {type: 'tag', values: tags},
          rules: Object.fromEntries(off.map((id) => [id, {enabled: false}])),
        })""",
        [WCAG_AA, rules_off or []],
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("path", page_paths())
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_no_serious_accessibility_violations(
    open_page: Any, path: str, viewport: dict[str, int]
) -> None:
    page, watch = open_page(path, viewport)
    page.wait_for_load_state("networkidle")  # the page has drawn what it asked for
    page.wait_for_function("!document.querySelector('[aria-busy=true]')")
    assert blocking_violations(page, VENDORED_RULES_OFF.get(path)) == []
    watch.assert_clean()
