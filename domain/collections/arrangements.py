"""Payment arrangements: instalments agreed for bills left to pay (by staff, or by the customer within the tenant's
limits), followed every day: paid in full -> completed; an instalment unpaid past its date and the grace days ->
broken, the customer is told and dunning resumes. Payments on the arrangement's bills count towards the instalments
in order."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from domain.billing.bills import open_bills, paid_by_bill
from domain.billing.models import Bill
from domain.collections.models import ArrangementBill, ArrangementInstalment, BillDispute, PaymentArrangement
from domain.collections.rules import (CENT, InstalmentState, Limits, ScheduleRefused, arrangement_outcome,
                                      check_schedule, instalment_states)
from domain.collections.settings import current_limits
from domain.communications.notifications import recipient_of_account
from domain.communications.pipeline import notify
from domain.contracts.models import CustomerAccount
from domain.db import db

log = logging.getLogger("collections.arrangements")


class ArrangementRefused(ValueError):
    def __init__(self, code: str, **details):
        super().__init__(code)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class ArrangementView:
    arrangement: PaymentArrangement
    bills: list[tuple[ArrangementBill, str]]  # with the bill's number
    states: list[InstalmentState]
    paid: Decimal  # counted towards the instalments

    @property
    def left(self) -> Decimal:
        return max(self.arrangement.total - self.paid, Decimal("0.00"))


def arrangeable_bills(*, account_id: int, today: date) -> list:
    """The account's bills left to pay that an arrangement may cover: not disputed, not in one already."""
    views = open_bills(account_ids=[account_id], today=today)
    ids = [v.bill.id for v in views]
    if not ids:
        return []
    taken = set(db.session.scalars(select(ArrangementBill.bill_id).where(
        ArrangementBill.bill_id.in_(ids), ArrangementBill.active.is_(True))))
    disputed = set(db.session.scalars(select(BillDispute.bill_id).where(
        BillDispute.bill_id.in_(ids), BillDispute.status == "open")))
    return [v for v in views if v.bill.id not in taken | disputed]


def active_arrangement(*, account_id: int) -> PaymentArrangement | None:
    return db.session.scalar(select(PaymentArrangement).where(
        PaymentArrangement.account_id == account_id, PaymentArrangement.status == "active"))


def create_arrangement(*, account: CustomerAccount, bill_numbers: Sequence[str],
                       instalments: Sequence[tuple[date, Decimal]], today: date, now: datetime, by: str,
                       by_customer: bool, note: str | None = None, limits: Limits | None = None
                       ) -> PaymentArrangement:
    """Agree instalments for these bills of the account; they must sum exactly to what is left to pay on them.
    Raises ArrangementRefused / ScheduleRefused (nothing written)."""
    limits = limits or current_limits()
    if by_customer and not limits.portal_arrangements:
        raise ArrangementRefused("not_offered")
    if active_arrangement(account_id=account.id) is not None:
        raise ArrangementRefused("already")
    wanted = set(bill_numbers)
    if not wanted:
        raise ArrangementRefused("no_bills")
    available = {v.bill.number: v for v in arrangeable_bills(account_id=account.id, today=today)}
    if not wanted <= set(available):
        raise ArrangementRefused("bills")
    chosen = [available[n] for n in sorted(wanted)]
    total = sum((v.outstanding for v in chosen), Decimal("0.00")).quantize(CENT)
    check_schedule(total=total, instalments=instalments, today=today, limits=limits, by_customer=by_customer)
    arrangement = PaymentArrangement(
        account_id=account.id, status="active", currency=chosen[0].bill.currency, total=total,
        paid_before=sum((v.paid for v in chosen), Decimal("0.00")), agreed_on=today, created_at=now,
        created_by=by[:255], by_customer=by_customer, note=(note or "").strip() or None)
    try:
        with db.session.begin_nested():
            db.session.add(arrangement)
            db.session.flush()
            for view in chosen:
                db.session.add(ArrangementBill(arrangement_id=arrangement.id, bill_id=view.bill.id,
                                               amount=view.outstanding, active=True))
            for position, (day, amount) in enumerate(instalments, start=1):
                db.session.add(ArrangementInstalment(arrangement_id=arrangement.id, position=position, due_date=day,
                                                     amount=amount))
            db.session.flush()
    except IntegrityError as exc:  # a bill taken by another arrangement a moment ago
        raise ArrangementRefused("bills") from exc
    log.info("payment arrangement agreed tenant=%s account=%s total=%s instalments=%d by_customer=%s",
             account.tenant_id, account.account_number, total, len(instalments), by_customer)
    _tell(arrangement, account, "arrangement_confirmation", now=now)
    return arrangement


