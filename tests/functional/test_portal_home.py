"""Journey 2, Home: balance and what is due when, the latest bill, the latest reading per meter, and what needs
the customer's action; tenant isolation; a number of queries that does not grow with the customer's history."""
from __future__ import annotations

from datetime import date, datetime, timedelta, UTC
from decimal import Decimal

import pytest
from sqlalchemy import event

from domain.db import db, utcnow
from tenants.context import tenant_scope
from tests import factories as f

TODAY = date(2026, 11, 20)


@pytest.fixture
def today(monkeypatch):
    """The home page's "today" (in the tenant's zone) pinned to TODAY."""
    import portal.views

    monkeypatch.setattr(portal.views, "_today", lambda: TODAY)
    return TODAY


def _customer(app, tenant, *, billed_until=date(2026, 11, 1), email="home@example.test"):
    """A customer with one account, one electricity contract (meter with one register) and no history."""
    with app.app_context(), tenant_scope(tenant.id):
        party = f.PartyFactory(first_name="Hélène", last_name="Garnier")
        account = f.CustomerAccountFactory(holder=party, account_number="C-HOME-1")
        dp = f.DeliveryPointFactory(identifier="PDL-HOME-0001")
        meter = f.MeterFactory(serial_number="MTR-HOME-1")
        register = f.RegisterFactory(meter=meter)
        f.MeterInstallationFactory(meter=meter, delivery_point=dp)
        contract = f.ContractFactory(account=account, delivery_point=dp, billing_frequency="monthly",
                                     start_date=date(2025, 1, 1), billed_until=billed_until)
        user = f.CustomerUserFactory(party=party, email=email)
        f.CustomerAccessFactory(user=user, account=account)
        db.session.commit()
        return {"account_id": account.id, "register_id": register.id, "email": email, "contract": contract}


def _bill(account_id, *, number, issued, due, total, paid=Decimal("0")):
    bill = f.BillFactory(account_id=account_id, number=number, issued_at=datetime(*issued, 8, 0, tzinfo=UTC),
                         period_start=date(*issued) - timedelta(days=30), period_end=date(*issued),
                         due_date=due, total_incl_tax=total)
    f.LedgerEntryFactory(account_id=account_id, bill_id=bill.id, direction="debit", amount=total)
    if paid:
        payment = f.PaymentFactory(account_id=account_id, amount=paid, status="succeeded",
                                   created_at=datetime(*issued, 9, 0, tzinfo=UTC))
        f.PaymentAllocationFactory(payment_id=payment.id, bill_id=bill.id, amount=paid)
        f.LedgerEntryFactory(account_id=account_id, payment_id=payment.id, direction="credit", amount=paid)
    return bill


def _page(browser, slug, email) -> str:
    portal = browser(slug)
    portal.login(email)
    response = portal.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_home_shows_balance_next_due_latest_bill_and_latest_reading(app, make_tenant, browser, today):
    tenant = make_tenant("homeco")
    c = _customer(app, tenant)
    with app.app_context(), tenant_scope(tenant.id):
        _bill(c["account_id"], number="F2026-000101", issued=(2026, 10, 1), due=date(2026, 10, 15),
              total=Decimal("80.00"), paid=Decimal("80.00"))
        _bill(c["account_id"], number="F2026-000202", issued=(2026, 11, 2), due=date(2026, 11, 30),
              total=Decimal("73.41"))
        f.MeterReadingFactory(register_id=c["register_id"], read_on=date(2026, 9, 30), value=Decimal("4100.000"),
                              source="agent")
        f.MeterReadingFactory(register_id=c["register_id"], read_on=date(2026, 10, 31), value=Decimal("4321.000"),
                              source="smart_meter")
        f.MeterReadingFactory(register_id=c["register_id"], read_on=date(2026, 11, 5), value=Decimal("9999.000"),
                              source="customer", status="rejected")
        db.session.commit()

    text = _page(browser, tenant.slug, c["email"])

    assert "Hello Hélène Garnier" in text
    assert "€73.41" in text and "to pay" in text  # balance: 80 + 73.41 debits - 80 paid
    assert "Next payment: €73.41 by 30 Nov 2026" in text
    assert "Bill F2026-000202 of 2 Nov 2026" in text and "Due by 30 Nov 2026" in text
    assert "F2026-000101" not in text
    assert "4,321\u00a0kWh" in text and "31 Oct 2026" in text and "smart meter" in text
    assert "9,999" not in text and "4,100" not in text  # a rejected reading is not the latest; older ones neither


