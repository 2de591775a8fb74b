"""Isolation cases of the contract flag "readings prevented by the customer": tenant B's contracts cannot be marked
or cleared from A's host, whether named under B's account or under A's; B's gas calorific values are neither
listed nor changed from A's host."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from domain.contracts.models import Contract
from domain.db import db
from tenants.context import tenant_scope

REASON = "No access to the meter"


def _office(browser, a):
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    return office


def _flag_of(app, data):
    with app.app_context(), tenant_scope(data.tenant_id):
        contract = db.session.scalar(select(Contract))
        return contract.contract_number, contract.readings_prevented_from


def case_backoffice_contract_readings_prevented(app, browser, a, b):
    office = _office(browser, a)
    number, before = _flag_of(app, b)
    for account in (b.account_number, a.account_number):
        response = office.submit(f"/backoffice/customers/{a.account_number}",
                                 {"from_date": "2025-03-01", "reason": REASON},
                                 action=f"/backoffice/customers/{account}/contracts/{number}/readings-prevented")
        assert response.status_code == 404
    assert _flag_of(app, b) == (number, before) and before is None


def case_backoffice_contract_readings_prevented_clear(app, browser, a, b):
    with app.app_context(), tenant_scope(b.tenant_id):
        contract = db.session.scalar(select(Contract))
        contract.readings_prevented_from, contract.readings_prevented_reason = date(2025, 3, 1), REASON
        db.session.commit()
    office = _office(browser, a)
    number, _before = _flag_of(app, b)
    for account in (b.account_number, a.account_number):
        response = office.submit(f"/backoffice/customers/{a.account_number}", {},
                                 action=f"/backoffice/customers/{account}/contracts/{number}/readings-prevented/clear")
        assert response.status_code == 404
    assert _flag_of(app, b) == (number, date(2025, 3, 1))


def case_billing_calorific_values(app, browser, a, b):
    """B's calorific values are not listed on A's host, and a value recorded there is A's only."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from domain.offers.models import GasCalorificValue

    with app.app_context(), tenant_scope(b.tenant_id):
        db.session.add(GasCalorificValue(effective_from=date(2026, 1, 1), value=Decimal("41.7531"),
                                         recorded_by="bravo-desk", recorded_at=datetime(2026, 1, 2, tzinfo=UTC)))
        db.session.commit()
    office = _office(browser, a)
    page = office.get("/backoffice/billing/calorific-values").get_data(as_text=True)
    assert "41.7531" not in page and "bravo-desk" not in page
    office.submit("/backoffice/billing/calorific-values", {"effective_from": "2026-01-01", "value": "39.1"})
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalars(select(GasCalorificValue.value)).all() == [Decimal("41.7531")]
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalars(select(GasCalorificValue.value)).all() == [Decimal("39.1")]
