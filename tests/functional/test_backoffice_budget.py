"""Billing staff put a contract on budget billing from the customer file, see the schedule first, and cancel a
plan (a settlement bill when instalments were billed); other staff cannot."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from domain.audit.models import AuditEvent
from domain.billing import down_payments as plans
from domain.billing.models import Bill
from domain.billing.plan_models import DownPaymentPlan
from domain.contracts.models import Contract
from domain.db import db
from tenants.context import tenant_scope

TODAY = date(2026, 11, 28)


@pytest.fixture
def world(app, two_tenants, monkeypatch):
    """Tenant A's customer without a plan, the contract billed until 2026-11-01; the back office's today is fixed."""
    import backoffice.budget_views as views
    monkeypatch.setattr(views, "tenant_today", lambda: TODAY)
    a, b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        for plan in db.session.scalars(select(DownPaymentPlan)):
            for instalment in plan.instalments:
                db.session.delete(instalment)
            db.session.delete(plan)
        contract = db.session.scalar(select(Contract))
        contract.billed_until = date(2026, 11, 1)
        db.session.commit()
        number = contract.contract_number
    return a, number


@pytest.fixture
def billing(browser, world):
    a, _number = world
    office = browser(a.slug)
    office.login(a.staff_emails["billing"], area="/backoffice")
    return office


def _file(a) -> str:
    return f"/backoffice/customers/{a.account_number}"


def _proposal(app, a, count: int):
    with app.app_context(), tenant_scope(a.tenant_id):
        return plans.propose_plan(contract=db.session.scalar(select(Contract)), count=count, as_of=TODAY)


def _active(app, a) -> list[DownPaymentPlan]:
    with app.app_context(), tenant_scope(a.tenant_id):
        found = list(db.session.scalars(select(DownPaymentPlan).where(DownPaymentPlan.status == "active")))
        for plan in found:
            db.session.expunge(plan)
        return found


def _create(billing, a, number: str, count: str, shown: str | None = None):
    path = f"{_file(a)}/budget?contract={number}&instalments={count}"
    page = billing.get(path).get_data(as_text=True)
    if shown is None:
        shown = re.search(r'name="shown" type="hidden" value="([^"]*)"', page).group(1)
    return billing.submit(path, {"contract": number, "instalments": count, "shown": shown},
                          action=f"{_file(a)}/budget")


def _as_agent(billing, a):
    """The same browser, signed out of the billing account and into an agent's (no billing permission)."""
    billing.submit("/backoffice/", {}, action="/backoffice/logout")
    billing.login(a.staff_emails["agent"], area="/backoffice")
    return billing


def test_the_customer_file_offers_budget_billing_to_billing_staff_only(billing, world):
    a, number = world

    offered = billing.get(_file(a)).get_data(as_text=True)
    not_offered = _as_agent(billing, a).get(_file(a)).get_data(as_text=True)

    assert f'action="{_file(a)}/budget"' in offered and f'value="{number}"' in offered
    assert '<span class="nav-user">Agent</span>' in not_offered  # signed in as the agent, on the same file
    assert a.account_number in not_offered and "Budget plan" not in not_offered
    assert "Set up budget billing" in offered and "Set up budget billing" not in not_offered


def test_the_proposal_shows_the_schedule_and_creating_it_stores_that_plan(app, billing, world):
    a, number = world
    proposal = _proposal(app, a, 11)

    shown = billing.get(f"{_file(a)}/budget?contract={number}&instalments=11")

    text = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "Proposed schedule" in text
    assert f"€{proposal.estimated_amount:,}" in text and f"€{proposal.instalment_amount}" in text
    assert "1 Dec 2026" in text and text.count("<tr><td>") == 11
    assert _active(app, a) == []

    created = _create(billing, a, number, "11")

    assert created.status_code == 302 and created.headers["Location"].endswith(f"{_file(a)}#budget")
    (plan,) = _active(app, a)
    assert (plan.instalment_count, plan.estimated_amount, plan.created_by) == (11, proposal.estimated_amount, "staff")
    page = billing.get(_file(a)).get_data(as_text=True)
    assert f"Budget billing is set up for contract {number}: 11 instalments of €{proposal.instalment_amount}" in page
    assert "Cancel this plan…" in page
    with app.app_context(), tenant_scope(a.tenant_id):
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "DownPaymentPlan",
                                                           AuditEvent.entity_id == plan.id,
                                                           AuditEvent.action == "insert"))
        assert (event.actor_kind, event.actor_label) == ("staff", a.staff_emails["billing"])


