"""Staff give a customer a new activation code from the customer file: shown once, the old one stops working,
audited without the code itself."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from domain.audit.models import AuditEvent
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity import activation
from tenants.context import tenant_scope

OLD = "ABCDE23456"


@pytest.fixture
def alpha(app, two_tenants):
    a = two_tenants[0]
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == a.account_number)) \
            .activation_code = OLD
        db.session.commit()
    return a


def _file(a) -> str:
    return f"/backoffice/customers/{a.account_number}"


def _code(app, a) -> str:
    with app.app_context(), tenant_scope(a.tenant_id):
        return db.session.scalar(select(CustomerAccount.activation_code)
                                 .where(CustomerAccount.account_number == a.account_number))


def _office(browser, a, role: str):
    office = browser(a.slug)
    office.login(a.staff_emails[role], area="/backoffice")
    return office


def test_a_new_code_is_shown_once_and_the_old_one_stops_working(app, browser, alpha):
    office = _office(browser, alpha, "agent")
    assert "Give a new activation code" in office.get(_file(alpha)).get_data(as_text=True)

    response = office.submit(_file(alpha), {}, action=f"{_file(alpha)}/activation-code")

    new = _code(app, alpha)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    assert new != OLD and f"{new[:5]}-{new[5:]}" in text and "The previous code no longer works." in text
    with app.app_context(), tenant_scope(alpha.tenant_id):
        assert activation.matching_account(account_number=alpha.account_number, postcode=None,
                                           activation_code=OLD) is None
        assert activation.matching_account(account_number=alpha.account_number, postcode=None,
                                           activation_code=new).account_number == alpha.account_number
    assert new not in office.get(_file(alpha)).get_data(as_text=True)  # not shown again


def test_the_change_is_audited_without_the_code(app, browser, alpha):
    office = _office(browser, alpha, "tenant_admin")

    office.submit(_file(alpha), {}, action=f"{_file(alpha)}/activation-code")

    new = _code(app, alpha)
    with app.app_context(), tenant_scope(alpha.tenant_id):
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "CustomerAccount",
                                                           AuditEvent.action == "update")
                                  .order_by(AuditEvent.id.desc()))
        assert event.actor_label == alpha.staff_emails["tenant_admin"]
        assert event.changes == {"activation_code": {"before": "[redacted]", "after": "[redacted]"}}
    history = office.get(f"{_file(alpha)}/history").get_data(as_text=True)
    assert "Activation code changed (value not shown)" in history and new not in history and OLD not in history


def test_staff_who_cannot_edit_customers_are_refused(app, browser, alpha):
    office = _office(browser, alpha, "billing")

    page = office.get(_file(alpha)).get_data(as_text=True)
    response = office.post(f"{_file(alpha)}/activation-code", {"csrf_token": office.csrf(_file(alpha))})

    assert "Give a new activation code" not in page
    assert response.status_code == 403 and _code(app, alpha) == OLD


def test_without_the_form_token_nothing_changes(app, browser, alpha):
    office = _office(browser, alpha, "agent")

    response = office.post(f"{_file(alpha)}/activation-code", {})

    assert response.status_code == 400 and _code(app, alpha) == OLD
    assert not re.search(r"[A-Z0-9]{5}-[A-Z0-9]{5}", response.get_data(as_text=True))
