"""What the integration API shows of payments (with their allocations to bills), of an account's ledger and of its
balance, in change order for syncing; each page is two or three set-based queries, whatever its size."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from domain.accounting.models import LedgerEntry, Payment, PaymentAllocation
from domain.billing.models import Bill
from domain.changes import ChangePage, Position, in_change_order, split_page
from domain.contracts.models import CustomerAccount
from domain.db import db

CENT = Decimal("0.01")


@dataclass(frozen=True)
class AllocationRecord:
    bill_number: str | None
    amount: Decimal


@dataclass(frozen=True)
class PaymentRecord:
    public_id: str
    account_number: str
    amount: Decimal
    refunded_amount: Decimal
    currency: str
    method: str
    status: str
    reference: str | None  # the provider's or the bank's reference
    created_at: datetime
    received_at: datetime | None
    failure_reason: str | None
    updated_at: datetime
    allocations: list[AllocationRecord]


@dataclass(frozen=True)
class LedgerEntryRecord:
    booked_on: date
    created_at: datetime
    direction: str  # debit, credit
    amount: Decimal
    currency: str
    description: str
    bill_number: str | None
    payment_public_id: str | None
    opening_balance: bool


@dataclass(frozen=True)
class BalanceRecord:
    account_number: str
    balance: Decimal  # positive: the customer owes; negative: in credit
    debits: Decimal
    credits: Decimal


def _payments_select():
    return (select(Payment.id, Payment.public_id, CustomerAccount.account_number, Payment.amount,
                   Payment.refunded_amount, Payment.currency, Payment.method, Payment.status,
                   Payment.provider_reference, Payment.created_at, Payment.received_at, Payment.failure_reason,
                   Payment.updated_at)
            .join(CustomerAccount, (CustomerAccount.tenant_id == Payment.tenant_id)
                  & (CustomerAccount.id == Payment.account_id)))


def _payment_records(rows) -> list[PaymentRecord]:
    if not rows:
        return []
    allocations: dict[int, list[AllocationRecord]] = {}
    for payment_id, number, amount in db.session.execute(
            select(PaymentAllocation.payment_id, Bill.number, PaymentAllocation.amount)
            .join(Bill, (Bill.tenant_id == PaymentAllocation.tenant_id) & (Bill.id == PaymentAllocation.bill_id))
            .where(PaymentAllocation.payment_id.in_([r.id for r in rows]))
            .order_by(PaymentAllocation.payment_id, PaymentAllocation.id)):
        allocations.setdefault(payment_id, []).append(AllocationRecord(number, amount))
    return [PaymentRecord(r.public_id, r.account_number, r.amount, r.refunded_amount, r.currency, r.method, r.status,
                          r.provider_reference, r.created_at, r.received_at, r.failure_reason, r.updated_at,
                          allocations.get(r.id, [])) for r in rows]


def payment_page(*, after: Position | None, updated_since: datetime | None, limit: int,
                 account_number: str | None = None) -> ChangePage[PaymentRecord]:
    stmt = _payments_select()
    if account_number is not None:
        stmt = stmt.where(CustomerAccount.account_number == account_number)
    rows = db.session.execute(in_change_order(stmt, Payment.updated_at, Payment.id, after=after,
                                              updated_since=updated_since, limit=limit)).all()
    rows, following = split_page(rows, limit, lambda r: Position(r.updated_at, r.id))
    return ChangePage(_payment_records(rows), following)


def payment_record(*, public_id: str) -> PaymentRecord | None:
    records = _payment_records(db.session.execute(_payments_select().where(Payment.public_id == public_id)).all())
    return records[0] if records else None


def ledger_page(*, account_id: int, after: Position | None, updated_since: datetime | None,
                limit: int) -> ChangePage[LedgerEntryRecord]:
    """The account's ledger entries in the order they were written (entries never change: their change time is
    when they were written)."""
    stmt = (select(LedgerEntry.id, LedgerEntry.booked_on, LedgerEntry.created_at, LedgerEntry.direction,
                   LedgerEntry.amount, LedgerEntry.currency, LedgerEntry.description, Bill.number,
                   Payment.public_id, LedgerEntry.opening_balance)
            .outerjoin(Bill, (Bill.tenant_id == LedgerEntry.tenant_id) & (Bill.id == LedgerEntry.bill_id))
            .outerjoin(Payment, (Payment.tenant_id == LedgerEntry.tenant_id) & (Payment.id == LedgerEntry.payment_id))
            .where(LedgerEntry.account_id == account_id))
    rows = db.session.execute(in_change_order(stmt, LedgerEntry.created_at, LedgerEntry.id, after=after,
                                              updated_since=updated_since, limit=limit)).all()
    rows, following = split_page(rows, limit, lambda r: Position(r.created_at, r.id))
    return ChangePage([LedgerEntryRecord(r.booked_on, r.created_at, r.direction, r.amount, r.currency,
                                         r.description, r.number, r.public_id, bool(r.opening_balance))
                       for r in rows], following)


def balance_of(*, account_id: int, account_number: str) -> BalanceRecord:
    """Debits, credits and their difference over the account's whole ledger (one grouped query)."""
    totals = {"debit": Decimal("0"), "credit": Decimal("0")}
    for direction, total in db.session.execute(
            select(LedgerEntry.direction, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.account_id == account_id).group_by(LedgerEntry.direction)):
        totals[direction] = Decimal(total or 0)
    debits, credits = totals["debit"].quantize(CENT), totals["credit"].quantize(CENT)
    return BalanceRecord(account_number, (debits - credits).quantize(CENT), debits, credits)
