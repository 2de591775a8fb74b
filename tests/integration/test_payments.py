"""Card payments on the database: what may be paid (from our own bills and ledger), bill statuses, allocation."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from domain.accounting.models import LedgerEntry, Payment, PaymentAllocation
from domain.billing import bill_list
from domain.billing import bills as bill_service
from domain.billing.models import Bill
from domain.contracts import services as accounts
from domain.contracts.models import CustomerAccount
from domain.db import db, utcnow
from domain.identity.models import CustomerUser
from domain.payments import services as payments
from tenants.context import tenant_scope
from tests.factories import (
    BillFactory,
    BillLineFactory,
    CustomerAccessFactory,
    CustomerAccountFactory,
    LedgerEntryFactory,
    PaymentAllocationFactory,
    PaymentFactory,
)

TODAY = date(2026, 11, 28)


# --- helpers shared with the functional and webhook tests --------------------------------------------------

def account_of(account_number: str) -> CustomerAccount:
    return db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == account_number))


def user_of(email: str) -> CustomerUser:
    return db.session.scalar(select(CustomerUser).where(CustomerUser.email == email))


def add_bill(account_number: str, total: str, *, due: date | None = None, kind: str = "periodic",
             status: str = "issued", start: date = date(2026, 10, 1), ledger: bool = True) -> Bill:
    """An issued bill with one line and its ledger debit (a credit for a credit note), in the current tenant."""
    account = account_of(account_number)
    amount = Decimal(total)
    tax = (amount / Decimal("6")).quantize(Decimal("0.01"))
    bill = BillFactory(account=account, kind=kind, status=status, period_start=start,
                       period_end=start + timedelta(days=30), due_date=due or TODAY + timedelta(days=14),
                       total_incl_tax=amount, total_tax=tax, total_excl_tax=amount - tax)
    BillLineFactory(bill=bill, amount=amount - tax, tax_rate=Decimal("0.2000"))
    if ledger:
        LedgerEntryFactory(account=account, bill_id=bill.id, amount=amount,
                           direction="credit" if kind == "credit_note" else "debit")
    return bill


def pay_allocated(bill: Bill, amount: str, *, status: str = "succeeded") -> Payment:
    payment = PaymentFactory(account=bill.account, amount=Decimal(amount), status=status)
    PaymentAllocationFactory(payment=payment, bill=bill, amount=Decimal(amount))
    if status == "succeeded":
        LedgerEntryFactory(account=bill.account, direction="credit", amount=Decimal(amount), payment_id=payment.id)
    return payment


def balance_of(account_number: str) -> Decimal:
    account = account_of(account_number)
    return accounts.balances(account_ids=[account.id])[account.id]


def book_factory_payment(data) -> None:
    """populate_tenant pays its bill without a ledger credit: book it, so the balance matches the bills."""
    with tenant_scope(data.tenant_id):
        account = account_of(data.account_number)
        payment = db.session.scalar(select(Payment).where(Payment.account_id == account.id))
        LedgerEntryFactory(account=account, direction="credit", amount=payment.amount, payment_id=payment.id)
        db.session.commit()


@pytest.fixture
def alpha(ctx, two_tenants):
    a, b = two_tenants
    book_factory_payment(a)
    with tenant_scope(a.tenant_id):
        yield a, b


# --- statuses ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "status", "total", "paid", "due", "expected"), [
    ("periodic", "issued", "100.00", "0", TODAY, "due"),
    ("periodic", "issued", "100.00", "40.00", TODAY + timedelta(days=1), "partly_paid"),
    ("periodic", "issued", "100.00", "100.00", TODAY - timedelta(days=30), "paid"),
    ("periodic", "issued", "100.00", "40.00", TODAY - timedelta(days=1), "overdue"),
    ("periodic", "cancelled", "100.00", "0", TODAY - timedelta(days=1), "cancelled"),
    ("credit_note", "issued", "100.00", "0", TODAY, "credit_note"),
    ("corrective", "issued", "-20.00", "0", TODAY, "credit_note"),
])
def test_payment_status_of_a_bill(kind, status, total, paid, due, expected):
    result, outstanding = bill_service.payment_status(kind=kind, status=status, total=Decimal(total),
                                                      paid=Decimal(paid), due_date=due, today=TODAY)

    assert result == expected
    if expected in ("due", "partly_paid", "overdue"):
        assert outstanding == Decimal(total) - Decimal(paid)
    else:
        assert outstanding == 0


def test_only_succeeded_payments_count_towards_a_bill(alpha):
    a, _b = alpha
    bill = add_bill(a.account_number, "100.00")
    pay_allocated(bill, "30.00")
    pay_allocated(bill, "50.00", status="pending")
    pay_allocated(bill, "70.00", status="failed")

    view = bill_service.bill_of_customer(customer_user_id=user_of(a.customer_email).id, number=bill.number,
                                         today=TODAY)

    assert (view.paid, view.outstanding, view.status) == (Decimal("30.00"), Decimal("70.00"), "partly_paid")


def test_bills_of_customer_cost_the_same_queries_for_one_bill_or_thirty(alpha):
    a, _b = alpha
    user_id = user_of(a.customer_email).id
    statements = []

    def count(*_args):
        statements.append(1)

    def queries() -> int:
        statements.clear()
        db.session.expire_all()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            page = bill_list.bills_page(customer_user_id=user_id, account_number=None, requested=None, today=TODAY,
                                        size=100)
            [(page.account_numbers[v.bill.account_id], v.status) for v in page.views]
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    few = queries()
    for month in range(30):
        bill = add_bill(a.account_number, "10.00", start=date(2020, 1, 1) + timedelta(days=31 * month))
        if month % 3 == 0:
            pay_allocated(bill, "4.00")
    many = queries()

    assert many == few


def test_bills_of_customer_are_newest_first_and_never_another_customers(alpha):
    a, _b = alpha
    stranger = CustomerAccountFactory()
    foreign = add_bill(stranger.account_number, "10.00")
    add_bill(a.account_number, "20.00")
    draft = add_bill(a.account_number, "30.00", status="draft")

    views = bill_list.bills_page(customer_user_id=user_of(a.customer_email).id, account_number=None,
                                 requested=None, today=TODAY, size=100).views

    numbers = [v.bill.number for v in views]
    assert foreign.number not in numbers and draft.number not in numbers
    issued = [v.bill.issued_at for v in views]
    assert issued == sorted(issued, reverse=True)


# --- what may be paid ----------------------------------------------------------------------------------------

def test_selected_bills_are_paid_for_what_is_left_on_them(alpha):
    a, _b = alpha
    first = add_bill(a.account_number, "100.00")
    second = add_bill(a.account_number, "45.50", start=date(2026, 8, 1))
    pay_allocated(first, "30.00")

    plan = payments.plan_payment(customer_user_id=user_of(a.customer_email).id, currency="EUR", today=TODAY,
                                 bill_numbers=[first.number, second.number, first.number])

    assert plan.amount == Decimal("115.50")
    assert {bill.number: amount for bill, amount in plan.allocations} == {
        first.number: Decimal("70.00"), second.number: Decimal("45.50")}


@pytest.mark.parametrize("which", ["foreign", "unknown", "paid", "cancelled", "credit_note"])
def test_a_bill_that_is_not_open_and_ours_refuses_the_whole_choice(alpha, which):
    a, _b = alpha
    mine = add_bill(a.account_number, "100.00")
    other = {
        "foreign": lambda: add_bill(CustomerAccountFactory().account_number, "10.00").number,
        "unknown": lambda: "F2099-999999",
        "paid": lambda: a.bill_number,  # the factory's bill, paid in full
        "cancelled": lambda: add_bill(a.account_number, "10.00", status="cancelled").number,
        "credit_note": lambda: add_bill(a.account_number, "10.00", kind="credit_note").number,
    }[which]()

    with pytest.raises(payments.PaymentRefused) as refused:
        payments.plan_payment(customer_user_id=user_of(a.customer_email).id, currency="EUR", today=TODAY,
                              bill_numbers=[mine.number, other])

    assert refused.value.code == "unknown_bill"


def test_bills_of_two_accounts_are_paid_separately(alpha):
    a, _b = alpha
    user = user_of(a.customer_email)
    holiday = CustomerAccountFactory()
    CustomerAccessFactory(user=user, account=holiday)
    home_bill = add_bill(a.account_number, "10.00")
    holiday_bill = add_bill(holiday.account_number, "20.00")

    with pytest.raises(payments.PaymentRefused) as refused:
        payments.plan_payment(customer_user_id=user.id, currency="EUR", today=TODAY,
                              bill_numbers=[home_bill.number, holiday_bill.number])

    assert refused.value.code == "mixed_accounts"


def test_whole_balance_settles_the_oldest_bills_first(alpha):
    a, _b = alpha
    older = add_bill(a.account_number, "80.00", due=TODAY - timedelta(days=20), start=date(2026, 7, 1))
    newer = add_bill(a.account_number, "50.00", due=TODAY + timedelta(days=10))
    # A credit (e.g. a bank transfer not allocated) lowers the balance below the bills' total.
    LedgerEntryFactory(account=account_of(a.account_number), direction="credit", amount=Decimal("30.00"))

    plan = payments.plan_payment(customer_user_id=user_of(a.customer_email).id, currency="EUR", today=TODAY,
                                 account_number=a.account_number)

    assert plan.amount == balance_of(a.account_number) == Decimal("100.00")
    assert [(bill.number, amount) for bill, amount in plan.allocations] == [
        (older.number, Decimal("80.00")), (newer.number, Decimal("20.00"))]


def test_whole_balance_of_an_account_in_credit_is_refused(alpha):
    a, _b = alpha
    LedgerEntryFactory(account=account_of(a.account_number), direction="credit", amount=Decimal("10.00"))

    with pytest.raises(payments.PaymentRefused) as refused:
        payments.plan_payment(customer_user_id=user_of(a.customer_email).id, currency="EUR", today=TODAY,
                              account_number=a.account_number)

    assert refused.value.code == "nothing_due"


def test_whole_balance_of_someone_elses_account_is_refused(alpha):
    a, _b = alpha
    stranger = CustomerAccountFactory()
    add_bill(stranger.account_number, "10.00")

    with pytest.raises(payments.PaymentRefused) as refused:
        payments.plan_payment(customer_user_id=user_of(a.customer_email).id, currency="EUR", today=TODAY,
                              account_number=stranger.account_number)

    assert refused.value.code == "unknown_account"


# --- fulfilment ----------------------------------------------------------------------------------------------

def _started(a, numbers: list[str]) -> Payment:
    user = user_of(a.customer_email)
    plan = payments.plan_payment(customer_user_id=user.id, currency="EUR", today=TODAY, bill_numbers=numbers)
    return payments.start_payment(plan=plan, provider="sandbox", customer_user_id=user.id, now=utcnow())


def test_a_succeeded_payment_credits_the_ledger_and_pays_its_bills(alpha):
    a, _b = alpha
    bill = add_bill(a.account_number, "120.00")
    before = balance_of(a.account_number)
    payment = _started(a, [bill.number])

    payments.mark_succeeded(payment=payment, now=utcnow(), today=TODAY)

    assert balance_of(a.account_number) == before - Decimal("120.00")
    credit = db.session.scalar(select(LedgerEntry).where(LedgerEntry.payment_id == payment.id))
    assert (credit.direction, credit.amount) == ("credit", Decimal("120.00"))
    view = bill_service.bill_of_customer(customer_user_id=user_of(a.customer_email).id, number=bill.number,
                                         today=TODAY)
    assert view.status == "paid"


def test_two_payments_of_the_same_bill_never_over_allocate_it(alpha):
    a, _b = alpha
    bill = add_bill(a.account_number, "75.00")
    first = _started(a, [bill.number])
    second = _started(a, [bill.number])

    payments.mark_succeeded(payment=first, now=utcnow(), today=TODAY)
    payments.mark_succeeded(payment=second, now=utcnow(), today=TODAY)

    allocated = db.session.scalar(select(func.sum(PaymentAllocation.amount)).where(
        PaymentAllocation.bill_id == bill.id))
    assert allocated == Decimal("75.00")
    assert db.session.scalar(select(func.count(PaymentAllocation.id)).where(
        PaymentAllocation.payment_id == second.id)) == 0
    # The second payment is on the account as credit.
    assert balance_of(a.account_number) == Decimal("-75.00")


def test_a_payment_whose_bill_was_partly_paid_meanwhile_keeps_the_rest_as_credit(alpha):
    a, _b = alpha
    bill = add_bill(a.account_number, "100.00")
    payment = _started(a, [bill.number])
    pay_allocated(bill, "40.00")  # e.g. a bank transfer matched while the checkout was open

    payments.mark_succeeded(payment=payment, now=utcnow(), today=TODAY)

    allocation = db.session.scalar(select(PaymentAllocation).where(PaymentAllocation.payment_id == payment.id))
    assert allocation.amount == Decimal("60.00")


def test_status_machine_refuses_to_fail_a_succeeded_payment(alpha):
    a, _b = alpha
    payment = _started(a, [add_bill(a.account_number, "10.00").number])
    payments.mark_succeeded(payment=payment, now=utcnow(), today=TODAY)

    with pytest.raises(ValueError):
        payments.mark_ended(payment=payment, status="cancelled", reason="expired")
    with pytest.raises(ValueError):
        payments.mark_succeeded(payment=payment, now=utcnow(), today=TODAY)

    assert payment.status == "succeeded"
