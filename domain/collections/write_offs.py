"""Write-off of bad debt: collections staff propose to give up what is left on some bills of an account, with a
reason; someone else with the approval permission approves (a credit on the ledger that settles those bills, so
they are no longer due) or refuses. Four eyes are enforced here and by a database check, not only by the pages."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from domain.accounting.models import LedgerEntry, Payment, PaymentAllocation
from domain.billing import bills as bill_service
from domain.billing.models import Bill
from domain.collections.money_models import WRITE_OFF_REASONS, WriteOff, WriteOffLine
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.payments import services as payment_services

log = logging.getLogger("collections.money")
CENT = Decimal("0.01")
PROVIDER = "write_off"


class WriteOffRefused(ValueError):
    """`code` says why (the view words it); nothing was written."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _pending_bill_ids(bill_ids: list[int]) -> set[int]:
    """Bills already in a write-off waiting for its decision."""
    if not bill_ids:
        return set()
    return set(db.session.scalars(
        select(WriteOffLine.bill_id).join(WriteOff, WriteOff.id == WriteOffLine.write_off_id)
        .where(WriteOffLine.bill_id.in_(bill_ids), WriteOff.status == "proposed")))


def propose(*, account: CustomerAccount, bill_numbers: list[str], reason: str, note: str | None, staff,
            now: datetime, today: date, currency: str) -> WriteOff:
    """A proposal to write off what is left on these bills of this account today.

    Refused: no bill (`no_bill`), a bill that is not an open bill of this account (`bill`), a bill already in a
    proposal waiting for a decision (`already_proposed`), an unknown reason (`reason`), "other" without a note
    (`note`).
    """
    if reason not in WRITE_OFF_REASONS:
        raise WriteOffRefused("reason", f"{reason!r} is not a write-off reason")
    note = (note or "").strip()[:255] or None
    if reason == "other" and not note:
        raise WriteOffRefused("note", "the reason 'other' needs a note")
    numbers = sorted({n.strip() for n in bill_numbers if n and n.strip()})
    if not numbers:
        raise WriteOffRefused("no_bill", "no bill chosen")
    db.session.scalar(select(CustomerAccount.id).where(CustomerAccount.id == account.id).with_for_update())
    open_views = {v.bill.number: v for v in bill_service.open_bills(account_ids=[account.id], today=today)}
    unknown = [n for n in numbers if n not in open_views]
    if unknown:
        raise WriteOffRefused("bill", f"not an open bill of this account: {unknown}")
    views = [open_views[n] for n in numbers]
    if _pending_bill_ids([v.bill.id for v in views]):
        raise WriteOffRefused("already_proposed", "a bill is already in a write-off waiting for a decision")
    _refuse_if_sent_to_the_bank([v.bill.id for v in views])
    total = sum((v.outstanding for v in views), Decimal("0")).quantize(CENT)
    write_off = WriteOff(account_id=account.id, amount=total, currency=currency, reason=reason, note=note,
                         status="proposed", proposed_by_id=staff.id, proposed_by=staff.email[:255], proposed_at=now)
    db.session.add(write_off)
    db.session.flush()
    for view in views:
        db.session.add(WriteOffLine(write_off_id=write_off.id, bill_id=view.bill.id, amount=view.outstanding))
    db.session.flush()
    log.info("write-off proposed tenant=%s write_off=%s account=%s amount=%s bills=%d by=%s", write_off.tenant_id,
             write_off.public_id, account.account_number, total, len(views), staff.id)
    return write_off


def _refuse_if_sent_to_the_bank(bill_ids: list[int]) -> None:
    """A bill in a direct-debit batch already sent to the bank may still be paid by it: what the bank settles or
    returns decides, not a write-off (one in a batch only prepared is withdrawn from it on approval)."""
    if any(debit.submitted for debit in payment_services.pending_debits(bill_ids).values()):
        raise WriteOffRefused("in_collection", "a bill is in a direct-debit batch sent to the bank")


# The reason in words on the ledger (staff read it there, and the customer's data export carries it).
REASON_WORDS = {"insolvency": "insolvency", "deceased": "customer deceased", "uneconomic": "not worth collecting",
                "time_barred": "time-barred", "untraceable": "customer untraceable", "other": "other"}


def _decidable(write_off: WriteOff, staff) -> None:
    if write_off.status != "proposed":
        raise WriteOffRefused("decided", f"write-off {write_off.public_id} is already {write_off.status}")
    if write_off.proposed_by_id == staff.id:
        raise WriteOffRefused("own_proposal", "the proposer cannot decide their own write-off")


