"""Budget billing on the database: proposal priced by the engine, instalment bills, true-up, cancellation.

A water contract (flat seasonal profile, so the figures can be checked by hand): standing charge 0.10/day and
water 2.00/m3, both at 5.5 % VAT; history of 1 m3 a day.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.accounting.models import LedgerEntry
from domain.billing import down_payments as plans
from domain.billing.instalment_jobs import bill_instalments
from domain.billing.models import Bill
from domain.billing.plan_models import DownPaymentPlan
from domain.contracts.models import Contract
from domain.db import db
from tenants.context import tenant_scope
from tests import factories as f

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
AS_OF = date(2026, 11, 28)


@pytest.fixture(autouse=True)
def _unlink_plans(owner_engine):
    """Plans point at the plan they follow; unlink them before the shared clean-up deletes every table."""
    yield
    from sqlalchemy import text
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE down_payment_plans SET previous_plan_id = NULL"))


@pytest.fixture
def water(app, make_tenant):
    """(tenant id, contract id, register id): readings 1000 on 2026-01-01 and 1304 on 2026-11-01 (actual)."""
    tenant = make_tenant("rivers", activities=("water",))
    with app.app_context(), tenant_scope(tenant.id):
        party = f.PartyFactory()
        account = f.CustomerAccountFactory(holder=party)
        dp = f.DeliveryPointFactory(premise=f.PremiseFactory(), activity="water")
        meter = f.MeterFactory(activity="water", unit="m3")
        register = f.RegisterFactory(meter=meter)
        f.MeterInstallationFactory(meter=meter, delivery_point=dp, installed_on=date(2025, 1, 1))
        version = f.TariffVersionFactory(offer=f.OfferFactory(activity="water"), effective_from=date(2025, 1, 1),
                                         standing_charge_per_day=Decimal("0.10000"),
                                         standing_charge_tax_rate=Decimal("0.055"))
        f.UnitPriceFactory(version=version, component="water", price=Decimal("2.000000"), tax_rate=Decimal("0.055"))
        contract = f.ContractFactory(account=account, delivery_point=dp, offer_id=version.offer_id,
                                     start_date=date(2025, 1, 1), estimated_annual_consumption=Decimal("3650.000"),
                                     billed_until=date(2026, 11, 1))
        f.MeterReadingFactory(register=register, read_on=date(2026, 1, 1), value=Decimal("1000.000"), source="agent")
        f.MeterReadingFactory(register=register, read_on=date(2026, 11, 1), value=Decimal("1304.000"),
                              source="agent")
        db.session.commit()
        return tenant.id, contract.id, register.id


def _contract(contract_id: int) -> Contract:
    return db.session.get(Contract, contract_id)


def test_proposal_spreads_the_engines_estimate_exactly_over_the_instalments(app, water):
    tenant_id, contract_id, _ = water
    with app.app_context(), tenant_scope(tenant_id):

        proposal = plans.propose_plan(contract=_contract(contract_id), count=12, as_of=AS_OF)

        # 2026-11-01 to 2027-12-01 is 395 days at 1 m3 a day: 395 x 2.00 + 395 x 0.10 = 829.50, VAT 45.62.
        assert (proposal.start_on, proposal.true_up_on) == (date(2026, 11, 1), date(2027, 12, 1))
        assert proposal.estimated_consumption == Decimal("395.000") and proposal.unit == "m3"
        assert proposal.estimated_amount == Decimal("875.12")
        assert [i.amount for i in proposal.instalments] == [Decimal("72.92")] * 11 + [Decimal("73.00")]
        assert sum(i.amount for i in proposal.instalments) == proposal.estimated_amount
        assert proposal.instalments[0].due_date == date(2026, 12, 1)
        assert proposal.instalments[-1].due_date == date(2027, 11, 1)


def test_without_history_the_contracts_annual_estimate_is_used(app, water):
    tenant_id, contract_id, register_id = water
    with app.app_context(), tenant_scope(tenant_id):
        from domain.readings.models import MeterReading
        db.session.execute(MeterReading.__table__.delete().where(MeterReading.register_id == register_id,
                                                                 MeterReading.read_on == date(2026, 1, 1)))

        proposal = plans.propose_plan(contract=_contract(contract_id), count=10, as_of=AS_OF)

        # 3,650 m3 a year is 10 m3 a day: 3,950 m3 x 2.00 + 39.50 = 7,939.50, VAT 436.67.
        assert proposal.estimated_consumption == Decimal("3950.000")
        assert proposal.estimated_amount == Decimal("8376.17")
        assert [i.amount for i in proposal.instalments] == [Decimal("837.61")] * 9 + [Decimal("837.68")]


def test_creating_a_plan_stores_the_schedule_and_allows_one_active_plan(app, water):
    tenant_id, contract_id, _ = water
    with app.app_context(), tenant_scope(tenant_id):

        plan = plans.create_plan(contract=_contract(contract_id), count=11, as_of=AS_OF, now=NOW)
        db.session.commit()

        assert plan.status == "active" and plan.instalment_count == 11
        assert [i.sequence for i in plan.instalments] == list(range(1, 12))
        assert sum(i.amount for i in plan.instalments) == plan.estimated_amount == Decimal("875.12")
        assert _contract(contract_id).billed_until == date(2027, 12, 1)  # the periodic run leaves it alone
        with pytest.raises(plans.PlanRefused) as caught:
            plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)
        assert caught.value.code == "already_active"


@pytest.mark.parametrize("count", [9, 13])
def test_refuses_a_count_outside_ten_to_twelve(app, water, count):
    tenant_id, contract_id, _ = water
    with app.app_context(), tenant_scope(tenant_id):
        with pytest.raises(plans.PlanRefused) as caught:
            plans.propose_plan(contract=_contract(contract_id), count=count, as_of=AS_OF)
        assert caught.value.code == "count"


def _bills(kind: str) -> list[Bill]:
    return list(db.session.scalars(select(Bill).where(Bill.kind == kind).order_by(Bill.period_start)))


def test_instalment_job_issues_numbered_bills_with_ledger_debits_once(app, water):
    tenant_id, contract_id, _ = water
    with app.app_context(), tenant_scope(tenant_id):
        plan = plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)
        db.session.commit()
        plan_id = plan.id

        first = bill_instalments(billing_date="2027-03-15")
        again = bill_instalments(billing_date="2027-03-15")

        assert first == {"instalments": 4, "true_ups": 0, "failed": 0}
        assert again == {"instalments": 0, "true_ups": 0, "failed": 0}
        bills = _bills("instalment")
        assert [b.period_start for b in bills] == [date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1),
                                                    date(2027, 3, 1)]
        assert all(b.status == "issued" and b.number and b.total_incl_tax == Decimal("72.92") for b in bills)
        assert len({b.number for b in bills}) == 4
        debits = db.session.scalars(select(LedgerEntry.amount).where(LedgerEntry.direction == "debit")).all()
        assert sorted(debits) == [Decimal("72.92")] * 4
        plan = db.session.get(DownPaymentPlan, plan_id)
        assert [i.bill_id is not None for i in plan.instalments] == [True] * 4 + [False] * 8


def test_periodic_run_does_not_bill_a_contract_on_budget_billing(app, water, monkeypatch):
    from domain.billing import runs
    from domain.db import utcnow
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    tenant_id, contract_id, _ = water
    with app.app_context(), tenant_scope(tenant_id):
        plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)
        db.session.commit()
        run = runs.create_run(billing_date=date(2027, 6, 1), mode="issue", scope_activity=None, scope_cycle=None,
                              created_by="test", now=utcnow())
        db.session.commit()
        runs.start(run)
    with app.app_context(), tenant_scope(tenant_id):
        assert _bills("periodic") == []


def test_true_up_bills_actual_minus_instalments_and_starts_the_next_year(app, water):
    tenant_id, contract_id, register_id = water
    with app.app_context(), tenant_scope(tenant_id):
        plan = plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)
        db.session.commit()
        plan_id = plan.id
        register = db.session.get(f.Register, register_id)
        f.MeterReadingFactory(register=register, read_on=date(2027, 12, 1), value=Decimal("1724.000"),
                              source="agent")
        db.session.commit()

        outcome = bill_instalments(billing_date="2027-12-01")
        repeat = bill_instalments(billing_date="2027-12-01")

        assert outcome == {"instalments": 13, "true_ups": 1, "failed": 0}  # 12, then the new year's first
        assert repeat == {"instalments": 0, "true_ups": 0, "failed": 0}
        # Actual: 420 m3 x 2.00 + 395 days x 0.10 = 879.50, VAT 48.37: 927.87; instalments 875.12.
        (bill,) = _bills("true_up")
        assert (bill.period_start, bill.period_end) == (date(2026, 11, 1), date(2027, 12, 1))
        assert bill.total_incl_tax == Decimal("52.75") and bill.total_tax == Decimal("48.37")
        assert bill.number and bill.status == "issued"
        # The consumption keeps its own totals; the twelve instalments are deducted at their gross amount, no VAT.
        consumption = [line for line in bill.lines if line.component != "instalment"]
        deducted = [line for line in bill.lines if line.component == "instalment"]
        assert sum(line.amount for line in consumption) == bill.total_excl_tax == Decimal("879.50")
        assert bill.total_excl_tax + bill.total_tax == Decimal("927.87")
        assert len(deducted) == 12 and sum(line.amount_incl_tax for line in deducted) == Decimal("-875.12")
        assert {line.amount for line in deducted} == {line.amount_incl_tax for line in deducted}
        ledger = db.session.scalar(select(LedgerEntry).where(LedgerEntry.bill_id == bill.id))
        assert (ledger.direction, ledger.amount) == ("debit", Decimal("52.75"))
        old = db.session.get(DownPaymentPlan, plan_id)
        assert old.status == "completed" and old.true_up_bill_id == bill.id
        new = plans.active_plan(contract_id=contract_id)
        assert new.previous_plan_id == plan_id and new.created_by == "true_up"
        # Next year (366 days, 2028 is a leap year) from 420 m3 in 395 days: 389.165 m3 -> 859.75.
        assert (new.start_on, new.true_up_on) == (date(2027, 12, 1), date(2028, 12, 1))
        assert new.estimated_consumption == Decimal("389.165") and new.estimated_amount == Decimal("859.75")
        assert [i.amount for i in new.instalments] == [Decimal("71.64")] * 11 + [Decimal("71.71")]
        assert _contract(contract_id).billed_until == date(2028, 12, 1)


def test_a_true_up_below_the_instalments_is_a_credit(app, water):
    tenant_id, contract_id, register_id = water
    with app.app_context(), tenant_scope(tenant_id):
        plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)
        register = db.session.get(f.Register, register_id)
        f.MeterReadingFactory(register=register, read_on=date(2027, 12, 1), value=Decimal("1604.000"),
                              source="agent")
        db.session.commit()

        bill_instalments(billing_date="2027-12-01")

        # Actual: 300 m3 x 2.00 + 39.50 = 639.50, VAT 35.17: 674.67 - 875.12 = -200.45.
        (bill,) = _bills("true_up")
        assert bill.total_incl_tax == Decimal("-200.45")
        ledger = db.session.scalar(select(LedgerEntry).where(LedgerEntry.bill_id == bill.id))
        assert (ledger.direction, ledger.amount) == ("credit", Decimal("200.45"))


def test_cancelling_before_any_instalment_gives_the_period_back_to_periodic_bills(app, water):
    tenant_id, contract_id, _ = water
    with app.app_context(), tenant_scope(tenant_id):
        plan = plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)

        settlement = plans.cancel_plan(plan=plan, on=AS_OF, now=NOW)
        db.session.commit()

        assert settlement is None and plan.status == "cancelled" and plan.cancelled_at is not None
        assert _contract(contract_id).billed_until == date(2026, 11, 1)
        assert db.session.scalar(select(func.count(Bill.id))) == 0
        again = plans.create_plan(contract=_contract(contract_id), count=10, as_of=AS_OF, now=NOW)
        assert again.status == "active"


def test_cancelling_after_instalments_settles_the_consumption_so_far(app, water):
    tenant_id, contract_id, _ = water
    with app.app_context(), tenant_scope(tenant_id):
        plan = plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)
        db.session.commit()
        bill_instalments(billing_date="2027-01-15")  # two instalments: 145.84

        settlement = plans.cancel_plan(plan=plan, on=date(2027, 2, 1), now=NOW)
        db.session.commit()

        # 92 days estimated at 1 m3 a day: 184.00 + 9.20 = 193.20, VAT 10.63: 203.83 - 145.84 = 57.99.
        assert settlement.kind == "true_up" and settlement.total_incl_tax == Decimal("57.99")
        assert (settlement.period_start, settlement.period_end) == (date(2026, 11, 1), date(2027, 2, 1))
        assert _contract(contract_id).billed_until == date(2027, 2, 1)
        assert bill_instalments(billing_date="2027-06-01")["instalments"] == 0


def test_instalment_and_true_up_bills_render_as_documents(app, water):
    from domain.billing.document_data import build_bill_document
    tenant_id, contract_id, register_id = water
    with app.app_context(), tenant_scope(tenant_id):
        plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)
        register = db.session.get(f.Register, register_id)
        f.MeterReadingFactory(register=register, read_on=date(2027, 12, 1), value=Decimal("1724.000"),
                              source="agent")
        db.session.commit()
        bill_instalments(billing_date="2027-12-01")

        instalment = build_bill_document(bill_id=_bills("instalment")[0].id)
        settlement = build_bill_document(bill_id=_bills("true_up")[0].id)

        assert instalment.total_incl_tax == Decimal("72.92")
        assert settlement.total_incl_tax == Decimal("52.75")
        assert settlement.total_excl_tax == Decimal("879.50") and settlement.gross_total == Decimal("927.87")
        assert settlement.deducted == Decimal("875.12") and len(settlement.deductions) == 12
        assert all(line.description != "Instalment already billed" for line in settlement.lines)
        from domain.billing.document_jobs import render_bill_document
        assert render_bill_document(bill_id=_bills("true_up")[0].id).endswith(".pdf")


def test_the_job_is_registered_for_the_workers_and_runs_in_its_tenant(app, water):
    from app.jobs import run_job
    tenant_id, contract_id, _ = water
    with app.app_context(), tenant_scope(tenant_id):
        plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)
        db.session.commit()

    with app.app_context():
        outcome = run_job("billing.bill_instalments", tenant_id, None, {"billing_date": "2026-12-01"})

    assert outcome == {"instalments": 1, "true_ups": 0, "failed": 0}


def test_a_true_up_the_engine_cannot_compute_leaves_the_plan_active_with_one_task(app, water):
    from domain.offers.models import TariffVersion
    from domain.tasks.models import Task
    tenant_id, contract_id, _ = water
    with app.app_context(), tenant_scope(tenant_id):
        plan = plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)
        db.session.scalar(select(TariffVersion)).effective_to = date(2027, 6, 1)  # no price after June
        db.session.commit()
        plan_id = plan.id

        first = bill_instalments(billing_date="2027-12-01")
        second = bill_instalments(billing_date="2027-12-02")

        assert first["failed"] == second["failed"] == 1 and first["true_ups"] == 0
        assert db.session.get(DownPaymentPlan, plan_id).status == "active"
        assert _bills("true_up") == []
        tasks = db.session.scalars(select(Task).where(Task.subject_id == contract_id)).all()
        assert len(tasks) == 1 and "engine" in tasks[0].title


def test_a_true_up_on_an_estimated_index_is_regularised_by_the_next_one(app, water):
    tenant_id, contract_id, register_id = water
    with app.app_context(), tenant_scope(tenant_id):
        _contract(contract_id).estimated_annual_consumption = Decimal("365.000")
        plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)
        db.session.commit()

        bill_instalments(billing_date="2027-12-01")  # no reading: 395 m3 estimated, as the instalments assumed
        (first,) = _bills("true_up")
        register = db.session.get(f.Register, register_id)
        f.MeterReadingFactory(register=register, read_on=date(2028, 12, 1), value=Decimal("2104.000"),
                              source="agent")
        db.session.commit()
        bill_instalments(billing_date="2028-12-01")

        assert first.estimated and first.total_incl_tax == Decimal("0.00")
        second = _bills("true_up")[1]
        # From the latest actual index (1304 on 2026-11-01): 800 m3 = 1,600.00, minus the 395 m3 the first
        # true-up charged (790.00), plus 366 days x 0.10; VAT 46.56: 893.16, minus instalments of 810.87.
        assert second.total_incl_tax == Decimal("82.29") and not second.estimated
        charged = [line.amount for line in second.lines if line.component != "instalment"]
        assert sorted(charged) == sorted([Decimal("1600.00"), Decimal("-790.00"), Decimal("36.60")])
        assert sum(line.amount for line in second.lines if line.component == "instalment") == Decimal("-810.87")


def test_two_confirmations_at_once_leave_one_active_plan(app, water, monkeypatch):
    tenant_id, contract_id, _ = water
    with app.app_context(), tenant_scope(tenant_id):
        plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)
        # The other request read the contract before this plan was committed.
        monkeypatch.setattr(plans, "active_plan", lambda **_kw: None)
        _contract(contract_id).billed_until = date(2026, 11, 1)

        with pytest.raises(plans.PlanRefused) as caught:
            plans.create_plan(contract=_contract(contract_id), count=10, as_of=AS_OF, now=NOW)
        db.session.commit()

        assert caught.value.code == "already_active"
        assert db.session.scalar(select(func.count(DownPaymentPlan.id))) == 1


def test_a_periodic_run_after_an_estimated_settlement_credits_what_the_settlement_estimated(app, water, monkeypatch):
    """A plan cancelled without a reading settles on an estimate; once an actual reading comes, the next periodic
    bill recomputes from the latest actual index and credits the settlement's estimated consumption (not twice)."""
    from domain.billing import runs
    from domain.db import utcnow
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    tenant_id, contract_id, register_id = water
    with app.app_context(), tenant_scope(tenant_id):
        plan = plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)
        db.session.commit()
        bill_instalments(billing_date="2027-01-15")
        settlement = plans.cancel_plan(plan=plan, on=date(2027, 2, 1), now=NOW)  # 92 days estimated: 92 m3
        db.session.commit()
        assert settlement.estimated
        f.MeterReadingFactory(register=db.session.get(f.Register, register_id), read_on=date(2027, 3, 1),
                              value=Decimal("1424.000"), source="agent")  # 120 m3 since 2026-11-01, not 184
        db.session.commit()
        run = runs.create_run(billing_date=date(2027, 3, 1), mode="issue", scope_activity=None, scope_cycle=None,
                              created_by="test", now=utcnow())
        db.session.commit()
        runs.start(run)
    with app.app_context(), tenant_scope(tenant_id):
        (periodic,) = _bills("periodic")
        water_lines = sorted(line.amount for line in periodic.lines if line.component == "water")
        # 120 m3 actually used since the last actual index (240.00), minus the 92 m3 the settlement charged.
        assert water_lines == [Decimal("-184.00"), Decimal("240.00")]


