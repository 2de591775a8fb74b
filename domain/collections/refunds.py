"""Refund of a credit balance: collections staff propose to pay back (part of) what the utility owes a customer,
to the IBAN of their mandate or one typed and checked; someone else with the approval permission approves (a debit
on the ledger, and the refund is listed for payment: an export, a pain.001 is not produced) or refuses. The
customer is told by e-mail on approval."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from domain.accounting.models import LedgerEntry
from domain.collections.manual_payments import PaymentNotRecorded, parse_amount
from domain.collections.money_models import Refund
from domain.contracts import services as accounts
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.payments import mandates
from domain.payments.models import DirectDebitMandate

log = logging.getLogger("collections.money")
CENT = Decimal("0.01")


class RefundRefused(ValueError):
    """`code` says why (the view words it); nothing was written."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def credit_balance(account_id: int) -> Decimal:
    """What the utility owes the customer (0 when the customer owes)."""
    balance = accounts.balances(account_ids=[account_id])[account_id]
    return max(-balance, Decimal("0")).quantize(CENT)


def _proposed_total(account_id: int, *, except_id: int | None = None) -> Decimal:
    stmt = select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.account_id == account_id,
                                                                   Refund.status == "proposed")
    if except_id is not None:
        stmt = stmt.where(Refund.id != except_id)
    return Decimal(db.session.scalar(stmt)).quantize(CENT)


def refundable(account_id: int) -> Decimal:
    """Credit not yet in a refund waiting for its decision."""
    return max(credit_balance(account_id) - _proposed_total(account_id), Decimal("0"))


def propose(*, account: CustomerAccount, amount, iban: str | None, holder_name: str | None, note: str | None,
            staff, now: datetime, currency: str) -> Refund:
    """Refused: an amount that is not positive in cents (`amount`), more than the credit not already proposed
    (`over_credit`), no IBAN typed and no active mandate (`no_iban`), an IBAN that fails its check (`iban`), no
    account holder name (`holder`)."""
    try:
        amount = parse_amount(amount)
    except PaymentNotRecorded as exc:
        raise RefundRefused("amount", str(exc)) from exc
    db.session.scalar(select(CustomerAccount.id).where(CustomerAccount.id == account.id).with_for_update())
    if amount > refundable(account.id):
        raise RefundRefused("over_credit", f"{amount} is more than the credit left to refund")
    if iban and iban.strip():
        try:
            iban = mandates.normalise_iban(iban)
        except mandates.InvalidIban as exc:
            raise RefundRefused("iban", str(exc)) from exc
        source = "typed"
    else:
        mandate = mandates.active_mandate(account_id=account.id)
        if mandate is None:
            raise RefundRefused("no_iban", "no IBAN typed and no active mandate")
        iban, source = mandate.iban, "mandate"
        holder_name = holder_name or mandate.holder_name
    holder_name = (holder_name or (account.holder.display_name if account.holder else "") or "").strip()
    if not holder_name:
        raise RefundRefused("holder", "no account holder name")
    refund = Refund(account_id=account.id, amount=amount, currency=currency, iban=iban, holder_name=holder_name[:140],
                    iban_source=source, note=(note or "").strip()[:255] or None, status="proposed",
                    proposed_by_id=staff.id, proposed_by=staff.email[:255], proposed_at=now)
    db.session.add(refund)
    db.session.flush()
    log.info("refund proposed tenant=%s refund=%s account=%s amount=%s by=%s", refund.tenant_id, refund.public_id,
             account.account_number, amount, staff.id)
    return refund


def _decidable(refund: Refund, staff) -> None:
    if refund.status != "proposed":
        raise RefundRefused("decided", f"refund {refund.public_id} is already {refund.status}")
    if refund.proposed_by_id == staff.id:
        raise RefundRefused("own_proposal", "the proposer cannot decide their own refund")


@dataclass(frozen=True)
class RefundNotice:
    to: str
    locale: str | None
    holder_name: str
    account_number: str
    amount: Decimal
    currency: str
    iban_masked: str


def approve(*, refund: Refund, staff, now: datetime, today: date, note: str | None = None) -> RefundNotice | None:
    """Post the refund: a debit on the ledger (the credit is used up) and the refund is listed for payment.
    The credit must still cover it now (`over_credit`: it was used meanwhile). Returns whom to tell, or None."""
    _decidable(refund, staff)
    db.session.scalar(select(CustomerAccount.id).where(CustomerAccount.id == refund.account_id).with_for_update())
    if refund.amount > credit_balance(refund.account_id):
        raise RefundRefused("over_credit", "the credit no longer covers this refund")
    db.session.add(LedgerEntry(account_id=refund.account_id, booked_on=today, created_at=now, direction="debit",
                               amount=refund.amount, currency=refund.currency,
                               description=f"Refund of credit to {mandates.mask_iban(refund.iban)}"[:255]))
    refund.status = "approved"
    refund.booked_on = today
    _decided(refund, staff, now, note)
    db.session.flush()
    log.info("refund approved tenant=%s refund=%s amount=%s by=%s", refund.tenant_id, refund.public_id,
             refund.amount, staff.id)
    return _notice(refund)


def refuse(*, refund: Refund, staff, now: datetime, note: str | None = None) -> None:
    _decidable(refund, staff)
    refund.status = "refused"
    _decided(refund, staff, now, note)
    db.session.flush()
    log.info("refund refused tenant=%s refund=%s by=%s", refund.tenant_id, refund.public_id, staff.id)


def _decided(refund: Refund, staff, now: datetime, note: str | None) -> None:
    refund.decided_by_id = staff.id
    refund.decided_by = staff.email[:255]
    refund.decided_at = now
    refund.decision_note = (note or "").strip()[:255] or None


def _notice(refund: Refund) -> RefundNotice | None:
    account = db.session.get(CustomerAccount, refund.account_id)
    email = account.holder.primary("email") if account.holder else None
    if email is None or not email.value:
        return None
    return RefundNotice(to=email.value, locale=account.locale,
                        holder_name=account.holder.display_name if account.holder else "",
                        account_number=account.account_number, amount=refund.amount, currency=refund.currency,
                        iban_masked=mandates.mask_iban(refund.iban))


def by_public_id(public_id: str, *, lock: bool = False) -> Refund | None:
    stmt = select(Refund).where(Refund.public_id == public_id)
    return db.session.scalar(stmt.with_for_update() if lock else stmt)


def mandate_iban(account_id: int) -> DirectDebitMandate | None:
    return mandates.active_mandate(account_id=account_id)


@dataclass(frozen=True)
class RefundRow:
    refund: Refund
    account_number: str


def refund_rows(*, status: str | None = None, account_id: int | None = None,
                limit: int | None = 200) -> list[RefundRow]:
    stmt = select(Refund, CustomerAccount.account_number).join(CustomerAccount,
                                                                CustomerAccount.id == Refund.account_id)
    if status:
        stmt = stmt.where(Refund.status == status)
    if account_id is not None:
        stmt = stmt.where(Refund.account_id == account_id)
    stmt = stmt.order_by(Refund.proposed_at if status == "proposed" else Refund.proposed_at.desc(), Refund.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [RefundRow(refund=r, account_number=n) for r, n in db.session.execute(stmt).tuples()]