def test_a_run_that_bills_electricity_and_gas_separately_shows_both_latest_bills(app, make_tenant, browser, today):
    from domain.billing.run_models import BillingRun

    tenant = make_tenant("homeco")
    c = _customer(app, tenant)
    with app.app_context(), tenant_scope(tenant.id):
        gas_point = f.DeliveryPointFactory(identifier="PCE-HOME-0002", activity="gas")
        gas = f.ContractFactory(account_id=c["account_id"], delivery_point=gas_point, start_date=date(2025, 1, 1))
        runs = []
        for day in (date(2026, 10, 1), date(2026, 11, 1)):
            run = BillingRun(billing_date=day, mode="issue", status="completed", created_by="test",
                             created_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC))
            db.session.add(run)
            runs.append(run)
        db.session.flush()
        for run, numbers in ((runs[0], ("F2026-000501", "F2026-000502")), (runs[1], ("F2026-000601", "F2026-000602"))):
            day = run.billing_date
            for contract, number, total in ((c["contract"], numbers[0], Decimal("61.20")),
                                            (gas, numbers[1], Decimal("38.75"))):
                bill = _bill(c["account_id"], number=number, issued=(day.year, day.month, 2),
                             due=day + timedelta(days=16), total=total)
                bill.contract_id, bill.billing_run_id = contract.id, run.id
        db.session.commit()

    text = _page(browser, tenant.slug, c["email"])

    assert "Latest bills" in text
    assert "Electricity: <strong>€61.20</strong>" in text and "Gas: <strong>€38.75</strong>" in text
    assert "See bill F2026-000601" in text and "See bill F2026-000602" in text
    assert "F2026-000501" not in text and "F2026-000502" not in text  # the month before
    assert "Due by 17 Nov 2026" in text


def test_overdue_amount_is_shown_with_the_date_it_was_due(app, make_tenant, browser, today):
    tenant = make_tenant("homeco")
    c = _customer(app, tenant)
    with app.app_context(), tenant_scope(tenant.id):
        _bill(c["account_id"], number="F2026-000301", issued=(2026, 9, 1), due=date(2026, 9, 15),
              total=Decimal("50.00"), paid=Decimal("20.00"))
        _bill(c["account_id"], number="F2026-000302", issued=(2026, 10, 1), due=date(2026, 10, 15),
              total=Decimal("40.00"))
        db.session.commit()

    text = _page(browser, tenant.slug, c["email"])

    assert "€70.00 overdue since 15 Sept 2026" in text
    attention = text[text.index('<section class="attention"'):text.index("</section>")]
    assert "A bill is overdue" in attention
    assert "€70.00 on account C-HOME-1 was due on 15 Sept 2026." in attention
    assert 'href="/pay?account=C-HOME-1"' in attention  # not only the balance box's button


def test_account_in_credit_has_nothing_due(app, make_tenant, browser, today):
    tenant = make_tenant("homeco")
    c = _customer(app, tenant)
    with app.app_context(), tenant_scope(tenant.id):
        f.LedgerEntryFactory(account_id=c["account_id"], direction="credit", amount=Decimal("12.50"))
        db.session.commit()

    text = _page(browser, tenant.slug, c["email"])

    assert "€12.50" in text and "in credit" in text
    assert "Next payment" not in text and "overdue" not in text
    assert "No bill yet." in text and "No reading yet." in text


