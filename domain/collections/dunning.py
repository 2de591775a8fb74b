"""Dunning: the overdue bills left to pay (open items), why one is not dunned, the daily run that takes each item to
its next level once (a step row per bill and level, written with its e-mail or letter, its fee and, at the last
level, a task for the collections work group), and what the back office shows of it.

An item is skipped while its bill is disputed, covered by an active payment arrangement, or covered by a direct
debit still to come (a pending item of a prepared or submitted batch, or an active mandate on the account and the
bill never returned by the bank). The unique key (bill, level) of `dunning_steps` is what makes a second letter,
e-mail or fee impossible, whatever re-runs or dies.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from domain.accounting.models import LedgerEntry
from domain.billing.bills import paid_per_bill_subquery
from domain.billing.models import Bill
from domain.collections.models import ArrangementBill, BillDispute, DunningStep
from domain.collections.rules import CENT, Level, NextStep, next_step
from domain.collections.settings import current_levels
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.payments.collection_models import CollectionBatch, CollectionItem
from domain.payments.models import DirectDebitMandate
from domain.tasks.models import Task, WorkGroup
from tenants.context import require_tenant_id

log = logging.getLogger("collections.dunning")

LEVEL_KINDS = {1: "dunning_reminder", 2: "dunning_second_reminder", 3: "dunning_formal_notice"}
# The ledger's words for a fee (stored once, read by staff and on statements).
FEE_WORDS = {1: "Reminder fee", 2: "Second reminder fee", 3: "Formal notice fee"}
SKIP_REASONS = ("dispute", "arrangement", "direct_debit")
COLLECTIONS_GROUP = "collections"
TASK_KIND = "dunning_formal_notice"
LAST_LEVEL = 3
TASK_DAYS = 7


@dataclass(frozen=True)
class OpenItem:
    bill: Bill
    account: CustomerAccount
    outstanding: Decimal
    done: dict[int, date]  # level -> the day it was reached
    skip: str | None  # one of SKIP_REASONS, or None: dunned

    def age(self, today: date) -> int:
        return (today - self.bill.due_date).days

    @property
    def current_level(self) -> int:
        return max(self.done, default=0)


def skip_reasons(bill_ids: list[int], account_ids: list[int]) -> tuple[dict[int, str], set[int], set[int]]:
    """(why each bill is held now, accounts with an active mandate, bills a bank returned). A dispute wins over an
    arrangement, which wins over a direct debit: the first is what staff settle first."""
    held: dict[int, str] = {}
    returned: set[int] = set()
    rank = {"direct_debit": 1, "arrangement": 2, "dispute": 3}
    tenant_id = require_tenant_id()
    for chunk in _chunks(bill_ids):
        # One round trip: a direct debit to come (a pending item in a batch not settled yet), a return by the bank,
        # an active arrangement, an open dispute.
        reasons = union_all(
            select(CollectionItem.bill_id, literal("direct_debit"))
            .join(CollectionBatch, CollectionBatch.id == CollectionItem.batch_id)
            .where(CollectionItem.tenant_id == tenant_id, CollectionBatch.tenant_id == tenant_id,
                   CollectionItem.bill_id.in_(chunk), CollectionItem.status == "pending",
                   CollectionBatch.status.in_(("prepared", "submitted"))),
            select(CollectionItem.bill_id, literal("returned")).where(
                CollectionItem.tenant_id == tenant_id, CollectionItem.bill_id.in_(chunk),
                CollectionItem.status == "returned"),
            select(ArrangementBill.bill_id, literal("arrangement")).where(
                ArrangementBill.tenant_id == tenant_id, ArrangementBill.bill_id.in_(chunk),
                ArrangementBill.active.is_(True)),
            select(BillDispute.bill_id, literal("dispute")).where(
                BillDispute.tenant_id == tenant_id, BillDispute.bill_id.in_(chunk), BillDispute.status == "open"))
        for bill_id, reason in db.session.execute(reasons.execution_options(tenant_filtered=True)):
            if reason == "returned":
                returned.add(bill_id)
            elif rank[reason] > rank.get(held.get(bill_id), 0):
                held[bill_id] = reason
    mandated: set[int] = set()
    for chunk in _chunks(account_ids):
        mandated |= set(db.session.scalars(select(DirectDebitMandate.account_id).where(
            DirectDebitMandate.account_id.in_(chunk), DirectDebitMandate.status == "active")))
    return held, mandated, returned


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def open_items(*, today: date, account_id: int | None = None) -> list[OpenItem]:
    """Overdue bills with something left to pay, oldest due first, with their steps and why one is skipped."""
    paid = paid_per_bill_subquery()
    outstanding = Bill.total_incl_tax - func.coalesce(paid.c.paid, 0)
    query = (select(Bill, CustomerAccount, outstanding)
             .join(CustomerAccount, CustomerAccount.id == Bill.account_id)
             .outerjoin(paid, paid.c.bill_id == Bill.id)
             .where(Bill.status == "issued", Bill.kind != "credit_note", Bill.total_incl_tax > 0,
                    Bill.due_date.is_not(None), Bill.due_date < today, outstanding > 0)
             .order_by(Bill.due_date, Bill.id)
             .options(selectinload(CustomerAccount.holder)))  # the queue names each holder: not one query each
    if account_id is not None:
        query = query.where(Bill.account_id == account_id)
    rows = db.session.execute(query).all()
    bill_ids = [bill.id for bill, _a, _o in rows]
    account_ids = sorted({account.id for _b, account, _o in rows})
    done: dict[int, dict[int, date]] = {}
    for chunk in _chunks(bill_ids):
        for bill_id, level, day in db.session.execute(select(DunningStep.bill_id, DunningStep.level,
                                                             DunningStep.done_on).where(DunningStep.bill_id.in_(chunk))):
            done.setdefault(bill_id, {})[level] = day
    skips, mandated, returned = skip_reasons(bill_ids, account_ids)
    items = []
    for bill, account, left in rows:
        skip = skips.get(bill.id)
        if skip is None and account.id in mandated and bill.id not in returned:
            skip = "direct_debit"
        items.append(OpenItem(bill=bill, account=account, outstanding=Decimal(left).quantize(CENT),
                              done=done.get(bill.id, {}), skip=skip))
    return items


def queue_rows(*, today: date, state: str = "all", held: str = "", level: int | None = None, min_age: int = 0,
               q: str = "") -> list[dict]:
    """The collections queue: open items narrowed to those dunned (`state` "dunned") or held ("held", or why:
    `held`), at a level reached, overdue for at least `min_age` days, or of one customer or bill number (`q`);
    each with its age, next step and holder's name, oldest due first."""
    levels = current_levels()
    rows = []
    for item in open_items(today=today):
        if state == "dunned" and item.skip is not None:
            continue
        if state == "held" and item.skip is None:
            continue
        if held and item.skip != held:
            continue
        if level is not None and item.current_level != level:
            continue
        if item.age(today) < min_age:
            continue
        if q and q.lower() not in (item.account.account_number.lower(), item.bill.number.lower()):
            continue
        rows.append({"item": item, "age": item.age(today), "next": next_step_of(item, levels),
                     "holder": item.account.holder.display_name if item.account.holder else ""})
    return rows


