"""Billing staff mark, from the customer file, a contract whose customer prevented readings (date and reason), which
lifts the back-billing limit from that day; the change is in the customer's history; bad input changes nothing;
staff without billing rights cannot do it."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from domain.audit.models import AuditEvent
from domain.contracts.models import Contract
from domain.db import db
from tenants.context import tenant_scope

REASON = "Meter in a locked cellar; three visits refused (letters of 3 March and 2 April)"


@pytest.fixture
def contract_number(app, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        return db.session.scalar(select(Contract.contract_number))


def _office(browser, a, role="billing"):
    office = browser(a.slug)
    office.login(a.staff_emails[role], area="/backoffice")
    return office


def _flag(app, a) -> tuple:
    with app.app_context(), tenant_scope(a.tenant_id):
        contract = db.session.scalar(select(Contract))
        return contract.readings_prevented_from, contract.readings_prevented_reason


def _mark(office, a, number, **data):
    path = f"/backoffice/customers/{a.account_number}"
    return office.submit(path, {"from_date": "2025-03-01", "reason": REASON, **data},
                         action=f"{path}/contracts/{number}/readings-prevented", follow_redirects=True)


def test_billing_staff_mark_readings_prevented_and_it_shows_in_the_file_and_its_history(
        app, browser, two_tenants, contract_number):
    a, _b = two_tenants
    office = _office(browser, a)

    page = _mark(office, a, contract_number).get_data(as_text=True)

    assert _flag(app, a) == (date(2025, 3, 1), REASON)
    assert f"Contract {contract_number}: readings prevented by the customer since" in page
    assert "Meter in a locked cellar" in page
    office.submit(f"/backoffice/customers/{a.account_number}", {}, action="/backoffice/logout")
    admin = _office(browser, a, "tenant_admin")  # who may read the history
    history = admin.get(f"/backoffice/customers/{a.account_number}/history").get_data(as_text=True)
    assert "Readings prevented since:" in history and "How the customer prevented readings:" in history
    assert "readings_prevented" not in history
    with app.app_context(), tenant_scope(a.tenant_id):
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "Contract")
                                  .order_by(AuditEvent.id.desc()))
    assert event.actor_kind == "staff" and event.changes["readings_prevented_from"]["after"] == "2025-03-01"


def test_clearing_applies_the_limit_again(app, browser, two_tenants, contract_number):
    a, _b = two_tenants
    office = _office(browser, a)
    _mark(office, a, contract_number)
    path = f"/backoffice/customers/{a.account_number}"

    page = office.submit(path, {}, action=f"{path}/contracts/{contract_number}/readings-prevented/clear",
                         follow_redirects=True).get_data(as_text=True)

    assert _flag(app, a) == (None, None)
    assert "the back-billing limit applies again" in page


@pytest.mark.parametrize("data, message", [
    ({"from_date": "2027-01-01"}, "The date cannot be in the future."),
    ({"from_date": "2023-12-31"}, "The date cannot be before the contract started."),
    ({"from_date": ""}, "Enter the date from which the customer prevented readings."),
    ({"reason": "   "}, "Say how the customer prevented readings."),
    ({"reason": "x" * 501}, "The reason is too long (500 characters at most)."),
])
def test_bad_input_is_explained_and_changes_nothing(app, browser, two_tenants, contract_number, data, message):
    a, _b = two_tenants

    response = _mark(_office(browser, a), a, contract_number, **data)

    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert _flag(app, a) == (None, None)


def test_staff_without_billing_rights_cannot_mark_a_contract(app, browser, two_tenants, contract_number):
    a, _b = two_tenants
    office = _office(browser, a, "agent")
    path = f"/backoffice/customers/{a.account_number}"

    page = office.get(path).get_data(as_text=True)
    response = office.post(f"{path}/contracts/{contract_number}/readings-prevented",
                           data={"from_date": "2025-03-01", "reason": REASON, "csrf_token": office.csrf(path)})

    assert "Record that the customer prevented readings" not in page
    assert response.status_code == 403 and _flag(app, a) == (None, None)
