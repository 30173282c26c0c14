"""scripts/bench.py runs in its quick mode and prints one line per case."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    # the environment is passed through unchanged (BLAS settings included)
    return subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def case_names() -> list[str]:
    listed = run("--quick", "--list")
    assert listed.returncode == 0, listed.stderr
    names = listed.stdout.split()
    assert len(names) >= 14
    return names


@pytest.mark.parametrize("extra", [(), ("--no-peers",)], ids=["peers", "no-peers"])
def test_bench_quick_prints_a_line_per_case(case_names: list[str], extra: tuple[str, ...]) -> None:
    done = run("--quick", *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for name in case_names:
        rows = [line for line in lines if line.split()[:1] == [name]]
        assert len(rows) == 1, f"no line for {name}:\n{done.stdout}"
        fields = rows[0].split()
        assert float(fields[1]) > 0  # our median ms
        if extra:
            assert fields[3:8] == ["n/a"] * 5  # scipy, opencv, torch, and both ratios
    assert "geometric mean ours/opencv" in done.stdout
