"""Card payments asked for online: what the customer may pay (always from our own bills and ledger), the
pending payment with its intended allocations, and the payment's status machine."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from domain.accounting.models import LedgerEntry, Payment, PaymentAllocation
from domain.billing import bills as bill_service
from domain.billing.models import Bill
from domain.contracts import services as accounts
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import CustomerAccess

log = logging.getLogger("payments")
CENT = Decimal("0.01")
LEDGER_LABELS = {"card": "Card payment", "direct_debit": "Direct debit"}

# Which status may follow which. A failed card attempt may still be followed by a successful one in the
# same checkout (money taken must be recorded); nothing follows a success, a cancellation or a refund.
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"succeeded", "failed", "cancelled"}),
    "failed": frozenset({"succeeded"}),
    "succeeded": frozenset(),
    "cancelled": frozenset(),
    "refunded": frozenset(),
}


class PaymentRefused(ValueError):
    """The customer's choice cannot be paid; `code` says why (the view words it in the customer's language)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PaymentPlan:
    """What will be paid, computed on the server: the amount is the sum of the allocations plus any surplus."""

    account: CustomerAccount
    amount: Decimal
    currency: str
    allocations: tuple[tuple[Bill, Decimal], ...]
    whole_balance: bool

    @property
    def unallocated(self) -> Decimal:
        return self.amount - sum((amount for _bill, amount in self.allocations), Decimal("0"))


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def _customer_accounts(customer_user_id: int) -> dict[str, CustomerAccount]:
    rows = db.session.scalars(
        select(CustomerAccount).join(CustomerAccess, CustomerAccess.account_id == CustomerAccount.id)
        .where(CustomerAccess.customer_user_id == customer_user_id))
    return {account.account_number: account for account in rows}


def plan_payment(*, customer_user_id: int, currency: str, today: date, bill_numbers: list[str] | None = None,
                 account_number: str | None = None) -> PaymentPlan:
    """Selected bills (what is left to pay on each), or the whole balance of one account.

    Only this customer's open bills count: a foreign, unknown, paid or cancelled bill in the choice refuses
    the whole choice. Nothing the client sends about amounts is read.
    """
    owned = _customer_accounts(customer_user_id)
    numbers = sorted({n.strip() for n in (bill_numbers or []) if n and n.strip()})
    if numbers:
        open_by_number = {view.bill.number: view for view in bill_service.open_bills(
            account_ids=[a.id for a in owned.values()], today=today)}
        unknown = [n for n in numbers if n not in open_by_number]
        if unknown:
            raise PaymentRefused("unknown_bill", f"not an open bill of this customer: {unknown}")
        chosen = [open_by_number[n] for n in numbers]
        account_ids = {view.bill.account_id for view in chosen}
        if len(account_ids) > 1:
            raise PaymentRefused("mixed_accounts", "bills of several accounts")
        account = next(a for a in owned.values() if a.id in account_ids)
        chosen.sort(key=lambda v: (v.bill.due_date or today, v.bill.id))
        allocations = tuple((view.bill, view.outstanding) for view in chosen)
        amount = sum((a for _b, a in allocations), Decimal("0")).quantize(CENT)
        return PaymentPlan(account=account, amount=amount, currency=currency, allocations=allocations,
                           whole_balance=False)

    if not account_number:
        raise PaymentRefused("nothing_selected", "no bill and no account chosen")
    account = owned.get(account_number)
    if account is None:
        raise PaymentRefused("unknown_account", "not an account of this customer")
    balance = accounts.balances(account_ids=[account.id])[account.id]
    if balance <= 0:
        raise PaymentRefused("nothing_due", "the account owes nothing")
    allocations = []
    left = balance
    for view in bill_service.open_bills(account_ids=[account.id], today=today):
        if left <= 0:
            break
        share = min(view.outstanding, left)
        allocations.append((view.bill, share))
        left -= share
    return PaymentPlan(account=account, amount=balance, currency=currency, allocations=tuple(allocations),
                       whole_balance=True)


def start_payment(*, plan: PaymentPlan, provider: str, customer_user_id: int, now: datetime) -> Payment:
    """A pending card payment with its intended allocations; only the provider's webhook fulfils it."""
    payment = Payment(account_id=plan.account.id, amount=plan.amount, currency=plan.currency, method="card",
                      status="pending", provider=provider, created_at=now, customer_user_id=customer_user_id)
    db.session.add(payment)
    db.session.flush()
    for bill, amount in plan.allocations:
        db.session.add(PaymentAllocation(payment_id=payment.id, bill_id=bill.id, amount=amount))
    db.session.flush()
    log.info("payment started tenant=%s payment=%s account=%s amount=%s %s provider=%s bills=%d",
             payment.tenant_id, payment.public_id, plan.account.account_number, plan.amount, plan.currency,
             provider, len(plan.allocations))
    return payment


