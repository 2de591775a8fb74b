"""Budget plans created or cancelled by staff: the account holder gets the portal's confirmation e-mail, or a
short notice of the end with the settlement bill if any, in the account's language, once."""
from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from domain.billing import down_payments as plans
from domain.billing.models import Bill
from domain.billing.plan_models import DownPaymentPlan
from domain.contracts.models import CustomerAccount
from domain.db import db
from tenants.context import tenant_scope
from tests.functional.test_backoffice_budget import _active, _create, _file, billing, world  # noqa: F401


def _text(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def test_a_plan_created_by_staff_sends_the_schedule_to_the_holder(app, billing, world, outbox):  # noqa: F811
    a, number = world
    before = len(outbox())

    response = _create(billing, a, number, "12")

    assert response.status_code == 302
    mails = outbox()[before:]
    assert len(mails) == 1
    (plan,) = _active(app, a)
    text = _text(mails[0])
    assert mails[0]["To"] == f"{a.slug}.customer@example.test"
    assert mails[0]["Subject"] == "Your budget billing schedule"
    assert "Budget billing is set up for Electricity at " in text
    assert f"(account {a.account_number})" in text
    assert text.count(f": €{plan.instalment_amount:,}") >= 11  # the schedule's instalments


def test_a_refused_plan_sends_nothing(app, billing, world, outbox):  # noqa: F811
    a, number = world
    _create(billing, a, number, "12")
    before = len(outbox())

    again = _create(billing, a, number, "12", shown="seen-before")

    assert again.status_code == 422
    assert len(outbox()) == before


def test_cancelling_with_a_settlement_bill_tells_the_holder_in_their_language(app, billing, world, outbox,  # noqa: F811
                                                                            monkeypatch):
    a, number = world
    _create(billing, a, number, "12")
    with app.app_context(), tenant_scope(a.tenant_id):
        plans.issue_due_instalments(billing_date=date(2026, 12, 1), now=datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
        db.session.scalar(select(CustomerAccount)).locale = "de"
        db.session.commit()
    import backoffice.budget_views as views
    monkeypatch.setattr(views, "tenant_today", lambda: date(2026, 12, 10))
    (plan,) = _active(app, a)
    before = len(outbox())

    billing.submit(_file(a), {"confirm": "y"}, action=f"{_file(a)}/budget/{plan.public_id}/cancel")
    billing.submit(_file(a), {"confirm": "y"}, action=f"{_file(a)}/budget/{plan.public_id}/cancel")  # no longer active

    mails = outbox()[before:]
    with app.app_context(), tenant_scope(a.tenant_id):
        cancelled = db.session.scalar(select(DownPaymentPlan).where(DownPaymentPlan.public_id == plan.public_id))
        settlement_number = db.session.get(Bill, cancelled.true_up_bill_id).number
    # The plan's end, and the settlement bill's own "bill available" notice (the mail pipeline), once each.
    assert len(mails) == 2
    ended = next(m for m in mails if settlement_number not in m["Subject"])
    assert sum(settlement_number in m["Subject"] for m in mails) == 1
    text = _text(ended)
    assert ended["Subject"] == "Ihre Abschlagszahlung ist beendet"
    assert f"Schlussrechnung {settlement_number}" in text
    assert "Strom" in text  # the activity in the customer's language, not the staff member's


def test_cancelling_before_any_instalment_says_there_is_no_settlement_bill(app, billing, world, outbox):  # noqa: F811
    a, number = world
    _create(billing, a, number, "10")
    (plan,) = _active(app, a)
    before = len(outbox())

    billing.submit(_file(a), {"confirm": "y"}, action=f"{_file(a)}/budget/{plan.public_id}/cancel")

    mails = outbox()[before:]
    assert len(mails) == 1
    assert mails[0]["Subject"] == "Your budget billing has ended"
    assert "No instalment was billed, so there is no settlement bill." in _text(mails[0])