def _tell(arrangement: PaymentArrangement, account: CustomerAccount, kind: str, *, now: datetime) -> None:
    """E-mail the customer; a customer without an e-mail address is told that their arrangement broke by letter
    (dunning resumes: they must know), not of a confirmation they agreed to in person."""
    to = recipient_of_account(account)
    day = arrangement.ended_on or arrangement.agreed_on
    view = view_of(arrangement, today=day)
    context = {"account": account, "arrangement": arrangement, "states": view.states, "paid": view.paid,
               "left": view.left}
    links = {"link": ("portal.payment_arrangement", {"account_number": account.account_number})}
    if to:
        notify(kind=kind, to=to, locale=account.locale, now=now, account_id=account.id,
               party_id=account.holder_party_id, reference=f"arrangement:{arrangement.public_id}", context=context,
               links=links)
    elif kind == "arrangement_broken":
        from domain.collections.letters import store_letter
        from tenants.models import Tenant

        store_letter(tenant=db.session.get(Tenant, arrangement.tenant_id), account=account, kind=kind,
                     reference=f"arrangement:{arrangement.public_id}:broken",
                     context={**context, "letter_date": day}, links=links, now=now)


def _instalments(arrangement_id: int) -> list[ArrangementInstalment]:
    return list(db.session.scalars(select(ArrangementInstalment).where(
        ArrangementInstalment.arrangement_id == arrangement_id).order_by(ArrangementInstalment.position)))


def view_of(arrangement: PaymentArrangement, *, today: date, grace_days: int | None = None) -> ArrangementView:
    bills = list(db.session.execute(
        select(ArrangementBill, Bill.number).join(Bill, Bill.id == ArrangementBill.bill_id)
        .where(ArrangementBill.arrangement_id == arrangement.id).order_by(Bill.number)).tuples())
    paid_now = sum(paid_by_bill([b.bill_id for b, _n in bills]).values(), Decimal("0.00"))
    paid = max(paid_now - arrangement.paid_before, Decimal("0.00")).quantize(CENT)
    grace = current_limits().grace_days if grace_days is None else grace_days
    states = instalment_states(instalments=[(i.due_date, i.amount) for i in _instalments(arrangement.id)],
                               paid=paid, today=today, grace_days=grace)
    return ArrangementView(arrangement=arrangement, bills=bills, states=states, paid=paid)


def _end(arrangement: PaymentArrangement, status: str, *, today: date, by: str) -> None:
    arrangement.status, arrangement.ended_on, arrangement.ended_by = status, today, by[:255]
    db.session.execute(update(ArrangementBill).where(ArrangementBill.arrangement_id == arrangement.id)
                       .values(active=False))
    db.session.flush()


def monitor_arrangements(*, today: date, now: datetime) -> dict:
    """Daily: complete the arrangements paid in full, break those with a missed instalment (the customer is told;
    dunning takes their bills up again the same day)."""
    grace = current_limits().grace_days
    counts = {"completed": 0, "broken": 0, "active": 0}
    for arrangement in list(db.session.scalars(select(PaymentArrangement).where(
            PaymentArrangement.status == "active").order_by(PaymentArrangement.id))):
        view = view_of(arrangement, today=today, grace_days=grace)
        outcome = arrangement_outcome(view.states)
        counts[outcome] += 1
        if outcome == "active":
            continue
        _end(arrangement, outcome, today=today, by="daily check")
        log.info("payment arrangement %s tenant=%s arrangement=%s", outcome, arrangement.tenant_id,
                 arrangement.public_id)
        if outcome == "broken":
            account = db.session.get(CustomerAccount, arrangement.account_id)
            _tell(arrangement, account, "arrangement_broken", now=now)
    return counts


def cancel_arrangement(*, arrangement: PaymentArrangement, today: date, by: str) -> None:
    """Staff end an arrangement (agreed otherwise with the customer): dunning resumes on its bills."""
    if arrangement.status != "active":
        raise ArrangementRefused("state")
    _end(arrangement, "cancelled", today=today, by=by)


def arrangements_of_account(*, account_id: int, today: date) -> list[ArrangementView]:
    rows = db.session.scalars(select(PaymentArrangement).where(PaymentArrangement.account_id == account_id)
                              .order_by(PaymentArrangement.created_at.desc(), PaymentArrangement.id.desc()).limit(20))
    grace = current_limits().grace_days
    return [view_of(a, today=today, grace_days=grace) for a in rows]


def arrangement_by_public_id(public_id: str) -> PaymentArrangement | None:
    return db.session.scalar(select(PaymentArrangement).where(PaymentArrangement.public_id == public_id))


__all__ = ["ArrangementRefused", "ScheduleRefused", "create_arrangement", "monitor_arrangements"]
