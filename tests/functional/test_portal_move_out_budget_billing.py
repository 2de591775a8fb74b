"""A customer on budget billing moves out through the portal: the plan ends, the final bill trues it up.

Water at 2.00/m3 and a standing charge of 0.10/day, both at 5.5 % VAT; history of 1 m3 a day (1000 on
2026-01-01, 1304 on 2026-11-01, billed until 2026-11-01). The plan asked for on 2026-11-28 runs from
2026-11-01 to 2027-12-01 with twelve instalments of 72.92 (the last 73.00), the first due on 2026-12-01.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.accounting.models import LedgerEntry
from domain.billing import down_payments as plans
from domain.billing.instalment_jobs import bill_instalments
from domain.billing.models import Bill
from domain.billing.plan_models import DownPaymentInstalment, DownPaymentPlan
from domain.contracts.models import Contract
from domain.db import db
from domain.requests.models import ServiceRequest
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests import factories as f

PLAN_ASKED_AT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _unlink_plans(owner_engine):
    """Plans point at the plan they follow; unlink them before the shared clean-up deletes every table."""
    yield
    from sqlalchemy import text
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE down_payment_plans SET previous_plan_id = NULL"))


@pytest.fixture
def budget(app, make_tenant):
    """(tenant id, slug, contract id, register id, customer e-mail): the contract on budget billing, three
    instalments billed (December to February: 3 x 72.92 = 218.76)."""
    tenant = make_tenant("brook", activities=("water",))
    with app.app_context(), tenant_scope(tenant.id):
        party = f.PartyFactory()
        account = f.CustomerAccountFactory(holder=party)
        user = f.CustomerUserFactory(party=party, email="moving@brook.test")
        f.CustomerAccessFactory(user=user, account=account)
        dp = f.DeliveryPointFactory(premise=f.PremiseFactory(), activity="water")
        meter = f.MeterFactory(activity="water", unit="m3")
        register = f.RegisterFactory(meter=meter)
        f.MeterInstallationFactory(meter=meter, delivery_point=dp, installed_on=date(2025, 1, 1))
        version = f.TariffVersionFactory(offer=f.OfferFactory(activity="water"), effective_from=date(2025, 1, 1),
                                         standing_charge_per_day=Decimal("0.10000"),
                                         standing_charge_tax_rate=Decimal("0.055"))
        f.UnitPriceFactory(version=version, component="water", price=Decimal("2.000000"), tax_rate=Decimal("0.055"))
        contract = f.ContractFactory(account=account, delivery_point=dp, offer_id=version.offer_id,
                                     start_date=date(2025, 1, 1), estimated_annual_consumption=Decimal("365.000"),
                                     billed_until=date(2026, 11, 1))
        f.MeterReadingFactory(register=register, read_on=date(2026, 1, 1), value=Decimal("1000.000"), source="agent")
        f.MeterReadingFactory(register=register, read_on=date(2026, 11, 1), value=Decimal("1304.000"),
                              source="agent")
        db.session.commit()
        plans.create_plan(contract=contract, count=12, as_of=date(2026, 11, 28), now=PLAN_ASKED_AT)
        db.session.commit()
        assert bill_instalments(billing_date="2027-02-15")["instalments"] == 3
        return tenant.id, tenant.slug, contract.id, register.id, user.email


def _move_out(browser, slug, email, on: date, reading: str):
    portal = browser(slug)
    portal.login(email)
    form = portal.get("/requests/new?kind=move_out")
    response = portal.submit("/requests/new?kind=move_out", {"effective_on": on.isoformat(),
                                                             "reading-TOTAL": reading})
    return form, response


def _state(tenant_id: int, contract_id: int):
    contract = db.session.get(Contract, contract_id)
    plan = db.session.scalar(select(DownPaymentPlan).where(DownPaymentPlan.contract_id == contract_id))
    final = db.session.scalars(select(Bill).where(Bill.kind == "true_up")).all()
    instalments = db.session.scalars(select(DownPaymentInstalment).where(DownPaymentInstalment.plan_id == plan.id)
                                     .order_by(DownPaymentInstalment.due_on)).all()
    return contract, plan, final, instalments


def test_moving_out_on_budget_billing_ends_the_plan_with_the_final_true_up_bill(app, browser, clock, budget):
    tenant_id, slug, contract_id, _register_id, email = budget
    clock.move_to(datetime(2027, 3, 10, 9, 0, tzinfo=UTC))

    form, response = _move_out(browser, slug, email, date(2027, 3, 1), "1424")

    assert form.status_code == 200 and "You are on budget billing: it ends on your move-out date." in \
        form.get_data(as_text=True)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context(), tenant_scope(tenant_id):
        contract, plan, final, instalments = _state(tenant_id, contract_id)
        assert (contract.end_date, contract.status, contract.billed_until) == (date(2027, 3, 1), "ended",
                                                                                date(2027, 3, 1))
        # The plan ended on the move-out date, settled by its true-up; no instalment is left to bill.
        assert plan.status == "completed" and plan.true_up_on == date(2027, 3, 1)
        assert plans.active_plan(contract_id=contract_id) is None
        assert [i.due_on for i in instalments] == [date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)]
        assert all(i.bill_id is not None for i in instalments)
        # 2026-11-01 to 2027-03-01: 120 days, 120 m3: 240.00 + 12.00 = 252.00 net, VAT 13.86, 265.86 gross;
        # less the three instalments billed (218.76): 47.10 to pay.
        (bill,) = final
        assert plan.true_up_bill_id == bill.id
        assert (bill.period_start, bill.period_end) == (date(2026, 11, 1), date(2027, 3, 1))
        terms = db.session.get(Tenant, tenant_id).payment_terms_days
        assert bill.due_date == date(2027, 3, 10) + timedelta(days=terms)  # issued the day the move is recorded
        assert bill.status == "issued" and bill.number
        assert bill.total_tax == Decimal("13.86") and bill.total_incl_tax == Decimal("47.10")
        assert sum(line.amount for line in bill.lines if line.amount > 0) == Decimal("252.00")  # the consumption
        ledger = db.session.scalar(select(LedgerEntry).where(LedgerEntry.bill_id == bill.id))
        assert (ledger.direction, ledger.amount) == ("debit", Decimal("47.10"))
        request = db.session.scalar(select(ServiceRequest).where(ServiceRequest.kind == "move_out"))
        assert request.effective_on == date(2027, 3, 1)

        # Nothing more: no instalment and no second settlement, whatever the date.
        assert bill_instalments(billing_date="2027-12-31") == {"instalments": 0, "true_ups": 0, "failed": 0}
        assert db.session.scalars(select(Bill.kind)).all().count("instalment") == 3


def test_a_move_out_date_ahead_ends_the_plan_on_that_day(app, browser, clock, budget):
    tenant_id, slug, contract_id, register_id, email = budget
    clock.move_to(datetime(2027, 3, 10, 9, 0, tzinfo=UTC))

    _form, response = _move_out(browser, slug, email, date(2027, 4, 1), "1455")

    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context(), tenant_scope(tenant_id):
        contract, plan, final, instalments = _state(tenant_id, contract_id)
        assert (plan.status, plan.true_up_on, final) == ("active", date(2027, 4, 1), [])
        assert contract.billed_until == date(2027, 4, 1)  # a periodic run leaves the plan's period alone
        assert [i.due_on for i in instalments][-1] == date(2027, 3, 1)  # none due from the move-out date on

        # The daily job: March's instalment, then on the move-out date the plan's true-up, the final bill.
        march = bill_instalments(billing_date="2027-03-10")
        on_the_day = bill_instalments(billing_date="2027-04-01")

        assert march == {"instalments": 1, "true_ups": 0, "failed": 0}
        assert on_the_day == {"instalments": 0, "true_ups": 1, "failed": 0}
        contract, plan, final, _instalments = _state(tenant_id, contract_id)
        # 151 days, 151 m3: 302.00 + 15.10 = 317.10 net, VAT 17.44, 334.54; less 4 x 72.92 = 291.68: 42.86.
        (bill,) = final
        assert (bill.period_start, bill.period_end) == (date(2026, 11, 1), date(2027, 4, 1))
        assert bill.total_tax == Decimal("17.44") and bill.total_incl_tax == Decimal("42.86")
        assert plan.status == "completed" and plans.active_plan(contract_id=contract_id) is None
        assert bill_instalments(billing_date="2027-06-01") == {"instalments": 0, "true_ups": 0, "failed": 0}


def test_a_date_inside_the_plans_period_is_no_longer_refused_but_one_before_it_still_is(app, browser, clock,
                                                                                          budget):
    tenant_id, slug, _contract_id, _register_id, email = budget
    clock.move_to(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))

    _form, before_plan = _move_out(browser, slug, email, date(2026, 10, 31), "1303")

    text = before_plan.get_data(as_text=True)
    assert before_plan.status_code == 400 and "A bill already covers the period up to this date" in text
