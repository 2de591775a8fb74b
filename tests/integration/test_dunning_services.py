"""Dunning services on the database: which items a direct debit holds, a run rolled back (a killed worker) then run
again sends once, one active arrangement per bill, disputes once and resolved with a note, a
customer without an e-mail address gets a letter, a new utility's defaults."""
from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from domain.accounting.models import LedgerEntry
from domain.collections import arrangements, disputes, dunning, letters
from domain.collections.models import ArrangementBill, DunningLetter, DunningStep
from domain.collections.rules import DEFAULT_LEVELS, DEFAULT_LIMITS
from domain.collections.settings import current_levels, current_limits
from domain.communications.models import Message
from domain.db import db
from domain.identity.activation import display_code, generate_activation_code
from domain.payments.collection_models import CollectionBatch, CollectionItem
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.factories import ContactPointFactory, CustomerAccountFactory, DirectDebitMandateFactory, PartyFactory
from tests.integration.test_payments import add_bill

TODAY = date(2026, 12, 20)
NOW = datetime(2026, 12, 20, 1, 0, tzinfo=UTC)
DUE = TODAY - timedelta(days=12)  # the reminder (10 days) is due


@pytest.fixture
def tenant(app, make_tenant):
    made = make_tenant("alpha")
    with app.app_context(), tenant_scope(made.id):
        yield db.session.get(Tenant, made.id)
        db.session.rollback()


def _account(email: str | None = "c@example.test", mandate: str | None = None):
    party = PartyFactory()
    if email:
        ContactPointFactory(party=party, value=email)
    account = CustomerAccountFactory(holder=party)
    return account, (DirectDebitMandateFactory(account=account, status=mandate) if mandate else None)


def _collect(bill, account, mandate, *, batch_status: str, item_status: str) -> None:
    batch = CollectionBatch(message_id=f"M-{bill.number}", collection_date=TODAY + timedelta(days=3),
                            status=batch_status, currency="EUR", prepared_at=NOW, prepared_by="billing")
    db.session.add(batch)
    db.session.flush()
    db.session.add(CollectionItem(batch_id=batch.id, bill_id=bill.id, account_id=account.id, mandate_id=mandate.id,
                                  end_to_end_id=f"E-{bill.number}", sequence_type="FRST", amount=bill.total_incl_tax,
                                  currency="EUR", status=item_status,
                                  return_reason="AM04" if item_status == "returned" else None))
    db.session.flush()


def _skips(*bills) -> list[str | None]:
    by_bill = {item.bill.id: item.skip for item in dunning.open_items(today=TODAY)}
    return [by_bill[bill.id] for bill in bills]


def test_a_new_utility_has_the_default_levels_and_limits(tenant):
    assert current_levels() == list(DEFAULT_LEVELS) and current_limits() == DEFAULT_LIMITS


def test_direct_debits_to_come_hold_items_and_a_returned_one_does_not(tenant):
    mandated, mandate = _account(mandate="active")
    revoked, revoked_mandate = _account(mandate="revoked")
    will_collect = add_bill(mandated.account_number, "50.00", due=DUE)
    returned = add_bill(mandated.account_number, "40.00", due=DUE, start=date(2026, 8, 1))
    in_batch = add_bill(revoked.account_number, "30.00", due=DUE)
    plain = add_bill(revoked.account_number, "20.00", due=DUE, start=date(2026, 8, 1))
    _collect(returned, mandated, mandate, batch_status="settled", item_status="returned")
    _collect(in_batch, revoked, revoked_mandate, batch_status="submitted", item_status="pending")

    assert _skips(will_collect, returned, in_batch, plain) == ["direct_debit", None, "direct_debit", None]


def test_a_run_rolled_back_sends_nothing_and_the_next_sends_once(tenant):
    account, _m = _account()
    bill = add_bill(account.account_number, "80.00", due=TODAY - timedelta(days=26))  # reminder and second due
    db.session.commit()

    killed = dunning.run_dunning(tenant=tenant, today=TODAY, now=NOW)
    db.session.rollback()  # the worker died before its commit (on SQLite each step's savepoint is already kept)
    first = dunning.run_dunning(tenant=tenant, today=TODAY, now=NOW)
    db.session.commit()
    again = dunning.run_dunning(tenant=tenant, today=TODAY, now=NOW)
    db.session.commit()

    assert killed.steps == 1 and first.steps + again.steps <= 1 and again.steps == 0
    assert [(s.level, s.bill_id) for s in db.session.scalars(select(DunningStep))] == [(1, bill.id)]
    assert [m.kind for m in db.session.scalars(select(Message))] == ["dunning_reminder"]


