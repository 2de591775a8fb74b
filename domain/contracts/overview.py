"""The portal home's summary of a customer's accounts, in a fixed number of queries whatever the utility's size.

Each query takes the customer's account ids as one list and follows an index that starts with
`(tenant_id, account_id)` or `(tenant_id, register_id)`; "latest" rows come from correlated
`ORDER BY ... LIMIT 1` subqueries, which PostgreSQL answers with one backward index probe per account or
register (the join also names the parent key, so the planner probes that index rather than hashing the
whole table). Nothing here loops over bills or readings with a query.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.orm import aliased, joinedload

from domain.accounting.models import LedgerEntry, Payment, PaymentAllocation
from domain.billing.models import Bill
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.identity.models import CustomerAccess
from domain.readings.models import MeterReading
from domain.readings.window import reading_window, window_is_open
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation, Register

CENT = Decimal("0.01")
FAILED_PAYMENT_DAYS = 30


@dataclass(frozen=True)
class Due:
    """What the customer owes next: `amount` by `due_date` (None: payable now); overdue if that date passed."""

    amount: Decimal
    due_date: date | None
    overdue: bool


@dataclass(frozen=True)
class LatestBill:
    public_id: str
    number: str
    kind: str
    total: Decimal
    currency: str
    issued_at: datetime
    due_date: date | None


@dataclass(frozen=True)
class LatestReading:
    delivery_point_identifier: str
    activity: str
    meter_serial: str
    unit: str
    register_code: str
    register_label: str
    registers_on_meter: int
    value: Decimal | None
    read_on: date | None
    source: str | None
    status: str | None


@dataclass(frozen=True)
class FailedPayment:
    public_id: str
    amount: Decimal
    currency: str
    created_at: datetime
    failure_reason: str | None


@dataclass
class AccountSummary:
    account: CustomerAccount
    balance: Decimal
    due: Due | None
    latest_bill: LatestBill | None
    readings: list[LatestReading] = field(default_factory=list)
    failed_payments: list[FailedPayment] = field(default_factory=list)

    @property
    def active_contracts(self) -> list[Contract]:
        return [c for c in self.account.contracts if c.status == "active"]


@dataclass(frozen=True)
class Action:
    """Something on the home page that needs the customer: `kind` is reading_window, payment_failed or
    unread_reply; the other fields say what it is about."""

    kind: str
    account_number: str | None = None
    delivery_point_identifier: str | None = None
    last_day: date | None = None
    payment: FailedPayment | None = None
    request_reference: str | None = None
    request_subject: str | None = None


def actions_needed(summaries: list[AccountSummary], *, tenant, today: date, unread=()) -> list[Action]:
    """Reading windows open today whose meter has no reading yet within the window, payments that failed
    recently, and requests with a staff reply the customer has not read (`unread`: objects with `reference`
    and `subject`, as `domain.requests.services.unread_replies` returns them)."""
    actions: list[Action] = []
    for summary in summaries:
        number = summary.account.account_number
        for contract in summary.active_contracts:
            window = reading_window(contract, tenant, today)
            if not window_is_open(window, today):
                continue
            identifier = contract.delivery_point.identifier
            registers = [r for r in summary.readings if r.delivery_point_identifier == identifier]
            if registers and all(r.read_on is not None and r.read_on >= window[0] for r in registers):
                continue  # already read in this window
            actions.append(Action("reading_window", account_number=number, delivery_point_identifier=identifier,
                                  last_day=window[1]))
        for payment in summary.failed_payments:
            actions.append(Action("payment_failed", account_number=number, payment=payment))
    for request in unread:
        actions.append(Action("unread_reply", request_reference=request.reference,
                              request_subject=request.subject))
    return actions


def home_summaries(*, customer_user_id: int, today: date, now: datetime) -> list[AccountSummary]:
    """One summary per account the customer may see: balance, next due, latest bill and readings, failed payments."""
    accounts = _accounts(customer_user_id)
    if not accounts:
        return []
    ids = [a.id for a in accounts]
    balances, latest_bills = _balances_and_latest_bills(ids)
    open_bills = _open_bills(ids)
    readings = _latest_readings(ids)
    failed = _failed_payments(ids, since=now - timedelta(days=FAILED_PAYMENT_DAYS))
    return [
        AccountSummary(
            account=a, balance=balances[a.id], due=next_due(balance=balances[a.id], open_bills=open_bills[a.id],
                                                            today=today),
            latest_bill=latest_bills.get(a.id), readings=readings[a.id], failed_payments=failed[a.id],
        )
        for a in accounts
    ]


def next_due(*, balance: Decimal, open_bills: list[tuple[date | None, Decimal]], today: date) -> Due | None:
    """What is due next, from the bills still open: the overdue total if any bill's date passed, else the
    earliest upcoming due date's total; never more than the balance (credits not yet allocated count)."""
    if balance <= 0:
        return None
    dated = sorted((d, amount) for d, amount in open_bills if d is not None)
    overdue = [amount for d, amount in dated if d < today]
    if overdue:
        first_late = next(d for d, _ in dated if d < today)
        return Due(amount=min(sum(overdue, Decimal("0")), balance), due_date=first_late, overdue=True)
    if dated:
        first = dated[0][0]
        amount = sum((a for d, a in dated if d == first), Decimal("0"))
        return Due(amount=min(amount, balance), due_date=first, overdue=False)
    return Due(amount=balance, due_date=None, overdue=False)