def next_step_of(item: OpenItem, levels: list[Level]) -> NextStep | None:
    return next_step(due_date=item.bill.due_date, levels=levels, done=item.done)


# --- the daily run ----------------------------------------------------------------------------------------------

@dataclass
class RunResult:
    steps: int = 0
    skipped: int = 0
    letters: int = 0
    emails: int = 0
    fees: Decimal = Decimal("0.00")


def run_dunning(*, tenant, today: date, now: datetime, commit_every: int | None = None) -> RunResult:
    """Take every open item not skipped whose next level is due today (or before) to that level, once.

    `commit_every` (the daily job): commit after that many steps, so a worker killed half-way keeps what it did and
    the next run goes on from there (the messages committed are sent by the job's end or the mail sweep)."""
    levels = current_levels()
    result = RunResult()
    for item in open_items(today=today):
        if item.skip is not None:
            result.skipped += 1
            continue
        step = next_step_of(item, levels)
        if step is None or not step.due(today):
            continue
        taken = take_step(tenant=tenant, item=item, level=step.level, today=today, now=now)
        if taken is None:
            continue
        result.steps += 1
        if commit_every and result.steps % commit_every == 0:
            db.session.commit()
        result.fees += taken.fee
        if taken.channel == "letter":
            result.letters += 1
        else:
            result.emails += 1
    log.info("dunning run tenant=%s day=%s steps=%d skipped=%d fees=%s", tenant.id, today, result.steps,
             result.skipped, result.fees)
    return result


