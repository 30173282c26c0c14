"""docs/api.md, the API reference in the repository, matches the code."""

from __future__ import annotations

import re
from pathlib import Path

from app.limits import LIMITS
from app.main import app
from app.render import COLOR_RULE

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "api.md").read_text()


def test_every_endpoint_of_the_openapi_schema_has_a_section() -> None:
    headings = set(re.findall(r"^### `([A-Z]+ \S+)`$", DOC, re.MULTILINE))
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            assert f"{method.upper()} {path}" in headings, f"{method.upper()} {path}"


def test_every_limit_is_listed_with_its_default_and_status() -> None:
    rows = {
        env: (default, status)
        for env, default, status in re.findall(
            r"^\| `(CONVSCOPE_[A-Z_]+)` \| ([\d.]+) \| ([^|]+?) \|", DOC, re.MULTILINE
        )
    }
    for limit in LIMITS.values():
        default, status = rows[limit.env]
        assert float(default) == limit.default, limit.env
        assert status.split()[0] == (str(limit.status) if limit.status else "none"), limit.env


def test_the_colour_rule_is_quoted_as_served() -> None:
    quoted = " ".join(line[2:] for line in DOC.splitlines() if line.startswith("> "))
    assert quoted == COLOR_RULE


def test_the_readme_links_the_reference() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "](docs/api.md)" in readme


def test_the_code_cites_the_reference_in_the_repository() -> None:
    for folder in ("app", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            assert not re.search(r"(?<!docs/)\bAPI\.md", text), path
