"""The history of changes on a customer file reads in words: field names instead of the audit trail's column names,
codes and dates in the staff member's language, and which contract changed."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.identity.models import StaffUser
from tenants.context import tenant_scope


@pytest.fixture
def changed(app, two_tenants):
    """Alpha's account moved to direct debit and paperless with a new code; its contract billed further."""
    a = two_tenants[0]
    with app.app_context(), tenant_scope(a.tenant_id):
        account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == a.account_number))
        account.payment_method, account.paperless, account.activation_code = "direct_debit", True, "ZXCVB23456"
        contract = db.session.scalar(select(Contract).where(Contract.account_id == account.id))
        contract.billed_until = date(2026, 12, 1)
        db.session.commit()
        return a, contract.contract_number


def _history(app, browser, a, locale: str) -> str:
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(StaffUser).where(StaffUser.email == a.staff_emails["tenant_admin"])).locale = locale
        db.session.commit()
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    return office.get(f"/backoffice/customers/{a.account_number}/history").get_data(as_text=True)


def test_changes_are_told_in_words_not_column_names(app, browser, changed):
    a, contract_number = changed

    html = _history(app, browser, a, "en")

    assert "Payment method: bank transfer → direct debit" in html
    assert "Paperless billing: No → Yes" in html
    assert "Billed until:" in html and "1 Dec 2026" in html
    assert "Activation code changed (value not shown)" in html and "ZXCVB23456" not in html
    assert f"Contract {contract_number} · changed" in html
    for column in ("payment_method", "billed_until", "activation_code", "<code>"):
        assert column not in html


def test_the_history_is_in_the_staff_members_language(app, browser, changed):
    a, _contract_number = changed

    html = _history(app, browser, a, "de")

    assert "Zahlungsart: Überweisung → Lastschrift" in html
    assert "Abgerechnet bis:" in html and "01.12.2026" in html
    assert "Aktivierungscode geändert (Wert nicht angezeigt)" in html


def test_the_history_stacks_on_a_phone_with_each_value_labelled(app, browser, changed):
    a, _contract_number = changed

    html = _history(app, browser, a, "en")

    assert '<table class="stack-on-mobile">' in html
    assert all(f'data-label="{label}"' in html for label in ("When", "Who", "What", "Details"))


def test_the_way_back_names_the_customer_like_the_budget_page(app, browser, changed):
    a, _contract_number = changed

    html = _history(app, browser, a, "en")

    back = html[html.index("← "):]
    assert back[:back.index("</a>")].endswith(f" · {a.account_number}") and back[2:].split(" · ")[0].strip()
