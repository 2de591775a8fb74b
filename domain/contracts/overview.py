"""The portal home's summary of a customer's accounts, in a fixed number of statements whatever the utility's size.

The home page is the page every customer opens, so it reads with hand-written statements (`domain.readsql`):
no ORM entity is loaded. Each statement starts from the customer's own accesses (`customer_accesses` by
`(tenant_id, customer_user_id)`) and follows an index that starts with `(tenant_id, account_id)` or
`(tenant_id, register_id)`; "latest" rows come from correlated `ORDER BY ... LIMIT 1` subqueries, which
PostgreSQL answers with one backward index probe per account or register. Nothing here loops with a query.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from domain.readings.window import reading_window, window_is_open
from domain.readsql import CUSTOMER_ACCOUNT_IDS, DATE, DECIMAL, UTC_DATETIME, ReadSQL, rows

CENT = Decimal("0.01")
FAILED_PAYMENT_DAYS = 30


@dataclass(frozen=True)
class Holder:
    kind: str
    first_name: str | None
    last_name: str | None
    organisation_name: str | None

    @property
    def display_name(self) -> str:
        if self.kind == "organisation":
            return self.organisation_name or ""
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True)
class PremiseView:
    address_line1: str | None
    address_line2: str | None
    postcode: str | None
    city: str | None

    @property
    def one_line(self) -> str:
        parts = [self.address_line1, self.address_line2, f"{self.postcode} {self.city}"]
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class DeliveryPointView:
    identifier: str
    activity: str
    premise: PremiseView


@dataclass(frozen=True)
class ContractView:
    """What the home page needs of an active contract (and `reading_window` of it)."""

    id: int
    status: str
    start_date: date
    end_date: date | None
    billed_until: date | None
    billing_frequency: str
    delivery_point: DeliveryPointView
    plan: tuple[date, date] | None = None  # (start_on, true_up_on) of the contract's active budget plan, if any


@dataclass
class AccountView:
    id: int
    account_number: str
    holder: Holder
    contracts: list[ContractView] = field(default_factory=list)


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
    activity: str | None = None  # the contract's, for a run that bills an account's contracts separately


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
    is_smart: bool = False  # a smart meter sends its readings: the customer is not asked to read it


@dataclass(frozen=True)
class FailedPayment:
    public_id: str
    amount: Decimal
    currency: str
    created_at: datetime
    failure_reason: str | None


@dataclass
class AccountSummary:
    account: AccountView
    balance: Decimal
    due: Due | None
    latest_bills: list[LatestBill]  # the latest bill, and the others its billing run issued on the account
    readings: list[LatestReading] = field(default_factory=list)
    failed_payments: list[FailedPayment] = field(default_factory=list)

    @property
    def active_contracts(self) -> list[ContractView]:
        return [c for c in self.account.contracts if c.status == "active"]


@dataclass(frozen=True)
class Action:
    """Something on the home page that needs the customer: `kind` is reading_window, payment_failed, overdue or
    unread_reply; the other fields say what it is about."""

    kind: str
    account_number: str | None = None
    delivery_point_identifier: str | None = None
    last_day: date | None = None
    payment: FailedPayment | None = None
    request_reference: str | None = None
    request_subject: str | None = None
    due: Due | None = None


def actions_needed(summaries: list[AccountSummary], *, tenant, today: date, unread=()) -> list[Action]:
    """Reading windows open today whose meter (unless smart) has no reading yet within the window, payments that
    failed recently, bills left unpaid past their due date (unless a failed payment already asks for that money),
    and requests with a staff reply the customer has not read (`unread`: objects with `reference` and `subject`)."""
    actions: list[Action] = []
    for summary in summaries:
        number = summary.account.account_number
        for contract in summary.active_contracts:
            window = reading_window(contract, tenant, today, plan=contract.plan)
            if not window_is_open(window, today):
                continue
            identifier = contract.delivery_point.identifier
            registers = [r for r in summary.readings if r.delivery_point_identifier == identifier]
            if registers and all(r.read_on is not None and r.read_on >= window[0] for r in registers):
                continue  # already read in this window
            if registers and all(r.is_smart for r in registers):
                continue  # its smart meter sends the readings
            actions.append(Action("reading_window", account_number=number, delivery_point_identifier=identifier,
                                  last_day=window[1]))
        for payment in summary.failed_payments:
            actions.append(Action("payment_failed", account_number=number, payment=payment))
        if summary.due is not None and summary.due.overdue and not summary.failed_payments:
            actions.append(Action("overdue", account_number=number, due=summary.due))
    for request in unread:
        actions.append(Action("unread_reply", request_reference=request.reference,
                              request_subject=request.subject))
    return actions


@dataclass(frozen=True)
class UnreadReply:
    reference: str
    subject: str


@dataclass(frozen=True)
class HomePage:
    summaries: list[AccountSummary]
    actions: list[Action]


def home_page(*, customer_user_id: int, tenant, today: date, now: datetime) -> HomePage:
    """One summary per account the customer may see (balance, next due, latest bill and readings, failed
    payments) and what needs the customer's attention, in three statements."""
    accounts = _accounts(customer_user_id)
    if not accounts:
        return HomePage([], [])
    readings = _latest_readings(customer_user_id)
    money = _money_and_replies(customer_user_id, since=now - timedelta(days=FAILED_PAYMENT_DAYS))
    summaries = []
    for a in accounts:
        balance = money.balances.get(a.id, Decimal("0.00"))
        summaries.append(AccountSummary(
            account=a, balance=balance, due=next_due(balance=balance, open_bills=money.open_bills[a.id], today=today),
            latest_bills=sorted(money.latest_bills[a.id], key=lambda b: b.number), readings=readings[a.id],
            failed_payments=money.failed[a.id],
        ))
    return HomePage(summaries, actions_needed(summaries, tenant=tenant, today=today, unread=money.unread))


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