def attach_checkout(*, payment: Payment, reference: str) -> None:
    payment.provider_reference = reference
    db.session.flush()


def payment_of_customer(*, customer_user_id: int, public_id: str) -> Payment | None:
    """A payment of one of this customer's accounts, else None (a foreign payment looks missing)."""
    return db.session.scalar(
        select(Payment).where(Payment.public_id == public_id, Payment.account_id.in_(
            select(CustomerAccess.account_id).where(CustomerAccess.customer_user_id == customer_user_id)))
        .options(selectinload(Payment.allocations)))


def payments_of_customer(*, customer_user_id: int, account_id: int | None = None,
                         limit: int = 20) -> list[Payment]:
    """The latest card payments on this customer's accounts, whatever their status, newest first."""
    stmt = (select(Payment).where(Payment.method == "card", Payment.account_id.in_(
        select(CustomerAccess.account_id).where(CustomerAccess.customer_user_id == customer_user_id)))
        .order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit))
    if account_id is not None:
        stmt = stmt.where(Payment.account_id == account_id)
    return list(db.session.scalars(stmt))


def bill_numbers_of(payments: list[Payment]) -> dict[int, list[str]]:
    """payment id -> numbers of the bills it is allocated to (one query for all the payments)."""
    if not payments:
        return {}
    rows = db.session.execute(
        select(PaymentAllocation.payment_id, Bill.number).join(Bill, Bill.id == PaymentAllocation.bill_id)
        .where(PaymentAllocation.payment_id.in_([p.id for p in payments])).order_by(Bill.number))
    out: dict[int, list[str]] = {}
    for payment_id, number in rows:
        out.setdefault(payment_id, []).append(number)
    return out


# --- Status changes (called by the webhook handler only, with the payment row locked) -------------------------

def confirm_allocations(payment: Payment) -> None:
    """Allocate the payment to its bills against what is still due now; never over-allocate.

    Another payment may have settled a bill meanwhile: the share that no longer has a bill to go to stays
    on the account as credit (the ledger credit is the whole amount).
    """
    allocations = list(payment.allocations)
    if not allocations:
        return
    bill_ids = [a.bill_id for a in allocations]
    # Lock the bills: two payments of the same bill confirmed at once must not both take its last euros.
    bills = {b.id: b for b in db.session.scalars(select(Bill).where(Bill.id.in_(bill_ids)).with_for_update())}
    paid = bill_service.paid_by_bill(bill_ids)
    for allocation in allocations:
        bill = bills.get(allocation.bill_id)
        room = Decimal("0")
        if bill is not None and bill.status == "issued" and bill.kind != "credit_note":
            room = max(bill.total_incl_tax - paid.get(bill.id, Decimal("0")), Decimal("0"))
        amount = min(allocation.amount, room).quantize(CENT)
        if amount <= 0:
            db.session.delete(allocation)
        else:
            allocation.amount = amount
    db.session.flush()
    db.session.expire(payment, ["allocations"])


def mark_succeeded(*, payment: Payment, now: datetime, today: date) -> None:
    """Money received: allocate it, credit the ledger, and the payment is succeeded."""
    if not can_move(payment.status, "succeeded"):
        raise ValueError(f"payment {payment.public_id} cannot succeed from {payment.status}")
    confirm_allocations(payment)  # before the status: what other succeeded payments already cover
    payment.status = "succeeded"
    payment.received_at = now
    payment.failure_reason = None
    db.session.add(LedgerEntry(
        account_id=payment.account_id, booked_on=today, created_at=now, direction="credit", amount=payment.amount,
        currency=payment.currency, payment_id=payment.id,
        description=f"{LEDGER_LABELS.get(payment.method, 'Payment')} {payment.public_id[:8]}"))
    db.session.flush()
    log.info("payment succeeded tenant=%s payment=%s amount=%s %s", payment.tenant_id, payment.public_id,
             payment.amount, payment.currency)


def mark_ended(*, payment: Payment, status: str, reason: str) -> None:
    """A declined card (failed) or an abandoned or expired checkout (cancelled)."""
    if status not in ("failed", "cancelled") or not can_move(payment.status, status):
        raise ValueError(f"payment {payment.public_id} cannot become {status} from {payment.status}")
    payment.status = status
    payment.failure_reason = (reason or status)[:255]
    db.session.flush()
    log.info("payment %s tenant=%s payment=%s reason=%r", status, payment.tenant_id, payment.public_id, reason)
