"""The back office, signed in as a tenant administrator, passes axe-core (WCAG 2.1 A/AA) at 1280 and 375 px and no
page scrolls sideways on a 375 px wide screen: home, customer search, the customer file (contracts, budget plan,
bills, collections), its history, requests and a request, the readings queue, billing runs and a run, direct-debit
collections (list, a batch, preview, settings), the budget proposal and the password page.

The pages are the start list below plus one page per back-office endpoint reached by their links, so a page linked
from these is checked without a change here. Set BACKOFFICE_SCREENSHOTS=<folder> to keep a screenshot of each.
"""
from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from werkzeug.exceptions import HTTPException

from app.i18n import LOCALES
from tests.conftest import TEST_PASSWORD

NARROW = 375
AREAS = ("backoffice.", "billing.", "collections.")
# Files, not pages (the factories' attachments have no stored file), and a page needing an e-mailed token.
SKIP_ENDPOINTS = {"backoffice.reset_password", "backoffice.bill_pdf", "backoffice.request_attachment",
                  "backoffice.reading_queue_photo", "billing.run_progress", "collections.batch_xml"}
SCREENSHOTS = os.environ.get("BACKOFFICE_SCREENSHOTS")


@pytest.fixture
def office_data(app, make_tenant):
    """Tenant `alpha`: the populated customer with 14 bills (kinds with tags), a billing run, a prepared direct-debit
    batch of one of its bills, a bill for the collection preview, a refunded and disputed card payment and a reading
    waiting for review."""
    from domain.db import db, utcnow
    from domain.payments import sepa_collections as collections
    from domain.payments import services as payment_services
    from tenants.context import tenant_scope
    from tenants.models import Tenant
    from tests.factories import MeterReadingFactory, PaymentFactory, populate_tenant
    from tests.functional.test_tenant_isolation_matrix import _run_of
    from tests.integration.test_payments import account_of, add_bill
    from tests.integration.test_sepa_collections import configure

    tenant = make_tenant("alpha")
    with app.app_context():
        data = populate_tenant(tenant)
    configure(app, data.slug)
    today = utcnow().date()
    with app.app_context(), tenant_scope(data.tenant_id):
        for i in range(10):
            add_bill(data.account_number, f"{100 + i}.45")
        add_bill(data.account_number, "20.00", kind="credit_note")
        add_bill(data.account_number, "60.00", kind="corrective")
        add_bill(data.account_number, "1234.56", due=today + timedelta(days=2))
        collections.prepare_batch(tenant=db.session.get(Tenant, data.tenant_id),
                                  collection_date=today + timedelta(days=5), today=today, now=utcnow(),
                                  prepared_by="Admin")
        add_bill(data.account_number, "88.10", due=today + timedelta(days=3))  # for the collection preview
        card = PaymentFactory(account=account_of(data.account_number), amount=Decimal("61.00"))
        db.session.flush()
        payment_services.record_refunded_total(payment=card, provider="sandbox", reference="evt_a11y_1",
                                               refunded_total=Decimal("10.00"), now=utcnow(), today=today)
        payment_services.record_dispute(payment=card, provider="sandbox", dispute_id="dp_a11y_1",
                                        amount=Decimal("20.00"), provider_status="lost", reason="fraudulent",
                                        now=utcnow(), today=today)
        contract = account_of(data.account_number).contracts[0]
        contract_number = contract.contract_number
        register = contract.delivery_point.current_meter.registers[0]
        MeterReadingFactory(register=register, read_on=today - timedelta(days=2), value=Decimal("98765.000"),
                            status="pending")  # far from the expected consumption: waits in the readings queue
        _messages(account_of(data.account_number), data)
        db.session.commit()
    run = _run_of(app, data.tenant_id)
    return data, run, contract_number


def _messages(account, data) -> None:
    """Seven messages of the customer (more than the file shows: its Messages page is linked), one refused for good
    (the warning on a failing address) and one waiting for a retry."""
    from domain.communications import sending
    from domain.communications.pipeline import Rendered, record_message
    from domain.db import utcnow

    now = utcnow()
    rendered = Rendered(subject="Your payment receipt", text="x", html=None, sender_name="Alpha",
                        sender_address="no-reply@alpha.localhost")
    messages = [record_message(kind=kind, to=data.customer_email, rendered=rendered, now=now, account_id=account.id)
                for kind in ("payment_received", "bill_available", "request_reply", "payment_failed",
                             "collection_returned", "mandate_confirmation", "reading_rejected")]
    sending.mark_sent(messages[0], now=now)
    sending.mark_permanent_failure(messages[1], reason="5.1.1 mailbox unavailable", now=now)
    messages[2].attempts = 1
    sending.mark_temporary_failure(messages[2], reason="4.3.0 try again later", now=now)


def _endpoint_of(app, path: str) -> str | None:
    try:
        endpoint, _ = app.url_map.bind("alpha.localhost").match(path, method="GET")
    except HTTPException:
        return None
    if endpoint in SKIP_ENDPOINTS or not endpoint.startswith(AREAS):
        return None
    return endpoint


def _screenshot(page, path: str, width: int) -> None:
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    name = (path.strip("/").replace("/", "_").replace("?", "_") or "home") + f"_{width}.png"
    page.screenshot(path=str(folder / name), full_page=True)


