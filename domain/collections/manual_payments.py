"""Payments received outside the portal (cheque, cash, bank transfer): recorded by staff or matched from a bank
statement, allocated like any payment, credited to the ledger, receipted; once per reference."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domain.accounting.models import LedgerEntry, Payment, PaymentAllocation
from domain.billing import bills as bill_service
from domain.billing.models import Bill
from domain.collections.money_models import ManualPayment
from domain.contracts.models import CustomerAccount
from domain.accounting.payment_events import publish_received
from domain.db import db
from domain.payments import services as payment_services
from domain.payments.receipts import Receipt, claim_receipt

log = logging.getLogger("collections.money")
CENT = Decimal("0.01")
MANUAL_METHODS = ("cheque", "cash", "transfer")
MANUAL_PROVIDER = "manual"
STATEMENT_PROVIDER = "statement"
LEDGER_LABELS = {"cheque": "Cheque", "cash": "Cash payment", "transfer": "Bank transfer"}
MAX_AMOUNT = Decimal("1000000")


class PaymentNotRecorded(ValueError):
    """`code` says why (the view words it); nothing was written."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Recorded:
    payment: Payment
    created: bool  # False: this reference was recorded before, nothing was added
    receipt: Receipt | None


def normalise_reference(raw: str | None) -> str:
    """The reference as compared: spaces collapsed, upper case ("chq 0012 " and "CHQ 0012" are the same)."""
    return re.sub(r"\s+", " ", raw or "").strip().upper()


def parse_amount(raw) -> Decimal:
    """A positive amount in cents; refuses more decimals than cents rather than round what someone typed."""
    try:
        amount = Decimal(str(raw).strip().replace(",", "."))
    except (InvalidOperation, ValueError) as exc:
        raise PaymentNotRecorded("amount", f"{raw!r} is not an amount") from exc
    if not amount.is_finite() or amount <= 0 or amount >= MAX_AMOUNT or amount != amount.quantize(CENT):
        raise PaymentNotRecorded("amount", f"{raw!r} is not a positive amount in cents")
    return amount.quantize(CENT)


def plan_allocations(*, open_views, amount: Decimal, chosen_bill_ids: list[int] | None = None
                     ) -> list[tuple[int, Decimal]]:
    """(bill id, amount) the payment settles: the chosen bills in that order, else the open bills oldest due
    first; never more than what is left on a bill; what is left over stays on the account as credit. Pure."""
    by_id = {view.bill.id: view for view in open_views}
    order = [by_id[i] for i in chosen_bill_ids if i in by_id] if chosen_bill_ids else list(open_views)
    out, left = [], amount
    for view in order:
        if left <= 0:
            break
        share = min(view.outstanding, left).quantize(CENT)
        if share > 0:
            out.append((view.bill.id, share))
            left -= share
    return out


def existing_payment(*, provider: str, reference: str) -> Payment | None:
    return db.session.scalar(select(Payment).where(Payment.provider == provider,
                                                   Payment.provider_reference == reference))


