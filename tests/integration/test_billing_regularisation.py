"""Billing runs regularise a long run of estimates from the latest actual reading, however old, and apply the
tenant's back-billing limit exactly as the engine does (a credit is never limited; a contract where the customer
prevented readings is not limited from that day).

Each customer: water, 1 m3 a day expected (365 m3 a year, flat profile), 2.0000 per m3 at 5.5 % VAT, no standing
charge; an actual reading of 1,000 m3 on 1 January 2025, then 18 monthly runs (January 2025 to June 2026) that
bill estimates of 1 m3 a day: 546 m3 in all, 1,092.00; then an actual reading on 1 August 2026 and the run of
that day bills July 2026, regularising the 577 days since 1 January 2025. Back-billing limit 12 months: the
cutoff is 1 August 2025, with 212 days before it (January to July 2025) and 365 from it.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.billing import runs
from domain.billing.chunk_inputs import contract_for_period, meters_by_delivery_point
from domain.billing.engine import PriorCharge, compute_bill, prepare_tariff
from domain.billing.chunk_inputs import contract_input, tariffs_by_offer
from domain.billing.models import Bill, BillLine
from domain.billing.run_models import BillingException, BillingRun
from domain.contracts.models import Contract
from domain.db import db
from domain.readings.models import MeterReading
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.factories import (
    ContractFactory,
    CustomerAccountFactory,
    DeliveryPointFactory,
    MeterFactory,
    MeterInstallationFactory,
    MeterReadingFactory,
    OfferFactory,
    RegisterFactory,
    TariffVersionFactory,
    UnitPriceFactory,
)

START = date(2025, 1, 1)
ACTUAL_ON = date(2026, 8, 1)  # 577 days after START
D = Decimal


@pytest.fixture(autouse=True)
def _jobs_in_process(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)


def _customer(offer_id: int) -> tuple[int, int]:
    """(contract id, register id) of a new water customer with an actual reading of 1,000 m3 on START."""
    dp = DeliveryPointFactory(activity="water")
    meter = MeterFactory(activity="water", unit="m3", digits=6)
    register = RegisterFactory(meter=meter)
    MeterInstallationFactory(meter=meter, delivery_point=dp, installed_on=START)
    contract = ContractFactory(account=CustomerAccountFactory(opened_on=START), delivery_point=dp,
                               offer_id=offer_id, start_date=START, estimated_annual_consumption=D("365.000"))
    MeterReadingFactory(register=register, read_on=START, value=D("1000.000"), source="agent")
    return contract.id, register.id


def _run(app, tenant_id: int, billing_date: date) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        run = runs.create_run(billing_date=billing_date, mode="issue", scope_activity=None, scope_cycle=None,
                              created_by="test", now=datetime(2026, 11, 28, 9, tzinfo=UTC))
        db.session.commit()
        runs.start(run)
        return run.id


@pytest.fixture
def estimated_for_18_months(app, make_tenant):
    """A tenant with three such customers (named by what their actual reading will say) after 18 monthly runs."""
    tenant = make_tenant("regul", activities=("water",))
    with app.app_context(), tenant_scope(tenant.id):
        db.session.get(Tenant, tenant.id).back_billing_months = 12
        version = TariffVersionFactory(offer=OfferFactory(activity="water"), effective_from=START,
                                       standing_charge_per_day=D("0"))
        UnitPriceFactory(version=version, component="water", price=D("2.0000"), tax_rate=D("0.055"))
        customers = {name: _customer(version.offer_id) for name in ("low", "high", "prevented")}
        db.session.commit()
    for month in range(1, 19):  # billing dates 1 February 2025 .. 1 July 2026
        billing_date = date(2025 + month // 12, month % 12 + 1, 1)
        run_id = _run(app, tenant.id, billing_date)
        with app.app_context(), tenant_scope(tenant.id):
            assert db.session.get(BillingRun, run_id).status == "completed"
    return tenant.id, customers


def _actual_reading(app, tenant_id: int, register_id: int, value: str) -> None:
    with app.app_context(), tenant_scope(tenant_id):
        MeterReadingFactory(register_id=register_id, read_on=ACTUAL_ON, value=D(value), source="agent")
        db.session.commit()


def _bill(app, tenant_id: int, run_id: int, contract_id: int):
    with app.app_context(), tenant_scope(tenant_id):
        bill = db.session.scalar(select(Bill).where(Bill.billing_run_id == run_id, Bill.contract_id == contract_id))
        if bill is None:
            return None, []
        lines = db.session.execute(
            select(BillLine.description, BillLine.period_start, BillLine.period_end, BillLine.quantity,
                   BillLine.amount).where(BillLine.bill_id == bill.id).order_by(BillLine.position)).all()
        return bill, [tuple(line) for line in lines]


def _engine_with_every_reading(app, tenant_id: int, contract_id: int):
    """The engine's own bill of July 2026 given every reading of the contract and every estimated bill's lines."""
    with app.app_context(), tenant_scope(tenant_id):
        tenant = db.session.get(Tenant, tenant_id)
        item = contract_for_period(tenant_id=tenant_id, contract_id=contract_id, kind="periodic",
                                   period_start=date(2026, 7, 1), period_end=ACTUAL_ON)
        meters = meters_by_delivery_point(tenant_id, [item.delivery_point_id])[item.delivery_point_id]
        (register_id,) = meters[0][1].values()
        readings = db.session.execute(
            select(MeterReading.read_on, MeterReading.value, MeterReading.source == "estimated")
            .where(MeterReading.register_id == register_id, MeterReading.status == "valid")
            .order_by(MeterReading.read_on, MeterReading.id)).all()
        tariffs = tuple(prepare_tariff(v) for v in tariffs_by_offer(tenant_id, [item.offer_id])[item.offer_id])
        contract = contract_input(item, meters=meters, readings={register_id: [tuple(r) for r in readings]},
                                  tariffs=tariffs, gas_calorific_value=None)
        prior = db.session.scalars(
            select(BillLine).join(Bill, Bill.id == BillLine.bill_id)
            .where(Bill.contract_id == contract_id, Bill.estimated.is_(True), Bill.status == "issued",
                   BillLine.component == "water").order_by(Bill.period_start)).all()
        return compute_bill(
            contract=contract, period_start=date(2026, 7, 1), period_end=ACTUAL_ON, bill_date=ACTUAL_ON,
            prior_charges=tuple(PriorCharge(line.component, line.description, line.period_start, line.period_end,
                                            line.quantity, line.unit, line.unit_price, line.amount, line.tax_rate)
                                for line in prior),
            back_billing_limit_months=tenant.back_billing_months,
            back_billing_exempt_from=item.readings_prevented_from)


def _credits(lines) -> tuple[Decimal, Decimal]:
    """(quantity, amount) the regularisation credits before the cutoff and from it."""
    before = [line for line in lines if line[0] == "regularisation_credit" and line[2] <= date(2025, 8, 1)]
    after = [line for line in lines if line[0] == "regularisation_credit" and line[1] >= date(2025, 8, 1)]
    return ((sum(line[3] for line in before), sum(line[4] for line in before)),
            (sum(line[3] for line in after), sum(line[4] for line in after)))


def test_estimates_too_low_are_regularised_and_older_consumption_is_not_back_billed(app, estimated_for_18_months):
    tenant_id, customers = estimated_for_18_months
    contract_id, register_id = customers["low"]
    _actual_reading(app, tenant_id, register_id, "1865.500")  # 865.5 m3 in 577 days: 1.5 a day, not 1

    run_id = _run(app, tenant_id, ACTUAL_ON)

    bill, lines = _bill(app, tenant_id, run_id, contract_id)
    charges = [line for line in lines if line[0] == "water"]
    # 865.5 m3 apportioned by days: 865.5 x 212/577 = 318 before the cutoff, 547.5 from it; 2.00 a m3.
    assert charges == [("water", START, date(2025, 8, 1), D("318.000"), D("636.00")),
                       ("water", date(2025, 8, 1), ACTUAL_ON, D("547.500"), D("1095.00"))]
    # The estimates credited: 212 m3 (424.00) before the cutoff, 334 m3 (668.00) from it to 1 July 2026.
    assert _credits(lines) == ((D("-212.000"), D("-424.00")), (D("-334.000"), D("-668.00")))
    # Before the cutoff the customer pays no more than was billed then: 636.00 - 424.00 = 212.00 taken off.
    assert [line[4] for line in lines if line[0] == "back_billing_limit"] == [D("-212.00")]
    # 1095.00 - 668.00 = 427.00, VAT 5.5 % = 23.485 -> 23.49
    assert (bill.total_excl_tax, bill.total_tax, bill.total_incl_tax) == (D("427.00"), D("23.49"), D("450.49"))
    engine = _engine_with_every_reading(app, tenant_id, contract_id)
    assert engine.total_incl_tax == bill.total_incl_tax and len(engine.lines) == len(lines)


def test_estimates_too_high_are_credited_in_full_whatever_the_limit(app, estimated_for_18_months):
    tenant_id, customers = estimated_for_18_months
    contract_id, register_id = customers["high"]
    _actual_reading(app, tenant_id, register_id, "1288.500")  # 288.5 m3: below the last estimate (1,546)

    run_id = _run(app, tenant_id, ACTUAL_ON)

    bill, lines = _bill(app, tenant_id, run_id, contract_id)
    with app.app_context(), tenant_scope(tenant_id):
        problems = db.session.scalars(select(BillingException.code).where(
            BillingException.run_id == run_id, BillingException.contract_id == contract_id)).all()
    assert problems == []  # no "negative consumption": the index is compared with 1 January 2025's
    charges = [(line[3], line[4]) for line in lines if line[0] == "water"]
    assert charges == [(D("106.000"), D("212.00")), (D("182.500"), D("365.00"))]  # 288.5 x 212/577 = 106
    assert _credits(lines) == ((D("-212.000"), D("-424.00")), (D("-334.000"), D("-668.00")))
    assert not [line for line in lines if line[0] == "back_billing_limit"]  # a credit is never limited
    # 577.00 - 1092.00 = -515.00, VAT -28.325 -> -28.33: the customer gets back what the estimates overcharged
    assert (bill.total_excl_tax, bill.total_tax, bill.total_incl_tax) == (D("-515.00"), D("-28.33"), D("-543.33"))
    engine = _engine_with_every_reading(app, tenant_id, contract_id)
    assert engine.total_incl_tax == bill.total_incl_tax


def test_a_customer_who_prevented_readings_is_billed_without_the_limit(app, estimated_for_18_months):
    tenant_id, customers = estimated_for_18_months
    contract_id, register_id = customers["prevented"]
    _actual_reading(app, tenant_id, register_id, "1865.500")
    with app.app_context(), tenant_scope(tenant_id):
        contract = db.session.get(Contract, contract_id)
        contract.readings_prevented_from = START
        contract.readings_prevented_reason = "Refused every visit of the meter reader"
        db.session.commit()

    run_id = _run(app, tenant_id, ACTUAL_ON)

    bill, lines = _bill(app, tenant_id, run_id, contract_id)
    assert not [line for line in lines if line[0] == "back_billing_limit"]
    # 865.5 m3 x 2.00 = 1731.00 - 1092.00 of estimates = 639.00; VAT 35.145 -> 35.15
    assert (bill.total_excl_tax, bill.total_tax, bill.total_incl_tax) == (D("639.00"), D("35.15"), D("674.15"))
    engine = _engine_with_every_reading(app, tenant_id, contract_id)
    assert engine.total_incl_tax == bill.total_incl_tax


def test_a_corrective_bill_loads_the_readings_back_to_the_latest_actual_one_like_a_run(app, estimated_for_18_months):
    from domain.billing.corrections import cancel_and_rebill

    tenant_id, customers = estimated_for_18_months
    contract_id, register_id = customers["low"]
    _actual_reading(app, tenant_id, register_id, "1865.500")
    run_id = _run(app, tenant_id, ACTUAL_ON)
    original, _lines = _bill(app, tenant_id, run_id, contract_id)

    with app.app_context(), tenant_scope(tenant_id):
        _credit, corrective = cancel_and_rebill(number=original.number, issued_at=datetime(2026, 8, 1, 9, tzinfo=UTC),
                                                issue_date=ACTUAL_ON)
        db.session.commit()
        totals = (corrective.total_excl_tax, corrective.total_tax, corrective.total_incl_tax)

    # The same regularisation and limit as the run's bill (the same day, so the same cutoff).
    assert totals == (D("427.00"), D("23.49"), D("450.49"))


def test_a_chunk_regularising_many_contracts_reads_readings_and_credited_lines_in_a_few_statements(
        app, estimated_for_18_months):
    from sqlalchemy import event

    tenant_id, customers = estimated_for_18_months
    for name, value in (("low", "1865.500"), ("high", "1288.500"), ("prevented", "1865.500")):
        _actual_reading(app, tenant_id, customers[name][1], value)
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()).lower())

    with app.app_context():
        engine = db.engine
    from domain.billing.document_jobs import documents_on_demand

    event.listen(engine, "before_cursor_execute", count)
    try:
        # The chunk's statements only: the documents, rendered in-process after the chunk commits, read each bill.
        with documents_on_demand():
            run_id = _run(app, tenant_id, ACTUAL_ON)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    with app.app_context(), tenant_scope(tenant_id):
        regularised = db.session.scalar(select(func.count(Bill.id)).where(
            Bill.billing_run_id == run_id, Bill.estimated.is_(False)))
    assert regularised == 3
    # One statement for the lines of every estimated bill to credit, whatever the number of contracts; readings:
    # the window, then once for the chunk the latest actual readings and the older readings back to them.
    assert len([s for s in statements if s.startswith("select") and "from bill_lines" in s]) == 1
    assert len([s for s in statements if s.startswith("select") and "from meter_readings" in s]) <= 3


def test_a_meter_whose_registers_were_last_read_together_long_ago_is_loaded_back_to_that_day(app, make_tenant):
    from domain.billing.chunk_inputs import readings_of_contract

    tenant = make_tenant("twin")
    with app.app_context(), tenant_scope(tenant.id):
        dp = DeliveryPointFactory()
        meter = MeterFactory()
        peak, off_peak = RegisterFactory(meter=meter, code="HP"), RegisterFactory(meter=meter, code="HC")
        MeterInstallationFactory(meter=meter, delivery_point=dp, installed_on=START)
        # Both read by an agent on 1 January 2025; later only the peak register was read again (1 March 2026),
        # the off-peak one has estimates only: the latest day with both actual is 1 January 2025.
        MeterReadingFactory(register=peak, read_on=START, value=D("100"), source="agent")
        MeterReadingFactory(register=off_peak, read_on=START, value=D("50"), source="agent")
        MeterReadingFactory(register=peak, read_on=date(2026, 3, 1), value=D("900"), source="customer")
        MeterReadingFactory(register=off_peak, read_on=date(2026, 3, 1), value=D("400"), source="estimated")
        db.session.commit()
        meters = meters_by_delivery_point(tenant.id, [dp.id])[dp.id]

        loaded = readings_of_contract(tenant.id, meters, period_start=date(2026, 7, 1), period_end=ACTUAL_ON)

    assert [day for day, _value, _estimated in loaded[peak.id]] == [START, date(2026, 3, 1)]
    assert [day for day, _value, _estimated in loaded[off_peak.id]] == [START, date(2026, 3, 1)]


def test_the_regularising_bill_shows_the_meters_advance_since_the_latest_actual_reading(app, estimated_for_18_months):
    from domain.billing.document_data import consumption_of
    from domain.billing.models import Bill as BillRow

    tenant_id, customers = estimated_for_18_months
    contract_id, register_id = customers["low"]
    _actual_reading(app, tenant_id, register_id, "1865.500")
    run_id = _run(app, tenant_id, ACTUAL_ON)
    bill, _lines = _bill(app, tenant_id, run_id, contract_id)

    with app.app_context(), tenant_scope(tenant_id):
        (pod,), comparisons = consumption_of(db.session.get(BillRow, bill.id), "en")

    # The lines charge 318 + 547.5 m3 from 1 January 2025 and deduct the estimates: the advance shown is the same
    # 865.5 m3 between the two actual readings, not the month since the latest estimate.
    (register,) = pod.readings
    assert (register.start_date, register.start_value, register.start_estimated) == (START, D("1000.000"), False)
    assert (register.end_date, register.end_value, pod.quantity) == (ACTUAL_ON, D("1865.500"), D("865.500"))
    assert comparisons == ()  # 19 months measured: no like-for-like period a year earlier