# --- queries ---------------------------------------------------------------------------------------------------------
# Each statement is built once (bound parameters: `ids`, the customer's account ids as one expanding list) and only
# executed per request: building SQLAlchemy expressions costs more Python time than running these index probes.

def _ids():
    return bindparam("ids", expanding=True)


@cache
def _accounts_stmt():
    return (
        select(CustomerAccount)
        .join(CustomerAccess, CustomerAccess.account_id == CustomerAccount.id)
        .where(CustomerAccess.customer_user_id == bindparam("user_id"))
        .options(  # one round trip: a customer has a handful of accounts and contracts
            joinedload(CustomerAccount.holder),
            joinedload(CustomerAccount.contracts).joinedload(Contract.delivery_point).joinedload(DeliveryPoint.premise),
        )
        .order_by(CustomerAccount.account_number)
    )


def _accounts(customer_user_id: int) -> list[CustomerAccount]:
    return list(db.session.scalars(_accounts_stmt(), {"user_id": customer_user_id}).unique())


@cache
def _open_bills_stmt():
    paid = (
        select(func.coalesce(func.sum(PaymentAllocation.amount), 0))
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.bill_id == Bill.id, Payment.status == "succeeded")
        .correlate(Bill)
        .scalar_subquery()
    )
    return (
        select(Bill.account_id, Bill.due_date, Bill.total_incl_tax - paid)
        .where(Bill.account_id.in_(_ids()), Bill.status == "issued", Bill.kind != "credit_note",
               Bill.total_incl_tax > paid)
    )


def _open_bills(ids: list[int]) -> dict[int, list[tuple[date | None, Decimal]]]:
    """(due date, amount still to pay) of every issued bill not fully covered by succeeded payments."""
    out: dict[int, list[tuple[date | None, Decimal]]] = defaultdict(list)
    for account_id, due_date, remaining in db.session.execute(_open_bills_stmt(), {"ids": ids}):
        out[account_id].append((due_date, Decimal(remaining).quantize(CENT)))
    return out


@cache
def _balances_and_latest_bills_stmt():
    """Per account: the balance (debits minus credits) and the latest issued bill, in one statement."""
    signed = case((LedgerEntry.direction == "debit", LedgerEntry.amount), else_=-LedgerEntry.amount)
    balance = (
        select(func.coalesce(func.sum(signed), 0))
        .where(LedgerEntry.account_id == CustomerAccount.id)
        .correlate(CustomerAccount)
        .scalar_subquery()
    )
    newer = aliased(Bill)
    latest_id = (
        select(newer.id)
        .where(newer.account_id == CustomerAccount.id, newer.status == "issued")
        .order_by(newer.issued_at.desc(), newer.id.desc())
        .limit(1)
        .correlate(CustomerAccount)
        .scalar_subquery()
    )
    return (
        select(CustomerAccount.id, balance, Bill.public_id, Bill.number, Bill.kind, Bill.total_incl_tax,
               Bill.currency, Bill.issued_at, Bill.due_date)
        .outerjoin(Bill, and_(Bill.account_id == CustomerAccount.id, Bill.id == latest_id))
        .where(CustomerAccount.id.in_(_ids()))
    )


