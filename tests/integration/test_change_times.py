"""`updated_at` for the integration API's sync is kept by the database (migration 0034) on every write path: the
ORM, bulk Core UPDATEs (billing runs, imports), and a child's change that its parent's API answer shows."""
from __future__ import annotations

from datetime import date, datetime, UTC

import pytest
from sqlalchemy import select, update

from domain.accounting.models import Payment
from domain.billing.models import Bill
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.parties.models import ContactPoint, Party
from domain.requests.models import ServiceRequest
from domain.sites.models import DeliveryPoint, Premise
from tenants.context import tenant_scope
from tests.factories import (
    BillFactory,
    ContactPointFactory,
    ContractFactory,
    CustomerAccountFactory,
    DeliveryPointFactory,
    MeterFactory,
    MeterInstallationFactory,
    PaymentAllocationFactory,
    PaymentFactory,
    RequestMessageFactory,
    ServiceRequestFactory,
)

LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC)


@pytest.fixture
def tenant_id(ctx, make_tenant):
    return make_tenant("sync").id


def _rewind(model, *rows) -> None:
    """Set `updated_at` long ago, explicitly (an explicit value wins over the trigger; setting the value a row
    already has is no explicit change), then commit."""
    db.session.execute(update(model).where(model.id.in_([r.id for r in rows]), model.updated_at != LONG_AGO)
                       .values(updated_at=LONG_AGO))
    db.session.commit()
    db.session.expire_all()


def _updated_at(model, row) -> datetime:
    db.session.expire_all()
    return db.session.execute(select(model.updated_at).where(model.id == row.id)).scalar_one()


def _moved(model, row) -> bool:
    return _updated_at(model, row) > LONG_AGO


def _account_graph():
    account = CustomerAccountFactory()
    party = db.session.get(Party, account.holder_party_id)
    point = DeliveryPointFactory()
    contract = ContractFactory(account=account, delivery_point=point)
    return party, account, point, contract


def test_a_new_row_gets_the_databases_time(tenant_id):
    with tenant_scope(tenant_id):
        bill = BillFactory()
        db.session.commit()

        assert bill.updated_at is not None
        assert _updated_at(Bill, bill) > LONG_AGO


@pytest.mark.parametrize("model,build,change", [
    (Party, lambda: CustomerAccountFactory().holder, lambda r: setattr(r, "last_name", "Renamed")),
    (CustomerAccount, CustomerAccountFactory, lambda r: setattr(r, "paperless", True)),
    (DeliveryPoint, DeliveryPointFactory, lambda r: setattr(r, "status", "inactive")),
    (Contract, ContractFactory, lambda r: setattr(r, "status", "ended")),
    (Bill, BillFactory, lambda r: setattr(r, "status", "cancelled")),
    (Payment, PaymentFactory, lambda r: setattr(r, "status", "failed")),
    (ServiceRequest, ServiceRequestFactory, lambda r: setattr(r, "status", "resolved")),
], ids=lambda v: getattr(v, "__name__", ""))
def test_an_orm_update_moves_updated_at(tenant_id, model, build, change):
    with tenant_scope(tenant_id):
        row = build()
        db.session.commit()
        _rewind(model, row)

        change(db.session.get(model, row.id))
        db.session.commit()

        assert _moved(model, row)


def test_a_bulk_update_moves_updated_at_of_the_rows_it_changed_only(tenant_id):
    with tenant_scope(tenant_id):
        changed, untouched = BillFactory(status="draft", number=None), BillFactory()
        db.session.commit()
        _rewind(Bill, changed, untouched)

        db.session.execute(update(Bill).where(Bill.status == "draft").values(due_date=date(2026, 12, 15)))
        db.session.commit()

        assert _moved(Bill, changed)
        assert _updated_at(Bill, untouched) == LONG_AGO


def test_a_contact_point_change_touches_its_party_and_the_account_it_holds(tenant_id):
    with tenant_scope(tenant_id):
        party, account, _point, _contract = _account_graph()
        other_party, other_account, _p, _c = _account_graph()
        db.session.commit()

        for act in ("insert", "update", "delete"):
            _rewind(Party, party, other_party)
            _rewind(CustomerAccount, account, other_account)
            if act == "insert":
                ContactPointFactory(party_id=party.id, kind="phone", value="+33 6 12 34 56 78")
            elif act == "update":
                db.session.execute(update(ContactPoint).where(ContactPoint.party_id == party.id)
                                   .values(value="renamed@example.test"))
            else:
                db.session.delete(db.session.scalars(select(ContactPoint).where(
                    ContactPoint.party_id == party.id)).first())
            db.session.commit()

            assert _moved(Party, party), act
            assert _moved(CustomerAccount, account), act
            assert _updated_at(Party, other_party) == LONG_AGO, act
            assert _updated_at(CustomerAccount, other_account) == LONG_AGO, act


