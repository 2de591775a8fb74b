"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium, no downloaded browser) against a live
server of the app on the test database, with axe-core (node_modules, installed by `make test`) injected into pages.

The live server is werkzeug's `make_server` in a thread on a free port; tenant host names (`<slug>.localhost`) reach
it through Chromium's `--host-resolver-rules`. Everything here skips, with the reason, when /usr/bin/chromium is
absent; a missing Playwright or axe-core is an installation error and fails.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(reason=f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install -y chromium)")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def live_server(app):
    """The app served over HTTP from a thread; returns its port."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(autouse=True)
def _cookies_outlive_the_pinned_clock(app):
    """Chromium keeps cookies on the machine's clock, the app runs on the tests' pinned one (tests/clock.py): a
    session cookie dated from the pinned "now" could be already expired for the browser. The server-side session
    still expires on the app's clock (SESSION_HOURS)."""
    from datetime import timedelta

    before = app.config["PERMANENT_SESSION_LIFETIME"]
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=365 * 20)
    yield
    app.config["PERMANENT_SESSION_LIFETIME"] = before


@pytest.fixture(scope="session")
def chromium():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - an installation error, not a reason to skip
        pytest.fail("playwright is not installed: run `make test` (requirements-dev.txt)")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--host-resolver-rules=MAP *.localhost 127.0.0.1", "--no-sandbox", "--disable-gpu"],
            # Chromium on the machine's clock, even when CI moves the test process's clock with libfaketime.
            env={k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME")},
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `make test` (it runs `npm install` from package.json)")
    return AXE.read_text()


class Site:
    """One browser context on a tenant's host: pages, sign-in, the language switcher, axe."""

    def __init__(self, context, base_url: str, axe: str):
        self.context = context
        self.base_url = base_url
        self.page = context.new_page()
        self._axe = axe

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str):
        response = self.page.goto(self.url(path))
        return response

    def sign_in(self, email: str, password: str):
        self.goto("/login")
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.page.click("button[type=submit].btn-primary")
        self.page.wait_for_load_state()

    def second_step(self, app, email: str):
        """On the second step of a staff member's or an operator's sign-in: type their app's code (tests/two_step.py);
        elsewhere, nothing."""
        from urllib.parse import urlsplit

        from tests.two_step import fresh_code

        url = urlsplit(self.page.url)
        area = url.path.removesuffix("/login/code")
        if area not in ("/backoffice", "/console") or area == url.path:
            return
        kind = "staff" if area == "/backoffice" else "operator"
        with fresh_code(app, kind=kind, email=email, host=url.hostname) as code:
            self.page.fill("#code", code)
            self.page.click("button[type=submit].btn-primary")
            self.page.wait_for_load_state()

    def choose_language(self, code: str):
        self.page.select_option("#locale-select", code)
        self.page.click(".lang-switch button[type=submit]")
        self.page.wait_for_load_state()

    def axe(self) -> list[dict]:
        """axe-core's violations of WCAG 2.1 A and AA on the current page."""
        self.page.evaluate(self._axe + "\n;true")
        result = self.page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
            WCAG_TAGS,
        )
        return [
            {"rule": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]
        ]

    def horizontal_overflow(self) -> int:
        """How many CSS pixels the page is wider than the viewport (0: no horizontal scroll)."""
        return self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.fixture
def site(chromium, live_server, axe_source):
    """site(slug, width=1280) -> a Site on <slug>.localhost in a fresh browser context."""
    contexts = []

    def _open(slug: str, width: int = 1280, height: int = 900) -> Site:
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="en-GB")
        contexts.append(context)
        return Site(context, f"http://{slug}.localhost:{live_server}", axe_source)

    yield _open
    for context in contexts:
        context.close()
