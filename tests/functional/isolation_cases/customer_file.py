"""Isolation cases of the customer file's payments, readings and contact log, and of a billing run's bills and
drafts: tenant B's customers, runs and drafts answer like missing ones on tenant A's host (pages and exports), and
a contact recorded against B's customer from A's host records nothing."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from domain.billing.models import Bill
from domain.billing.run_models import BillingRun
from domain.contacts.models import ContactLogEntry
from domain.contracts.models import CustomerAccount
from domain.db import db, utcnow
from tenants.context import tenant_scope
from tests.isolation import MISSING, _same_as_missing


def _office(browser, a, role="supervisor"):
    office = browser(a.slug)
    office.login(a.staff_emails[role], area="/backoffice")
    return office


def _account_page(browser, a, b, what: str):
    office = _office(browser, a)
    _same_as_missing(office, f"/backoffice/customers/{b.account_number}/{what}",
                     f"/backoffice/customers/{MISSING}/{what}", b.account_number)
    foreign = office.get(f"/backoffice/customers/{b.account_number}/{what}?format=csv")
    assert foreign.status_code == 404
    own = office.get(f"/backoffice/customers/{a.account_number}/{what}?format=csv")
    assert own.status_code == 200 and b.account_number not in own.get_data(as_text=True)


def case_backoffice_customer_payments(app, browser, a, b):
    _account_page(browser, a, b, "payments")


def case_backoffice_customer_readings(app, browser, a, b):
    _account_page(browser, a, b, "readings")


def case_backoffice_customer_contacts(app, browser, a, b):
    _account_page(browser, a, b, "contacts")


def _contacts(app, tenant_id: int) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count(ContactLogEntry.id)))


def case_backoffice_customer_contact_record(app, browser, a, b):
    office = _office(browser, a)
    token = office.csrf(f"/backoffice/customers/{a.account_number}/contacts")
    fields = {"csrf_token": token, "channel": "phone", "direction": "inbound", "note": "Hello"}

    foreign = office.post(f"/backoffice/customers/{b.account_number}/contacts", fields)
    missing = office.post(f"/backoffice/customers/{MISSING}/contacts", fields)

    assert foreign.status_code == missing.status_code == 404
    assert _contacts(app, b.tenant_id) == 0 and _contacts(app, a.tenant_id) == 0


def _run_with_draft(app, data) -> tuple[str, str]:
    """A simulated run of `data`'s tenant with one draft bill: (run public id, draft public id)."""
    with app.app_context(), tenant_scope(data.tenant_id):
        account = db.session.scalar(select(CustomerAccount).where(
            CustomerAccount.account_number == data.account_number))
        run = BillingRun(billing_date=date(2024, 3, 1), mode="simulate", status="simulated", created_at=utcnow(),
                         created_by=f"billing@{data.slug}.test")
        db.session.add(run)
        db.session.flush()
        draft = Bill(account_id=account.id, contract_id=account.contracts[0].id, kind="periodic", status="draft",
                     period_start=date(2024, 2, 1), period_end=date(2024, 3, 1), currency="EUR",
                     billing_run_id=run.id)
        db.session.add(draft)
        db.session.commit()
        return run.public_id, draft.public_id


def case_billing_run_bills(app, browser, a, b):
    b_run, _b_draft = _run_with_draft(app, b)
    office = _office(browser, a, "billing")
    _same_as_missing(office, f"/backoffice/billing/runs/{b_run}/bills", f"/backoffice/billing/runs/{MISSING}/bills",
                     b_run)
    assert office.get(f"/backoffice/billing/runs/{b_run}/bills?format=csv").status_code == 404


def case_billing_run_draft(app, browser, a, b):
    b_run, b_draft = _run_with_draft(app, b)
    a_run, a_draft = _run_with_draft(app, a)
    office = _office(browser, a, "billing")
    _same_as_missing(office, f"/backoffice/billing/runs/{b_run}/drafts/{b_draft}",
                     f"/backoffice/billing/runs/{MISSING}/drafts/{b_draft}", b_run)
    _same_as_missing(office, f"/backoffice/billing/runs/{a_run}/drafts/{b_draft}",
                     f"/backoffice/billing/runs/{a_run}/drafts/{MISSING}", b_draft)
    assert office.get(f"/backoffice/billing/runs/{a_run}/drafts/{a_draft}").status_code == 200