def _true_up_pdf_text(tenant_id: int, locale: str = "en") -> tuple[object, str]:
    import io
    import re

    from pypdf import PdfReader

    from domain.billing.document_data import build_bill_document
    from domain.billing.document_pdf import render_bill_pdf
    from domain.i18n import translator

    (bill,) = _bills("true_up")
    bill.account.locale = locale
    db.session.flush()
    doc = build_bill_document(bill_id=bill.id)
    reader = PdfReader(io.BytesIO(render_bill_pdf(doc, _=translator(locale))))
    return doc, re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_the_true_up_document_shows_the_consumption_totals_then_the_instalments_deducted_gross(app, water):
    tenant_id, contract_id, register_id = water
    with app.app_context(), tenant_scope(tenant_id):
        plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)
        register = db.session.get(f.Register, register_id)
        f.MeterReadingFactory(register=register, read_on=date(2027, 12, 1), value=Decimal("1724.000"),
                              source="agent")
        db.session.commit()
        bill_instalments(billing_date="2027-12-01")

        doc, text = _true_up_pdf_text(tenant_id)

    # 420 m3 x 2.00 + 395 days x 0.10 = 879.50 net, VAT 5.5 % 48.37, gross 927.87; then 11 x 72.92 + 73.00.
    assert [(t.rate, t.base, t.tax) for t in doc.tax_totals] == [(Decimal("0.055"), Decimal("879.50"),
                                                                  Decimal("48.37"))]
    assert "Subtotal at VAT rate 5.5% €879.50 €48.37 €927.87" in text
    assert "Total excl. VAT €879.50 Total VAT €48.37 Total incl. VAT €927.87" in text
    assert "Instalment already billed, 1 Dec 2026 to 31 Dec 2026 -€72.92" in text
    assert "Instalment already billed, 1 Nov 2027 to 30 Nov 2027 -€73.00" in text
    assert text.count("Instalment already billed") == 12
    assert "Instalments deducted -€875.12 Amount to pay €52.75" in text
    assert "0%" not in text and "-0.00" not in text and "-€0.00" not in text  # no instalment priced at 0 % VAT
    from tests.functional.test_bill_presentation import INTERNAL_CODE
    assert INTERNAL_CODE.findall(text) == []