def test_a_contract_change_touches_its_account_but_billing_progress_does_not(tenant_id):
    with tenant_scope(tenant_id):
        _party, account, _point, contract = _account_graph()
        db.session.commit()
        _rewind(CustomerAccount, account)

        db.session.execute(update(Contract).where(Contract.id == contract.id)
                           .values(billed_until=datetime(2026, 10, 1).date()))
        db.session.commit()
        after_billing = _updated_at(CustomerAccount, account)
        db.session.get(Contract, contract.id).status = "ended"
        db.session.commit()

        assert after_billing == LONG_AGO
        assert _moved(CustomerAccount, account)
        assert _moved(Contract, contract)


def test_a_renamed_point_of_delivery_touches_the_accounts_it_supplies(tenant_id):
    with tenant_scope(tenant_id):
        _party, account, point, _contract = _account_graph()
        _other_party, other_account, _p, _c = _account_graph()
        db.session.commit()
        _rewind(CustomerAccount, account, other_account)

        db.session.execute(update(DeliveryPoint).where(DeliveryPoint.id == point.id).values(identifier="PDL-NEW-1"))
        db.session.commit()

        assert _moved(CustomerAccount, account)
        assert _updated_at(CustomerAccount, other_account) == LONG_AGO


def test_a_new_contract_touches_its_account(tenant_id):
    with tenant_scope(tenant_id):
        _party, account, _point, _contract = _account_graph()
        db.session.commit()
        _rewind(CustomerAccount, account)

        ContractFactory(account=account)
        db.session.commit()

        assert _moved(CustomerAccount, account)


def test_a_meter_exchange_and_an_address_change_touch_the_point_of_delivery(tenant_id):
    with tenant_scope(tenant_id):
        point = DeliveryPointFactory()
        db.session.commit()
        _rewind(DeliveryPoint, point)

        MeterInstallationFactory(meter=MeterFactory(), delivery_point=point)
        db.session.commit()
        after_exchange = _moved(DeliveryPoint, point)
        _rewind(DeliveryPoint, point)
        db.session.execute(update(Premise).where(Premise.id == point.premise_id).values(city="Villeurbanne"))
        db.session.commit()

        assert after_exchange
        assert _moved(DeliveryPoint, point)


def test_a_message_the_customer_sees_touches_the_request_an_internal_note_does_not(tenant_id):
    with tenant_scope(tenant_id):
        request = ServiceRequestFactory()
        db.session.commit()
        _rewind(ServiceRequest, request)

        RequestMessageFactory(request=request, author_kind="staff", internal=True, body="Call them back")
        db.session.commit()
        after_note = _updated_at(ServiceRequest, request)
        RequestMessageFactory(request=request, author_kind="staff", body="We are on it.")
        db.session.commit()

        assert after_note == LONG_AGO
        assert _moved(ServiceRequest, request)


def test_an_allocation_touches_its_payment(tenant_id):
    with tenant_scope(tenant_id):
        payment = PaymentFactory()
        db.session.commit()
        _rewind(Payment, payment)

        PaymentAllocationFactory(payment=payment, bill=BillFactory(account_id=payment.account_id))
        db.session.commit()

        assert _moved(Payment, payment)


def test_an_explicit_value_wins(tenant_id):
    with tenant_scope(tenant_id):
        bill = BillFactory()
        db.session.commit()

        _rewind(Bill, bill)

        assert _updated_at(Bill, bill) == LONG_AGO


def test_a_meters_serial_and_its_registers_touch_the_points_it_is_installed_at(tenant_id):
    from domain.sites.models import Meter, Register
    from tests.factories import RegisterFactory

    with tenant_scope(tenant_id):
        point, elsewhere = DeliveryPointFactory(), DeliveryPointFactory()
        meter = MeterFactory()
        MeterInstallationFactory(meter=meter, delivery_point=point)
        db.session.commit()

        moved = {}
        for act in ("serial", "register_added", "register_renamed"):
            _rewind(DeliveryPoint, point, elsewhere)
            if act == "serial":
                db.session.get(Meter, meter.id).serial_number = "M-RENUMBERED"
            elif act == "register_added":
                RegisterFactory(meter=meter, code="PEAK", label="Peak")
            else:
                db.session.execute(update(Register).where(Register.meter_id == meter.id).values(label="Heures pleines"))
            db.session.commit()
            moved[act] = (_moved(DeliveryPoint, point), _moved(DeliveryPoint, elsewhere))

    assert moved == {"serial": (True, False), "register_added": (True, False), "register_renamed": (True, False)}