def test_failed_payment_needs_action_until_a_payment_goes_through(app, make_tenant, browser, today):
    tenant = make_tenant("homeco")
    c = _customer(app, tenant, billed_until=date(2027, 1, 1))  # no reading window now
    with app.app_context(), tenant_scope(tenant.id):
        f.PaymentFactory(account_id=c["account_id"], amount=Decimal("73.41"), status="failed",
                         failure_reason="Card declined", created_at=utcnow() - timedelta(days=2))
        f.PaymentFactory(account_id=c["account_id"], amount=Decimal("11.11"), status="failed",
                         created_at=utcnow() - timedelta(days=45))
        db.session.commit()

    text = _page(browser, tenant.slug, c["email"])

    assert "Needs your attention" in text
    assert "A payment did not go through" in text and "€73.41" in text and "Card declined" in text
    assert "€11.11" not in text  # failed more than 30 days ago

    with app.app_context(), tenant_scope(tenant.id):
        f.PaymentFactory(account_id=c["account_id"], amount=Decimal("73.41"), status="succeeded",
                         created_at=utcnow() - timedelta(days=1))
        db.session.commit()
    text = browser(tenant.slug).get("/").get_data(as_text=True)

    assert "A payment did not go through" not in text and "Needs your attention" not in text


def test_reading_window_needs_action_until_the_meter_is_read(app, make_tenant, browser, today, monkeypatch):
    # Monthly contract billed until 1 Nov: the period [1 Nov, 1 Dec) has its 7-day window 24-30 Nov.
    tenant = make_tenant("homeco")
    c = _customer(app, tenant, billed_until=date(2026, 11, 1))
    with app.app_context(), tenant_scope(tenant.id):
        f.MeterReadingFactory(register_id=c["register_id"], read_on=date(2026, 10, 31), value=Decimal("4321.000"))
        db.session.commit()
    import portal.views

    text = _page(browser, tenant.slug, c["email"])
    assert "Time to read your meter" not in text  # 20 Nov: the window has not opened

    monkeypatch.setattr(portal.views, "_today", lambda: date(2026, 11, 25))
    text = browser(tenant.slug).get("/").get_data(as_text=True)
    assert "Time to read your meter" in text
    assert "PDL-HOME-0001" in text and "by 30 Nov 2026" in text

    with app.app_context(), tenant_scope(tenant.id):
        f.MeterReadingFactory(register_id=c["register_id"], read_on=date(2026, 11, 25), value=Decimal("4400.000"))
        db.session.commit()
    text = browser(tenant.slug).get("/").get_data(as_text=True)
    assert "Time to read your meter" not in text  # read within the window


def test_budget_billing_customer_is_asked_to_read_within_the_plans_year(app, make_tenant, browser, today,
                                                                        monkeypatch):
    # A budget plan bills the contract until its true-up (1 Dec 2027): the monthly window still opens this month,
    # on the home page and the readings page, not in December 2027.
    tenant = make_tenant("homeco")
    c = _customer(app, tenant, billed_until=date(2027, 12, 1))
    with app.app_context(), tenant_scope(tenant.id):
        f.DownPaymentPlanFactory(contract=c["contract"], start_on=date(2026, 11, 1), true_up_on=date(2027, 12, 1))
        db.session.commit()
    import portal.reading_views
    import portal.views

    monkeypatch.setattr(portal.views, "_today", lambda: date(2026, 11, 25))
    text = _page(browser, tenant.slug, c["email"])
    assert "Time to read your meter" in text and "by 30 Nov 2026" in text

    monkeypatch.setattr(portal.reading_views, "_today", lambda: date(2026, 11, 25))
    readings = browser(tenant.slug).get("/readings").get_data(as_text=True)
    assert "Your reading window is open. Please read your meter by 30 Nov 2026." in readings