# --- statements ------------------------------------------------------------------------------------------------------
# Every statement is scoped by `(tenant_id, customer_user_id)` through the customer's accesses: no list of ids is
# passed around, and an account the customer may not see is never read. Three statements in all.

_MY_ACCOUNTS = CUSTOMER_ACCOUNT_IDS

_ACCOUNTS = ReadSQL(f"""
    SELECT a.id, a.account_number, p.kind, p.first_name, p.last_name, p.organisation_name,
           c.id, c.status, c.start_date, c.end_date, c.billed_until, c.billing_frequency,
           dp.identifier, dp.activity, pr.address_line1, pr.address_line2, pr.postcode, pr.city,
           pl.start_on, pl.true_up_on
    FROM customer_accounts a
    JOIN parties p ON p.tenant_id = a.tenant_id AND p.id = a.holder_party_id
    LEFT JOIN contracts c ON c.tenant_id = a.tenant_id AND c.account_id = a.id AND c.status = 'active'
    LEFT JOIN delivery_points dp ON dp.tenant_id = c.tenant_id AND dp.id = c.delivery_point_id
    LEFT JOIN premises pr ON pr.tenant_id = dp.tenant_id AND pr.id = dp.premise_id
    LEFT JOIN down_payment_plans pl ON pl.tenant_id = c.tenant_id AND pl.contract_id = c.id AND pl.status = 'active'
    WHERE a.tenant_id = :tenant_id AND a.id IN ({_MY_ACCOUNTS})
    ORDER BY a.account_number, c.id
""", columns={8: DATE, 9: DATE, 10: DATE, 18: DATE, 19: DATE})

