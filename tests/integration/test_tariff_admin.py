"""Offers and tariff versions as administrators set them up (domain/offers/tariffs.py), on the database: a price
change is a new version from a date, a version an issued bill used is locked, names are kept per locale."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.audit.actor import Actor, acting_as
from domain.audit.models import AuditEvent
from domain.db import db
from domain.offers import tariffs
from domain.offers.models import TariffComponent, TariffVersion, UnitPrice
from tenants.context import tenant_scope
from tests.factories import BillFactory, ContractFactory, CustomerAccountFactory

D = Decimal
JAN, JUL = date(2026, 1, 1), date(2026, 7, 1)


@pytest.fixture
def offer(ctx, make_tenant):
    tenant = make_tenant("tarif")
    with tenant_scope(tenant.id), acting_as(Actor("staff", 7, "admin@tarif.test")):
        found = tariffs.create_offer(code="elec-base", name="Electricity base", activity="electricity",
                                     kind="market")
        version = tariffs.create_version(offer=found, effective_from=JAN)
        tariffs.update_version(version=version, prices_include_tax=False, standing_charge_per_day="0.4512",
                               standing_charge_tax_percent="5.5",
                               standing_charge_names={"fr": "Abonnement", "de": "Grundpreis", "en": ""})
        tariffs.add_unit_price(version=version, component="energy", price="0,2516", tax_percent="20",
                               names={"fr": "Électricité consommée", "en": "Electricity used"})
        db.session.commit()
        yield found


def _issue_bill(offer, start, end):
    account = CustomerAccountFactory()
    contract = ContractFactory(account=account, offer_id=offer.id, start_date=JAN)
    BillFactory(account=account, contract_id=contract.id, period_start=start, period_end=end)
    db.session.commit()


def test_an_offer_code_is_its_upper_case_reference_and_unique(offer):
    assert offer.code == "ELEC-BASE"

    with pytest.raises(tariffs.TariffRefused) as refused:
        tariffs.create_offer(code="ELEC-BASE", name="Again", activity="electricity", kind="market")

    assert (refused.value.code, refused.value.field) == ("code_taken", "code")


def test_a_new_version_copies_the_latest_and_closes_it_the_day_it_starts(offer):
    first = offer.versions[0]

    second = tariffs.create_version(offer=offer, effective_from=JUL)
    db.session.commit()

    assert (first.effective_from, first.effective_to) == (JAN, JUL)
    assert (second.effective_from, second.effective_to) == (JUL, None)
    assert [(p.component, p.price, p.tax_rate, p.names) for p in second.prices] == [
        ("energy", D("0.251600"), D("0.20000"), {"fr": "Électricité consommée", "en": "Electricity used"})]
    assert second.standing_charge_names == {"fr": "Abonnement", "de": "Grundpreis"}
    assert db.session.scalar(select(func.count(TariffVersion.id))) == 2


def test_names_are_kept_per_locale_by_line_key(offer):
    version = offer.versions[0]

    assert tariffs.names_by_key(version, "fr") == {"standing_charge": "Abonnement",
                                                   "energy": "Électricité consommée"}
    assert tariffs.names_by_key(version, "de") == {"standing_charge": "Grundpreis"}
    assert tariffs.names_by_key(version, "es") == {}


def test_a_version_used_by_an_issued_bill_refuses_every_edit(offer):
    version = offer.versions[0]
    _issue_bill(offer, date(2026, 2, 1), date(2026, 3, 1))
    before = [(p.price, p.names) for p in version.prices]

    edits = [
        lambda: tariffs.add_unit_price(version=version, component="levy", price="0.01", tax_percent="20",
                                       description="levy_new"),
        lambda: tariffs.update_version(version=version, prices_include_tax=True, standing_charge_per_day="1",
                                       standing_charge_tax_percent="20"),
        lambda: tariffs.add_component(version=version, kind="standing_charge", code="metering", amount="2",
                                      per="month", tax_percent="20"),
        lambda: tariffs.remove_line(version=version, key="energy"),
    ]
    for edit in edits:
        with pytest.raises(tariffs.VersionLocked):
            edit()
        db.session.rollback()

    assert tariffs.is_locked(version)
    assert [(p.price, p.names) for p in db.session.get(TariffVersion, version.id).prices] == before
    assert db.session.scalar(select(func.count(TariffComponent.id))) == 0


def test_a_locked_version_can_be_followed_by_a_new_version_after_the_billed_days(offer):
    _issue_bill(offer, date(2026, 2, 1), date(2026, 3, 1))

    with pytest.raises(tariffs.TariffRefused) as refused:
        tariffs.create_version(offer=offer, effective_from=date(2026, 2, 15))
    followed = tariffs.create_version(offer=offer, effective_from=date(2026, 3, 1))

    assert refused.value.code == "billed" and refused.value.params["billed_until"] == date(2026, 3, 1)
    assert not tariffs.is_locked(followed)
    tariffs.add_unit_price(version=followed, component="levy", price="0.01", tax_percent="20",
                           description="levy_new")


def test_a_version_not_covered_by_issued_bills_stays_editable(offer):
    version = offer.versions[0]
    account = CustomerAccountFactory()
    contract = ContractFactory(account=account, offer_id=offer.id, start_date=JAN)
    BillFactory(account=account, contract_id=contract.id, status="draft", number=None,
                period_start=date(2026, 2, 1), period_end=date(2026, 3, 1))

    tariffs.add_component(version=version, kind="standing_charge", code="metering", amount="2,50", per="month",
                          tax_percent="20", names={"fr": "Comptage"})

    assert not tariffs.is_locked(version)
    row = db.session.scalar(select(TariffComponent))
    assert (row.code, row.amount, row.per, row.tax_rate, row.names) == (
        "metering", D("2.500000"), "month", D("0.20000"), {"fr": "Comptage"})


@pytest.mark.parametrize("kwargs, code, field", [
    ({"component": "energy", "price": "abc", "tax_percent": "20"}, "amount", "price"),
    ({"component": "energy", "price": "0.1234567", "tax_percent": "20"}, "places", "price"),
    ({"component": "energy", "price": "0.10", "tax_percent": "120"}, "percent", "tax"),
    ({"component": "gold", "price": "0.10", "tax_percent": "20"}, "component", "component"),
    ({"component": "water", "price": "1", "tax_percent": "5.5", "tier_from": "30", "tier_to": "10"},
     "tier_order", "tier_to"),
    ({"component": "energy", "price": "0.10", "tax_percent": "20"}, "key_taken", "description"),
    ({"component": "water", "price": "1", "tax_percent": "5.5", "tier_from": "30"}, "inconsistent", None),
])
def test_a_refused_price_writes_nothing(offer, kwargs, code, field):
    version = offer.versions[0]

    with pytest.raises(tariffs.TariffRefused) as refused:
        tariffs.add_unit_price(version=version, **kwargs)
    db.session.rollback()

    assert (refused.value.code, refused.value.field) == (code, field)
    assert db.session.scalar(select(func.count(UnitPrice.id))) == 1


def test_a_levy_is_a_percentage_of_existing_lines_only(offer):
    version = offer.versions[0]

    with pytest.raises(tariffs.TariffRefused) as refused:
        tariffs.add_component(version=version, kind="percent_levy", code="cta", amount="21.93",
                              base=["network"], tax_percent="5.5")
    db.session.rollback()
    levy = tariffs.add_component(version=version, kind="percent_levy", code="cta", amount="21,93",
                                 base=["standing_charge"], tax_percent="5.5")

    assert refused.value.code == "base"
    assert (levy.amount, levy.base, levy.tax_rate) == (D("0.219300"), "standing_charge", D("0.05500"))


def test_staff_changes_to_tariffs_are_audit_trailed_with_their_author(offer):
    events = db.session.execute(select(AuditEvent.entity_type, AuditEvent.action, AuditEvent.actor_label).where(
        AuditEvent.entity_type.in_(("Offer", "TariffVersion", "UnitPrice")))).all()

    assert {(kind, action) for kind, action, _ in events} >= {
        ("Offer", "insert"), ("TariffVersion", "insert"), ("TariffVersion", "update"), ("UnitPrice", "insert")}
    assert {label for _, _, label in events} == {"admin@tarif.test"}


def test_the_preview_is_the_engine_bill_of_a_typical_year(offer):
    version = offer.versions[0]

    result = tariffs.preview_bill(version=version, annual_consumption=D("4500"))

    lines = {line.description: line for line in result.lines}
    # 365 days x 0.4512 = 164.688 -> 164.69 at 5.5 % (9.058 -> 9.06); 4500 kWh x 0.2516 = 1132.20 at 20 % (226.44)
    assert (lines["standing_charge"].amount, lines["energy"].quantity, lines["energy"].amount) == (
        D("164.69"), D("4500.000"), D("1132.20"))
    assert (result.total_excl_tax, result.total_tax, result.total_incl_tax) == (D("1296.89"), D("235.50"),
                                                                               D("1532.39"))
