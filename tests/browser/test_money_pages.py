"""The money pages in a browser: a supervisor sees refunds and write-offs waiting for approval, a statement's entries
and the matching queue with suggestions; every page passes axe-core in English and French and fits a phone's width.
Set MONEY_SCREENSHOTS=<folder> to keep a screenshot of each page."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import TEST_PASSWORD

SHOTS = os.environ.get("MONEY_SCREENSHOTS")


@pytest.fixture(autouse=True)
def _jobs_in_process(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)


def _world(app, make_tenant) -> tuple:
    from domain.collections import manual_payments, refunds, write_offs
    from domain.collections.statements import services as statements
    from domain.db import db, utcnow
    from domain.identity.models import StaffUser
    from tenants.context import tenant_scope
    from tenants.models import Tenant
    from tests.factories import populate_tenant
    from tests.integration.test_money_received import payer
    from tests.integration.test_payments import add_bill
    from tests.integration.test_sepa_collections import configure
    from tests.statement_samples import Line, camt053

    tenant = make_tenant("alpha")
    with app.app_context():
        data = populate_tenant(tenant)
    configure(app, data.slug)
    today = utcnow().date()
    with app.app_context(), tenant_scope(data.tenant_id):
        staff = db.session.scalar(select(StaffUser).where(StaffUser.email == data.staff_emails["collections"]))
        durand = payer()
        martin = payer(("Louis", "Martin"), "louis@example.test")
        old = add_bill(durand.account_number, "80.00", due=today - timedelta(days=90))
        add_bill(martin.account_number, "63.27", due=today - timedelta(days=5))
        quoted = add_bill(martin.account_number, "41.90", due=today - timedelta(days=2))
        write_offs.propose(account=durand, bill_numbers=[old.number], reason="insolvency",
                           note="Liquidation judiciaire du 3 novembre", staff=staff, now=utcnow(), today=today,
                           currency="EUR")
        klein = payer(("Eva", "Klein"), "eva@example.test")
        for twin in (payer(("Ana", "Lopez"), "ana@example.test"), payer(("Jon", "Reyes"), "jon@example.test")):
            add_bill(twin.account_number, "50.00", due=today - timedelta(days=4))
        manual_payments.record_manual_payment(account=klein, amount="150.00", method="cheque",
                                              reference="CHQ 0012", received_on=today, staff=staff, now=utcnow(),
                                              today=today)
        refunds.propose(account=klein, amount="20.00", iban="FR76 3000 6000 0112 3456 7890 189",
                        holder_name="Eva Klein", note=None, staff=staff, now=utcnow(), currency="EUR")
        result = statements.import_statement(
            data=camt053([Line("41.90", ref="BK-1", name="MARTIN LOUIS", ustrd=f"Facture {quoted.number}"),
                          Line("63.27", ref="BK-2", name="L. Martin", iban="FR7612345678901234567890185",
                               ustrd="eau novembre"),
                          Line("50.00", ref="BK-4", name="SARL Dubois", ustrd="Paiement facture eau"),
                          Line("12.00", ref="BK-3", direction="DBIT", ustrd="Frais de tenue de compte")],
                         booked=today, version="08"),
            file_name="releve-2026-11-28.xml", staff=staff, now=utcnow(), today=today,
            tenant=db.session.get(Tenant, data.tenant_id))
        db.session.commit()
        return data, result.statements[0].public_id, durand.account_number


def _shot(site, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        site.page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_money_pages_are_accessible_in_english_and_french_and_fit_a_phone(app, make_tenant, site):
    data, statement, account_number = _world(app, make_tenant)
    pages = {"home": "/backoffice/money/", "payments": "/backoffice/money/payments",
             "payment_new": f"/backoffice/money/payments/new?account={account_number}",
             "refunds": "/backoffice/money/refunds", "write_offs": "/backoffice/money/write-offs",
             "write_off_new": f"/backoffice/money/write-offs/new/{account_number}",
             "statements": "/backoffice/money/statements", "statement": f"/backoffice/money/statements/{statement}",
             "matching": "/backoffice/money/matching", "customer": f"/backoffice/customers/{account_number}"}
    office = site(data.slug)
    office.goto("/backoffice/login")
    office.page.fill("#email", data.staff_emails["supervisor"])
    office.page.fill("#password", TEST_PASSWORD)
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()
    problems = {}

    for locale in ("en", "fr"):
        if locale != "en":
            office.choose_language(locale)
        for name, path in pages.items():
            office.goto(path)
            _shot(office, f"{locale}-{name}")
            found = office.axe()
            if found:
                problems[f"{locale} {name}"] = found
    phone = site(data.slug, width=375, height=800)
    phone.context.add_cookies(office.context.cookies())
    overflow = {}
    for name in ("refunds", "write_offs", "matching", "statement"):
        phone.goto(pages[name])
        _shot(phone, f"phone-{name}")
        overflow[name] = phone.horizontal_overflow()

    assert problems == {}
    assert overflow == {name: 0 for name in overflow}
