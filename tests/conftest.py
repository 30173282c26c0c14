"""Suite-wide setup, and markers by where a test lives (``make test-fast`` leaves them out)."""

import logging
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
MARK_BY_PATH = {  # path under tests/ -> marker
    "browser": pytest.mark.browser,
    "api/test_schemathesis.py": pytest.mark.fuzz,
    "test_bench.py": pytest.mark.slow,  # runs scripts/bench.py twice
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        where = item.path.relative_to(TESTS).as_posix()
        for prefix, mark in MARK_BY_PATH.items():
            if where == prefix or where.startswith(f"{prefix}/"):
                item.add_marker(mark)


@pytest.fixture(autouse=True, scope="session")
def _quiet_access_log() -> None:
    """The app logs one JSON line per request to stderr; tests read it through caplog."""
    import app.main  # noqa: F401  (creating the app installs the handler)

    logger = logging.getLogger("convscope.access")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.addHandler(logging.NullHandler())  # so apps created later add no stderr handler
