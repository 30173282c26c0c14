"""Suite-wide setup."""

import logging

import pytest


@pytest.fixture(autouse=True, scope="session")
def _quiet_access_log() -> None:
    """The app logs one JSON line per request to stderr; tests read it through caplog."""
    import app.main  # noqa: F401  (creating the app installs the handler)

    logger = logging.getLogger("convscope.access")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.addHandler(logging.NullHandler())  # so apps created later add no stderr handler
