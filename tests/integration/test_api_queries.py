"""The integration API's read queries on the database: a page walk in change order sees every row exactly once,
rows changing at the same moment included; `updated_since` is inclusive; a page is a handful of statements
whatever its size; another tenant's rows are never seen."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timedelta, UTC
from decimal import Decimal

import pytest
from sqlalchemy import event, update

from domain.accounting import api_queries as accounting
from domain.accounting.models import Payment
from domain.billing import api_queries as billing
from domain.billing.models import Bill
from domain.contracts import api_queries as customers
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.requests import api_queries as requests_q
from domain.sites import api_queries as sites
from tenants.context import tenant_scope
from tests.factories import (
    BillFactory,
    BillLineFactory,
    ContactPointFactory,
    ContractFactory,
    CustomerAccountFactory,
    DeliveryPointFactory,
    LedgerEntryFactory,
    MeterFactory,
    MeterInstallationFactory,
    PaymentAllocationFactory,
    PaymentFactory,
    RegisterFactory,
    RequestMessageFactory,
    ServiceRequestFactory,
)

T1 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
T2 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 1)


@pytest.fixture
def tenants(ctx, make_tenant):
    return make_tenant("synca").id, make_tenant("syncb").id


@contextmanager
def statements():
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if "set_config('app.tenant_id'" not in statement:  # PostgreSQL's tenant setting at each transaction
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _set_times(model, rows, moment) -> None:
    db.session.execute(update(model).where(model.id.in_([r.id for r in rows])).values(updated_at=moment))
    db.session.commit()


def _walk(page_of, limit: int, **kwargs) -> list[list]:
    pages, after = [], None
    while True:
        page = page_of(after=after, limit=limit, **kwargs)
        pages.append(page.items)
        if page.next_position is None:
            return pages
        after = page.next_position


def _bills(count: int, account=None) -> list[Bill]:
    account = account or CustomerAccountFactory()
    bills = []
    for _ in range(count):
        bill = BillFactory(account=account)
        BillLineFactory(bill=bill, position=1)
        BillLineFactory(bill=bill, position=2, component="standing", description="Standing charge",
                        quantity=Decimal("30.000"), unit="day", amount=Decimal("13.50"))
        bills.append(bill)
    db.session.commit()
    return bills


def test_a_walk_sees_every_bill_once_with_ties_in_updated_at(tenants):
    with tenant_scope(tenants[0]):
        bills = _bills(7)
        _set_times(Bill, bills[:3], T1)
        _set_times(Bill, bills[3:], T2)

        pages = _walk(billing.bill_page, 2, updated_since=None, today=TODAY)

    numbers = [b.number for page in pages for b in page]
    assert sorted(numbers) == sorted(b.number for b in bills)
    assert len(numbers) == len(set(numbers))
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    assert all(len(b.lines) == 2 for page in pages for b in page)


def test_updated_since_is_inclusive_and_leaves_out_older_changes(tenants):
    with tenant_scope(tenants[0]):
        bills = _bills(3)
        _set_times(Bill, bills[:1], T1)
        _set_times(Bill, bills[1:], T2)

        page = billing.bill_page(after=None, updated_since=T2, limit=100, today=TODAY)
        later = billing.bill_page(after=None, updated_since=T2 + timedelta(microseconds=1), limit=100, today=TODAY)

    assert {b.number for b in page.items} == {b.number for b in bills[1:]}
    assert later.items == []


def test_a_page_of_bills_with_their_lines_is_a_handful_of_statements(tenants):
    with tenant_scope(tenants[0]):
        _bills(30)
        db.session.expire_all()

        with statements() as seen:
            page = billing.bill_page(after=None, updated_since=None, limit=100, today=TODAY)

    assert len(page.items) == 30
    assert len(seen) <= 4


def test_a_bill_shows_its_lines_and_what_was_paid(tenants):
    with tenant_scope(tenants[0]):
        bill = _bills(1)[0]
        PaymentAllocationFactory(payment=PaymentFactory(account_id=bill.account_id), bill=bill,
                                 amount=Decimal("20.00"))
        db.session.commit()

        record = billing.bill_record(number=bill.number, today=TODAY)

    assert record.paid == Decimal("20.00")
    assert record.outstanding == Decimal("40.00")
    assert record.payment_status == "partly_paid"
    assert [line.position for line in record.lines] == [1, 2]


def test_drafts_are_not_listed(tenants):
    with tenant_scope(tenants[0]):
        BillFactory(status="draft", number=None)
        db.session.commit()

        page = billing.bill_page(after=None, updated_since=None, limit=100, today=TODAY)

    assert page.items == []


def test_accounts_show_holder_contact_points_and_contracts_in_a_few_statements(tenants):
    with tenant_scope(tenants[0]):
        for n in range(12):
            account = CustomerAccountFactory()
            ContactPointFactory(party_id=account.holder_party_id, value=f"c{n}@example.test")
            ContactPointFactory(party_id=account.holder_party_id, kind="postal", value=None,
                                address_line1="1 rue de la Paix", postcode="75002", city="Paris", is_primary=False)
            ContractFactory(account=account)
        db.session.commit()
        _set_times(CustomerAccount, db.session.query(CustomerAccount).all(), T1)
        db.session.expire_all()

        with statements() as seen:
            pages = _walk(customers.account_page, 5, updated_since=None)

    records = [r for page in pages for r in page]
    assert len({r.account_number for r in records}) == 12
    assert len(seen) <= 3 * 3
    first = records[0]
    assert {c.kind for c in first.holder.contact_points} == {"email", "postal"}
    assert len(first.contracts) == 1


def test_one_account_by_number_and_narrowed_to_numbers(tenants):
    with tenant_scope(tenants[0]):
        wanted, other = CustomerAccountFactory(), CustomerAccountFactory()
        db.session.commit()

        record = customers.account_record(account_number=wanted.account_number)
        page = customers.account_page(after=None, updated_since=None, limit=10,
                                      account_numbers=[wanted.account_number])
        none = customers.account_page(after=None, updated_since=None, limit=10, account_numbers=[])

    assert record.account_number == wanted.account_number
    assert [r.account_number for r in page.items] == [wanted.account_number]
    assert none.items == []
    assert other.account_number != wanted.account_number


def test_points_of_delivery_show_meters_and_registers(tenants):
    with tenant_scope(tenants[0]):
        point = DeliveryPointFactory()
        old, new = MeterFactory(), MeterFactory()
        RegisterFactory(meter=new, code="PEAK", label="Peak")
        RegisterFactory(meter=new, code="OFFPEAK", label="Off-peak")
        MeterInstallationFactory(meter=old, delivery_point=point, installed_on=date(2020, 1, 1),
                                 removed_on=date(2024, 1, 1))
        MeterInstallationFactory(meter=new, delivery_point=point, installed_on=date(2024, 1, 1))
        db.session.commit()

        record = sites.delivery_point_record(identifier=point.identifier)
        page = sites.delivery_point_page(after=None, updated_since=None, limit=10)

    assert [m.serial_number for m in record.meters] == [old.serial_number, new.serial_number]
    assert [r.code for r in record.meters[1].registers] == ["PEAK", "OFFPEAK"]
    assert record.unit == "kWh"
    assert [p.identifier for p in page.items] == [point.identifier]


def test_payments_with_allocations_ledger_and_balance(tenants):
    with tenant_scope(tenants[0]):
        account = CustomerAccountFactory()
        bill = BillFactory(account=account)
        payment = PaymentFactory(account=account, amount=Decimal("60.00"))
        PaymentAllocationFactory(payment=payment, bill=bill)
        LedgerEntryFactory(account=account, bill_id=bill.id, amount=Decimal("60.00"), direction="debit")
        LedgerEntryFactory(account=account, payment_id=payment.id, amount=Decimal("45.50"), direction="credit",
                           description="Payment")
        db.session.commit()
        _set_times(Payment, [payment], T1)

        payments = accounting.payment_page(after=None, updated_since=T1, limit=10)
        ledger = _walk(accounting.ledger_page, 1, account_id=account.id, updated_since=None)
        balance = accounting.balance_of(account_id=account.id, account_number=account.account_number)

    assert [a.bill_number for a in payments.items[0].allocations] == [bill.number]
    assert sum(len(p) for p in ledger) == 2
    assert ledger[1][0].payment_public_id == payment.public_id
    assert balance.balance == Decimal("14.50")


def test_requests_show_only_what_the_customer_sees(tenants):
    with tenant_scope(tenants[0]):
        request = ServiceRequestFactory()
        RequestMessageFactory(request=request, body="Hello")
        RequestMessageFactory(request=request, author_kind="staff", internal=True, body="Internal note")
        db.session.commit()

        record = requests_q.request_record(reference=request.reference)
        page = requests_q.request_page(after=None, updated_since=None, limit=10, status="open")

    assert [m.body for m in record.messages] == ["Hello"]
    assert [r.reference for r in page.items] == [request.reference]


def test_another_tenants_rows_are_never_seen(tenants):
    a, b = tenants
    with tenant_scope(b):
        theirs = _bills(1)[0]
        their_request = ServiceRequestFactory(account_id=theirs.account_id)
        their_payment = PaymentFactory(account_id=theirs.account_id)
        their_point = DeliveryPointFactory()
        their_contract = ContractFactory(account_id=theirs.account_id)
        db.session.commit()
        numbers = (theirs.number, their_request.reference, their_payment.public_id, their_point.identifier,
                   their_contract.contract_number, their_contract.account.account_number)
    with tenant_scope(a):
        _bills(1)
        assert billing.bill_record(number=numbers[0], today=TODAY) is None
        assert requests_q.request_record(reference=numbers[1]) is None
        assert accounting.payment_record(public_id=numbers[2]) is None
        assert sites.delivery_point_record(identifier=numbers[3]) is None
        assert customers.contract_record(contract_number=numbers[4]) is None
        assert customers.account_record(account_number=numbers[5]) is None
        assert numbers[0] not in {b.number for b in billing.bill_page(
            after=None, updated_since=None, limit=100, today=TODAY).items}
        assert customers.contract_page(after=None, updated_since=None, limit=100).items == []


def test_every_list_page_is_a_fixed_number_of_statements_whatever_its_size(tenants):
    with tenant_scope(tenants[0]):
        for _ in range(15):
            account = CustomerAccountFactory()
            point = DeliveryPointFactory()
            meter = MeterFactory()
            RegisterFactory(meter=meter)
            MeterInstallationFactory(meter=meter, delivery_point=point)
            ContractFactory(account=account, delivery_point=point)
            PaymentAllocationFactory(payment=PaymentFactory(account=account), bill=BillFactory(account=account))
            RequestMessageFactory(request=ServiceRequestFactory(account=account))
        db.session.commit()
        db.session.expire_all()
        lists = {
            "accounts": (lambda: customers.account_page(after=None, updated_since=None, limit=100), 3),
            "contracts": (lambda: customers.contract_page(after=None, updated_since=None, limit=100), 1),
            "points": (lambda: sites.delivery_point_page(after=None, updated_since=None, limit=100), 3),
            "payments": (lambda: accounting.payment_page(after=None, updated_since=None, limit=100), 2),
            "requests": (lambda: requests_q.request_page(after=None, updated_since=None, limit=100), 2),
        }

        counted = {}
        for name, (page_of, _most) in lists.items():
            with statements() as seen:
                assert len(page_of().items) >= 15
            counted[name] = len(seen)

    assert counted == {name: most for name, (_page, most) in lists.items()}
