"""Accessibility as a test: axe-core (vendored, MPL-2.0) on every page of the page table.

Each page is opened at 1280 and 375 px and in lecture mode (?lecture=1 on a 1024x768
projector at 150 %: 683x512 CSS px), left to finish its requests, and checked against
the WCAG 2.0/2.1 A and AA rules; a serious or critical violation fails the test with the
rule, its help text and the offending elements. The same pages must reflow (WCAG 1.4.10):
nothing wider than the window, and no select too narrow for the choice it shows.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from app.pages import PAGES

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
PROJECTOR = {"width": 683, "height": 512}
VIEWS = {"1280": (DESKTOP, ""), "375": (PHONE, ""), "lecture": (PROJECTOR, "?lecture=1")}

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


# The parts of the page that are wider than the window although nothing scrolls them
# sideways, and the selects whose chosen text is cut off (measured in the select's font).
REFLOW = """() => {
    const width = document.documentElement.clientWidth;
    const scrolls = (el) => { for (let p = el.parentElement; p; p = p.parentElement) {
        const x = getComputedStyle(p).overflowX; if (x !== 'visible' && x !== 'clip') return true; }
      return false; };
    const name = (el) => el.tagName.toLowerCase()
      + (el.dataset.testid ? `[${el.dataset.testid}]` : '') + (el.id ? `#${el.id}` : '');
    const wide = [...document.body.querySelectorAll('*')].filter((el) => {
      const box = el.getBoundingClientRect();
      return box.width > 0 && box.right > width + 1 && !scrolls(el);
    }).map(name);
    const probe = document.createElement('span');
    probe.style.cssText = 'position:absolute;visibility:hidden;white-space:pre';
    document.body.append(probe);
    const shown = [...document.querySelectorAll('select')].filter((s) => s.offsetParent);
    const clipped = shown.filter((s) => {
      const cs = getComputedStyle(s);
      probe.style.font = cs.font;
      probe.textContent = s.selectedOptions[0]?.textContent ?? '';
      // the text box: the select less its padding, border and the arrow (about 1.2em)
      const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)
        - 1.2 * parseFloat(cs.fontSize);
      return probe.getBoundingClientRect().width > room + 0.5;
    }).map((s) => `${name(s)}: ${s.selectedOptions[0]?.textContent}`);
    probe.remove();
    return {
      overflow: document.documentElement.scrollWidth - width,
      wide: wide.slice(0, 5),
      clipped,
    };
}"""


@pytest.mark.parametrize("path", page_paths())
@pytest.mark.parametrize("view", list(VIEWS))
def test_no_serious_accessibility_violations(open_page: Any, path: str, view: str) -> None:
    viewport, query = VIEWS[view]
    page, watch = open_page(f"{path}{query}", viewport)
    page.wait_for_load_state("networkidle")  # the page has drawn what it asked for
    page.wait_for_function("!document.querySelector('[aria-busy=true]')")
    if query:
        assert page.evaluate("document.documentElement.classList.contains('lecture')")
    assert blocking_violations(page, VENDORED_RULES_OFF.get(path)) == []
    assert page.evaluate(REFLOW) == {"overflow": 0, "wide": [], "clipped": []}
    watch.assert_clean()
