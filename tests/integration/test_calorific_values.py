"""Dated gas calorific values on the database: recorded with `flask billing calorific-value`, loaded by billing
runs for the period they bill, and by a corrective bill for the past period it re-bills.

The customer: gas, correction factor 1.02, 0.10 per kWh at 20 % VAT, no standing charge. The utility's setting
is 38.0 MJ/m3; 40.0 is recorded from 11 February 2026.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.billing import runs
from domain.billing.corrections import cancel_and_rebill
from domain.billing.models import Bill, BillLine
from domain.db import db
from domain.offers.models import GasCalorificValue
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

D = Decimal
JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


@pytest.fixture(autouse=True)
def _jobs_in_process(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)


@pytest.fixture
def gas_customer(app, make_tenant):
    tenant = make_tenant("calor", activities=("gas",))
    with app.app_context(), tenant_scope(tenant.id):
        db.session.get(Tenant, tenant.id).gas_calorific_value = D("38.0")
        version = TariffVersionFactory(offer=OfferFactory(activity="gas"), effective_from=JAN,
                                       standing_charge_per_day=D("0"))
        UnitPriceFactory(version=version, component="energy", price=D("0.1000"), tax_rate=D("0.20"))
        dp = DeliveryPointFactory(activity="gas", gas_correction_factor=D("1.02"))
        meter = MeterFactory(activity="gas", unit="m3", digits=5)
        register = RegisterFactory(meter=meter)
        MeterInstallationFactory(meter=meter, delivery_point=dp, installed_on=JAN)
        contract = ContractFactory(account=CustomerAccountFactory(opened_on=JAN), delivery_point=dp,
                                   offer_id=version.offer_id, start_date=JAN)
        for day, value in ((JAN, "10000"), (FEB, "10310"), (MAR, "10590")):
            MeterReadingFactory(register=register, read_on=day, value=D(value), source="agent")
        db.session.commit()
        return tenant, contract.id


def _run(app, tenant_id: int, billing_date: date) -> Bill:
    with app.app_context(), tenant_scope(tenant_id):
        run = runs.create_run(billing_date=billing_date, mode="issue", scope_activity=None, scope_cycle=None,
                              created_by="test", now=datetime(2026, 11, 28, 9, tzinfo=UTC))
        db.session.commit()
        runs.start(run)
    with app.app_context(), tenant_scope(tenant_id):
        bill = db.session.scalar(select(Bill).where(Bill.billing_run_id == run.id))
        db.session.expunge(bill)
        return bill


def _energy(app, tenant_id: int, bill_id: int) -> list:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.execute(select(BillLine.quantity, BillLine.amount).where(
            BillLine.bill_id == bill_id, BillLine.component == "energy")).all()


def _record(app, slug: str, day: str, value: str):
    return app.test_cli_runner().invoke(args=["billing", "calorific-value", "--tenant", slug, "--from", day,
                                              "--value", value, "--by", "Gas desk"])


def test_a_run_converts_each_part_of_the_period_with_the_value_in_force_then(app, gas_customer):
    tenant, _contract_id = gas_customer
    january = _run(app, tenant.id, FEB)

    recorded = _record(app, tenant.slug, "2026-02-11", "40.0")
    february = _run(app, tenant.id, MAR)

    assert recorded.exit_code == 0, recorded.output
    # January, 38.0 throughout: 310 x 1.02 x 38.0 / 3.6 = 3337.667 kWh x 0.10 = 333.77; VAT 66.75
    assert _energy(app, tenant.id, january.id) == [(D("3337.667"), D("333.77"))]
    assert january.total_incl_tax == D("400.52")
    # February: 280 m3 over 28 days, 10 at 38.0 (100 m3: 1076.667 kWh), 18 at 40.0 (180 m3: 2040.000 kWh)
    # = 3116.667 kWh x 0.10 = 311.6667 -> 311.67; VAT 62.334 -> 62.33
    assert _energy(app, tenant.id, february.id) == [(D("3116.667"), D("311.67"))]
    assert (february.total_excl_tax, february.total_tax, february.total_incl_tax) == (
        D("311.67"), D("62.33"), D("374.00"))


def test_a_corrective_bill_of_a_past_period_uses_that_periods_calorific_value(app, gas_customer):
    tenant, _contract_id = gas_customer
    january = _run(app, tenant.id, FEB)
    assert _record(app, tenant.slug, "2026-02-11", "40.0").exit_code == 0

    with app.app_context(), tenant_scope(tenant.id):
        _credit, corrective = cancel_and_rebill(number=january.number, issued_at=datetime(2026, 3, 2, tzinfo=UTC),
                                                issue_date=date(2026, 3, 2))
        db.session.commit()
        totals = corrective.total_incl_tax

    assert totals == D("400.52")  # 38.0 again, not the 40.0 recorded since
    assert _energy(app, tenant.id, corrective.id) == [(D("3337.667"), D("333.77"))]


@pytest.mark.parametrize("day, value, message", [
    ("2026-02-11", "40.0", "already recorded from 2026-02-11"),
    ("2026-03-01", "11.1", "between 20 and 60 MJ/m3"),
    ("2026-03-01", "forty", "is not a number"),
])
def test_a_refused_calorific_value_stores_nothing(app, gas_customer, day, value, message):
    tenant, _contract_id = gas_customer
    assert _record(app, tenant.slug, "2026-02-11", "40.0").exit_code == 0

    refused = _record(app, tenant.slug, day, value)

    assert refused.exit_code != 0 and message in refused.output
    with app.app_context(), tenant_scope(tenant.id):
        assert db.session.scalar(select(func.count(GasCalorificValue.id))) == 1
    listed = app.test_cli_runner().invoke(args=["billing", "calorific-values", "--tenant", tenant.slug])
    assert "from 2026-02-11: 40.0000 MJ/m3 (recorded by Gas desk)" in listed.output


def test_the_bill_document_states_the_calorific_value_in_force_in_its_period(app, make_tenant):
    from domain.billing.document_data import calorific_value_for

    tenant = make_tenant("calordoc", activities=("gas",))
    with app.app_context(), tenant_scope(tenant.id):
        row = db.session.get(Tenant, tenant.id)
        row.gas_calorific_value = D("38.0")
        db.session.add(GasCalorificValue(effective_from=FEB, value=D("40.0"), recorded_by="test",
                                         recorded_at=datetime(2026, 1, 20, tzinfo=UTC)))
        db.session.flush()

        before = calorific_value_for(row, None, JAN, FEB)
        after = calorific_value_for(row, None, FEB, MAR)
        across = calorific_value_for(row, None, date(2026, 1, 15), date(2026, 2, 15))

    # January is converted with the setting, February with the value recorded from 1 February; a period across
    # the change was converted in two parts, which one "volume x factor x value / 3.6" line cannot state.
    assert (before, after, across) == (D("38.0"), D("40.0"), None)


def test_a_point_of_delivery_in_a_calorific_zone_is_converted_with_its_zones_values(app, gas_customer):
    from domain.offers import services as offers
    from domain.sites.models import DeliveryPoint

    tenant, _contract_id = gas_customer
    with app.app_context(), tenant_scope(tenant.id):
        identifier = db.session.scalar(select(DeliveryPoint.identifier))
        offers.set_delivery_point_zone(identifier=identifier, zone="NORD")
        offers.record_calorific_value(effective_from=date(2026, 2, 11), value="40.0", recorded_by="t",
                                      now=datetime(2026, 2, 1, tzinfo=UTC), zone="NORD")
        # Recorded for the points without a zone: not this customer's.
        offers.record_calorific_value(effective_from=JAN, value="35.0", recorded_by="t",
                                      now=datetime(2026, 2, 1, tzinfo=UTC))
        db.session.commit()

    january = _run(app, tenant.id, FEB)
    february = _run(app, tenant.id, MAR)

    # January: no NORD value yet, the utility's setting 38.0 (not the 35.0 of points without a zone):
    # 310 x 1.02 x 38.0 / 3.6 = 3337.667 kWh; February as in the zone-less case above with 40.0 from 11 February
    assert _energy(app, tenant.id, january.id) == [(D("3337.667"), D("333.77"))]
    assert _energy(app, tenant.id, february.id) == [(D("3116.667"), D("311.67"))]


def test_a_zone_is_a_short_name_and_a_point_of_delivery_must_be_gas(app, gas_customer):
    from domain.offers import services as offers

    tenant, _contract_id = gas_customer
    with app.app_context(), tenant_scope(tenant.id):
        with pytest.raises(offers.CalorificValueRefused) as bad_zone:
            offers.record_calorific_value(effective_from=JAN, value="39", recorded_by="t",
                                          now=datetime(2026, 2, 1, tzinfo=UTC), zone="<script>")
        with pytest.raises(offers.CalorificValueRefused) as unknown:
            offers.set_delivery_point_zone(identifier="NOPE", zone="NORD")
        assert db.session.scalar(select(func.count(GasCalorificValue.id))) == 0

    assert (bad_zone.value.code, unknown.value.code) == ("zone", "delivery_point")