def test_a_customer_without_an_e_mail_address_gets_a_letter_and_the_fee_is_on_the_ledger(tenant):
    account, _m = _account(email=None)
    account.activation_code = generate_activation_code()
    bill = add_bill(account.account_number, "80.00", due=TODAY - timedelta(days=26))
    db.session.add(DunningStep(bill_id=bill.id, account_id=account.id, level=1, done_on=TODAY - timedelta(days=15),
                               created_at=NOW, outstanding=Decimal("80.00"), fee=Decimal("0.00"), channel="email"))
    db.session.flush()

    dunning.run_dunning(tenant=tenant, today=TODAY, now=NOW)

    step = db.session.scalar(select(DunningStep).where(DunningStep.level == 2))
    letter = db.session.get(DunningLetter, step.letter_id)
    fee = db.session.scalar(select(LedgerEntry).where(LedgerEntry.id == step.ledger_entry_id))
    assert step.channel == "letter" and letter.subject == f"Second reminder: bill {bill.number} is still unpaid"
    assert (fee.direction, fee.amount, fee.description) == ("debit", Decimal("5.00"),
                                                            f"Second reminder fee, bill {bill.number}")
    assert db.session.scalars(select(Message)).all() == []
    # As on bills, the letter gives the customer number and the code that opens the online access with it.
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(
        letters.letter_document(letter))).pages)
    assert f"Customer number: {account.account_number}" in text
    assert f"Activation code: {display_code(account.activation_code)}" in text


def test_a_bill_is_in_one_active_arrangement_only(tenant):
    account, _m = _account()
    bill = add_bill(account.account_number, "60.00", due=DUE)
    plan = [(TODAY + timedelta(days=5), Decimal("60.00"))]
    arrangements.create_arrangement(account=account, bill_numbers=[bill.number], instalments=plan, today=TODAY,
                                    now=NOW, by="staff", by_customer=False)

    with pytest.raises(arrangements.ArrangementRefused) as again:
        arrangements.create_arrangement(account=account, bill_numbers=[bill.number], instalments=plan, today=TODAY,
                                        now=NOW, by="staff", by_customer=False)
    db.session.add(ArrangementBill(arrangement_id=db.session.scalar(select(ArrangementBill.arrangement_id)),
                                   bill_id=bill.id, amount=Decimal("1.00"), active=True))
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.flush()

    assert again.value.code == "already"


def test_customer_arrangements_respect_the_limits_and_the_exact_amount(tenant):
    account, _m = _account()
    bill = add_bill(account.account_number, "100.00", due=DUE)

    with pytest.raises(arrangements.ScheduleRefused) as short:
        arrangements.create_arrangement(account=account, bill_numbers=[bill.number], today=TODAY, now=NOW, by="c",
                                        by_customer=True, instalments=[(TODAY + timedelta(days=7), Decimal("99.99"))])
    with pytest.raises(arrangements.ScheduleRefused) as small:
        arrangements.create_arrangement(
            account=account, bill_numbers=[bill.number], today=TODAY, now=NOW, by="c", by_customer=True,
            instalments=[(TODAY + timedelta(days=7), Decimal("90.00")), (TODAY + timedelta(days=37),
                                                                         Decimal("10.00"))])

    assert (short.value.code, small.value.code) == ("sum", "too_small")


def test_a_dispute_is_opened_once_and_resolved_with_a_note_then_dunning_resumes(tenant):
    account, _m = _account()
    bill = add_bill(account.account_number, "70.00", due=DUE)
    dispute = disputes.open_dispute(bill=bill, reason="amount", note=None, by="c", by_customer=True, now=NOW)

    with pytest.raises(disputes.DisputeRefused) as twice:
        disputes.open_dispute(bill=bill, reason="amount", note=None, by="staff", by_customer=False, now=NOW)
    held = dunning.run_dunning(tenant=tenant, today=TODAY, now=NOW)
    with pytest.raises(disputes.DisputeRefused) as without_note:
        disputes.resolve_dispute(dispute=dispute, outcome="rejected", note="  ", by="staff", now=NOW)
    disputes.resolve_dispute(dispute=dispute, outcome="rejected", note="Reading confirmed", by="staff", now=NOW)
    resumed = dunning.run_dunning(tenant=tenant, today=TODAY, now=NOW)

    assert (twice.value.code, without_note.value.code) == ("already", "note")
    assert (held.steps, held.skipped, resumed.steps) == (0, 1, 1)


def test_a_customer_without_an_e_mail_address_is_told_by_letter_that_the_arrangement_broke(tenant):
    from domain.collections.letters import letter_document

    account, _m = _account(email=None)
    bill = add_bill(account.account_number, "60.00", due=DUE)
    arrangement = arrangements.create_arrangement(
        account=account, bill_numbers=[bill.number], instalments=[(TODAY + timedelta(days=2), Decimal("60.00"))],
        today=TODAY, now=NOW, by="staff", by_customer=False)
    grace = current_limits().grace_days

    arrangements.monitor_arrangements(today=TODAY + timedelta(days=3 + grace), now=NOW + timedelta(days=3 + grace))

    letter = db.session.scalar(select(DunningLetter).where(DunningLetter.account_id == account.id))
    assert arrangement.status == "broken"
    assert letter.reference == f"arrangement:{arrangement.public_id}:broken" and letter.sent_at is None
    assert letter.subject and letter_document(letter).startswith(b"%PDF")
    assert db.session.scalars(select(Message)).all() == []


def test_the_queue_names_every_holder_in_the_same_few_statements_whatever_their_number(app, tenant):
    from sqlalchemy import event

    def statements_for(customers: int) -> int:
        for n in range(customers):
            account, _m = _account(email=f"q{customers}-{n}@example.test")
            add_bill(account.account_number, "30.00", due=DUE)
        db.session.flush()
        seen = []
        listener = lambda *_args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            rows = dunning.queue_rows(today=TODAY)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert all(row["holder"] for row in rows)
        return len(seen)

    assert statements_for(2) == statements_for(6)