def test_a_true_up_refund_ends_on_the_amount_to_be_refunded(app, water):
    tenant_id, contract_id, register_id = water
    with app.app_context(), tenant_scope(tenant_id):
        plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)
        register = db.session.get(f.Register, register_id)
        f.MeterReadingFactory(register=register, read_on=date(2027, 12, 1), value=Decimal("1604.000"),
                              source="agent")
        db.session.commit()
        bill_instalments(billing_date="2027-12-01")

        doc, text = _true_up_pdf_text(tenant_id, "fr")

    # 300 m3 x 2.00 + 39.50 = 639.50 net, VAT 35.17, gross 674.67 - 875.12 = 200.45 to refund.
    assert doc.total_excl_tax == Decimal("639.50") and doc.gross_total == Decimal("674.67")
    assert "Total HT 639,50 € Total TVA 35,17 € Total TTC 674,67 €" in text
    assert "Mensualités déduites -875,12 € Montant qui vous sera remboursé 200,45 €" in text


def test_the_true_up_page_shows_the_same_layout_to_the_customer(app, water, browser):
    tenant_id, contract_id, register_id = water
    with app.app_context(), tenant_scope(tenant_id):
        contract = _contract(contract_id)
        user = f.CustomerUserFactory(party=contract.account.holder, email="budget@rivers.test")
        f.CustomerAccessFactory(user=user, account=contract.account)
        plans.create_plan(contract=contract, count=12, as_of=AS_OF, now=NOW)
        register = db.session.get(f.Register, register_id)
        f.MeterReadingFactory(register=register, read_on=date(2027, 12, 1), value=Decimal("1724.000"),
                              source="agent")
        db.session.commit()
        bill_instalments(billing_date="2027-12-01")
        (bill,) = _bills("true_up")
        number = bill.number
    signed_in = browser("rivers")
    signed_in.login("budget@rivers.test")

    from tests.functional.test_bill_presentation import visible_text
    text = visible_text(signed_in.get(f"/bills/{number}").get_data(as_text=True))

    assert "Total excl. VAT €879.50 Total VAT €48.37 Total incl. VAT €927.87" in text
    assert text.count("Instalment already billed") == 12
    assert "Amount to pay €52.75" in text
    assert "0%" not in text
    from tests.functional.test_bill_presentation import INTERNAL_CODE
    assert INTERNAL_CODE.findall(text) == []


def test_an_instalment_notice_asks_for_a_payment_on_account_without_a_vat_rate(app, water):
    import io
    import re

    from pypdf import PdfReader

    from domain.billing.document_data import build_bill_document
    from domain.billing.document_pdf import render_bill_pdf
    from domain.i18n import translator

    tenant_id, contract_id, _ = water
    with app.app_context(), tenant_scope(tenant_id):
        plans.create_plan(contract=_contract(contract_id), count=12, as_of=AS_OF, now=NOW)
        db.session.commit()
        bill_instalments(billing_date="2026-12-01")

        doc = build_bill_document(bill_id=_bills("instalment")[0].id)
        reader = PdfReader(io.BytesIO(render_bill_pdf(doc, _=translator("en"))))
        text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))

    assert doc.tax_totals == () and doc.vat_basis == "none"
    assert "Instalment 1 month €72.92/month €72.92" in text
    assert "Amount due €72.92" in text and "it bears no VAT of its own" in text
    assert "0%" not in text and "VAT rate" not in text
    from tests.functional.test_bill_presentation import INTERNAL_CODE
    assert INTERNAL_CODE.findall(text) == []
