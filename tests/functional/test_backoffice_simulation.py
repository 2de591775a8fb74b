"""A simulation's page lists its draft bills with their totals and the exceptions in words, paged, narrowed to the
contracts with exceptions and exported as CSV; each draft opens as the customer would see it, marked as not issued.
"""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from domain.billing.models import Bill
from domain.billing.run_models import BillingException, BillingRun
from domain.db import db, utcnow
from tenants.context import tenant_scope
from tests.factories import ContractFactory
from tests.integration.test_billing_runs import _jobs_in_process  # noqa: F401  (jobs run in this process)
from tests.integration.test_billing_runs import _start

RUNS = "/backoffice/billing/runs"
ROLES = {"agent": 403, "billing": 200, "collections": 403, "supervisor": 403, "tenant_admin": 200}


def _office(browser, data, role="billing"):
    office = browser(data.slug)
    office.login(data.staff_emails[role], area="/backoffice")
    return office


@pytest.fixture
def simulated(app, two_tenants):
    """Tenant A's simulation: one draft bill, and a second contract the run could not bill (no tariff)."""
    a, b = two_tenants
    _start(app, a.tenant_id)
    with app.app_context(), tenant_scope(a.tenant_id):
        run = db.session.scalar(select(BillingRun))
        draft = db.session.scalar(select(Bill).where(Bill.billing_run_id == run.id))
        other = ContractFactory(contract_number="K-NOTARIFF")
        db.session.add(BillingException(run_id=run.id, contract_id=other.id, code="no_tariff",
                                        message="No tariff", created_at=utcnow(),
                                        params={"detail": "no_tariff", "start": "2024-01-01", "end": "2024-01-15"}))
        db.session.commit()
        facts = {"run": run.public_id, "draft": draft.public_id, "total": str(draft.total_incl_tax),
                 "other_account": other.account.account_number}
    return a, b, facts


def test_the_simulation_lists_its_drafts_with_totals_and_the_exceptions_in_words(simulated, browser):
    a, _b, facts = simulated
    office = _office(browser, a)

    page = office.get(f"{RUNS}/{facts['run']}/bills").get_data(as_text=True)
    only = office.get(f"{RUNS}/{facts['run']}/bills?show=exceptions").get_data(as_text=True)
    one = office.get(f"{RUNS}/{facts['run']}/bills?number={a.account_number}").get_data(as_text=True)
    run_page = office.get(f"{RUNS}/{facts['run']}").get_data(as_text=True)

    assert a.account_number in page and "K-NOTARIFF" in page and "Open the draft" in page
    assert "No tariff in force" in page and "No tariff is in force from 1 Jan 2024 to 15 Jan 2024." in page
    assert "no_tariff" not in page
    assert "K-NOTARIFF" in only and a.account_number not in only
    assert a.account_number in one and "K-NOTARIFF" not in one
    assert f"{RUNS}/{facts['run']}/bills" in run_page and "See the draft bills with their totals" in run_page


def test_the_export_has_the_filters_rows_with_totals_as_numbers(simulated, browser):
    a, _b, facts = simulated
    office = _office(browser, a)

    every = office.get(f"{RUNS}/{facts['run']}/bills?format=csv")
    only = office.get(f"{RUNS}/{facts['run']}/bills?format=csv&show=exceptions")

    rows = list(csv.reader(io.StringIO(every.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["Customer", "Customer number", "Contract", "Bill"]
    drafted = next(row for row in rows[1:] if row[1] == a.account_number)
    assert drafted[4] == "draft" and drafted[9] == facts["total"] and drafted[12] == ""
    unbilled = next(row for row in rows[1:] if row[2] == "K-NOTARIFF")
    assert unbilled[4] == "not billed" and unbilled[9] == "" and "No tariff in force" in unbilled[12]
    exported = list(csv.reader(io.StringIO(only.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[2] for row in exported[1:]] == ["K-NOTARIFF"]


def test_a_draft_opens_as_the_customer_would_see_it_marked_as_not_issued(simulated, browser):
    a, _b, facts = simulated
    office = _office(browser, a)

    page = office.get(f"{RUNS}/{facts['run']}/drafts/{facts['draft']}")

    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Draft: not issued" in html
    assert "Totals" in html and "Total incl. VAT" in html and a.account_number in html


def test_a_draft_of_another_run_or_an_issued_bill_is_not_found(app, simulated, browser):
    a, _b, facts = simulated
    office = _office(browser, a)
    with app.app_context(), tenant_scope(a.tenant_id):
        issued = db.session.scalar(select(Bill.public_id).where(Bill.status == "issued"))

    assert office.get(f"{RUNS}/{facts['run']}/drafts/{issued}").status_code == 404
    assert office.get(f"{RUNS}/{facts['run']}/drafts/not-a-bill").status_code == 404


@pytest.mark.parametrize("role", sorted(ROLES))
def test_only_billing_staff_see_a_runs_bills_and_drafts(simulated, browser, role):
    a, _b, facts = simulated
    office = _office(browser, a, role)

    answers = {office.get(f"{RUNS}/{facts['run']}/bills").status_code,
               office.get(f"{RUNS}/{facts['run']}/drafts/{facts['draft']}").status_code}

    assert answers == {ROLES[role]}