# The latest reading (not rejected) of each register of each active contract's current meter.
_LATEST_READINGS = ReadSQL(f"""
    SELECT c.account_id, dp.identifier, dp.activity, m.serial_number, m.unit, r.code, r.label,
           (SELECT COUNT(*) FROM registers s WHERE s.tenant_id = m.tenant_id AND s.meter_id = m.id),
           mr.value, mr.read_on, mr.source, mr.status, m.is_smart
    FROM contracts c
    JOIN delivery_points dp ON dp.tenant_id = c.tenant_id AND dp.id = c.delivery_point_id
    JOIN meter_installations mi ON mi.tenant_id = dp.tenant_id AND mi.delivery_point_id = dp.id
                               AND mi.removed_on IS NULL
    JOIN meters m ON m.tenant_id = mi.tenant_id AND m.id = mi.meter_id
    JOIN registers r ON r.tenant_id = m.tenant_id AND r.meter_id = m.id
    LEFT JOIN meter_readings mr ON mr.tenant_id = r.tenant_id AND mr.register_id = r.id AND mr.id = (
        SELECT n.id FROM meter_readings n
        WHERE n.tenant_id = r.tenant_id AND n.register_id = r.id AND n.status <> 'rejected'
        ORDER BY n.read_on DESC, n.id DESC LIMIT 1)
    WHERE c.tenant_id = :tenant_id AND c.account_id IN ({_MY_ACCOUNTS}) AND c.status = 'active'
    ORDER BY c.account_id, dp.identifier, r.code
""", columns={8: DECIMAL, 9: DATE})

# What the home page says about money and requests: one statement of four parts (one round trip, not four), each
# row tagged with its part. Columns: kind, account_id, text1..text4, amount1, amount2, day, moment.
# - balance: per account, the balance (debits minus credits) and the latest issued bill;
# - open: the due date and amount still to pay of every issued bill not fully covered by succeeded payments;
# - failed: payments that failed since :since and were not followed by a payment that went through;
# - unread: requests with a staff reply (not an internal note) newer than the customer's last look.
_MONEY_AND_REPLIES = ReadSQL(f"""
    SELECT 'balance', a.id, b.public_id, b.number, b.kind, b.currency,
           (SELECT COALESCE(SUM(CASE WHEN l.direction = 'debit' THEN l.amount ELSE -l.amount END), 0)
              FROM ledger_entries l WHERE l.tenant_id = a.tenant_id AND l.account_id = a.id),
           b.total_incl_tax, b.due_date, b.issued_at, dp.activity
    FROM customer_accounts a
    LEFT JOIN bills latest ON latest.tenant_id = a.tenant_id AND latest.account_id = a.id AND latest.id = (
        SELECT n.id FROM bills n
        WHERE n.tenant_id = a.tenant_id AND n.account_id = a.id AND n.status = 'issued'
        ORDER BY n.issued_at DESC, n.id DESC LIMIT 1)
    LEFT JOIN bills b ON b.tenant_id = a.tenant_id AND b.account_id = a.id AND b.status = 'issued'
                     AND (b.id = latest.id OR b.billing_run_id = latest.billing_run_id)
    LEFT JOIN contracts c ON c.tenant_id = b.tenant_id AND c.id = b.contract_id
    LEFT JOIN delivery_points dp ON dp.tenant_id = c.tenant_id AND dp.id = c.delivery_point_id
    WHERE a.tenant_id = :tenant_id AND a.id IN ({_MY_ACCOUNTS})
  UNION ALL
    SELECT 'open', o.account_id, NULL, NULL, NULL, NULL, o.remaining, NULL, o.due_date, NULL, NULL FROM (
        SELECT b.account_id, b.due_date, b.total_incl_tax - (
                   SELECT COALESCE(SUM(pa.amount), 0) FROM payment_allocations pa
                   JOIN payments py ON py.tenant_id = pa.tenant_id AND py.id = pa.payment_id
                   WHERE pa.tenant_id = b.tenant_id AND pa.bill_id = b.id AND py.status = 'succeeded'
               ) AS remaining
        FROM bills b
        WHERE b.tenant_id = :tenant_id AND b.account_id IN ({_MY_ACCOUNTS})
          AND b.status = 'issued' AND b.kind <> 'credit_note'
    ) o WHERE o.remaining > 0
  UNION ALL
    SELECT 'failed', p.account_id, p.public_id, p.currency, p.failure_reason, NULL, p.amount, NULL, NULL,
           p.created_at, NULL
    FROM payments p
    WHERE p.tenant_id = :tenant_id AND p.account_id IN ({_MY_ACCOUNTS})
      AND p.status = 'failed' AND p.created_at >= :since
      AND NOT EXISTS (SELECT 1 FROM payments later
                      WHERE later.tenant_id = p.tenant_id AND later.account_id = p.account_id
                        AND later.status = 'succeeded' AND later.created_at > p.created_at)
  UNION ALL
    SELECT 'unread', sr.account_id, sr.reference, sr.subject, NULL, NULL, NULL, NULL, NULL, sr.opened_at, NULL
    FROM service_requests sr
    WHERE sr.tenant_id = :tenant_id AND sr.account_id IN ({_MY_ACCOUNTS})
      AND EXISTS (SELECT 1 FROM request_messages m
                  WHERE m.tenant_id = sr.tenant_id AND m.request_id = sr.id AND m.author_kind = 'staff'
                    AND NOT m.internal AND (sr.customer_seen_at IS NULL OR m.sent_at > sr.customer_seen_at))
""", columns={6: DECIMAL, 7: DECIMAL, 8: DATE, 9: UTC_DATETIME})


