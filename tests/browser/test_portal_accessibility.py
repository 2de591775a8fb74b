"""axe-core finds no WCAG 2.1 A/AA violation on any portal page, in any language, signed in or not, and no page
scrolls sideways on a 375 px wide screen.

The pages come from the app's URL map at test time (every GET route of the portal blueprint), so a page another
journey adds is checked without a change here: routes without parameters are visited directly, routes with
parameters through the links the visited pages hold (one page per endpoint) or the sample values below.
Set PORTAL_SCREENSHOTS=<folder> to keep a screenshot of every English page at 1280 and 375 px.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from werkzeug.exceptions import HTTPException

from app.i18n import LOCALES
from tests.conftest import TEST_PASSWORD

NARROW = 375
SKIP_ENDPOINTS = {"portal.logout", "portal.language"}  # POST only; listed for clarity
SCREENSHOTS = os.environ.get("PORTAL_SCREENSHOTS")


@pytest.fixture
def customer(app, make_tenant):
    """Tenant `alpha` with one customer (account, contract, meter, readings, bill, payment, request) and staff."""
    from tests.factories import populate_tenant
    from tests.isolation import _reset_token_of

    tenant = make_tenant("alpha")
    with app.app_context():
        data = populate_tenant(tenant)
    samples = {"account_number": data.account_number, "number": data.bill_number,
               "bill_number": data.bill_number, "reference": data.request_reference,
               "token": _reset_token_of(app, data.tenant_id, data.customer_email, "customer")}
    return data, samples


def _portal_rules(app):
    return [r for r in app.url_map.iter_rules()
            if r.endpoint.startswith("portal.") and "GET" in r.methods and r.endpoint not in SKIP_ENDPOINTS]


def _start_paths(app, samples) -> dict[str, str]:
    """endpoint -> path for every portal GET route whose parameters we can fill."""
    adapter = app.url_map.bind("alpha.localhost")
    paths = {}
    for rule in _portal_rules(app):
        if all(arg in samples for arg in rule.arguments):
            paths[rule.endpoint] = adapter.build(rule.endpoint, {a: samples[a] for a in rule.arguments})
    return paths


def _endpoint_of(app, path: str) -> str | None:
    try:
        endpoint, _ = app.url_map.bind("alpha.localhost").match(path, method="GET")
    except HTTPException:
        return None
    return endpoint if endpoint.startswith("portal.") and endpoint not in SKIP_ENDPOINTS else None


def _check(site, app, paths: dict[str, str], language: str, found: list[str], crawl: bool) -> set[str]:
    """Visit the pages (and, if `crawl`, one more page per endpoint reached by their links); axe and the 375 px
    overflow on each. Returns the endpoints seen."""
    queue = list(paths.items())
    seen = set()
    while queue:
        endpoint, path = queue.pop(0)
        if endpoint in seen:
            continue
        seen.add(endpoint)
        try:
            response = site.goto(path)
        except PlaywrightError as exc:
            if "Download is starting" in str(exc):  # a file (PDF, ZIP, CSV), not a page
                continue
            raise
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        shown = urlsplit(site.page.url).path
        for v in site.axe():
            found.append(f"[{language}] {path} (shown: {shown}): {v['rule']} ({v['impact']}) {v['help']} "
                         f"at {v['nodes']}")
        site.page.set_viewport_size({"width": NARROW, "height": 800})
        overflow = site.horizontal_overflow()
        if overflow > 0:
            found.append(f"[{language}] {path}: {overflow} px wider than a {NARROW} px screen")
        if SCREENSHOTS and language == "en":
            _screenshot(site, path, NARROW)
        site.page.set_viewport_size({"width": 1280, "height": 900})
        if SCREENSHOTS and language == "en":
            _screenshot(site, path, 1280)
        if crawl:
            for href in site.page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
                target = urlsplit(href)
                if target.netloc or not target.path.startswith("/"):
                    continue
                linked = _endpoint_of(app, target.path)
                if linked and linked not in seen:
                    queue.append((linked, target.path))
    return seen


def _screenshot(site, path: str, width: int) -> None:
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    name = (path.strip("/").replace("/", "_") or "home") + f"_{width}.png"
    site.page.screenshot(path=str(folder / name), full_page=True)


@pytest.mark.parametrize("language", LOCALES)
def test_no_axe_violation_on_any_portal_page(app, site, customer, language):
    data, samples = customer
    paths = _start_paths(app, samples)
    found: list[str] = []
    visitor = site(data.slug)
    visitor.goto("/login")
    visitor.choose_language(language)

    public = _check(visitor, app, paths, language, found, crawl=False)
    visitor.sign_in(data.customer_email, TEST_PASSWORD)
    visitor.choose_language(language)
    signed_in = _check(visitor, app, paths, language, found, crawl=True)

    assert "portal.home" in signed_in and "portal.account" in signed_in and "portal.login" in public
    assert visitor.page.evaluate("document.documentElement.lang") == language
    assert not found, "accessibility problems:\n" + "\n".join(found)


@pytest.fixture
def payments_and_history(app, customer):
    """Sandbox payments in every state a customer can see, 45 bills (three pages) and 25 requests (two pages)."""
    from decimal import Decimal

    from domain.db import db
    from tenants.context import tenant_scope
    from tests.factories import NOW, PaymentFactory, ServiceRequestFactory
    from tests.integration.test_payments import account_of, add_bill

    data, _samples = customer
    with app.app_context(), tenant_scope(data.tenant_id):
        account = account_of(data.account_number)
        pending = PaymentFactory(account=account, status="pending", received_at=None, amount=Decimal("80.00"))
        partly = PaymentFactory(account=account, amount=Decimal("125.00"), refunded_amount=Decimal("50.00"))
        refunded = PaymentFactory(account=account, status="refunded", amount=Decimal("45.00"),
                                  refunded_amount=Decimal("45.00"))
        for _ in range(44):
            add_bill(data.account_number, "10.00")
        for i in range(25):
            ServiceRequestFactory(account=account, subject=f"Request {i}", opened_at=NOW)
        db.session.commit()
        return data, {"pending": pending.public_id, "partly": partly.public_id, "refunded": refunded.public_id}


@pytest.mark.parametrize("language", LOCALES)
def test_payment_pages_and_paged_lists_pass_axe_and_fit_a_phone(app, site, payments_and_history, language):
    """The sandbox checkout, the payment status in each state (with the test-mode refund form, and its errors),
    and the second page of the bills and requests lists."""
    data, ids = payments_and_history
    found: list[str] = []
    visitor = site(data.slug)
    visitor.sign_in(data.customer_email, TEST_PASSWORD)
    visitor.choose_language(language)

    def check(label: str):
        for v in visitor.axe():
            found.append(f"[{language}] {label}: {v['rule']} ({v['impact']}) {v['help']} at {v['nodes']}")
        visitor.page.set_viewport_size({"width": NARROW, "height": 800})
        overflow = visitor.horizontal_overflow()
        if overflow > 0:
            found.append(f"[{language}] {label}: {overflow} px wider than a {NARROW} px screen")
        if SCREENSHOTS and language == "en":
            _screenshot(visitor, label, NARROW)
        visitor.page.set_viewport_size({"width": 1280, "height": 900})
        if SCREENSHOTS and language == "en":
            _screenshot(visitor, label, 1280)

    for label, path in (("sandbox checkout", f"/payments/{ids['pending']}/sandbox"),
                        ("payment pending", f"/payments/{ids['pending']}"),
                        ("payment partly refunded", f"/payments/{ids['partly']}"),
                        ("payment refunded", f"/payments/{ids['refunded']}"),
                        ("bills page 2", "/bills?page=2"), ("requests page 2", "/requests?page=2")):
        assert visitor.goto(path).status == 200, path
        check(label)
    visitor.goto(f"/payments/{ids['partly']}")
    visitor.page.fill("#amount", "999")
    visitor.page.click("button[value=refund]")
    visitor.page.wait_for_load_state()
    assert visitor.page.locator(".error-summary").count() == 1
    check("refund form with an error")

    assert not found, "accessibility problems:\n" + "\n".join(found)