def _check(site, app, start: list[str], found: list[str], language: str, crawl: bool = True) -> set[str]:
    """Visit the start pages and (if `crawl`) one page per back-office endpoint their links reach; axe at 1280 and
    375 px and the 375 px overflow on each. Returns the endpoints seen."""
    queue = [(_endpoint_of(app, urlsplit(p).path), p) for p in start]
    seen: set[str] = set()
    visited: set[str] = set()
    while queue:
        endpoint, path = queue.pop(0)
        if path in visited or (endpoint in seen and path not in start):
            continue
        visited.add(path)
        seen.add(endpoint)
        try:
            response = site.goto(path)
        except PlaywrightError as exc:
            if "Download is starting" in str(exc):  # a file (PDF, XML), not a page
                continue
            raise
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        assert response.status in (200, 422), f"{path}: {response.status}"  # 422: the page with its error
        shown = urlsplit(site.page.url).path
        assert shown == urlsplit(path).path or "/login" not in shown, f"{path}: sent to the sign-in page"
        for width in (1280, NARROW):
            site.page.set_viewport_size({"width": width, "height": 900})
            for v in site.axe():
                found.append(f"[{language}] {path} at {width} px: {v['rule']} ({v['impact']}) {v['help']} "
                             f"at {v['nodes']}")
            if SCREENSHOTS:
                _screenshot(site.page, f"{language}{path}", width)
        overflow = site.horizontal_overflow()
        if overflow > 0:
            found.append(f"[{language}] {path}: {overflow} px wider than a {NARROW} px screen")
        for region in _unnamed_scrollers(site.page):
            found.append(f"[{language}] {path}: a table scrolls sideways at {NARROW} px in a box that is not "
                         f"a focusable, named region: {region}")
        site.page.set_viewport_size({"width": 1280, "height": 900})
        if not crawl:
            continue
        for href in site.page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
            target = urlsplit(href)
            if target.netloc or not target.path.startswith("/"):
                continue
            linked = _endpoint_of(app, target.path)
            if linked and linked not in seen:
                queue.append((linked, target.path))
    return seen


@pytest.mark.parametrize("language", LOCALES)
def test_backoffice_pages_pass_axe_and_fit_a_phone(app, site, office_data, language):
    data, run, contract_number = office_data
    found: list[str] = []
    office = site(data.slug)
    office.goto("/backoffice/login")
    office.choose_language(language)
    public = _check(office, app, ["/backoffice/login", "/backoffice/password/forgot"], found, language, crawl=False)
    office.goto("/backoffice/login")
    office.page.fill("#email", data.staff_emails["tenant_admin"])
    office.page.fill("#password", TEST_PASSWORD)
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()
    office.second_step(app, data.staff_emails["tenant_admin"])
    assert urlsplit(office.page.url).path == "/backoffice/"
    office.choose_language(language)

    number = data.account_number
    from domain.db import utcnow

    preview_on = (utcnow().date() + timedelta(days=10)).isoformat()
    start = ["/backoffice/", "/backoffice/customers", f"/backoffice/customers?q={number}",
             f"/backoffice/customers/{number}", f"/backoffice/customers/{number}/history",
             "/backoffice/requests", f"/backoffice/requests/{data.request_reference}", "/backoffice/readings",
             "/backoffice/billing/runs", f"/backoffice/billing/runs/{run}", "/backoffice/collections/",
             "/backoffice/collections/settings", "/backoffice/password/change",
             f"/backoffice/collections/preview?collection_date={preview_on}",
             "/backoffice/collections/preview?collection_date=not-a-date",
             f"/backoffice/customers/{number}/budget?contract={contract_number}&instalments=12"]
    signed_in = _check(office, app, start, found, language)

    assert {"backoffice.login", "backoffice.forgot_password"} <= public
    assert {"backoffice.home", "backoffice.customers", "backoffice.customer", "backoffice.customer_history",
            "backoffice.requests", "backoffice.request_detail", "backoffice.reading_queue", "billing.run_list",
            "billing.run_detail", "collections.batch_list", "collections.batch_detail",
            "collections.settings", "collections.preview", "backoffice.customer_budget"} <= signed_in, signed_in
    assert not found, "accessibility problems:\n" + "\n".join(found)


SCROLLERS = """() => [...document.querySelectorAll('table')].map(t => {
    let e = t.parentElement;
    while (e && e !== document.body && e.scrollWidth <= e.clientWidth) e = e.parentElement;
    if (!e || e === document.body) return null;
    return {tabindex: e.getAttribute('tabindex'), role: e.getAttribute('role'), label: e.getAttribute('aria-label'),
            table: (t.querySelector('th') || t).innerText.slice(0, 30)};
}).filter(x => x)"""


def _unnamed_scrollers(page) -> list[dict]:
    """The boxes around tables that scroll sideways without being a keyboard-focusable region with a name."""
    return [r for r in page.evaluate(SCROLLERS)
            if not (r["tabindex"] == "0" and r["role"] == "region" and r["label"])]


def test_customer_file_tables_fit_a_phone_and_scroll_regions_take_focus(app, site, office_data):
    """At 375 px the customer file's tables neither widen the page nor hide content out of the keyboard's reach:
    the contracts and bills stack (every cell in sight) and any table area that scrolls sideways is a named region
    in the Tab order."""
    data, _run, _contract = office_data
    office = site(data.slug, width=NARROW)
    office.goto("/backoffice/login")
    office.page.fill("#email", data.staff_emails["tenant_admin"])
    office.page.fill("#password", TEST_PASSWORD)
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()
    office.second_step(app, data.staff_emails["tenant_admin"])
    office.goto(f"/backoffice/customers/{data.account_number}")

    assert office.horizontal_overflow() == 0
    assert _unnamed_scrollers(office.page) == []
    outside = office.page.evaluate("""() => [...document.querySelectorAll('td')]
        .filter(td => td.getBoundingClientRect().right > window.innerWidth).map(td => td.innerText)""")
    assert outside == [], "cells out of sight on a phone"
    bill_cells = office.page.locator("text=1,234.56")
    assert bill_cells.count() >= 1 and bill_cells.first.is_visible()