def _accounts(customer_user_id: int) -> list[AccountView]:
    accounts: dict[int, AccountView] = {}
    for (account_id, number, kind, first, last, organisation, contract_id, status, start, end, billed, frequency,
         identifier, activity, line1, line2, postcode, city, plan_start, true_up_on) in rows(
            _ACCOUNTS, user_id=customer_user_id):
        account = accounts.get(account_id)
        if account is None:
            account = accounts[account_id] = AccountView(account_id, number, Holder(kind, first, last, organisation))
        if contract_id is not None:
            point = DeliveryPointView(identifier, activity, PremiseView(line1, line2, postcode, city))
            account.contracts.append(ContractView(contract_id, status, start, end, billed, frequency, point,
                                                   (plan_start, true_up_on) if true_up_on else None))
    return list(accounts.values())


def _latest_readings(customer_user_id: int) -> dict[int, list[LatestReading]]:
    out: dict[int, list[LatestReading]] = defaultdict(list)
    for account_id, *rest in rows(_LATEST_READINGS, user_id=customer_user_id):
        out[account_id].append(LatestReading(*rest))
    return out


@dataclass
class _MoneyAndReplies:
    balances: dict[int, Decimal] = field(default_factory=dict)
    latest_bills: dict[int, list[LatestBill]] = field(default_factory=lambda: defaultdict(list))
    open_bills: dict[int, list[tuple[date | None, Decimal]]] = field(default_factory=lambda: defaultdict(list))
    failed: dict[int, list[FailedPayment]] = field(default_factory=lambda: defaultdict(list))
    unread: list[UnreadReply] = field(default_factory=list)


def _money_and_replies(customer_user_id: int, *, since: datetime) -> _MoneyAndReplies:
    out = _MoneyAndReplies()
    unread = []
    for kind, account_id, text1, text2, text3, text4, amount1, amount2, day, moment, activity in rows(
            _MONEY_AND_REPLIES, user_id=customer_user_id, since=since):
        if kind == "balance":
            out.balances[account_id] = Decimal(amount1 or 0).quantize(CENT)
            if text1 is not None:
                out.latest_bills[account_id].append(
                    LatestBill(text1, text2, text3, amount2, text4, moment, day, activity))
        elif kind == "open":
            out.open_bills[account_id].append((day, Decimal(amount1).quantize(CENT)))
        elif kind == "failed":
            out.failed[account_id].append(FailedPayment(text1, amount1, text2, moment, text3))
        else:
            unread.append((moment, UnreadReply(text1, text2)))
    for payments in out.failed.values():
        payments.sort(key=lambda p: p.created_at, reverse=True)
    out.unread = [reply for _, reply in sorted(unread, key=lambda pair: pair[0], reverse=True)]
    return out
