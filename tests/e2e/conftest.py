"""Browser-test fixtures: a real `python -m app serve` on a free port and Debian's Chromium via Playwright.

The server is session-scoped (one subprocess for every browser test, from the harness in
tests/support/server.py). The browser is module-scoped: Playwright's sync API cannot run two instances
in one process, and module scope lets a test module that still brings its own fixtures (same names) run
before or after this one without overlap.
Without /usr/bin/chromium the browser tests are skipped, except in CI (env CI set), where they fail.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import REPO, ServerProcess

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CHROMIUM_WAIT_S = 240  # in CI, Chromium may still be installing (make test's system-deps) when the tests start
VIEWPORT = {"width": 1600, "height": 1000}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
PROJECTOR = {"viewport": {"width": 1920, "height": 1080}}


def _chromium() -> Path:
    """The Chromium binary: skip without it locally; in CI wait a while for it, then fail."""
    if CHROMIUM.exists():
        return CHROMIUM
    if not os.environ.get("CI"):
        pytest.skip(f"{CHROMIUM} is not installed (`make test` installs it with apt-get); the browser tests need it")
    deadline = time.monotonic() + CHROMIUM_WAIT_S
    while not CHROMIUM.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"{CHROMIUM} did not appear within {CHROMIUM_WAIT_S} s; CI must run the browser tests")
        time.sleep(1)
    return CHROMIUM


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m app serve` on a free port (one worker, CPU), up once /healthz answers."""
    with ServerProcess(workers=1, base=tmp_path_factory.mktemp("e2e-server")) as server:
        yield server.http


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (playwright cannot download browsers here)."""
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watched:
    """A page and what it reported: console errors, page errors, and every request that left the server."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: self._check(r.url))
        page.on("websocket", lambda ws: self._check(ws.url.replace("ws://", "http://", 1)))

    def _check(self, url: str) -> None:
        self.requests.append(url)
        if not (url.startswith(self.base + "/") or url == self.base or url.startswith(("data:", "blob:"))):
            self.outside.append(url)


@pytest.fixture
def watched(browser: Any, server_url: str) -> Iterator[Watched]:
    """A fresh browser context and page on the test server, watched for errors and outside requests."""
    yield from _watched_on(browser, server_url, {"viewport": VIEWPORT, "accept_downloads": True})


def _watched_on(browser: Any, base: str, screen: dict[str, Any]) -> Iterator[Watched]:
    context = browser.new_context(**screen)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield Watched(page, base)
    context.close()


@pytest.fixture
def phone(browser: Any, server_url: str) -> Iterator[Watched]:
    """`watched` on a 390 × 844 phone (touch)."""
    yield from _watched_on(browser, server_url, PHONE)


@pytest.fixture
def projector(browser: Any, server_url: str) -> Iterator[Watched]:
    """`watched` on a 1920 × 1080 projector."""
    yield from _watched_on(browser, server_url, PROJECTOR)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/ at the repository root (screenshots a person looks at)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
