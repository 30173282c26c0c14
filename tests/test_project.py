"""The README, CI and packaging say what the project does."""

import re
import subprocess
import sys
from pathlib import Path

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_commands() -> None:
    head = "\n".join(README.splitlines()[:20])
    assert "make run" in head
    assert "make test" in head


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", script, re.MULTILINE)


def test_readme_lists_every_limit_with_its_default() -> None:
    rows = dict(re.findall(r"^\| `(CONVSCOPE_[A-Z_]+)` \| ([\d.]+) \|", README, re.MULTILINE))
    for name, field in Settings.model_fields.items():
        if name.endswith("_dir"):
            continue
        if isinstance(field.default, int | float):
            assert rows.get(f"CONVSCOPE_{name.upper()}") == str(field.default), name
        else:
            assert f"`CONVSCOPE_{name.upper()}`" in README, name


def test_settings_read_environment_variables(monkeypatch) -> None:
    monkeypatch.setenv("CONVSCOPE_MAX_TRACE_STEPS", "7")
    assert Settings().max_trace_steps == 7


def test_console_command_offers_host_port_reload() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in ("--host", "--port", "--reload"):
        assert flag in out


def test_every_install_is_pinned() -> None:
    lock = (ROOT / "requirements.lock").read_text().split()
    pins = [line for line in lock if line and not line.startswith("#")]
    assert pins and all("==" in line for line in pins)
    for package in ("fastapi", "numpy", "pillow", "uvicorn", "pytest", "torch"):
        assert any(line.lower().startswith(f"{package}==") for line in pins), package
