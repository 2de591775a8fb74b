"""Card payments asked for online: what the customer may pay (always from our own bills and ledger), the
pending payment with its intended allocations, and the payment's status machine."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import uuid4
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from domain.accounting.models import LedgerEntry, Payment, PaymentAllocation
from domain.billing import bills as bill_service
from domain.billing.models import Bill
from domain.contracts import services as accounts
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import CustomerAccess
from domain.payments.collection_models import CollectionBatch, CollectionItem
from domain.payments.models import PaymentReversal
from domain.payments.providers import (
    CHECKOUT_LIFETIME,
    ProviderError,
    charge_refunded_event,
    dispute_event,
    minor_units,
    sandbox_payment_ref,
)

log = logging.getLogger("payments")
CENT = Decimal("0.01")
LEDGER_LABELS = {"card": "Card payment", "direct_debit": "Direct debit"}
# Why a checkout ended without a payment, when the customer did not cancel it: shown as "not completed".
EXPIRED_REASON = "Checkout expired"
REPLACED_REASON = "Replaced by a newer checkout"

# Which status may follow which. A failed card attempt may still be followed by a successful one in the
# same checkout (money taken must be recorded); a success may be given back in full (refunded); nothing follows
# a cancellation or a full refund.
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"succeeded", "failed", "cancelled"}),
    "failed": frozenset({"succeeded"}),
    "succeeded": frozenset({"refunded"}),
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


@dataclass(frozen=True)
class PendingDebit:
    """A bill's direct debit not collected yet: the date the bank debits it and whether the file has gone to the
    bank (submitted: the bill can no longer be paid by card) or is still being prepared (prepared: paying by card
    takes the bill out of the batch)."""

    collection_date: date
    amount: Decimal
    submitted: bool


def balances_payable_by_card(balances: dict[int, Decimal], open_views, debits) -> dict[int, Decimal]:
    """What each account may pay by card: its balance less the bills a direct debit sent to the bank (a submitted
    batch) is already collecting, which are not paid a second time. `debits` as `pending_debits` gives them."""
    payable = dict(balances)
    for view in open_views:
        debit = debits.get(view.bill.id)
        if debit is not None and debit.submitted and view.bill.account_id in payable:
            payable[view.bill.account_id] -= debit.amount
    return {account_id: amount.quantize(CENT) for account_id, amount in payable.items()}


def pending_debits(bill_ids: list[int]) -> dict[int, PendingDebit]:
    """bill id -> its direct debit still to collect (one query, whatever the number of bills)."""
    if not bill_ids:
        return {}
    rows = db.session.execute(
        select(CollectionItem.bill_id, CollectionBatch.collection_date, CollectionItem.amount, CollectionBatch.status)
        .join(CollectionBatch, CollectionBatch.id == CollectionItem.batch_id)
        .where(CollectionItem.bill_id.in_(bill_ids), CollectionItem.status == "pending",
               CollectionBatch.status.in_(("prepared", "submitted"))))
    return {bill_id: PendingDebit(collection_date=on, amount=Decimal(amount), submitted=status == "submitted")
            for bill_id, on, amount, status in rows}


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
        debits = pending_debits([view.bill.id for view in chosen])
        if any(debit.submitted for debit in debits.values()):
            raise PaymentRefused("direct_debit_submitted", "a chosen bill is in a direct debit sent to the bank")
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
    open_views = bill_service.open_bills(account_ids=[account.id], today=today)
    debits = pending_debits([v.bill.id for v in open_views])
    debited = {bill_id for bill_id, debit in debits.items() if debit.submitted}
    balance = balances_payable_by_card({account.id: balance}, open_views, debits)[account.id]
    if balance <= 0:
        raise PaymentRefused("direct_debit_submitted", "what the account owes is being collected by direct debit")
    allocations = []
    left = balance
    for view in open_views:
        if left <= 0:
            break
        if view.bill.id in debited:
            continue
        share = min(view.outstanding, left)
        allocations.append((view.bill, share))
        left -= share
    return PaymentPlan(account=account, amount=balance, currency=currency, allocations=tuple(allocations),
                       whole_balance=True)


def _open_checkouts_overlapping(plan: PaymentPlan) -> list[Payment]:
    """Pending card payments of the plan's account that would pay some of the same bills (or, both without bills,
    the same balance), locked."""
    bill_ids = [bill.id for bill, _amount in plan.allocations]
    pending = list(db.session.scalars(
        select(Payment).where(Payment.account_id == plan.account.id, Payment.method == "card",
                              Payment.status == "pending")
        .order_by(Payment.created_at, Payment.id).with_for_update().options(selectinload(Payment.allocations))))
    out = []
    for payment in pending:
        theirs = {a.bill_id for a in payment.allocations}
        if theirs & set(bill_ids) or (not theirs and not bill_ids):
            out.append(payment)
    return out


def replace_open_checkouts(*, plan: PaymentPlan, provider, now: datetime) -> list[Payment]:
    """Before a new checkout for some bills: close every checkout still open for any of them, so only one can be
    paid. On Stripe the session is expired through the API; one the customer has paid meanwhile cannot be, and the
    new checkout is refused (`being_confirmed`) until its payment is confirmed. Returns the payments replaced.

    `provider` is the tenant's provider now (None: none); ProviderError when Stripe cannot be reached (nothing is
    changed then: the request rolls back).
    """
    # Lock the account: two checkouts opened at once for the same bills queue up here.
    db.session.scalar(select(CustomerAccount.id).where(CustomerAccount.id == plan.account.id).with_for_update())
    replaced = []
    for old in _open_checkouts_overlapping(plan):
        if checkout_expired(old, now):  # nobody can pay on it any more: no need to ask the provider
            mark_ended(payment=old, status="cancelled", reason=EXPIRED_REASON)
            continue
        if old.provider == "stripe" and old.provider_reference:
            if provider is None or provider.name != "stripe":
                raise ProviderError("a Stripe checkout is open but the tenant has no Stripe keys to expire it")
            status = provider.expire_checkout(old.provider_reference)
            if status == "complete":
                raise PaymentRefused("being_confirmed", f"checkout of payment {old.public_id} was paid")
        mark_ended(payment=old, status="cancelled", reason=REPLACED_REASON)
        log.info("checkout replaced tenant=%s payment=%s", old.tenant_id, old.public_id)
        replaced.append(old)
    return replaced


def start_payment(*, plan: PaymentPlan, provider: str, customer_user_id: int, now: datetime) -> Payment:
    """A pending card payment with its intended allocations; only the provider's webhook fulfils it. Its
    checkout expires after CHECKOUT_LIFETIME (the provider may set another expiry: `attach_checkout`)."""
    payment = Payment(account_id=plan.account.id, amount=plan.amount, currency=plan.currency, method="card",
                      status="pending", provider=provider, created_at=now, customer_user_id=customer_user_id,
                      expires_at=now + CHECKOUT_LIFETIME)
    db.session.add(payment)
    db.session.flush()
    for bill, amount in plan.allocations:
        db.session.add(PaymentAllocation(payment_id=payment.id, bill_id=bill.id, amount=amount))
    db.session.flush()
    log.info("payment started tenant=%s payment=%s account=%s amount=%s %s provider=%s bills=%d",
             payment.tenant_id, payment.public_id, plan.account.account_number, plan.amount, plan.currency,
             provider, len(plan.allocations))
    return payment


def attach_checkout(*, payment: Payment, reference: str, expires_at: datetime | None = None) -> None:
    payment.provider_reference = reference
    if expires_at is not None:
        payment.expires_at = expires_at
    db.session.flush()


# --- Checkouts left open: expired, shown as not completed ------------------------------------------------------

# A Stripe payment made in the session's last second is confirmed by its webhook a moment after the expiry.
EXPIRY_GRACE = timedelta(minutes=5)
# Payments started before expiries were recorded: Stripe's default session lifetime.
LEGACY_LIFETIME = timedelta(hours=24)


def checkout_expired(payment: Payment, now: datetime) -> bool:
    """A pending checkout past its expiry (and the grace for a last-second payment): it was not completed."""
    if payment.status != "pending" or payment.method != "card":
        return False
    expires_at = payment.expires_at or payment.created_at + LEGACY_LIFETIME
    return now >= expires_at + EXPIRY_GRACE


def _stale_filter(now: datetime):
    return or_(Payment.expires_at <= now - EXPIRY_GRACE,
               Payment.expires_at.is_(None) & (Payment.created_at <= now - EXPIRY_GRACE - LEGACY_LIFETIME))


def expire_stale_checkouts(*, now: datetime, provider, account_ids: list[int] | None = None,
                           limit: int = 500) -> list[Payment]:
    """End the pending card payments whose checkout has expired: cancelled, nothing was charged.

    A sandbox checkout past its expiry takes no payment any more. A Stripe one is checked with Stripe first
    (`provider`, the tenant's): expired there, or still open (then expired through the API), it is cancelled;
    completed, it stays pending for its webhook, which Stripe keeps retrying. Without a Stripe provider a Stripe
    payment is left alone. `account_ids` limits the sweep to those accounts (a customer's pages).
    """
    stmt = (select(Payment).where(Payment.method == "card", Payment.status == "pending", _stale_filter(now))
            .order_by(Payment.id).limit(limit).with_for_update())
    if account_ids is not None:
        if not account_ids:
            return []
        stmt = stmt.where(Payment.account_id.in_(account_ids))
    ended = []
    for payment in db.session.scalars(stmt):
        if payment.provider == "stripe":
            if provider is None or provider.name != "stripe" or not payment.provider_reference:
                continue
            try:
                status = provider.expire_checkout(payment.provider_reference)
            except ProviderError:
                log.warning("checkout sweep could not reach Stripe tenant=%s payment=%s", payment.tenant_id,
                            payment.public_id)
                continue
            if status != "expired":
                continue
        elif payment.provider != "sandbox":
            continue
        mark_ended(payment=payment, status="cancelled", reason=EXPIRED_REASON)
        ended.append(payment)
    if ended:
        log.info("checkouts expired count=%d", len(ended))
    return ended


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


def mark_succeeded(*, payment: Payment, now: datetime, today: date, publish: bool = True) -> None:
    """Money received: allocate it, credit the ledger, and the payment is succeeded; `payment.received` is
    published for webhook subscribers (`publish=False`: the caller publishes a whole batch at once)."""
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
    if payment.method != "direct_debit":
        withdraw_paid_from_prepared_batches(bill_ids=[a.bill_id for a in payment.allocations])
    if publish:
        from domain.accounting.payment_events import publish_received

        publish_received([payment], now=now)
    log.info("payment succeeded tenant=%s payment=%s amount=%s %s", payment.tenant_id, payment.public_id,
             payment.amount, payment.currency)


def withdraw_paid_from_prepared_batches(*, bill_ids: list[int]) -> int:
    """Bills paid otherwise (by card, say) leave the direct-debit batches not yet sent to the bank: a bill paid in
    full is withdrawn, one partly paid is collected only for what is left. Returns how many items changed."""
    if not bill_ids:
        return 0
    items = list(db.session.scalars(
        select(CollectionItem).join(CollectionBatch, CollectionBatch.id == CollectionItem.batch_id)
        .where(CollectionItem.bill_id.in_(bill_ids), CollectionItem.status == "pending",
               CollectionBatch.status == "prepared").with_for_update(of=CollectionItem)))
    if not items:
        return 0
    bills = {b.id: b for b in db.session.scalars(select(Bill).where(Bill.id.in_([i.bill_id for i in items])))}
    paid = bill_service.paid_by_bill(list(bills))
    changed = 0
    for item in items:
        bill = bills[item.bill_id]
        left = max(bill.total_incl_tax - paid.get(bill.id, Decimal("0")), Decimal("0")).quantize(CENT)
        if left <= 0:
            item.status = "cancelled"
        elif left < item.amount:
            item.amount = left
        else:
            continue
        changed += 1
        log.info("collection item withdrawn tenant=%s item=%s bill=%s left=%s", item.tenant_id, item.end_to_end_id,
                 bill.number, left)
    db.session.flush()
    return changed


def mark_ended(*, payment: Payment, status: str, reason: str) -> None:
    """A declined card (failed) or an abandoned or expired checkout (cancelled)."""
    if status not in ("failed", "cancelled") or not can_move(payment.status, status):
        raise ValueError(f"payment {payment.public_id} cannot become {status} from {payment.status}")
    payment.status = status
    payment.failure_reason = (reason or status)[:255]
    db.session.flush()
    log.info("payment %s tenant=%s payment=%s reason=%r", status, payment.tenant_id, payment.public_id, reason)


# --- Money given back: refunds and disputes (called by the webhook handler, with the payment row locked) --------

REVERSAL_LABELS = {"refund": "Card payment refunded", "dispute": "Card payment disputed (lost)"}
DISPUTE_END = {"won": "won", "lost": "lost", "warning_closed": "closed"}


def _undo_allocations(payment: Payment, amount: Decimal) -> None:
    """Take `amount` off what the payment settled: first its share that settled no bill (account credit), then
    its bills, newest bill first. Each bill is then due or partly paid again by what it lost."""
    rows = list(db.session.execute(
        select(PaymentAllocation).join(Bill, Bill.id == PaymentAllocation.bill_id)
        .where(PaymentAllocation.payment_id == payment.id)
        .order_by(Bill.issued_at.desc(), Bill.id.desc()).with_for_update(of=PaymentAllocation)).scalars())
    kept = payment.amount - payment.refunded_amount  # what the payment still stands for, before this step
    surplus = max(kept - sum((a.amount for a in rows), Decimal("0")), Decimal("0"))
    left = amount - min(surplus, amount)
    for allocation in rows:
        if left <= 0:
            break
        take = min(allocation.amount, left)
        left -= take
        if take == allocation.amount:
            db.session.delete(allocation)
        else:
            allocation.amount = (allocation.amount - take).quantize(CENT)
    db.session.flush()
    db.session.expire(payment, ["allocations"])


def apply_reversal(*, payment: Payment, reversal: PaymentReversal, now: datetime, today: date) -> Decimal:
    """Give back a refund step or a lost dispute on a succeeded payment; returns the amount given back.

    The ledger's credit of the payment is reversed by a debit of that amount; a partial amount undoes allocations
    (see `_undo_allocations`), the whole of what is left makes the payment refunded (its allocations then no
    longer count). Never more than what is left of the payment. A payment not succeeded (yet) waits: the webhook
    applies what waits once it succeeds.
    """
    if reversal.applied_at is not None or payment.status != "succeeded":
        return Decimal("0")
    room = payment.amount - payment.refunded_amount
    amount = min(reversal.amount, room).quantize(CENT)
    reversal.applied_at = now
    if amount < reversal.amount:
        log.warning("reversal capped tenant=%s payment=%s %s=%s asked=%s given=%s", payment.tenant_id,
                    payment.public_id, reversal.kind, reversal.reference, reversal.amount, amount)
    if amount <= 0:
        db.session.flush()
        return Decimal("0")
    if amount < room:
        _undo_allocations(payment, amount)
    payment.refunded_amount = (payment.refunded_amount + amount).quantize(CENT)
    if payment.refunded_amount >= payment.amount:
        payment.status = "refunded"
    db.session.add(LedgerEntry(
        account_id=payment.account_id, booked_on=today, created_at=now, direction="debit", amount=amount,
        currency=payment.currency, description=f"{REVERSAL_LABELS[reversal.kind]} {payment.public_id[:8]}"))
    db.session.flush()
    log.info("payment reversed tenant=%s payment=%s kind=%s amount=%s %s refunded=%s status=%s", payment.tenant_id,
             payment.public_id, reversal.kind, amount, payment.currency, payment.refunded_amount, payment.status)
    return amount


def record_refunded_total(*, payment: Payment, provider: str, reference: str, refunded_total: Decimal,
                          now: datetime, today: date) -> PaymentReversal | None:
    """The provider says the charge's refunded total is now `refunded_total`: record and give back the rise.

    Totals only grow, so a repeated or older event (a smaller or equal total) adds nothing and returns None.
    """
    recorded = db.session.scalar(select(func.coalesce(func.sum(PaymentReversal.amount), 0)).where(
        PaymentReversal.payment_id == payment.id, PaymentReversal.kind == "refund"))
    step = (refunded_total - Decimal(recorded)).quantize(CENT)
    if step <= 0:
        return None
    reversal = PaymentReversal(payment_id=payment.id, provider=provider, kind="refund", reference=reference[:255],
                               status="refunded", amount=step, currency=payment.currency, created_at=now,
                               closed_at=now)
    db.session.add(reversal)
    db.session.flush()
    apply_reversal(payment=payment, reversal=reversal, now=now, today=today)
    return reversal


def record_dispute(*, payment: Payment, provider: str, dispute_id: str, amount: Decimal, provider_status: str,
                   reason: str | None, now: datetime, today: date) -> PaymentReversal | None:
    """A dispute opened or closed: won changes nothing, lost gives its amount back like a refund.

    Whatever order the events come in, a dispute ends once: a late "created" after "closed", or a second
    "closed", changes nothing and returns None.
    """
    status = DISPUTE_END.get(provider_status, "open")
    reversal = db.session.scalar(select(PaymentReversal).where(
        PaymentReversal.provider == provider, PaymentReversal.kind == "dispute",
        PaymentReversal.reference == dispute_id).with_for_update())
    if reversal is None:
        reversal = PaymentReversal(payment_id=payment.id, provider=provider, kind="dispute",
                                   reference=dispute_id[:255], status=status, amount=amount,
                                   currency=payment.currency, reason=(reason or None) and reason[:64], created_at=now)
        db.session.add(reversal)
    elif reversal.status != "open" or status == "open":
        return None
    else:
        reversal.status = status
        reversal.amount = amount
    if status != "open":
        reversal.closed_at = now
    db.session.flush()
    if status == "lost":
        apply_reversal(payment=payment, reversal=reversal, now=now, today=today)
    log.info("dispute %s tenant=%s payment=%s dispute=%s amount=%s", status, payment.tenant_id, payment.public_id,
             dispute_id, amount)
    return reversal


def apply_waiting_reversals(*, payment: Payment, now: datetime, today: date) -> None:
    """Refunds and lost disputes that came before the payment's success: give them back now it has succeeded."""
    waiting = db.session.scalars(select(PaymentReversal).where(
        PaymentReversal.payment_id == payment.id, PaymentReversal.applied_at.is_(None),
        (PaymentReversal.kind == "refund") | (PaymentReversal.status == "lost"))
        .order_by(PaymentReversal.created_at, PaymentReversal.id))
    for reversal in list(waiting):
        apply_reversal(payment=payment, reversal=reversal, now=now, today=today)


def display_status(payment: Payment) -> str:
    """The status a customer reads: a succeeded payment partly given back is "partly_refunded"; a checkout that
    expired or was replaced by a newer one is "expired" (not completed, nothing charged)."""
    if payment.status == "succeeded" and payment.refunded_amount and payment.refunded_amount > 0:
        return "partly_refunded"
    if payment.status == "cancelled" and payment.failure_reason in (EXPIRED_REASON, REPLACED_REASON):
        return "expired"
    return payment.status


def reversals_of(payment: Payment) -> list[PaymentReversal]:
    return list(db.session.scalars(select(PaymentReversal).where(PaymentReversal.payment_id == payment.id)
                                   .order_by(PaymentReversal.created_at, PaymentReversal.id)))


def sandbox_reversal_event(*, payment: Payment, tenant_id: int, outcome: str, amount: Decimal) -> dict:
    """The event Stripe would send for giving back `amount` of a sandbox payment: a refund (the charge's new
    refunded total) or a lost dispute of that amount."""
    payment_ref = payment.provider_payment_ref or sandbox_payment_ref(payment.provider_reference or
                                                                      payment.public_id)
    if outcome == "refund":
        refunded = sum((r.amount for r in reversals_of(payment) if r.kind == "refund"), Decimal("0"))
        return charge_refunded_event(
            tenant_id=tenant_id, payment_public_id=payment.public_id, payment_ref=payment_ref,
            amount=minor_units(payment.amount, payment.currency),
            amount_refunded=minor_units(refunded + amount, payment.currency), currency=payment.currency)
    if outcome == "dispute_lost":
        return dispute_event(event_type="charge.dispute.closed", dispute_id=f"dp_sandbox_{uuid4().hex[:24]}",
                             payment_ref=payment_ref, amount=minor_units(amount, payment.currency),
                             currency=payment.currency, status="lost")
    raise ValueError(f"unknown sandbox reversal {outcome!r}")


def reversals_of_account(*, account_id: int, limit: int = 50) -> list[tuple[PaymentReversal, Payment]]:
    """Refunds and disputes of the account's card payments, with their payment, latest first (the customer file)."""
    return list(db.session.execute(
        select(PaymentReversal, Payment).join(Payment, Payment.id == PaymentReversal.payment_id)
        .where(Payment.account_id == account_id)
        .order_by(PaymentReversal.created_at.desc(), PaymentReversal.id.desc()).limit(limit)).tuples())


@dataclass(frozen=True)
class HeldCredit:
    """A payment, or the part of it, that settled no bill: it stays on the account as credit."""

    payment: Payment
    credit: Decimal


def payments_held_as_credit(*, account_id: int, limit: int = 20) -> list[HeldCredit]:
    """Succeeded payments of the account whose amount (less what was given back) is more than what they settled,
    latest first: e.g. a card payment that arrived for bills already paid otherwise."""
    allocated = (select(PaymentAllocation.payment_id, func.sum(PaymentAllocation.amount).label("allocated"))
                 .group_by(PaymentAllocation.payment_id).subquery())
    rows = db.session.execute(
        select(Payment, func.coalesce(allocated.c.allocated, 0))
        .outerjoin(allocated, allocated.c.payment_id == Payment.id)
        .where(Payment.account_id == account_id, Payment.status == "succeeded",
               Payment.amount - Payment.refunded_amount > func.coalesce(allocated.c.allocated, 0))
        .order_by(Payment.received_at.desc(), Payment.id.desc()).limit(limit)).all()
    return [HeldCredit(payment=payment,
                       credit=(payment.amount - payment.refunded_amount - Decimal(done)).quantize(CENT))
            for payment, done in rows]
