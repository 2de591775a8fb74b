"""Sixty days of dunning on the database, day by day on a pinned clock, each day's run done twice: a plain item goes
through reminder, second reminder and formal notice (exact fees, messages, letter and task); a disputed item and one
covered by a direct debit get nothing; one under an arrangement gets nothing until the arrangement breaks, then
dunning resumes. Nothing is ever doubled."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from domain.accounting.models import LedgerEntry
from domain.collections import arrangements, disputes, jobs
from domain.collections.letters import letter_document
from domain.collections.models import DunningLetter, DunningStep, PaymentArrangement
from domain.communications.models import Message
from domain.contacts import services as contacts
from domain.db import db
from domain.tasks.models import Task, WorkGroup
from tenants.context import tenant_scope
from tests.factories import ContactPointFactory, CustomerAccountFactory, DirectDebitMandateFactory, PartyFactory
from tests.integration.test_payments import add_bill, pay_allocated

DUE = date(2026, 11, 30)
START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _account(email: str | None, *, mandate: bool = False):
    party = PartyFactory()
    if email:
        ContactPointFactory(party=party, value=email)
    account = CustomerAccountFactory(holder=party)
    if mandate:
        DirectDebitMandateFactory(account=account, status="active")
    return account


def _steps(bill) -> list[tuple[int, date, Decimal, str]]:
    return [(s.level, s.done_on, s.fee, s.channel) for s in db.session.scalars(
        select(DunningStep).where(DunningStep.bill_id == bill.id).order_by(DunningStep.level))]


def _kinds(account) -> list[str]:
    return [m.kind for m in db.session.scalars(select(Message).where(Message.account_id == account.id)
                                                 .order_by(Message.id))]


def _fees(account) -> list[tuple[Decimal, str, date]]:
    return [(e.amount, e.description, e.booked_on) for e in db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.account_id == account.id, LedgerEntry.bill_id.is_(None),
                                  LedgerEntry.payment_id.is_(None)).order_by(LedgerEntry.id))]


def test_sixty_days_of_dunning_send_each_step_once(app, make_tenant, clock):
    tenant = make_tenant("alpha")
    with app.app_context(), tenant_scope(tenant.id):
        plain = _account("plain@example.test")
        disputed = _account("disputed@example.test")
        arranged = _account("arranged@example.test")
        debited = _account("debited@example.test", mandate=True)
        plain_bill = add_bill(plain.account_number, "100.00", due=DUE)
        disputed_bill = add_bill(disputed.account_number, "80.00", due=DUE)
        arranged_bill = add_bill(arranged.account_number, "120.00", due=DUE)
        debited_bill = add_bill(debited.account_number, "70.00", due=DUE)
        disputes.open_dispute(bill=disputed_bill, reason="reading", note="The meter was read wrong.",
                              by="agent@alpha.test", by_customer=False, now=START)
        arrangement = arrangements.create_arrangement(
            account=arranged, bill_numbers=[arranged_bill.number],
            instalments=[(DUE + timedelta(days=5), Decimal("60.00")), (DUE + timedelta(days=20), Decimal("60.00"))],
            today=START.date(), now=START, by="collections@alpha.test", by_customer=False)
        db.session.commit()
        ids = {name: (acc.id, bill.id) for name, acc, bill in (
            ("plain", plain, plain_bill), ("disputed", disputed, disputed_bill),
            ("arranged", arranged, arranged_bill), ("debited", debited, debited_bill))}

    for offset in range(1, 61):
        day = DUE + timedelta(days=offset)
        clock.move_to(datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC), tick=False)
        with app.app_context(), tenant_scope(tenant.id):
            if offset == 5:  # the first instalment is paid on its day; the second never is
                pay_allocated(db.session.get(type(arranged_bill), ids["arranged"][1]), "60.00")
                db.session.commit()
            for _twice in range(2):
                jobs.daily_collections(today_iso=day.isoformat(), now_iso=datetime(
                    day.year, day.month, day.day, 1, 0, tzinfo=UTC).isoformat())
                db.session.commit()

    with app.app_context(), tenant_scope(tenant.id):
        plain_bill, disputed_bill, arranged_bill, debited_bill = (
            db.session.get(type(plain_bill), ids[n][1]) for n in ("plain", "disputed", "arranged", "debited"))
        plain, disputed, arranged, debited = (
            db.session.get(type(plain), ids[n][0]) for n in ("plain", "disputed", "arranged", "debited"))
        number = plain_bill.number

        assert _steps(plain_bill) == [(1, DUE + timedelta(days=10), Decimal("0.00"), "email"),
                                      (2, DUE + timedelta(days=25), Decimal("5.00"), "email"),
                                      (3, DUE + timedelta(days=40), Decimal("15.00"), "letter")]
        assert _kinds(plain) == ["dunning_reminder", "dunning_second_reminder"]
        reminder, second = db.session.scalars(select(Message).where(Message.account_id == plain.id)
                                              .order_by(Message.id))
        assert reminder.subject == f"Reminder: bill {number} is unpaid"
        assert "€100.00 is left to pay" in reminder.text_body and "fee" not in reminder.text_body
        assert second.subject == f"Second reminder: bill {number} is still unpaid"
        assert "A fee of €5.00 for this notice is added to your account, so the amount to pay is €105.00" \
            in second.text_body
        assert _fees(plain) == [(Decimal("5.00"), f"Second reminder fee, bill {number}", DUE + timedelta(days=25)),
                                (Decimal("15.00"), f"Formal notice fee, bill {number}", DUE + timedelta(days=40))]
        letter = db.session.scalar(select(DunningLetter).where(DunningLetter.account_id == plain.id))
        assert letter.subject == f"Formal notice to pay bill {number}" and letter.sent_at is None
        assert letter_document(letter).startswith(b"%PDF")
        # The customer file's contact log lists the letter to post beside the two e-mails, newest first.
        _page, log = contacts.timeline(account=plain, size=None)
        assert [(item.kind, (item.letter or item.message).subject) for item in log] == [
            ("letter", letter.subject), ("email", second.subject), ("email", reminder.subject)]
        task = db.session.scalar(select(Task).where(Task.subject_type == "Bill", Task.subject_id == plain_bill.id))
        assert task.kind == "dunning_formal_notice" and task.status == "open"
        assert db.session.get(WorkGroup, task.work_group_id).code == "collections"

        assert _steps(disputed_bill) == [] and _kinds(disputed) == [] and _fees(disputed) == []
        assert _steps(debited_bill) == [] and _kinds(debited) == [] and _fees(debited) == []

        broken_on = DUE + timedelta(days=26)  # the second instalment + 5 days' grace, then one more day
        assert db.session.get(PaymentArrangement, arrangement.id).status == "broken"
        assert db.session.get(PaymentArrangement, arrangement.id).ended_on == broken_on
        assert _steps(arranged_bill) == [(1, broken_on, Decimal("0.00"), "email"),
                                         (2, broken_on + timedelta(days=15), Decimal("5.00"), "email"),
                                         (3, broken_on + timedelta(days=30), Decimal("15.00"), "letter")]
        assert _kinds(arranged) == ["arrangement_confirmation", "arrangement_broken", "dunning_reminder",
                                    "dunning_second_reminder"]
        reminder = db.session.scalar(select(Message).where(Message.account_id == arranged.id,
                                                           Message.kind == "dunning_reminder"))
        assert "€60.00 is left to pay" in reminder.text_body
        assert [fee for fee, _d, _on in _fees(arranged)] == [Decimal("5.00"), Decimal("15.00")]

        assert len(db.session.scalars(select(DunningStep)).all()) == 6
        assert len(db.session.scalars(select(Message)).all()) == 6
        assert len(db.session.scalars(select(DunningLetter)).all()) == 2
        assert len(db.session.scalars(select(Task).where(Task.kind == "dunning_formal_notice")).all()) == 2
        assert len(db.session.scalars(select(LedgerEntry).where(LedgerEntry.description.like("%fee%"))).all()) == 4