def _balances_and_latest_bills(ids: list[int]) -> tuple[dict[int, Decimal], dict[int, LatestBill]]:
    balances = {i: Decimal("0.00") for i in ids}
    latest: dict[int, LatestBill] = {}
    for account_id, balance, public_id, *bill in db.session.execute(_balances_and_latest_bills_stmt(), {"ids": ids}):
        balances[account_id] = Decimal(balance or 0).quantize(CENT)
        if public_id is not None:
            latest[account_id] = LatestBill(public_id, *bill)
    return balances, latest


@cache
def _latest_readings_stmt():
    newer = aliased(MeterReading)
    latest_id = (
        select(newer.id)
        .where(newer.register_id == Register.id, newer.status != "rejected")
        .order_by(newer.read_on.desc(), newer.id.desc())
        .limit(1)
        .correlate(Register)
        .scalar_subquery()
    )
    siblings = aliased(Register)
    register_count = (
        select(func.count(siblings.id)).where(siblings.meter_id == Meter.id).correlate(Meter).scalar_subquery()
    )
    return (
        select(Contract.account_id, DeliveryPoint.identifier, DeliveryPoint.activity, Meter.serial_number,
               Meter.unit, Register.code, Register.label, register_count, MeterReading.value,
               MeterReading.read_on, MeterReading.source, MeterReading.status)
        .select_from(Contract)
        .join(DeliveryPoint, DeliveryPoint.id == Contract.delivery_point_id)
        .join(MeterInstallation, and_(MeterInstallation.delivery_point_id == DeliveryPoint.id,
                                      MeterInstallation.removed_on.is_(None)))
        .join(Meter, Meter.id == MeterInstallation.meter_id)
        .join(Register, Register.meter_id == Meter.id)
        .outerjoin(MeterReading, and_(MeterReading.register_id == Register.id, MeterReading.id == latest_id))
        .where(Contract.account_id.in_(_ids()), Contract.status == "active")
        .order_by(Contract.account_id, DeliveryPoint.identifier, Register.code)
    )


def _latest_readings(ids: list[int]) -> dict[int, list[LatestReading]]:
    """The latest reading (not rejected) of each register of each active contract's current meter."""
    out: dict[int, list[LatestReading]] = defaultdict(list)
    for account_id, *rest in db.session.execute(_latest_readings_stmt(), {"ids": ids}):
        out[account_id].append(LatestReading(*rest))
    return out


@cache
def _failed_payments_stmt():
    later = aliased(Payment)
    settled_since = (
        select(later.id)
        .where(later.account_id == Payment.account_id, later.status == "succeeded",
               later.created_at > Payment.created_at)
        .correlate(Payment)
        .exists()
    )
    return (
        select(Payment.account_id, Payment.public_id, Payment.amount, Payment.currency, Payment.created_at,
               Payment.failure_reason)
        .where(Payment.account_id.in_(_ids()), Payment.status == "failed",
               Payment.created_at >= bindparam("since"), ~settled_since)
        .order_by(Payment.created_at.desc())
    )


def _failed_payments(ids: list[int], *, since: datetime) -> dict[int, list[FailedPayment]]:
    """Payments that failed since `since` and were not followed by a payment that went through."""
    out: dict[int, list[FailedPayment]] = defaultdict(list)
    for account_id, *rest in db.session.execute(_failed_payments_stmt(), {"ids": ids, "since": since}):
        out[account_id].append(FailedPayment(*rest))
    return out