def approve(*, write_off: WriteOff, staff, now: datetime, today: date, note: str | None = None) -> Decimal:
    """Post the write-off: one settlement (method "write_off") allocated to the bills for what is still left on
    each now (a bill paid meanwhile takes less), credited to the ledger with the reason. Returns the amount
    written off; nothing left on any bill (`nothing_left`) refuses and changes nothing."""
    _decidable(write_off, staff)
    lines = list(db.session.scalars(select(WriteOffLine).where(WriteOffLine.write_off_id == write_off.id)
                                    .order_by(WriteOffLine.id)))
    bill_ids = [line.bill_id for line in lines]
    bills = {b.id: b for b in db.session.scalars(select(Bill).where(Bill.id.in_(bill_ids)).with_for_update())}
    views = {v.bill.id: v for v in bill_service.bill_views(list(bills.values()), today=today)}
    shares = []
    for line in lines:
        view = views.get(line.bill_id)
        share = min(line.amount, view.outstanding if view else Decimal("0")).quantize(CENT)
        if share > 0:
            shares.append((line.bill_id, share))
    total = sum((s for _b, s in shares), Decimal("0")).quantize(CENT)
    if total <= 0:
        raise WriteOffRefused("nothing_left", "the bills have been paid meanwhile: nothing is left to write off")
    _refuse_if_sent_to_the_bank([b for b, _s in shares])
    payment = Payment(account_id=write_off.account_id, amount=total, currency=write_off.currency,
                      method="write_off", status="succeeded", provider=PROVIDER,
                      provider_reference=write_off.public_id, created_at=now, received_at=now)
    db.session.add(payment)
    db.session.flush()
    for bill_id, share in shares:
        db.session.add(PaymentAllocation(payment_id=payment.id, bill_id=bill_id, amount=share))
    db.session.add(LedgerEntry(
        account_id=write_off.account_id, booked_on=today, created_at=now, direction="credit", amount=total,
        currency=write_off.currency, payment_id=payment.id,
        description=(f"Write-off ({REASON_WORDS.get(write_off.reason, write_off.reason)})"
                     f"{': ' + write_off.note if write_off.note else ''}")[:255]))
    write_off.status = "approved"
    write_off.amount = total
    write_off.payment_id = payment.id
    _decided(write_off, staff, now, note)
    db.session.flush()
    payment_services.withdraw_paid_from_prepared_batches(bill_ids=[b for b, _s in shares])
    log.info("write-off approved tenant=%s write_off=%s amount=%s by=%s", write_off.tenant_id, write_off.public_id,
             total, staff.id)
    return total


def refuse(*, write_off: WriteOff, staff, now: datetime, note: str | None = None) -> None:
    _decidable(write_off, staff)
    write_off.status = "refused"
    _decided(write_off, staff, now, note)
    db.session.flush()
    log.info("write-off refused tenant=%s write_off=%s by=%s", write_off.tenant_id, write_off.public_id, staff.id)


def _decided(write_off: WriteOff, staff, now: datetime, note: str | None) -> None:
    write_off.decided_by_id = staff.id
    write_off.decided_by = staff.email[:255]
    write_off.decided_at = now
    write_off.decision_note = (note or "").strip()[:255] or None


def by_public_id(public_id: str, *, lock: bool = False) -> WriteOff | None:
    stmt = select(WriteOff).where(WriteOff.public_id == public_id)
    return db.session.scalar(stmt.with_for_update() if lock else stmt)


@dataclass(frozen=True)
class WriteOffRow:
    write_off: WriteOff
    account_number: str
    holder_name: str
    bills: tuple[tuple[str, Decimal], ...]


def write_off_rows(*, status: str | None = None, account_id: int | None = None,
                   limit: int | None = 200) -> list[WriteOffRow]:
    """Write-offs, oldest proposal first when waiting, else latest first; with their bills (two queries)."""
    stmt = select(WriteOff, CustomerAccount).join(CustomerAccount, CustomerAccount.id == WriteOff.account_id)
    if status:
        stmt = stmt.where(WriteOff.status == status)
    if account_id is not None:
        stmt = stmt.where(WriteOff.account_id == account_id)
    stmt = stmt.order_by(WriteOff.proposed_at if status == "proposed" else WriteOff.proposed_at.desc(),
                         WriteOff.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = db.session.execute(stmt).tuples().all()
    lines: dict[int, list[tuple[str, Decimal]]] = {}
    if rows:
        for write_off_id, number, amount in db.session.execute(
                select(WriteOffLine.write_off_id, Bill.number, WriteOffLine.amount)
                .join(Bill, Bill.id == WriteOffLine.bill_id)
                .where(WriteOffLine.write_off_id.in_([w.id for w, _a in rows])).order_by(Bill.number)):
            lines.setdefault(write_off_id, []).append((number, amount))
    return [WriteOffRow(write_off=w, account_number=a.account_number,
                        holder_name=a.holder.display_name if a.holder else "", bills=tuple(lines.get(w.id, ())))
            for w, a in rows]
