"""Notices the platform sends by itself: a reminder when a reading window opens (once per window, only for meters
read by hand and not read yet, switched off by customers who said so), the SEPA pre-notification of each direct
debit (amount, date, mandate reference, creditor identifier), and the confirmation of a move-out with its final
readings. Each is recorded in the customer's language and sent by the mail pipeline after its transaction commits."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.communications import pipeline
from domain.communications.models import Message
from domain.communications.reading_notices import send_reading_reminders
from domain.db import db
from domain.jobs import inline_jobs
from domain.requests import moves
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.factories import (
    ContactPointFactory,
    ContractFactory,
    CustomerAccessFactory,
    CustomerAccountFactory,
    CustomerUserFactory,
    DeliveryPointFactory,
    MeterFactory,
    MeterInstallationFactory,
    MeterReadingFactory,
    PartyFactory,
    PremiseFactory,
    RegisterFactory,
    TariffVersionFactory,
)
from tests.integration.test_payments import add_bill
from tests.integration.test_sepa_collections import COLLECTION, NOW, TODAY, configure, customer

# A monthly contract billed until 1 November: its next period ends on 30 November; with the default 7-day window
# the customer is asked to read from 24 to 30 November.
WINDOW_OPENS = date(2026, 11, 24)


def _supply(*, email: str | None, locale: str = "fr", smart: bool = False, online: bool = False):
    party = PartyFactory()
    if email:
        ContactPointFactory(party=party, value=email)
    account = CustomerAccountFactory(holder=party, locale=locale)
    premise = PremiseFactory(address_line1="12 rue des Lilas", postcode="69003", city="Lyon")
    point = DeliveryPointFactory(premise=premise)
    meter = MeterFactory(is_smart=smart)
    register = RegisterFactory(meter=meter)
    MeterInstallationFactory(meter=meter, delivery_point=point)
    version = TariffVersionFactory()
    contract = ContractFactory(account=account, delivery_point=point, offer_id=version.offer_id,
                               billing_frequency="monthly", billed_until=date(2026, 11, 1))
    MeterReadingFactory(register=register, read_on=date(2026, 11, 1), value=Decimal("1000.000"), source="agent")
    user = None
    if online:
        user = CustomerUserFactory(party=party, email=email)
        CustomerAccessFactory(user=user, account=account)
    return contract, meter, register, user


def _messages(kind: str) -> list[Message]:
    return list(db.session.scalars(select(Message).where(Message.kind == kind).order_by(Message.id)))


def test_a_reading_window_opening_sends_one_reminder_per_window_in_the_customers_language(app, two_tenants,
                                                                                             outbox):
    a, b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        contract, meter, _register, _user = _supply(email="lea@example.com")
        _smart, _m, _r, _u = _supply(email="smart@example.com", smart=True)
        _read, _m2, read_register, _u2 = _supply(email="read@example.com")
        MeterReadingFactory(register=read_register, read_on=WINDOW_OPENS, value=Decimal("1100.000"),
                            source="customer")
        _none, _m3, _r3, _u3 = _supply(email=None)
        serial = meter.serial_number
        db.session.commit()
    with app.app_context(), tenant_scope(b.tenant_id):
        _supply(email="other-tenant@example.com")
        db.session.commit()

    with app.app_context(), tenant_scope(a.tenant_id):
        with inline_jobs():
            first = send_reading_reminders(today_iso=WINDOW_OPENS.isoformat(), now_iso=NOW.isoformat())
            pipeline.dispatch_committed()
            again = send_reading_reminders(today_iso="2026-11-25", now_iso=NOW.isoformat())
        mine = {"lea@example.com", "smart@example.com", "read@example.com"}  # the populated customer's aside
        recipients = [m.recipient for m in _messages("reading_window_open") if m.recipient in mine]
    with app.app_context(), tenant_scope(b.tenant_id):
        assert _messages("reading_window_open") == []

    assert recipients == ["lea@example.com"]  # not the smart meter, not the meter read already, not without e-mail
    assert first["queued"] >= 1 and again["queued"] == 0  # the next day: the same window, nothing twice
    (mail,) = [m for m in outbox() if m["To"] == "lea@example.com"]
    assert mail["Subject"] == f"Il est temps de relever votre compteur {serial}"
    body = mail.get_body(("plain",)).get_content()
    assert f"/readings/{serial}" in body and "30 nov. 2026" in body and "12 rue des Lilas" in body


def test_a_window_opened_days_ago_is_still_reminded_and_none_before_it_opens(app, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        _supply(email="lea@example.com")
        db.session.commit()
        send_reading_reminders(today_iso="2026-11-23", now_iso=NOW.isoformat())
        before = [m.recipient for m in _messages("reading_window_open")]
        send_reading_reminders(today_iso="2026-11-26", now_iso=NOW.isoformat())
        caught_up = [m.recipient for m in _messages("reading_window_open")]
    assert "lea@example.com" not in before and "lea@example.com" in caught_up


def test_a_customer_who_switched_reminders_off_gets_none(app, two_tenants, outbox):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        _contract, _meter, _register, user = _supply(email="lea@example.com", online=True)
        db.session.flush()
        pipeline.set_preferences(customer_user_id=user.id, enabled=[], now=NOW)
        db.session.commit()
        with inline_jobs():
            send_reading_reminders(today_iso=WINDOW_OPENS.isoformat(), now_iso=NOW.isoformat())
            pipeline.dispatch_committed()
        (message,) = [m for m in _messages("reading_window_open") if m.recipient == "lea@example.com"]
    assert message.status == "skipped"
    assert [m for m in outbox() if m["To"] == "lea@example.com"] == []


def test_each_direct_debit_is_announced_with_its_amount_date_mandate_and_creditor(app, two_tenants, outbox):
    a, _b = two_tenants
    configure(app, a.slug)
    with app.app_context(), tenant_scope(a.tenant_id):
        payer = customer(email="jurgen@example.com", locale="de")
        bill = add_bill(payer.account_number, "120.50", due=date(2026, 12, 1))
        db.session.commit()
        from domain.payments import sepa_collections as collections

        from domain.payments import collection_jobs

        batch, added = collections.prepare_batch(tenant=db.session.get(Tenant, a.tenant_id),
                                                 collection_date=COLLECTION, today=TODAY, now=NOW,
                                                 prepared_by="Billing")
        db.session.commit()
        told_with_the_batch = [m for m in _messages("direct_debit_prenotification") if m.account_id == payer.id]
        with inline_jobs():  # the job staff's preparation asks for once the batch is committed
            first = collection_jobs.prenotify_collection(batch_id=batch.id, now_iso=NOW.isoformat())
            db.session.commit()
            pipeline.dispatch_committed()
            again = collection_jobs.prenotify_collection(batch_id=batch.id, now_iso=NOW.isoformat())
            db.session.commit()
        from domain.payments.models import DirectDebitMandate

        mandate_reference = db.session.scalar(select(DirectDebitMandate.reference).where(
            DirectDebitMandate.account_id == payer.id))
        messages = [m for m in _messages("direct_debit_prenotification") if m.account_id == payer.id]

    assert added >= 1 and told_with_the_batch == []  # nothing rendered inside the preparation itself
    assert first["queued"] >= 1 and again == {"queued": 0}
    assert [m.status for m in messages] == ["sent"]
    (mail,) = [m for m in outbox() if m["To"] == "jurgen@example.com"]
    body = mail.get_body(("plain",)).get_content()
    assert mail["Subject"] == "Lastschrift über 120,50 € am 05.12.2026"  # a subject is one line of plain spaces
    assert "120,50" in body and bill.number in body and mandate_reference in body
    assert "FR72ZZZ123456" in body and "Alpha Utility SA" in body


def test_a_move_out_is_confirmed_with_its_final_readings(app, two_tenants, outbox):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        contract, _meter, _register, _user = _supply(email="lea@example.com", locale="en")
        db.session.commit()
        with inline_jobs():
            moves.move_out(contract=contract, move_out_on=date(2026, 11, 20), readings={"TOTAL": Decimal("1234.5")},
                           today=date(2026, 11, 20), now=datetime(2026, 11, 20, 10, tzinfo=UTC),
                           customer_user_id=None)
            db.session.commit()
            pipeline.dispatch_committed()
        (message,) = _messages("move_out_confirmed")

    assert message.status == "sent"
    (mail,) = [m for m in outbox() if m["To"] == "lea@example.com"]
    body = mail.get_body(("plain",)).get_content()
    assert mail["Subject"] == "Your move-out on 20 Nov 2026 is recorded"
    assert "Total: 1,234.5 kWh" in body and "12 rue des Lilas" in body


@pytest.mark.parametrize("kind", ["reading_window_open", "direct_debit_prenotification", "move_out_confirmed"])
def test_the_new_kinds_are_documented_and_only_the_reminder_can_be_switched_off(kind):
    from domain.communications.kinds import kind_of

    assert kind_of(kind).switchable == (kind == "reading_window_open")
    assert kind_of(kind).variables
