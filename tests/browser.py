"""Browser tests' fixtures: Playwright for Python driving Debian's Chromium over CDP.

Nothing is downloaded: Playwright's wheel brings its driver (with its own node) and drives
``/usr/bin/chromium`` (``.ci/run`` installs it); ``playwright install`` is never run. Every
test that uses ``page`` leaves a full-page screenshot named after it in
``test-artifacts/screenshots/`` (or ``$NSSA_TEST_ARTIFACTS/screenshots/``).
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Page,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)
from werkzeug.serving import BaseWSGIServer, make_server

from tests.dashboard_users import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium: the only browser these tests use."""

SCREENSHOTS = (
    Path(
        os.environ.get("NSSA_TEST_ARTIFACTS")
        or Path(__file__).resolve().parents[1] / "test-artifacts"
    )
    / "screenshots"
)
"""Where each test's screenshots go (gitignored)."""

OFFLINE_ARGS = (
    "--no-sandbox",  # root in a container: Chromium refuses to start sandboxed as root
    "--disable-gpu",  # no GPU here; keeps the GPU process from probing for one
    "--disable-quic",  # nothing but HTTP/1.1 to the loopback server
    "--no-first-run",
    "--disable-background-networking",  # no update, safe-browsing or suggestion requests
    "--disable-component-update",
    "--disable-sync",
)
"""Chromium flags that keep it offline and quiet. Playwright 1.65 passes all but
``--disable-gpu`` and ``--disable-quic`` itself; naming them keeps that true if it stops."""

VIEWPORT: ViewportSize = {"width": 1920, "height": 1080}
"""Every page is laid out as on the city's 1920x1080 wall screens."""

WAIT_MS = 15_000
"""How long an action or ``expect`` waits for the page (the test machine is shared)."""

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)"
)
"""Skip mark for the browser test modules."""


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the session. Session-scoped and defined once (imported by
    tests/conftest.py): the sync API refuses a second Playwright while one lives in the thread
    (it keeps its event loop marked running between calls), which two modules each importing a
    browser fixture of this scope would start."""
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=list(OFFLINE_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh profile (no cookies) and page; its last picture is saved as the test's name."""
    context = chromium.new_context(viewport=VIEWPORT, service_workers="block")
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    try:
        yield opened
        shot(opened, request.node.name)
    finally:
        context.close()  # also ends server-sent event streams before the store closes


_UNSAFE = re.compile(r"[^\w.-]+")  # parametrised test ids hold brackets and spaces


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as SCREENSHOTS/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (_UNSAFE.sub("_", name) + ".png")
    page.screenshot(path=path, full_page=True)
    return path


@dataclass
class Misbehaviour:
    """What a page did that attacker data must never make it do."""

    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    policy_violations: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        """Everything seen, labelled; empty for a well-behaved page."""
        return [
            *(f"dialog: {text}" for text in self.dialogs),
            *(f"uncaught: {text}" for text in self.page_errors),
            *(f"console error: {text}" for text in self.console_errors),
            *(f"CSP: {text}" for text in self.policy_violations),
            *(f"left loopback: {url}" for url in self.outside_requests),
        ]


_OFF_LOOPBACK = re.compile(r"^(?!https?://127\.0\.0\.1[:/]).+:")
"""Any URL with a scheme whose host is not the loopback server (data: URLs are not routed)."""

_POLICY = re.compile(r"content[ -]security[ -]policy", re.IGNORECASE)

# Runs before the page's own scripts through CDP, so the page's CSP does not stop it.
_VIOLATION_LISTENER = """
document.addEventListener('securitypolicyviolation', (event) =>
  window.nssaReportViolation(`${event.violatedDirective} blocked ${event.blockedURI}`));
"""


@pytest.fixture
def misbehaviour(page: Page) -> Misbehaviour:
    """Dialogs, uncaught errors, console errors and CSP violations of ``page`` as they happen."""
    seen = Misbehaviour()

    def on_dialog(dialog: Dialog) -> None:
        seen.dialogs.append(f"{dialog.type} {dialog.message!r}")
        dialog.dismiss()  # a dialog left open would hang the page

    def on_console(message: ConsoleMessage) -> None:
        if urlsplit(message.location.get("url", "")).path == "/favicon.ico":
            return  # the browser's own request: the dashboard has no icon
        if _POLICY.search(message.text):
            seen.policy_violations.append(message.text)
        elif message.type == "error":
            seen.console_errors.append(message.text)

    def on_violation(text: str) -> None:
        # A function, not the bound list.append: Playwright cannot call a builtin method.
        seen.policy_violations.append(text)

    def off_loopback(route: Route) -> None:
        seen.outside_requests.append(route.request.url)
        route.abort()  # the tests stay offline whatever a page asks for

    page.route(_OFF_LOOPBACK, off_loopback)
    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.page_errors.append(str(error)))
    page.expose_function("nssaReportViolation", on_violation)
    page.add_init_script(_VIOLATION_LISTENER)
    return seen


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` from a thread on a free loopback port; yield its base URL."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The socket listens from make_server on; one connection proves it, no sleeping.
    socket.create_connection(("127.0.0.1", server.server_port), timeout=5).close()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def login(page: Page, base_url: str, name: str, password: str = PASSWORD) -> None:
    """Submit the login form as ``name``; wait for the signed-in header or the refusal."""
    page.context.clear_cookies()
    page.goto(f"{base_url}/login")
    page.locator("[name=name]").fill(name)
    page.locator("[name=password]").fill(password)
    page.locator("form.login button").click()
    expect(page.locator("form.logout, p.error")).to_have_count(1)
