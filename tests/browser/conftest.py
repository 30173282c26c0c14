"""A live ConvScope server and a real headless Chromium driven by Playwright.

Every page a test opens is watched: console errors, uncaught exceptions, failed or
4xx/5xx requests and any request to a host other than 127.0.0.1 are recorded so the
test can assert there were none. Screenshots go to ``test-artifacts/screenshots/``
(ignored by git), also when a test fails.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.live import serving

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_SCHEMES = {"data", "blob", "about"}
TIMEOUT_MS = 45_000  # for actions, expect() and load states: a busy machine (two suites on
# two cores) took over 15 s to settle /classify; a bound on waiting for a state, never a sleep


@pytest.fixture(autouse=True, scope="session")
def _expect_timeout() -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)  # Playwright's default of 5 s fails under load


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item so fixtures can tell that a test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """The app served by uvicorn in a daemon thread on a free 127.0.0.1 port."""
    from app.main import app

    with serving(app) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium launched by Playwright; a missing browser fails, never skips."""
    executable = os.environ.get("CONVSCOPE_CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        pytest.fail(
            f"Chromium not found at {executable}: install it (`make check-browser`, or "
            "`apt-get install chromium`) or point CONVSCOPE_CHROMIUM at a Chromium binary",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Exception as exc:  # the message says why Chromium did not start
            pytest.fail(f"could not launch Chromium at {executable}: {exc}", pytrace=False)
        yield launched
        launched.close()


@dataclass
class Hold:
    """One learning run paused after ``after_step`` until the test calls ``release()``."""

    after_step: int
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


class LearnGate:
    """Pauses the live server's learning runs at chosen steps.

    The server runs in this process, so a test can hold a run after it has sent a given
    step: the page then shows that step and stops changing, and the test reads it without
    racing the stream. ``hold(after_step=N)`` applies to the next run that starts (N must
    be a step the run sends: a multiple of ``every``, or its first step).
    """

    def __init__(self, real: Callable[..., Iterator[dict[str, Any]]]) -> None:
        self._real = real
        self._lock = threading.Lock()
        self._pending: list[Hold] = []
        self._holds: list[Hold] = []

    def hold(self, *, after_step: int) -> Hold:
        hold = Hold(after_step)
        with self._lock:
            self._pending.append(hold)
            self._holds.append(hold)
        return hold

    def release_all(self) -> None:
        for hold in self._holds:
            hold.release()

    def learn_kernel(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        with self._lock:
            hold = self._pending.pop(0) if self._pending else None
        for record in self._real(*args, **kwargs):
            yield record
            if hold is not None and record["step"] == hold.after_step:
                # the server sent this step; the next one waits (never forever)
                hold.released.wait(timeout=60)
                hold = None


@pytest.fixture
def learn_gate(live_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LearnGate]:
    """A LearnGate over every ``app`` module that calls ``learn_kernel``; all holds are
    released when the test ends."""
    from app.core import learn

    gate = LearnGate(learn.learn_kernel)
    patched = [
        name
        for name, module in list(sys.modules.items())
        if (name == "app" or name.startswith("app."))
        and getattr(module, "learn_kernel", None) is learn.learn_kernel
    ]
    assert patched, "no app module uses app.core.learn.learn_kernel"
    for name in patched:
        monkeypatch.setattr(sys.modules[name], "learn_kernel", gate.learn_kernel)
    yield gate
    gate.release_all()


@dataclass
class Watch:
    """What went wrong on one page while a test drove it."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    offsite_requests: list[str] = field(default_factory=list)

    def assert_clean(self, *, allow_status: tuple[int, ...] = ()) -> None:
        failed = [
            f for f in self.failed_requests if not f.startswith(allow_status_prefix(allow_status))
        ]
        errors = [
            e for e in self.console_errors if not any(f"status of {s}" in e for s in allow_status)
        ]
        assert errors == [], f"console errors: {errors}"
        assert failed == [], f"failed requests: {failed}"
        assert self.offsite_requests == [], f"requests that left 127.0.0.1: {self.offsite_requests}"


def allow_status_prefix(statuses: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(f"{status} " for status in statuses) or ("\0",)


def watch_page(page: Any) -> Watch:
    watch = Watch()

    def on_console(message: Any) -> None:
        if message.type == "error":
            watch.console_errors.append(message.text)

    def on_request(request: Any) -> None:
        url = urlparse(request.url)
        if url.scheme not in LOCAL_SCHEMES and url.hostname != "127.0.0.1":
            watch.offsite_requests.append(request.url)

    def on_response(response: Any) -> None:
        if response.status >= 400:
            watch.failed_requests.append(
                f"{response.status} {response.request.method} {response.url}"
            )

    page.on("console", on_console)
    page.on("pageerror", lambda error: watch.console_errors.append(f"uncaught: {error}"))
    page.on("request", on_request)
    page.on("response", on_response)

    def on_failed(request: Any) -> None:
        # A request the page itself cancelled (a newer setting made it stale) is not a
        # failure; anything else is.
        if request.failure != "net::ERR_ABORTED":
            watch.failed_requests.append(f"failed {request.url}: {request.failure}")

    page.on("requestfailed", on_failed)
    return watch


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def save_screenshot() -> Any:
    """save_screenshot(page, name): a full-page PNG in test-artifacts/screenshots/."""
    return screenshot


@pytest.fixture
def open_page(browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """open_page(path, viewport=DESKTOP) -> (page, watch); closes them and screenshots failures."""
    opened: list[tuple[Any, Any]] = []

    def _open(path: str, viewport: dict[str, int] = DESKTOP) -> tuple[Any, Watch]:
        context = browser.new_context(viewport=viewport, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        watch = watch_page(page)
        page.goto(f"{live_server}{path}")
        opened.append((context, page))
        return page, watch

    yield _open
    failed = getattr(request.node, "report_call", None)
    for n, (context, page) in enumerate(opened):
        if failed is not None and failed.failed:
            try:
                screenshot(page, f"FAILED-{request.node.name}-{n}")
            except Exception as exc:  # a crashed page cannot be captured; say so
                print(f"could not save a failure screenshot: {exc}")
        context.close()