def take_step(*, tenant, item: OpenItem, level: Level, today: date, now: datetime) -> DunningStep | None:
    """One step: its row, its fee on the ledger, its e-mail or letter, its task at the last level, all or nothing.
    None when the step exists already (another run took it a moment ago)."""
    from domain.collections.letters import send_notice

    bill, account = item.bill, item.account
    try:
        with db.session.begin_nested():
            step = DunningStep(bill_id=bill.id, account_id=account.id, level=level.position, done_on=today,
                               created_at=now, outstanding=item.outstanding, fee=level.fee, channel=level.channel)
            db.session.add(step)
            db.session.flush()
            if level.fee > 0:
                entry = LedgerEntry(account_id=account.id, booked_on=today, created_at=now, direction="debit",
                                    amount=level.fee, currency=bill.currency,
                                    description=f"{FEE_WORDS[level.position]}, bill {bill.number}")
                db.session.add(entry)
                db.session.flush()
                step.ledger_entry_id = entry.id
            channel, message, letter = send_notice(tenant=tenant, item=item, level=level, today=today, now=now)
            step.channel = channel
            step.message_id = message.id if message is not None else None
            step.letter_id = letter.id if letter is not None else None
            if level.position == LAST_LEVEL:
                step.task_id = _formal_notice_task(item=item, now=now).id
            db.session.flush()
    except IntegrityError:
        log.info("dunning step already taken tenant=%s bill=%s level=%s", tenant.id, bill.number, level.position)
        return None
    item.done[level.position] = today
    log.info("dunning step tenant=%s bill=%s level=%s channel=%s fee=%s", tenant.id, bill.number, level.position,
             step.channel, level.fee)
    return step


def _collections_group_id() -> int:
    group_id = db.session.scalar(select(WorkGroup.id).where(WorkGroup.code == COLLECTIONS_GROUP))
    if group_id is None:
        group = WorkGroup(code=COLLECTIONS_GROUP, name="Collections")
        db.session.add(group)
        db.session.flush()
        group_id = group.id
    return group_id


def _formal_notice_task(*, item: OpenItem, now: datetime) -> Task:
    bill, account = item.bill, item.account
    task = Task(work_group_id=_collections_group_id(), kind=TASK_KIND,
                title=f"Formal notice sent for bill {bill.number}: decide what follows",
                params={"bill": bill.number, "account": account.account_number,
                        "amount": str(item.outstanding), "currency": bill.currency},
                details=f"Customer {account.account_number}, bill {bill.number} due {bill.due_date.isoformat()}, "
                        f"{item.outstanding} {bill.currency} left to pay after the formal notice.",
                subject_type="Bill", subject_id=bill.id, created_at=now, due_at=now + timedelta(days=TASK_DAYS))
    db.session.add(task)
    db.session.flush()
    return task


# --- what staff see -------------------------------------------------------------------------------------------

def steps_of_account(*, account_id: int) -> list[tuple[DunningStep, str]]:
    """The account's dunning steps, newest first, with their bill's number."""
    return list(db.session.execute(
        select(DunningStep, Bill.number).join(Bill, Bill.id == DunningStep.bill_id)
        .where(DunningStep.account_id == account_id)
        .order_by(DunningStep.done_on.desc(), DunningStep.level.desc())).tuples())


def steps_of_bill(*, bill_id: int) -> list[DunningStep]:
    return list(db.session.scalars(select(DunningStep).where(DunningStep.bill_id == bill_id)
                                   .order_by(DunningStep.level)))
