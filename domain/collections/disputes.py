"""Disputes on bills: opened by staff or by the customer, they hold the bill's dunning until resolved (upheld or
rejected, with a note)."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domain.billing.models import Bill
from domain.collections.models import DISPUTE_REASONS, BillDispute
from domain.db import db

log = logging.getLogger("collections.disputes")
NOTE_MAX = 2000


class DisputeRefused(ValueError):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def open_dispute(*, bill: Bill, reason: str, note: str | None, by: str, by_customer: bool,
                 now: datetime) -> BillDispute:
    if reason not in DISPUTE_REASONS:
        raise DisputeRefused("reason")
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise DisputeRefused("note_long")
    if bill.status != "issued" or bill.kind == "credit_note":
        raise DisputeRefused("bill")
    if open_dispute_of(bill_id=bill.id) is not None:
        raise DisputeRefused("already")
    dispute = BillDispute(bill_id=bill.id, account_id=bill.account_id, reason=reason, note=note, status="open",
                          by_customer=by_customer, opened_by=by[:255], opened_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(dispute)
            db.session.flush()
    except IntegrityError as exc:  # opened by someone else a moment ago
        raise DisputeRefused("already") from exc
    log.info("bill dispute opened tenant=%s bill=%s reason=%s by_customer=%s", bill.tenant_id, bill.number, reason,
             by_customer)
    return dispute


def resolve_dispute(*, dispute: BillDispute, outcome: str, note: str | None, by: str, now: datetime) -> None:
    """Upheld or rejected, with a note (required): the bill's dunning resumes where it was."""
    if outcome not in ("upheld", "rejected"):
        raise DisputeRefused("outcome")
    note = (note or "").strip()
    if not note:
        raise DisputeRefused("note")
    if len(note) > NOTE_MAX:
        raise DisputeRefused("note_long")
    if dispute.status != "open":
        raise DisputeRefused("state")
    dispute.status, dispute.resolution_note = outcome, note
    dispute.resolved_at, dispute.resolved_by = now, by[:255]
    db.session.flush()
    log.info("bill dispute %s tenant=%s dispute=%s", outcome, dispute.tenant_id, dispute.public_id)


def open_dispute_of(*, bill_id: int) -> BillDispute | None:
    return db.session.scalar(select(BillDispute).where(BillDispute.bill_id == bill_id, BillDispute.status == "open"))


def disputes_of_account(*, account_id: int) -> list[tuple[BillDispute, str]]:
    return list(db.session.execute(
        select(BillDispute, Bill.number).join(Bill, Bill.id == BillDispute.bill_id)
        .where(BillDispute.account_id == account_id)
        .order_by(BillDispute.opened_at.desc(), BillDispute.id.desc()).limit(50)).tuples())


def dispute_by_public_id(public_id: str) -> BillDispute | None:
    return db.session.scalar(select(BillDispute).where(BillDispute.public_id == public_id))
