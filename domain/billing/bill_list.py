"""The portal's bills page in three hand-written statements (`domain.readsql`), whatever the customer's history.

1. the customer's accounts with their balances;
2. one page of bills, each with what succeeded payments have paid on it, and the number of bills in all
   (a window count, so paging needs no separate count);
3. the latest card payments with the numbers of the bills each one paid.

Rows come back as small frozen records carrying the attributes the templates read from the ORM models, so the
bills page and `domain.billing.bills` share `payment_status` and `BillView`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from domain.billing.bills import CENT, BillView, payment_status
from domain.paging import Page, page_of, requested_page
from domain.readsql import CUSTOMER_ACCOUNT_IDS, DATE, DECIMAL, UTC_DATETIME, ReadSQL, rows

CARD_PAYMENTS_SHOWN = 20

_MY_ACCOUNTS = CUSTOMER_ACCOUNT_IDS


@dataclass(frozen=True)
class AccountBalance:
    id: int
    account_number: str
    balance: Decimal


@dataclass(frozen=True)
class BillRow:
    id: int
    number: str
    account_id: int
    kind: str
    status: str
    period_start: date | None
    period_end: date | None
    issued_at: datetime | None
    due_date: date | None
    currency: str
    total_incl_tax: Decimal


@dataclass(frozen=True)
class PaymentRow:
    id: int
    public_id: str
    account_id: int
    amount: Decimal
    currency: str
    status: str
    refunded_amount: Decimal
    created_at: datetime
    failure_reason: str | None = None  # why a checkout ended unpaid: expired or replaced reads "not completed"


@dataclass(frozen=True)
class BillsPage:
    accounts: list[AccountBalance]
    chosen: AccountBalance | None
    page: Page
    views: list[BillView]
    payments: list[PaymentRow]
    payment_bills: dict[int, list[str]]

    @property
    def shown_accounts(self) -> list[AccountBalance]:
        return [self.chosen] if self.chosen else self.accounts

    @property
    def balances(self) -> dict[int, Decimal]:
        return {a.id: a.balance for a in self.accounts}

    @property
    def account_numbers(self) -> dict[int, str]:
        return {a.id: a.account_number for a in self.accounts}


_ACCOUNTS = ReadSQL(f"""
    SELECT a.id, a.account_number,
           (SELECT COALESCE(SUM(CASE WHEN l.direction = 'debit' THEN l.amount ELSE -l.amount END), 0)
              FROM ledger_entries l WHERE l.tenant_id = a.tenant_id AND l.account_id = a.id)
    FROM customer_accounts a
    WHERE a.tenant_id = :tenant_id AND a.id IN ({_MY_ACCOUNTS})
    ORDER BY a.account_number
""", columns={2: DECIMAL})

# `:account_id` NULL: every account of the customer (the cast tells PostgreSQL its type). Newest first.
_BILLS = ReadSQL(f"""
    SELECT b.id, b.number, b.account_id, b.kind, b.status, b.period_start, b.period_end, b.issued_at, b.due_date,
           b.currency, b.total_incl_tax,
           (SELECT COALESCE(SUM(pa.amount), 0) FROM payment_allocations pa
              JOIN payments py ON py.tenant_id = pa.tenant_id AND py.id = pa.payment_id
             WHERE pa.tenant_id = b.tenant_id AND pa.bill_id = b.id AND py.status = 'succeeded'),
           COUNT(*) OVER ()
    FROM bills b
    WHERE b.tenant_id = :tenant_id AND b.account_id IN ({_MY_ACCOUNTS}) AND b.status <> 'draft'
      AND (CAST(:account_id AS BIGINT) IS NULL OR b.account_id = :account_id)
    ORDER BY b.issued_at DESC, b.id DESC
    LIMIT :limit OFFSET :offset