def receive(*, account: CustomerAccount, amount: Decimal, method: str, provider: str, reference: str,
            received_on: date, now: datetime, today: date, bill_ids: list[int] | None = None,
            currency: str | None = None, label: str | None = None) -> tuple[Payment, bool]:
    """Money arrived for `account`: a succeeded payment allocated to bills (chosen ones, else oldest due first),
    credited to the ledger on the day it arrived. Once per (provider, reference): a second call returns the first
    payment and False. Locks the account so two recordings of it queue up."""
    db.session.scalar(select(CustomerAccount.id).where(CustomerAccount.id == account.id).with_for_update())
    found = existing_payment(provider=provider, reference=reference)
    if found is not None:
        return found, False
    # Lock the open bills: another payment confirmed at the same time must not take the same euros. Chosen bills
    # are read alone (an account with years of bills is not read again for each payment of a statement).
    if bill_ids:
        chosen = list(db.session.scalars(select(Bill).where(
            Bill.id.in_(bill_ids), Bill.account_id == account.id, Bill.status == "issued",
            Bill.kind != "credit_note")))
        open_views = [v for v in bill_service.bill_views(chosen, today=today) if v.payable]
    else:
        open_views = bill_service.open_bills(account_ids=[account.id], today=today)
    if open_views:
        db.session.execute(select(Bill.id).where(Bill.id.in_([v.bill.id for v in open_views])).with_for_update())
    allocations = plan_allocations(open_views=open_views, amount=amount, chosen_bill_ids=bill_ids)
    payment = Payment(account_id=account.id, amount=amount, currency=currency or account_currency(account),
                      method=method, status="succeeded", provider=provider, provider_reference=reference,
                      created_at=now, received_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(payment)
            db.session.flush()
    except IntegrityError:  # recorded by someone else a moment ago (the unique reference): theirs stands
        found = existing_payment(provider=provider, reference=reference)
        if found is None:
            raise
        return found, False
    for bill_id, share in allocations:
        db.session.add(PaymentAllocation(payment_id=payment.id, bill_id=bill_id, amount=share))
    db.session.add(LedgerEntry(
        account_id=account.id, booked_on=received_on, created_at=now, direction="credit", amount=amount,
        currency=payment.currency, payment_id=payment.id,
        description=f"{label or LEDGER_LABELS.get(method, 'Payment')} {reference}"[:255]))
    db.session.flush()
    db.session.expire(payment, ["allocations"])
    payment_services.withdraw_paid_from_prepared_batches(bill_ids=[bill_id for bill_id, _ in allocations])
    publish_received([payment], now=now)
    log.info("payment received tenant=%s payment=%s account=%s method=%s amount=%s bills=%d", payment.tenant_id,
             payment.public_id, account.account_number, method, amount, len(allocations))
    return payment, True


def account_currency(account: CustomerAccount) -> str:
    from tenants.models import Tenant

    tenant = db.session.get(Tenant, account.tenant_id)
    return getattr(tenant, "currency", None) or "EUR"


def record_manual_payment(*, account: CustomerAccount, amount, method: str, reference: str, received_on: date,
                          staff, now: datetime, today: date, bill_numbers: list[str] | None = None,
                          note: str | None = None) -> Recorded:
    """Staff record a payment received by cheque, cash or transfer.

    The same reference in this utility finds the first payment and adds nothing (same amount and account); a
    different amount or account under that reference is refused (`reference_taken`). Chosen bills must be open
    bills of this account (`bill`). A date in the future is refused (`date`).
    """
    if method not in MANUAL_METHODS:
        raise PaymentNotRecorded("method", f"{method!r} is not cheque, cash or transfer")
    amount = parse_amount(amount)
    reference = normalise_reference(reference)
    if not reference or len(reference) > 100:
        raise PaymentNotRecorded("reference", "a reference of 1 to 100 characters is needed")
    if received_on is None or received_on > today:
        raise PaymentNotRecorded("date", f"received on {received_on}, after today {today}")
    found = existing_payment(provider=MANUAL_PROVIDER, reference=reference)
    if found is not None:
        return _same_or_refused(found, account=account, amount=amount)
    bill_ids = None
    if bill_numbers:
        numbers = [n.strip() for n in bill_numbers if n and n.strip()]
        open_by_number = {v.bill.number: v.bill.id for v in bill_service.open_bills(account_ids=[account.id],
                                                                                    today=today)}
        unknown = [n for n in numbers if n not in open_by_number]
        if unknown:
            raise PaymentNotRecorded("bill", f"not an open bill of this account: {unknown}")
        bill_ids = [open_by_number[n] for n in numbers]
    payment, created = receive(account=account, amount=amount, method=method, provider=MANUAL_PROVIDER,
                               reference=reference, received_on=received_on, now=now, today=today,
                               bill_ids=bill_ids)
    if not created:
        return _same_or_refused(payment, account=account, amount=amount)
    db.session.add(ManualPayment(payment_id=payment.id, account_id=account.id, received_on=received_on,
                                 recorded_by_id=staff.id, recorded_by=staff.email[:255], recorded_at=now,
                                 note=(note or "").strip()[:255] or None))
    db.session.flush()
    return Recorded(payment=payment, created=True, receipt=claim_receipt(payment=payment, now=now))


def _same_or_refused(found: Payment, *, account: CustomerAccount, amount: Decimal) -> Recorded:
    if found.amount != amount or found.account_id != account.id:
        raise PaymentNotRecorded("reference_taken", f"reference {found.provider_reference} was recorded with "
                                                    f"another amount or account")
    return Recorded(payment=found, created=False, receipt=None)


@dataclass(frozen=True)
class ManualPaymentRow:
    record: ManualPayment
    payment: Payment
    account_number: str
    bills: tuple[str, ...]


def manual_payments(*, account_id: int | None = None, limit: int | None = 200) -> list[ManualPaymentRow]:
    """Payments recorded by staff, latest first (one account's, or all)."""
    stmt = (select(ManualPayment, Payment, CustomerAccount.account_number)
            .join(Payment, Payment.id == ManualPayment.payment_id)
            .join(CustomerAccount, CustomerAccount.id == ManualPayment.account_id)
            .order_by(ManualPayment.recorded_at.desc(), ManualPayment.id.desc()))
    if account_id is not None:
        stmt = stmt.where(ManualPayment.account_id == account_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = db.session.execute(stmt).tuples().all()
    numbers = payment_services.bill_numbers_of([payment for _r, payment, _n in rows])
    return [ManualPaymentRow(record=record, payment=payment, account_number=number,
                             bills=tuple(numbers.get(payment.id, ())))
            for record, payment, number in rows]


API_PROVIDER = "api"  # payments another system of the utility recorded through the integration API


def record_external_payment(*, account_number: str, amount, currency: str, received_on: date, reference: str,
                            method: str, bill_number: str | None, now: datetime, today: date) -> Recorded:
    """A payment received elsewhere, told by another system of the utility (the integration API): allocated like
    any payment (the bill named, else the oldest due first; the rest is credit) and credited to the ledger.

    Idempotent by the caller's reference: the same reference with the same account, amount and currency finds the
    first payment and adds nothing; with another account, amount or currency it is refused (`reference_taken`).
    Refusals: `account` (no such account in this utility), `currency`, `amount`, `reference`, `date`, `method`,
    `bill` (not an open bill of this account)."""
    # The account first: a caller naming no account of this utility learns only that (404), whatever else it sent.
    account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == account_number))
    if account is None:
        raise PaymentNotRecorded("account", f"no account {account_number!r}")
    if method not in MANUAL_METHODS:
        raise PaymentNotRecorded("method", f"{method!r} is not cheque, cash or transfer")
    amount = parse_amount(amount)
    reference = normalise_reference(reference)
    if not reference or len(reference) > 100:
        raise PaymentNotRecorded("reference", "a reference of 1 to 100 characters is needed")
    if (currency or "").upper() != account_currency(account):
        raise PaymentNotRecorded("currency", f"{currency!r} is not the account's currency")
    found = existing_payment(provider=API_PROVIDER, reference=reference)
    if found is not None:
        return _same_or_refused(found, account=account, amount=amount)
    if received_on is None or received_on > today:
        raise PaymentNotRecorded("date", f"received on {received_on}, after today {today}")
    bill_ids = None
    if bill_number:
        bill_id = next((v.bill.id for v in bill_service.open_bills(account_ids=[account.id], today=today)
                        if v.bill.number == bill_number.strip()), None)
        if bill_id is None:
            raise PaymentNotRecorded("bill", f"not an open bill of this account: {bill_number!r}")
        bill_ids = [bill_id]
    payment, created = receive(account=account, amount=amount, method=method, provider=API_PROVIDER,
                               reference=reference, received_on=received_on, now=now, today=today,
                               bill_ids=bill_ids, label="Payment")
    if not created:
        return _same_or_refused(payment, account=account, amount=amount)
    return Recorded(payment=payment, created=True, receipt=None)
