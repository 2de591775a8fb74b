"""Staff data entry on the database: a customer created end to end, a reading given on the phone through the portal's
checks, a meter exchange then a billing run across it with the exact consumption of both meters; refusals write
nothing.

The customer: electricity from 1 September 2026, meter M-OLD (6 digits) installed that day at 1,000 kWh, offer at
0.2516 per kWh (20 % VAT), no standing charge. Exchange on 20 October 2026: M-OLD removed at 1,300 kWh, M-NEW
installed at 50 kWh; a phone reading of M-NEW on 1 November 2026: 150 kWh. September and October consumed
300 + 100 = 400 kWh, 100.64 before tax.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.audit.actor import Actor, acting_as
from domain.audit.models import AuditEvent
from domain.billing import runs
from domain.billing.models import Bill, BillLine
from domain.billing.run_models import BillingRun
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.entry import services as entry
from domain.field_errors import FieldErrors
from domain.parties.models import ContactPoint, Party
from domain.parties.services import Address, HolderDetails
from domain.readings import services as readings
from domain.readings.models import MeterReading
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation
from domain.sites.services import MeterSpec
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.factories import OfferFactory, TariffVersionFactory, UnitPriceFactory

D = Decimal
TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 9, tzinfo=UTC)
STAFF = Actor("staff", 7, "desk@utility.test")


@pytest.fixture(autouse=True)
def _jobs_in_process(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)


@pytest.fixture
def tenant(app, make_tenant):
    made = make_tenant("entry", activities=("electricity", "gas"))
    with app.app_context(), tenant_scope(made.id):
        version = TariffVersionFactory(offer=OfferFactory(code="ELEC-BASE", name="Electricity base"),
                                       effective_from=date(2024, 1, 1), standing_charge_per_day=D("0"))
        UnitPriceFactory(version=version, price=D("0.251600"), tax_rate=D("0.20"))
        OfferFactory(code="GAS-BASE", activity="gas")
        db.session.commit()
    return made


def holder(**changes) -> HolderDetails:
    values = dict(kind="person", title="Ms", first_name="Inès", last_name="Carpentier", organisation_name=None,
                  registration_number=None, birth_date=date(1980, 5, 17), email="Ines.Carpentier@Example.test",
                  phone="+33 4 72 00 00 01",
                  address=Address("12 rue des Lilas", None, "69003", "Lyon", "FR"))
    values.update(changes)
    return HolderDetails(**values)


def supply(**changes) -> entry.SupplyDetails:
    values = dict(premise_public_id=None, address=Address("12 rue des Lilas", None, "69003", "Lyon", "FR"),
                  activity="electricity", identifier="PDL 1234 5678 901",
                  meter=MeterSpec("m-old", 6, D("1"), "single", True), installed_on=date(2026, 9, 1),
                  installation_values={"TOTAL": D("1000")}, offer_code="ELEC-BASE", start_date=date(2026, 9, 1),
                  billing_frequency="monthly", estimated_annual_consumption=None)
    values.update(changes)
    return entry.SupplyDetails(**values)


def create(tenant, **changes) -> CustomerAccount:
    with acting_as(STAFF):
        account = entry.create_customer(holder=changes.pop("holder", holder()), supply=supply(**changes), locale="fr",
                                        paperless=False, tenant=tenant, staff_user_id=STAFF.id, today=TODAY, now=NOW)
        db.session.commit()
    return account


def counts() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count(model.id))) for model in
                 (Party, ContactPoint, CustomerAccount, DeliveryPoint, Meter, MeterInstallation, Contract,
                  MeterReading))


def test_creates_a_customer_end_to_end_numbered_like_the_tenant_and_audited(app, tenant):
    with app.app_context(), tenant_scope(tenant.id):
        account = create(tenant)

        account = db.session.scalar(select(CustomerAccount))
        contract = account.contracts[0]
        point = contract.delivery_point
        meter = point.current_meter
        assert account.account_number == "EN00001001"  # the tenant's first: its prefix, the demo's form
        assert account.holder.display_name == "Inès Carpentier" and account.locale == "fr"
        assert account.holder.primary("email").value == "ines.carpentier@example.test"
        assert account.holder.primary("postal").postcode == "69003"
        assert (point.identifier, point.activity, point.premise.city) == ("PDL12345678901", "electricity", "Lyon")
        assert (meter.serial_number, meter.digits, meter.is_smart, [r.code for r in meter.registers]) == \
            ("M-OLD", 6, True, ["TOTAL"])
        assert (contract.offer.code, contract.start_date, contract.status) == ("ELEC-BASE", date(2026, 9, 1), "active")
        first = db.session.scalar(select(MeterReading))
        assert (first.read_on, first.value, first.source, first.status, first.entered_by_staff_id) == \
            (date(2026, 9, 1), D("1000.000"), "agent", "valid", 7)
        created = db.session.execute(select(AuditEvent.entity_type, AuditEvent.actor_label).where(
            AuditEvent.action == "insert", AuditEvent.entity_type.not_in(("Offer", "TariffVersion", "UnitPrice"))))
        by_type = {entity: author for entity, author in created if author != "system"}
        assert by_type == {kind: "desk@utility.test" for kind in (
            "Party", "ContactPoint", "CustomerAccount", "PartyRole", "Premise", "DeliveryPoint", "Meter", "Register",
            "MeterInstallation", "MeterReading", "Contract")}
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.entity_id == account.id,
                                                                 AuditEvent.entity_type == "CustomerAccount")
                                 .order_by(AuditEvent.id.desc())) == "customer_created"

        second = create(tenant, identifier="PDL-2", meter=MeterSpec("M-2", 6, D("1"), "single", False))
        assert second.account_number == "EN00001002"
        assert second.contracts[0].contract_number == "ENC0000002"


def test_refuses_duplicates_and_bad_terms_field_by_field_and_writes_nothing(app, tenant):
    with app.app_context(), tenant_scope(tenant.id):
        create(tenant)
        before = counts()

        with pytest.raises(FieldErrors) as refused:
            create(tenant, identifier="pdl12345678901", meter=MeterSpec("M-OLD", 2, D("0"), "single", False),
                   offer_code="GAS-BASE", installation_values={}, holder=holder(last_name="", email="not-an-email"))

        db.session.rollback()
        assert refused.value.errors == {
            "last_name": "required", "email": "invalid", "identifier": "taken", "serial_number": "taken",
            "digits": "range", "multiplier": "range", "offer": "other_activity"}
        assert counts() == before


def test_a_contract_cannot_start_before_its_meter_nor_an_index_exceed_the_dial(app, tenant):
    with app.app_context(), tenant_scope(tenant.id):
        with pytest.raises(FieldErrors) as refused:
            create(tenant, start_date=date(2026, 8, 1), installation_values={"TOTAL": D("1000000")})

        assert refused.value.errors == {"start_date": "before_installation", "index_TOTAL": "too_many_digits"}


def _enter(account, serial, value, **kwargs):
    with acting_as(STAFF):
        stored = readings.enter_reading_for_customer(
            account=account, serial=serial, channel=kwargs.pop("channel", "phone"),
            read_on=kwargs.pop("read_on", TODAY), values={"TOTAL": D(value)},
            rollover_confirmed=kwargs.pop("rollover_confirmed", False),
            implausible_confirmed=kwargs.pop("implausible_confirmed", False), staff_user_id=STAFF.id,
            tenant=kwargs.pop("tenant"), today=TODAY, now=NOW)
        db.session.commit()
    return stored


def test_a_reading_on_the_phone_goes_through_the_portal_checks(app, tenant):
    with app.app_context(), tenant_scope(tenant.id):
        account = create(tenant, estimated_annual_consumption=D("3650"))  # 10 kWh a day expected

        with pytest.raises(readings.ReadingRefused) as lower:
            _enter(account, "M-OLD", "999", tenant=tenant)
        with pytest.raises(readings.ReadingRefused) as implausible:
            _enter(account, "M-OLD", "9000", tenant=tenant)
        assert lower.value.problems["TOTAL"].reason == "lower_than_previous"
        assert implausible.value.problems["TOTAL"].reason == "implausible"
        assert db.session.scalar(select(func.count(MeterReading.id))) == 1

        (stored,) = _enter(account, "M-OLD", "1880", tenant=tenant)  # 88 days: 880 kWh expected, 880 given

        assert (stored.source, stored.status, stored.implausible_confirmed, stored.entered_by_staff_id) == \
            ("customer", "valid", False, 7)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "reading_entered"))
        assert event.actor_label == "desk@utility.test" and event.changes["values"] == {"TOTAL": "1880"}


def test_an_implausible_reading_is_stored_once_staff_confirm_it(app, tenant):
    with app.app_context(), tenant_scope(tenant.id):
        account = create(tenant, estimated_annual_consumption=D("3650"))

        (stored,) = _enter(account, "M-OLD", "9000", tenant=tenant, channel="meter_reader",
                           implausible_confirmed=True)

        assert (stored.source, stored.status, stored.implausible_confirmed) == ("agent", "valid", True)


def test_a_reading_of_another_accounts_meter_is_not_found(app, tenant):
    with app.app_context(), tenant_scope(tenant.id):
        create(tenant)
        other = create(tenant, identifier="PDL-2", meter=MeterSpec("M-2", 6, D("1"), "single", False))

        with pytest.raises(readings.MeterNotFound):
            _enter(other, "M-OLD", "1100", tenant=tenant)


def _exchange(account, tenant, **changes):
    values = dict(account=account, identifier="PDL12345678901", exchange_on=date(2026, 10, 20),
                  removal_values={"TOTAL": D("1300")}, rollover_confirmed=False, implausible_confirmed=False,
                  new_meter=MeterSpec("M-NEW", 5, D("1"), "single", True), installation_values={"TOTAL": D("50")},
                  tenant=tenant, staff_user_id=STAFF.id, today=TODAY, now=NOW)
    values.update(changes)
    with acting_as(STAFF):
        done = entry.exchange_meter(**values)
        db.session.commit()
    return done


def test_a_meter_exchange_is_billed_with_each_meters_own_consumption(app, tenant):
    with app.app_context(), tenant_scope(tenant.id):
        account = create(tenant, billing_frequency="bimonthly")  # one bill: September and October
        _exchange(account, tenant)
        _enter(account, "M-NEW", "150", tenant=tenant, read_on=date(2026, 11, 1))
        contract_id = account.contracts[0].id
        installations = db.session.execute(select(Meter.serial_number, MeterInstallation.installed_on,
                                                  MeterInstallation.removed_on)
                                           .join(Meter, Meter.id == MeterInstallation.meter_id)
                                           .order_by(MeterInstallation.installed_on)).all()
        assert [tuple(row) for row in installations] == [("M-OLD", date(2026, 9, 1), date(2026, 10, 20)),
                                                         ("M-NEW", date(2026, 10, 20), None)]
        run = runs.create_run(billing_date=date(2026, 11, 1), mode="issue", scope_activity=None, scope_cycle=None,
                              created_by="test", now=NOW)
        db.session.commit()
        runs.start(run)
        run_id = run.id

    with app.app_context(), tenant_scope(tenant.id):
        assert db.session.get(BillingRun, run_id).status == "completed"
        bills = db.session.scalars(select(Bill).where(Bill.contract_id == contract_id)
                                   .order_by(Bill.period_start)).all()
        lines = db.session.execute(select(BillLine.quantity, BillLine.amount)
                                   .where(BillLine.bill_id.in_([b.id for b in bills]),
                                          BillLine.component == "energy")).all()
        assert [(b.period_start, b.period_end, b.estimated) for b in bills] == [
            (date(2026, 9, 1), date(2026, 11, 1), False)]
        assert sum(q for q, _a in lines) == D("400.000")
        assert sum(a for _q, a in lines) == D("100.64")


def test_an_exchange_with_bad_readings_or_a_known_serial_changes_nothing(app, tenant):
    with app.app_context(), tenant_scope(tenant.id):
        account = create(tenant)
        before = counts()

        with pytest.raises(FieldErrors) as refused:
            _exchange(account, tenant, removal_values={"TOTAL": D("900")},
                      new_meter=MeterSpec("M-OLD", 5, D("1"), "dual", False),
                      installation_values={"PEAK": D("100000")})
        with pytest.raises(FieldErrors) as too_early:
            _exchange(account, tenant, exchange_on=date(2026, 9, 1))  # 88 days ago: more than 60

        db.session.rollback()
        assert refused.value.errors == {"removal_TOTAL": "lower_than_previous", "serial_number": "taken",
                                        "index_PEAK": "too_many_digits", "index_OFFPEAK": "missing"}
        assert too_early.value.errors == {"exchange_on": "too_old"}
        assert counts() == before
        assert db.session.scalar(select(MeterInstallation.removed_on)) is None


def test_an_exchange_inside_a_billed_period_is_refused(app, tenant):
    with app.app_context(), tenant_scope(tenant.id):
        account = create(tenant)
        account.contracts[0].billed_until = date(2026, 11, 1)
        db.session.commit()

        with pytest.raises(FieldErrors) as refused:
            _exchange(account, tenant)

        assert refused.value.errors == {"exchange_on": "billed"}


def test_changing_contact_details_keeps_the_kind_and_is_audited(app, tenant):
    with app.app_context(), tenant_scope(tenant.id):
        account = create(tenant)

        with acting_as(STAFF):
            entry.change_holder(account=account, holder=holder(kind="organisation", phone=None,
                                                               email="new@example.test"), today=TODAY)
            db.session.commit()

        party = db.session.get(Party, account.holder_party_id)
        assert party.kind == "person" and party.primary("phone") is None
        assert party.primary("email").value == "new@example.test"
        changed = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "ContactPoint",
                                                             AuditEvent.action == "update"))
        assert changed.actor_label == "desk@utility.test"
        assert changed.changes["value"] == {"before": "ines.carpentier@example.test", "after": "new@example.test"}


def test_numbers_continue_the_latest_series(app, tenant):
    from tests.factories import CustomerAccountFactory, PartyFactory

    with app.app_context(), tenant_scope(tenant.id):
        CustomerAccountFactory(account_number="AQ00001041", holder=PartyFactory(party_number="AQP000041"))
        db.session.commit()

        account = create(tenant)

        assert account.account_number == "AQ00001042"
        assert account.holder.party_number == "AQP000042"
        assert db.session.get(Tenant, tenant.id).slug == "entry"