""", columns={5: DATE, 6: DATE, 7: UTC_DATETIME, 8: DATE, 10: DECIMAL, 11: DECIMAL})

_COUNT_BILLS = ReadSQL(f"""
    SELECT COUNT(*) FROM bills b
    WHERE b.tenant_id = :tenant_id AND b.account_id IN ({_MY_ACCOUNTS}) AND b.status <> 'draft'
      AND (CAST(:account_id AS BIGINT) IS NULL OR b.account_id = :account_id)
""")

# The latest card payments (any status) and, for each, the bills it was allocated to (one row per bill).
_CARD_PAYMENTS = ReadSQL(f"""
    SELECT p.id, p.public_id, p.account_id, p.amount, p.currency, p.status, p.refunded_amount, p.created_at,
           p.failure_reason, b.number
    FROM (SELECT q.* FROM payments q
          WHERE q.tenant_id = :tenant_id AND q.account_id IN ({_MY_ACCOUNTS}) AND q.method = 'card'
            AND (CAST(:account_id AS BIGINT) IS NULL OR q.account_id = :account_id)
          ORDER BY q.created_at DESC, q.id DESC LIMIT :limit) p
    LEFT JOIN payment_allocations pa ON pa.tenant_id = p.tenant_id AND pa.payment_id = p.id
    LEFT JOIN bills b ON b.tenant_id = pa.tenant_id AND b.id = pa.bill_id
    ORDER BY p.created_at DESC, p.id DESC, b.number
""", columns={3: DECIMAL, 6: DECIMAL, 7: UTC_DATETIME})


class UnknownAccount(LookupError):
    """The account asked for is not one of the customer's (shown as missing, like another tenant's)."""


def bills_page(*, customer_user_id: int, account_number: str | None, requested: str | None, today: date,
               size: int) -> BillsPage:
    accounts = [AccountBalance(i, n, Decimal(b).quantize(CENT))
                for i, n, b in rows(_ACCOUNTS, user_id=customer_user_id)]
    chosen = None
    if account_number:
        chosen = next((a for a in accounts if a.account_number == account_number), None)
        if chosen is None:
            raise UnknownAccount(account_number)
    account_id = chosen.id if chosen else None
    number = requested_page(requested)
    found = _bills(customer_user_id, account_id, size=size, offset=(min(number, 10**6) - 1) * size)
    if found:
        total = found[0][-1]
    else:  # no bill at all, or a page past the end: count, then show the last page
        total = rows(_COUNT_BILLS, user_id=customer_user_id, account_id=account_id)[0][0]
    page = page_of(requested=requested, total=total, size=size)
    if not found and total:
        found = _bills(customer_user_id, account_id, size=size, offset=page.offset)
    views = []
    for *fields, paid, _count in found:
        bill = BillRow(*fields)
        paid = Decimal(paid).quantize(CENT)
        status, outstanding = payment_status(kind=bill.kind, status=bill.status, total=bill.total_incl_tax,
                                             paid=paid, due_date=bill.due_date, today=today)
        views.append(BillView(bill=bill, paid=paid, outstanding=outstanding, status=status))
    payments, payment_bills = _card_payments(customer_user_id, account_id)
    return BillsPage(accounts, chosen, page, views, payments, payment_bills)


def _bills(customer_user_id: int, account_id: int | None, *, size: int, offset: int) -> list[tuple]:
    return rows(_BILLS, user_id=customer_user_id, account_id=account_id, limit=size, offset=offset)


def _card_payments(customer_user_id: int, account_id: int | None) -> tuple[list[PaymentRow], dict[int, list[str]]]:
    payments: dict[int, PaymentRow] = {}
    numbers: dict[int, list[str]] = {}
    for *fields, bill_number in rows(_CARD_PAYMENTS, user_id=customer_user_id, account_id=account_id,
                                     limit=CARD_PAYMENTS_SHOWN):
        payment = payments.setdefault(fields[0], PaymentRow(*fields))
        if bill_number is not None:
            numbers.setdefault(payment.id, []).append(bill_number)
    return list(payments.values()), numbers
