"""No JavaScript computes an output size or a size formula: the pages print the
``geometry`` and ``geometry.formula`` that the API returns.

The scanner looks, statement by statement, for the shapes such code takes: a floor or
ceiling symbol written into a string, a division by a stride, a dilated kernel extent
``d * (k - 1)``, the transposed size ``(n - 1) * stride``, and ``Math.floor``/``Math.ceil``
of an expression that names a kernel, padding, stride or dilation. The snippets below,
taken from pages that once did this, prove that it would notice.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "static" / "js"

NAMES = r"(?:stride|padding|pad|kernel(?:_size)?|effective_kernel|dilation|\.k[hw]?|\.s|\.d)\b"
PATTERNS = {
    "a floor/ceiling formula written in JavaScript": re.compile(r"[⌊⌋⌈⌉]"),
    "a division by a stride": re.compile(r"/\s*\(?\s*[\w.$\[\]]*(?:\bstride\b|\bs\.s\b)"),
    "a dilated kernel extent d * (k - 1)": re.compile(
        r"(?:dilation|\.d)\s*(?:\[\w+\])?\s*\*\s*\(\s*[\w.\[\]]*k[\w.\[\]]*\s*-\s*1\s*\)"
    ),
    "a transposed size (n - 1) * stride": re.compile(
        r"\(\s*[\w.\[\]]+\s*-\s*1\s*\)\s*\*\s*[\w.\[\]]*(?:stride|\bs\.s\b)"
    ),
    "Math.floor/ceil of a kernel, padding, stride or dilation": re.compile(
        r"Math\.(?:floor|ceil)\((?:[^;()]|\([^;()]*\))*" + NAMES
    ),
}


def geometry_code(source: str) -> list[str]:
    """The statements of `source` that compute an output size or write a size formula."""
    source = re.sub(r"^\s*//.*$", "", source, flags=re.M)  # comments may explain the rule
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    found = []
    for statement in re.split(r";|\n(?=\s*(?:const|let|return|if)\b)", source):
        for why, pattern in PATTERNS.items():
            if pattern.search(statement):
                found.append(f"{why}: {' '.join(statement.split())[:160]}")
                break
    return found


# Code that once computed sizes in the pages (each must be caught).
OLD_CODE = [
    "const wo = Math.floor((cx.end - cx.start + 2 * pad - g.effective_kernel[1]) / g.stride[1])"
    " + 1;",
    "const steps = (Math.floor((hp - eh) / s.stride) + 1) * (Math.floor((wp - ew) / s.stride)"
    " + 1);",
    "const eh = s.dilation * (kh - 1) + 1;",
    "const ekh = s.d * (s.kh - 1) + 1;",
    "const oh = (s.h - 1) * s.s - 2 * ph + ekh + s.op;",
    'const general = "out = \u230a(in + pad \u2212 dilation\u00b7(kernel \u2212 1) \u2212 1)'
    ' / stride\u230b + 1";',
    "if (s.padding > Math.floor(s.k / 2)) {",
    "return [s.d * (s.kh - 1), s.d * (s.kh - 1), s.d * (s.kw - 1), s.d * (s.kw - 1)];",
]

# Code that only draws (must not be caught).
DRAWING_CODE = [
    "const cell = Math.max(22, Math.min(44, Math.floor(200 / Math.max(rows, cols))));",
    "onPick(Math.min(H - 1, Math.floor((y / canvas.height) * H)), 0);",
    "const c = Math.floor((px - x) / pitch);",
    "const w0 = i * stride - before;",
    "byTestId(root, 'output-size').textContent = formatShape(g.output);",
]


@pytest.mark.parametrize("code", OLD_CODE)
def test_the_scanner_catches_size_arithmetic(code: str) -> None:
    assert geometry_code(code), f"not caught: {code}"


@pytest.mark.parametrize("code", DRAWING_CODE)
def test_the_scanner_lets_drawing_code_be(code: str) -> None:
    assert geometry_code(code) == []


def js_files() -> list[Path]:
    files = sorted(p for p in JS.rglob("*.js") if "vendor" not in p.parts)
    assert len(files) > 10, f"expected the page scripts under {JS}"
    return files


@pytest.mark.parametrize("path", js_files(), ids=lambda p: str(p.relative_to(JS)))
def test_no_javascript_computes_an_output_size(path: Path) -> None:
    found = geometry_code(path.read_text(encoding="utf-8"))
    assert found == [], f"{path.relative_to(ROOT)} computes sizes itself:\n" + "\n".join(found)