@pytest.mark.parametrize("count", ["9", "13", "twelve", ""])
def test_an_instalment_count_outside_ten_to_twelve_is_refused_with_a_message(app, billing, world, count):
    a, number = world

    shown = billing.get(f"{_file(a)}/budget?contract={number}&instalments={count}")
    posted = _create(billing, a, number, count, shown="x")

    assert shown.status_code == posted.status_code == 422
    assert "Choose 10, 11 or 12 instalments." in shown.get_data(as_text=True)
    assert "There is a problem" in posted.get_data(as_text=True)
    assert _active(app, a) == []


def test_a_schedule_that_changed_since_it_was_shown_is_shown_again_and_nothing_is_created(app, billing, world):
    a, number = world

    response = _create(billing, a, number, "12", shown="2026-12-01|1.00|12")

    assert response.status_code == 409
    assert "The schedule has changed since it was shown" in response.get_data(as_text=True)
    assert _active(app, a) == []


def test_a_contract_already_on_budget_billing_gets_a_clear_refusal(app, billing, world):
    a, number = world
    _create(billing, a, number, "12")

    again = billing.get(f"{_file(a)}/budget?contract={number}&instalments=10")

    assert again.status_code == 422
    assert "This contract is already on budget billing." in again.get_data(as_text=True)
    assert len(_active(app, a)) == 1


def test_cancelling_after_an_instalment_was_billed_issues_the_settlement_bill(app, billing, world, monkeypatch):
    a, number = world
    _create(billing, a, number, "12")
    with app.app_context(), tenant_scope(a.tenant_id):
        (bill_id,) = plans.issue_due_instalments(billing_date=date(2026, 12, 1),
                                                 now=datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
        db.session.commit()
    import backoffice.budget_views as views
    monkeypatch.setattr(views, "tenant_today", lambda: date(2026, 12, 10))
    (plan,) = _active(app, a)

    response = billing.submit(_file(a), {"confirm": "y"}, action=f"{_file(a)}/budget/{plan.public_id}/cancel")

    assert response.status_code == 302
    with app.app_context(), tenant_scope(a.tenant_id):
        cancelled = db.session.scalar(select(DownPaymentPlan).where(DownPaymentPlan.public_id == plan.public_id))
        settlement = db.session.get(Bill, cancelled.true_up_bill_id)
        assert cancelled.status == "cancelled" and settlement.kind == "true_up"
        assert settlement.period_end == date(2026, 12, 10)
        number_text, amount = settlement.number, settlement.total_incl_tax
    page = billing.get(_file(a)).get_data(as_text=True)
    assert f"Settlement bill {number_text} (€{amount:,})" in page


def test_cancelling_before_any_instalment_goes_back_to_periodic_bills(app, billing, world):
    a, number = world
    _create(billing, a, number, "10")
    (plan,) = _active(app, a)

    response = billing.submit(_file(a), {"confirm": "y"}, action=f"{_file(a)}/budget/{plan.public_id}/cancel")
    twice = billing.submit(_file(a), {"confirm": "y"}, action=f"{_file(a)}/budget/{plan.public_id}/cancel")

    assert response.status_code == twice.status_code == 302
    assert "This budget plan is no longer active." in billing.get(_file(a)).get_data(as_text=True)
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(Contract.billed_until)) == date(2026, 11, 1)
        assert db.session.scalar(select(func.count(Bill.id)).where(Bill.kind == "true_up")) == 0


def test_staff_without_billing_permission_are_refused(app, billing, world):
    a, number = world
    _create(billing, a, number, "12")
    (plan,) = _active(app, a)
    agent = _as_agent(billing, a)
    token = agent.csrf(_file(a))

    shown = agent.get(f"{_file(a)}/budget?contract={number}&instalments=12")
    created = agent.post(f"{_file(a)}/budget", {"contract": number, "instalments": "12", "shown": "x",
                                               "csrf_token": token})
    cancelled = agent.post(f"{_file(a)}/budget/{plan.public_id}/cancel", {"csrf_token": token})

    assert shown.status_code == created.status_code == cancelled.status_code == 403
    assert [p.public_id for p in _active(app, a)] == [plan.public_id]


def test_a_contract_of_another_account_is_not_found(billing, world):
    a, _number = world

    assert billing.get(f"{_file(a)}/budget?contract=K-NOT-HERE&instalments=12").status_code == 404
