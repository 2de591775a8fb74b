"""SEPA collections on the database: which bills a batch takes, once only; settlement records payments through
the payments service; a return undoes its payment; the file of a batch; the jobs."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from domain.accounting.models import LedgerEntry, Payment
from domain.billing import bills as bill_service
from domain.billing.models import Bill
from domain.db import db
from domain.payments import collection_jobs
from domain.payments import sepa_collections as collections
from domain.payments.collection_models import CollectionBatch, CollectionItem
from domain.payments.models import DirectDebitMandate
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant
from tests.factories import (
    ContactPointFactory,
    CustomerAccountFactory,
    DirectDebitMandateFactory,
    LedgerEntryFactory,
    PartyFactory,
)
from tests.integration.test_payments import account_of, add_bill, balance_of, pay_allocated

TODAY = date(2026, 11, 28)
COLLECTION = date(2026, 12, 5)
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def configure(app, slug: str, creditor_id: str | None = "FR72ZZZ123456", iban: str = "FR7630006000011234567890189",
              lead_days: int | None = None) -> None:
    with app.app_context(), platform_scope("test: SEPA settings"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        tenant.sepa_creditor_id, tenant.iban, tenant.bic = creditor_id, iban, "AGRIFRPP"
        tenant.legal_name = f"{tenant.name} SA"
        tenant.sepa_collection_lead_days = lead_days
        db.session.commit()


def tenant_of(data) -> Tenant:
    return db.session.get(Tenant, data.tenant_id)


def customer(*, mandate: str | None = "active", email: str | None = None, locale: str | None = None):
    """An account with a holder (e-mail optional) and a mandate (active, revoked or none)."""
    party = PartyFactory()
    if email:
        ContactPointFactory(party=party, value=email)
    account = CustomerAccountFactory(holder=party, locale=locale)
    if mandate:
        DirectDebitMandateFactory(account=account, status=mandate, holder_name="Jürgen Groß",
                                  iban="DE89370400440532013000",
                                  signed_at=datetime(2026, 1, 4, 23, 30, tzinfo=UTC))  # 5 January in Paris
    return account


def prepare(data, *, on: date = COLLECTION, today: date = TODAY, expected: str | None = None):
    return collections.prepare_batch(tenant=tenant_of(data), collection_date=on, today=today, now=NOW,
                                     prepared_by="Billing", expected=expected)


def items_by_bill(batch) -> dict[str, tuple[Decimal, str, str]]:
    rows = db.session.execute(select(Bill.number, CollectionItem.amount, CollectionItem.sequence_type,
                                     CollectionItem.status)
                              .join(Bill, Bill.id == CollectionItem.bill_id)
                              .where(CollectionItem.batch_id == batch.id))
    return {number: (amount, seq, status) for number, amount, seq, status in rows}


@pytest.fixture
def world(app, two_tenants):
    a, b = two_tenants
    configure(app, a.slug)
    configure(app, b.slug, creditor_id="DE98ZZZ09999999999")
    return a, b


@pytest.fixture
def in_a(app, world):
    a, _b = world
    with app.app_context(), tenant_scope(a.tenant_id):
        yield a
        db.session.rollback()


def test_collects_due_unpaid_bills_of_accounts_with_an_active_mandate(app, world):
    a, b = world
    with app.app_context(), tenant_scope(b.tenant_id):
        foreign = add_bill(customer().account_number, "99.00", due=date(2026, 12, 1))
        db.session.commit()
    with app.app_context(), tenant_scope(a.tenant_id):
        payer = customer()
        due = add_bill(payer.account_number, "120.50", due=date(2026, 12, 1))
        on_the_day = add_bill(payer.account_number, "10.00", due=COLLECTION, start=date(2026, 8, 1))
        partly = add_bill(payer.account_number, "100.00", due=date(2026, 11, 20), start=date(2026, 7, 1))
        pay_allocated(partly, "40.00")
        later = add_bill(payer.account_number, "30.00", due=COLLECTION + timedelta(days=1), start=date(2026, 6, 1))
        cancelled = add_bill(payer.account_number, "15.00", due=date(2026, 12, 1), status="cancelled",
                             start=date(2026, 5, 1))
        credit = add_bill(payer.account_number, "-20.00", due=date(2026, 12, 1), kind="credit_note",
                          start=date(2026, 4, 1), ledger=False)
        no_mandate = add_bill(customer(mandate=None).account_number, "45.00", due=date(2026, 12, 1))
        revoked = add_bill(customer(mandate="revoked").account_number, "55.00", due=date(2026, 12, 1))
        db.session.commit()

        batch, added = prepare(a)
        db.session.commit()

        assert added == 3
        assert items_by_bill(batch) == {
            partly.number: (Decimal("60.00"), "FRST", "pending"),
            due.number: (Decimal("120.50"), "FRST", "pending"),
            on_the_day.number: (Decimal("10.00"), "FRST", "pending"),
        }
        taken = set(items_by_bill(batch))
        for left_out in (later, cancelled, credit, no_mandate, revoked, foreign):
            assert left_out.number not in taken
        assert (batch.status, batch.collection_date, batch.message_id) == ("prepared", COLLECTION, "DD20261205-01")
        assert batch.prepared_by == "Billing"
        ids = db.session.scalars(select(CollectionItem.end_to_end_id).where(CollectionItem.batch_id == batch.id)
                                 .order_by(CollectionItem.id)).all()
        assert ids == ["DD20261205-01-00001", "DD20261205-01-00002", "DD20261205-01-00003"]
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(func.count(CollectionItem.id))) == 0


def test_preparing_the_same_date_twice_adds_only_new_bills_to_the_same_batch(in_a):
    payer = customer()
    first = add_bill(payer.account_number, "20.00", due=date(2026, 12, 1))
    db.session.commit()
    batch, added = prepare(in_a)
    db.session.commit()

    again, added_again = prepare(in_a)
    later = add_bill(payer.account_number, "7.00", due=date(2026, 12, 2), start=date(2026, 8, 1))
    db.session.commit()
    third, added_third = prepare(in_a)
    db.session.commit()

    assert (added, added_again, added_third) == (1, 0, 1)
    assert again.id == third.id == batch.id
    assert db.session.scalar(select(func.count(CollectionBatch.id))) == 1
    assert items_by_bill(batch) == {first.number: (Decimal("20.00"), "FRST", "pending"),
                                    later.number: (Decimal("7.00"), "FRST", "pending")}
    assert db.session.scalar(select(CollectionItem.end_to_end_id).where(
        CollectionItem.bill_id == later.id)) == "DD20261205-01-00002"


def test_the_database_refuses_a_second_live_item_for_a_bill(in_a):
    payer = customer()
    bill = add_bill(payer.account_number, "20.00", due=date(2026, 12, 1))
    db.session.commit()
    batch, _added = prepare(in_a)
    db.session.commit()
    item = db.session.scalar(select(CollectionItem))

    db.session.add(CollectionItem(batch_id=batch.id, bill_id=bill.id, account_id=item.account_id,
                                  mandate_id=item.mandate_id, end_to_end_id="OTHER-1", sequence_type="FRST",
                                  amount=Decimal("20.00"), currency="EUR", status="pending"))
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_an_account_is_never_collected_beyond_its_balance(in_a):
    payer = customer()
    older = add_bill(payer.account_number, "50.00", due=date(2026, 11, 1), start=date(2026, 8, 1))
    newer = add_bill(payer.account_number, "40.00", due=date(2026, 12, 1))
    LedgerEntryFactory(account=account_of(payer.account_number), direction="credit", amount=Decimal("65.00"),
                       description="Transfer not allocated yet")
    db.session.commit()

    batch, _added = prepare(in_a)

    assert balance_of(payer.account_number) == Decimal("25.00")
    assert items_by_bill(batch) == {older.number: (Decimal("25.00"), "FRST", "pending")}
    assert newer.number not in items_by_bill(batch)


def test_a_mandate_already_collected_is_recurring(in_a):
    payer = customer()
    add_bill(payer.account_number, "20.00", due=date(2026, 12, 1))
    db.session.commit()
    first, _ = prepare(in_a)
    collections.submit_batch(batch=first, now=NOW, today=TODAY, by="Billing")
    next_bill = add_bill(payer.account_number, "21.00", due=date(2026, 12, 20), start=date(2026, 11, 1))
    db.session.commit()

    second, _ = prepare(in_a, on=date(2026, 12, 22))

    assert items_by_bill(second) == {next_bill.number: (Decimal("21.00"), "RCUR", "pending")}
    assert second.message_id == "DD20261222-01"


def test_settling_records_a_direct_debit_payment_per_item_allocated_and_credited(in_a):
    payer = customer()
    bill = add_bill(payer.account_number, "120.50", due=date(2026, 12, 1))
    db.session.commit()
    batch, _ = prepare(in_a)
    collections.submit_batch(batch=batch, now=NOW, today=TODAY, by="Billing")

    payments = collections.settle_batch(batch=batch, now=NOW, today=COLLECTION, by="Billing")
    db.session.commit()

    payment = payments[0]
    assert (len(payments), payment.method, payment.status, payment.amount, payment.provider) == (
        1, "direct_debit", "succeeded", Decimal("120.50"), "bank")
    assert payment.provider_reference == "DD20261205-01-00001"
    assert [(a.bill_id, a.amount) for a in payment.allocations] == [(bill.id, Decimal("120.50"))]
    credit = db.session.scalar(select(LedgerEntry).where(LedgerEntry.payment_id == payment.id))
    assert (credit.direction, credit.amount, credit.booked_on) == ("credit", Decimal("120.50"), COLLECTION)
    assert credit.description.startswith("Direct debit ")
    assert bill_service.bill_views([bill], today=COLLECTION)[0].status == "paid"
    assert balance_of(payer.account_number) == Decimal("0.00")
    assert (batch.status, batch.settled_by) == ("settled", "Billing")
    assert items_by_bill(batch)[bill.number][2] == "settled"


def test_settling_twice_or_before_submission_is_refused_and_records_nothing_more(in_a):
    add_bill(customer().account_number, "20.00", due=date(2026, 12, 1))
    db.session.commit()
    batch, _ = prepare(in_a)

    with pytest.raises(collections.CollectionRefused) as early:
        collections.settle_batch(batch=batch, now=NOW, today=COLLECTION, by="Billing")
    collections.submit_batch(batch=batch, now=NOW, today=TODAY, by="Billing")
    collections.settle_batch(batch=batch, now=NOW, today=COLLECTION, by="Billing")
    with pytest.raises(collections.CollectionRefused) as twice:
        collections.settle_batch(batch=batch, now=NOW, today=COLLECTION, by="Billing")

    assert early.value.code == twice.value.code == "state"
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.method == "direct_debit")) == 1


def test_a_returned_item_undoes_its_payment_and_the_bill_is_unpaid_again(in_a):
    payer = customer(email="payer@example.test", locale="de")
    bill = add_bill(payer.account_number, "120.50", due=date(2026, 12, 1))
    db.session.commit()
    batch, _ = prepare(in_a)
    collections.submit_batch(batch=batch, now=NOW, today=TODAY, by="Billing")
    payment = collections.settle_batch(batch=batch, now=NOW, today=COLLECTION, by="Billing")[0]
    item = db.session.scalar(select(CollectionItem))

    notice = collections.record_return(batch=batch, item=item, reason="am04", now=NOW, today=date(2026, 12, 9),
                                       by="Collections")
    db.session.commit()

    assert (payment.status, payment.failure_reason) == ("failed", "SEPA return AM04")
    debit = db.session.scalar(select(LedgerEntry).where(LedgerEntry.payment_id == payment.id,
                                                        LedgerEntry.direction == "debit"))
    assert (debit.amount, debit.booked_on) == (Decimal("120.50"), date(2026, 12, 9))
    assert balance_of(payer.account_number) == Decimal("120.50")
    view = bill_service.bill_views([bill], today=date(2026, 12, 9))[0]
    assert (view.status, view.outstanding) == ("overdue", Decimal("120.50"))
    assert (item.status, item.return_reason, item.returned_by) == ("returned", "AM04", "Collections")
    assert notice == collections.ReturnNotice(
        to="payer@example.test", locale="de", holder_name=payer.holder.display_name,
        account_number=payer.account_number, bill_number=bill.number, amount=Decimal("120.50"), currency="EUR",
        reason="AM04", collection_date=COLLECTION)
    assert [(i.status, b.message_id, n) for i, b, n in collections.collections_of_account(account_id=payer.id)] == [
        ("returned", "DD20261205-01", bill.number)]


def test_a_return_is_recorded_once_and_the_bill_is_not_collected_again_by_itself(in_a):
    payer = customer()
    bill = add_bill(payer.account_number, "20.00", due=date(2026, 12, 1))
    db.session.commit()
    batch, _ = prepare(in_a)
    collections.submit_batch(batch=batch, now=NOW, today=TODAY, by="Billing")
    collections.settle_batch(batch=batch, now=NOW, today=COLLECTION, by="Billing")
    item = db.session.scalar(select(CollectionItem))
    collections.record_return(batch=batch, item=item, reason="MD01", now=NOW, today=COLLECTION, by="Collections")

    with pytest.raises(collections.CollectionRefused) as twice:
        collections.record_return(batch=batch, item=item, reason="AM04", now=NOW, today=COLLECTION, by="x")
    with pytest.raises(collections.CollectionRefused) as nothing:
        prepare(in_a, on=date(2026, 12, 20))

    assert twice.value.code == "already_returned"
    assert nothing.value.code == "nothing_due"
    assert db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.direction == "debit",
                                                                       LedgerEntry.payment_id.is_not(None))) == 1
    assert item.return_reason == "MD01"
    assert bill.id == item.bill_id


def test_an_item_rejected_before_settlement_gets_no_payment(in_a):
    payer = customer()
    kept = add_bill(payer.account_number, "20.00", due=date(2026, 12, 1))
    rejected = add_bill(customer().account_number, "30.00", due=date(2026, 12, 1))
    db.session.commit()
    batch, _ = prepare(in_a)
    collections.submit_batch(batch=batch, now=NOW, today=TODAY, by="Billing")
    item = db.session.scalar(select(CollectionItem).where(CollectionItem.bill_id == rejected.id))
    collections.record_return(batch=batch, item=item, reason="AC04", now=NOW, today=COLLECTION, by="Collections")

    payments = collections.settle_batch(batch=batch, now=NOW, today=COLLECTION, by="Billing")

    assert [p.allocations[0].bill_id for p in payments] == [kept.id]
    assert items_by_bill(batch)[rejected.number] == (Decimal("30.00"), "FRST", "returned")


def test_unknown_reason_codes_and_items_not_sent_yet_are_refused(in_a):
    add_bill(customer().account_number, "20.00", due=date(2026, 12, 1))
    db.session.commit()
    batch, _ = prepare(in_a)
    item = db.session.scalar(select(CollectionItem))

    with pytest.raises(collections.CollectionRefused) as not_sent:
        collections.record_return(batch=batch, item=item, reason="AM04", now=NOW, today=TODAY, by="x")
    collections.submit_batch(batch=batch, now=NOW, today=TODAY, by="Billing")
    with pytest.raises(collections.CollectionRefused) as unknown:
        collections.record_return(batch=batch, item=item, reason="XX99", now=NOW, today=TODAY, by="x")

    assert (not_sent.value.code, unknown.value.code) == ("state", "reason")
    assert item.status == "pending"


def test_a_mandate_revoked_after_preparing_is_left_out_of_the_file_and_the_submission(app, in_a):
    kept = customer()
    gone = customer()
    add_bill(kept.account_number, "20.00", due=date(2026, 12, 1))
    add_bill(gone.account_number, "30.00", due=date(2026, 12, 1))
    db.session.commit()
    batch, _ = prepare(in_a)
    mandate = db.session.scalar(select(DirectDebitMandate).where(DirectDebitMandate.account_id == gone.id))
    mandate.status = "revoked"

    message = collections.message_of(batch=batch, tenant=tenant_of(in_a), created_at=NOW)
    dropped = collections.submit_batch(batch=batch, now=NOW, today=TODAY, by="Billing")

    assert [t.amount for t in message.transactions] == [Decimal("20.00")]
    assert dropped == 1
    statuses = {i.account_id: i.status for i in db.session.scalars(select(CollectionItem))}
    assert statuses == {kept.id: "pending", gone.id: "cancelled"}


def test_cancelling_a_prepared_batch_frees_its_bills_for_another(in_a):
    bill = add_bill(customer().account_number, "20.00", due=date(2026, 12, 1))
    db.session.commit()
    batch, _ = prepare(in_a)

    collections.cancel_batch(batch=batch, now=NOW)
    again, added = prepare(in_a)

    assert (batch.status, added, again.message_id) == ("cancelled", 1, "DD20261205-02")
    assert items_by_bill(again) == {bill.number: (Decimal("20.00"), "FRST", "pending")}


def test_preparing_is_refused_without_setup_for_a_past_date_with_nothing_due_or_a_changed_preview(app, world):
    a, _b = world
    with app.app_context(), tenant_scope(a.tenant_id):
        add_bill(customer().account_number, "20.00", due=date(2026, 12, 1))
        db.session.commit()
        shown = collections.preview(collection_date=COLLECTION)
        add_bill(customer().account_number, "5.00", due=date(2026, 12, 1))
        db.session.commit()
        codes = []
        for kwargs in ({"on": TODAY}, {"on": date(2026, 11, 29), "today": TODAY}, {"expected": shown.fingerprint}):
            with pytest.raises(collections.CollectionRefused) as refused:
                prepare(a, **kwargs)
            codes.append(refused.value.code)
        assert codes == ["date_past", "nothing_due", "changed"]
        assert db.session.scalar(select(func.count(CollectionBatch.id))) == 0
    configure(app, a.slug, creditor_id=None)
    with app.app_context(), tenant_scope(a.tenant_id):
        with pytest.raises(collections.CollectionRefused) as unset:
            prepare(a)
        assert unset.value.code == "not_configured"


def test_the_file_of_a_batch_is_a_valid_pain008_with_the_tenants_creditor_identifier(in_a):
    etree = pytest.importorskip("lxml.etree")
    sepaxml = pytest.importorskip("sepaxml")
    bill = add_bill(customer().account_number, "120.50", due=date(2026, 12, 1))
    db.session.commit()
    batch, _ = prepare(in_a)

    xml = collections.xml_of(batch=batch, tenant=tenant_of(in_a), created_at=NOW)

    schema = etree.XMLSchema(etree.parse(str(Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd")))
    document = etree.fromstring(xml)
    assert schema.validate(document), schema.error_log
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}
    assert document.findtext(".//p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=ns) == "FR72ZZZ123456"
    assert document.findtext(".//p:Cdtr/p:Nm", namespaces=ns) == "Alpha Utility SA"
    assert document.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) == "120.50"
    assert document.findtext(".//p:DrctDbtTxInf/p:InstdAmt", namespaces=ns) == "120.50"
    assert document.findtext(".//p:Dbtr/p:Nm", namespaces=ns) == "Jurgen Gross"
    assert document.findtext(".//p:DtOfSgntr", namespaces=ns) == "2026-01-05"  # signed on 5 January, Paris time
    assert document.findtext(".//p:RmtInf/p:Ustrd", namespaces=ns) == f"Bill {bill.number}"


def test_the_prepare_job_is_idempotent_and_the_daily_job_looks_lead_days_ahead(app, world, monkeypatch):
    from app.jobs import enqueue_now

    a, _b = world
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    with app.app_context(), tenant_scope(a.tenant_id):
        bill = add_bill(customer().account_number, "20.00", due=date(2026, 12, 1))
        later = add_bill(customer().account_number, "9.00", due=date(2026, 12, 10))
        db.session.commit()
        first = collection_jobs.prepare_collection(collection_date_iso="2026-12-05", today_iso="2026-11-28")
        db.session.commit()
        second = collection_jobs.prepare_collection(collection_date_iso="2026-12-05", today_iso="2026-11-28")
        db.session.commit()
        manual = collection_jobs.prepare_due_collections(today_iso="2026-11-28")
        assert (first["outcome"], first["added"], second["added"]) == ("prepared", 1, 0)
        assert second["batch"] == first["batch"]
        assert manual == {"outcome": "not_automatic", "added": 0}
    configure(app, a.slug, lead_days=12)
    with app.app_context():
        enqueue_now("payments.prepare_due_collections", tenant_id=a.tenant_id, today_iso="2026-11-28")
    with app.app_context(), tenant_scope(a.tenant_id):
        batches = {b.collection_date: [(i.bill_id, i.amount) for i in b.items]
                   for b in db.session.scalars(select(CollectionBatch))}
        assert batches == {date(2026, 12, 5): [(bill.id, Decimal("20.00"))],  # not collected twice
                           date(2026, 12, 10): [(later.id, Decimal("9.00"))]}


def test_dates_decide_when_a_batch_may_be_submitted_settled_or_have_returns(in_a):
    add_bill(customer().account_number, "20.00", due=date(2026, 12, 1))
    db.session.commit()
    batch, _ = prepare(in_a)  # collected on 2026-12-05

    with pytest.raises(collections.CollectionRefused) as too_early:
        collections.submit_batch(batch=batch, now=NOW, today=COLLECTION - timedelta(days=15), by="Billing")
    with pytest.raises(collections.CollectionRefused) as on_the_day:
        collections.submit_batch(batch=batch, now=NOW, today=COLLECTION, by="Billing")
    collections.submit_batch(batch=batch, now=NOW, today=COLLECTION - timedelta(days=14), by="Billing")
    item = db.session.scalar(select(CollectionItem))
    with pytest.raises(collections.CollectionRefused) as settle_early:
        collections.settle_batch(batch=batch, now=NOW, today=COLLECTION - timedelta(days=1), by="Billing")
    with pytest.raises(collections.CollectionRefused) as return_early:
        collections.record_return(batch=batch, item=item, reason="AM04", now=NOW,
                                  today=COLLECTION - timedelta(days=1), by="x")
    settled = collections.settle_batch(batch=batch, now=NOW, today=COLLECTION, by="Billing")

    assert (too_early.value.code, on_the_day.value.code) == ("too_early", "date_passed")
    assert (settle_early.value.code, return_early.value.code) == ("not_yet", "not_yet")
    assert [p.amount for p in settled] == [Decimal("20.00")] and item.status == "settled"


def test_a_settled_batch_is_published_to_webhook_subscribers_in_one_write(in_a):
    import json

    from domain.webhooks.models import WebhookEvent
    from tests.factories import make_webhook_subscription

    make_webhook_subscription(event_types=("payment.received",))
    first, second = customer(), customer()
    add_bill(first.account_number, "10.00", due=date(2026, 12, 1))
    add_bill(second.account_number, "20.00", due=date(2026, 12, 1))
    db.session.commit()
    batch, _ = prepare(in_a)
    collections.submit_batch(batch=batch, now=NOW, today=TODAY, by="Billing")

    payments = collections.settle_batch(batch=batch, now=NOW, today=COLLECTION, by="Billing")

    from tests.webhook_support import documented

    objects = [documented("payment.received", json.loads(e.payload)) for e in db.session.scalars(select(WebhookEvent))]
    sent = sorted((o["amount"], o["method"]) for o in objects)
    assert len(payments) == 2 and sent == [("10.00", "direct_debit"), ("20.00", "direct_debit")]
