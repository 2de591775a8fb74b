"""A billing run bills with the prices, components and names an administrator configured (domain/offers/tariffs),
and a new version from a later date takes effect only from that date.

The customer: electricity from 1 January 2026, 310 kWh in January, 280 kWh in February. Version 1 (from
1 January): 0.40 a day ("Abonnement" in French) at 5.5 %, metering 3.10 a month at 20 %, a levy of 10 % of the
per-day standing charge at 5.5 %, energy 0.20 per kWh ("Électricité consommée") at 20 %, which contains
0.0205 per kWh of electricity tax and 0.0132 of concession fee ("of which", no total changes). Version 2 from
16 February: a copy of version 1 with 0.50 a day and energy at 0.30.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.billing import runs
from domain.billing.document_data import present_lines
from domain.billing.models import Bill, BillLine
from domain.db import db
from domain.offers import tariffs
from tenants.context import tenant_scope
from tests.factories import (
    ContractFactory,
    CustomerAccountFactory,
    DeliveryPointFactory,
    MeterFactory,
    MeterInstallationFactory,
    MeterReadingFactory,
    RegisterFactory,
)

D = Decimal
JAN, FEB, CHANGE, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 2, 16), date(2026, 3, 1)


@pytest.fixture(autouse=True)
def _jobs_in_process(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)


@pytest.fixture
def customer(app, make_tenant):
    tenant = make_tenant("config", activities=("electricity",))
    with app.app_context(), tenant_scope(tenant.id):
        offer = tariffs.create_offer(code="BASE", name="Base", activity="electricity", kind="market")
        first = tariffs.create_version(offer=offer, effective_from=JAN)
        tariffs.update_version(version=first, prices_include_tax=False, standing_charge_per_day="0.40",
                               standing_charge_tax_percent="5.5", standing_charge_names={"fr": "Abonnement"})
        tariffs.add_component(version=first, kind="standing_charge", code="metering", amount="3.10", per="month",
                              tax_percent="20", names={"fr": "Comptage"})
        tariffs.add_component(version=first, kind="percent_levy", code="cta", amount="10",
                              base=["standing_charge"], tax_percent="5.5", names={"fr": "Contribution tarifaire"})
        tariffs.add_unit_price(version=first, component="energy", price="0.20", tax_percent="20",
                               names={"fr": "Électricité consommée"})
        tariffs.add_component(version=first, kind="included_part", code="electricity_tax", amount="0.0205",
                              base="energy", names={"en": "electricity tax"})
        tariffs.add_component(version=first, kind="included_part", code="concession_fee", amount="0.0132",
                              base="energy", names={"en": "concession fee"})
        dp = DeliveryPointFactory(activity="electricity")
        meter = MeterFactory()
        register = RegisterFactory(meter=meter)
        MeterInstallationFactory(meter=meter, delivery_point=dp, installed_on=JAN)
        ContractFactory(account=CustomerAccountFactory(opened_on=JAN), delivery_point=dp, offer_id=offer.id,
                        start_date=JAN)
        for day, value in ((JAN, "1000"), (FEB, "1310"), (MAR, "1590")):
            MeterReadingFactory(register=register, read_on=day, value=D(value), source="agent")
        db.session.commit()
        return tenant, offer.id


def _run(app, tenant_id: int, billing_date: date) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        run = runs.create_run(billing_date=billing_date, mode="issue", scope_activity=None, scope_cycle=None,
                              created_by="test", now=datetime(2026, 11, 28, 9, tzinfo=UTC))
        db.session.commit()
        runs.start(run)
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(Bill.id).where(Bill.billing_run_id == run.id))


def _lines(app, tenant_id, bill_id):
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.execute(select(BillLine.description, BillLine.period_start, BillLine.quantity,
                                         BillLine.amount).where(BillLine.bill_id == bill_id)
                                  .order_by(BillLine.position)).all()


def _new_prices_from_16_february(app, tenant_id, offer_id):
    from domain.offers.models import Offer
    with app.app_context(), tenant_scope(tenant_id):
        offer = db.session.get(Offer, offer_id)
        second = tariffs.create_version(offer=offer, effective_from=CHANGE)
        tariffs.update_version(version=second, prices_include_tax=False, standing_charge_per_day="0.50",
                               standing_charge_tax_percent="5.5", standing_charge_names={"fr": "Abonnement"})
        tariffs.remove_line(version=second, key="energy")
        tariffs.add_unit_price(version=second, component="energy", price="0.30", tax_percent="20",
                               names={"fr": "Électricité consommée"})
        db.session.commit()


def test_a_run_bills_the_configured_prices_and_a_new_version_only_from_its_date(app, customer):
    tenant, offer_id = customer
    january = _run(app, tenant.id, FEB)
    _new_prices_from_16_february(app, tenant.id, offer_id)

    february = _run(app, tenant.id, MAR)

    # January, version 1 only: 31 x 0.40 = 12.40; one whole month of metering 3.10; 310 x 0.20 = 62.00;
    # levy 10 % of 12.40 = 1.24
    assert _lines(app, tenant.id, january) == [
        ("standing_charge", JAN, D("31.000"), D("12.40")), ("metering", JAN, D("1.000"), D("3.10")),
        ("energy", JAN, D("310.000"), D("62.00")), ("cta", JAN, D("12.400"), D("1.24"))]
    # February, 15 days of version 1 and 13 of version 2: 15 x 0.40 = 6.00, 13 x 0.50 = 6.50; metering
    # 15/28 x 3.10 = 1.6607 -> 1.66 and 13/28 x 3.10 = 1.4393 -> 1.44; 280 kWh by days: 150 x 0.20 = 30.00,
    # 130 x 0.30 = 39.00; levy 10 % of 6.00 and of 6.50
    assert _lines(app, tenant.id, february) == [
        ("standing_charge", FEB, D("15.000"), D("6.00")), ("metering", FEB, D("0.536"), D("1.66")),
        ("standing_charge", CHANGE, D("13.000"), D("6.50")), ("metering", CHANGE, D("0.464"), D("1.44")),
        ("energy", FEB, D("150.000"), D("30.00")), ("energy", CHANGE, D("130.000"), D("39.00")),
        ("cta", FEB, D("6.000"), D("0.60")), ("cta", CHANGE, D("6.500"), D("0.65"))]
    with app.app_context(), tenant_scope(tenant.id):
        bill = db.session.get(Bill, february)
        # 5.5 %: 6.00 + 6.50 + 0.60 + 0.65 = 13.75 -> 0.76; 20 %: 1.66 + 1.44 + 30.00 + 39.00 = 72.10 -> 14.42
        assert (bill.total_excl_tax, bill.total_tax, bill.total_incl_tax) == (D("85.85"), D("15.18"), D("101.03"))
        french = [line.description for line in present_lines(bill, "fr")[0]]
        spanish = [line.description for line in present_lines(bill, "es")[0]]
    assert french == ["Abonnement", "Comptage", "Abonnement", "Comptage", "Électricité consommée",
                      "Électricité consommée", "Contribution tarifaire", "Contribution tarifaire"]
    # No Spanish names given: the standard names, never the keys.
    assert "metering" not in spanish and "cta" not in spanish and spanish[0] == "Término fijo"


def test_the_bill_shows_the_taxes_its_energy_price_contains(app, customer):
    tenant, _offer_id = customer
    january = _run(app, tenant.id, FEB)

    with app.app_context(), tenant_scope(tenant.id):
        lines = present_lines(db.session.get(Bill, january), "en")[0]

    # 310 kWh x 0.0205 = 6.355 -> 6.36; 310 x 0.0132 = 4.092 -> 4.09; the line's amount stays 62.00
    energy = lines[2]
    assert (energy.amount, energy.detail) == (D("62.00"), "Of which electricity tax: €6.36; concession fee: €4.09")
    assert [line.detail for line in lines if line is not energy] == ["", "", ""]


def test_the_version_the_issued_bill_used_is_now_locked(app, customer):
    tenant, offer_id = customer
    _run(app, tenant.id, FEB)

    with app.app_context(), tenant_scope(tenant.id):
        from domain.offers.models import Offer
        version = db.session.get(Offer, offer_id).versions[0]
        with pytest.raises(tariffs.VersionLocked):
            tariffs.add_unit_price(version=version, component="levy", price="0.01", tax_percent="20",
                                   description="levy_new")