def test_unread_staff_reply_needs_action_until_the_customer_reads_it(app, make_tenant, browser, today):
    tenant = make_tenant("homeco")
    c = _customer(app, tenant, billed_until=date(2027, 1, 1))  # no reading window now
    with app.app_context(), tenant_scope(tenant.id):
        request = f.ServiceRequestFactory(account_id=c["account_id"], reference="R0000042", subject="Bill too high",
                                          customer_seen_at=utcnow() - timedelta(days=2))
        f.RequestMessageFactory(request_id=request.id, author_kind="staff", body="We are checking.",
                                sent_at=utcnow() - timedelta(days=1))
        f.RequestMessageFactory(request_id=request.id, author_kind="staff", internal=True, body="Internal note",
                                sent_at=utcnow() - timedelta(days=1))
        db.session.commit()
        request_id = request.id

    text = _page(browser, tenant.slug, c["email"])

    assert "New reply to your request" in text and "R0000042" in text and "Bill too high" in text
    assert 'href="/requests/R0000042"' in text

    with app.app_context(), tenant_scope(tenant.id):
        from domain.requests.models import ServiceRequest

        db.session.get(ServiceRequest, request_id).customer_seen_at = utcnow()
        db.session.commit()
    text = browser(tenant.slug).get("/").get_data(as_text=True)

    assert "New reply to your request" not in text


def test_another_tenants_bills_payments_and_readings_never_appear(app, two_tenants, browser, today):
    a, b = two_tenants
    with app.app_context(), tenant_scope(b.tenant_id):
        from domain.contracts.models import CustomerAccount
        from sqlalchemy import select

        b_account = db.session.scalar(select(CustomerAccount))
        _bill(b_account.id, number="F2026-BRAVO9", issued=(2026, 11, 10), due=date(2026, 11, 25),
              total=Decimal("987.65"))
        f.PaymentFactory(account_id=b_account.id, amount=Decimal("555.55"), status="failed",
                         created_at=utcnow() - timedelta(days=1))
        db.session.commit()

    text = _page(browser, a.slug, a.customer_email)

    assert a.account_number in text and a.bill_number in text
    for foreign in (b.account_number, b.bill_number, "F2026-BRAVO9", "987.65", "555.55",
                    b.delivery_point_identifier):
        assert foreign not in text


def test_home_query_count_does_not_grow_with_bills_and_readings(app, make_tenant, browser, today):
    tenant = make_tenant("homeco")
    c = _customer(app, tenant)
    portal = browser(tenant.slug)
    portal.login(c["email"])

    def add_history(first, months):
        with app.app_context(), tenant_scope(tenant.id):
            for k in range(first, first + months):
                day = date(2024, 1, 1) + timedelta(days=31 * k)
                _bill(c["account_id"], number=f"F-{day.isoformat()}", issued=(day.year, day.month, day.day),
                      due=day + timedelta(days=14), total=Decimal("30.00"), paid=Decimal("30.00"))
                f.MeterReadingFactory(register_id=c["register_id"], read_on=day, value=Decimal(1000 + k))
            db.session.commit()

    def queries_for_home():
        statements = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert portal.get("/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    add_history(0, 1)
    small = queries_for_home()
    add_history(1, 24)
    large = queries_for_home()

    assert large == small
    assert small <= 20


def test_customer_without_an_account_is_told_so(app, make_tenant, browser, today):
    tenant = make_tenant("homeco")
    with app.app_context(), tenant_scope(tenant.id):
        f.CustomerUserFactory(email="lonely@example.test")
        db.session.commit()

    text = _page(browser, tenant.slug, "lonely@example.test")

    assert "Hello lonely@example.test" in text and "No account is linked to your access yet." in text
    assert "Needs your attention" not in text


def test_a_smart_meter_is_not_a_reading_to_do(app, make_tenant, browser, today, monkeypatch):
    from domain.sites.models import Meter

    tenant = make_tenant("homeco")
    c = _customer(app, tenant, billed_until=date(2026, 11, 1))  # window 24-30 Nov
    with app.app_context(), tenant_scope(tenant.id):
        for meter in db.session.query(Meter).all():
            meter.is_smart = True
        db.session.commit()
    import portal.views

    monkeypatch.setattr(portal.views, "_today", lambda: date(2026, 11, 25))
    text = _page(browser, tenant.slug, c["email"])

    assert "Time to read your meter" not in text
