"""Staff record payments, propose refunds and write-offs that a supervisor (never the proposer) decides, import bank
statements and match what is left by hand; every list exports to CSV; roles see only what they may."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from domain.accounting.models import Payment
from domain.billing import bills as bill_service
from domain.billing.models import Bill
from domain.collections import write_offs
from domain.collections.money_models import Refund, WriteOff
from domain.collections.statements.models import BankStatement, StatementEntry
from domain.communications.models import Message
from domain.db import db, utcnow
from domain.identity.models import StaffUser
from tenants.context import tenant_scope
from tests.integration.test_payments import account_of, add_bill, balance_of
from tests.integration.test_sepa_collections import configure
from tests.statement_samples import BILLION_LAUGHS, Line, camt053

PAGES = ["/backoffice/money/", "/backoffice/money/payments", "/backoffice/money/payments/new",
         "/backoffice/money/refunds", "/backoffice/money/write-offs", "/backoffice/money/statements",
         "/backoffice/money/matching"]


def _today():
    return utcnow().astimezone(ZoneInfo("Europe/Paris")).date()


@pytest.fixture
def alpha(app, two_tenants):
    a, _b = two_tenants
    configure(app, a.slug)
    return a


def _in(app, data, fn):
    with app.app_context(), tenant_scope(data.tenant_id):
        return fn()


def _office(browser, data, role):
    office = browser(data.slug)
    office.login(data.staff_emails[role], area="/backoffice")
    return office


def _bill(app, data, total="80.00", days_late=40):
    def make():
        bill = add_bill(data.account_number, total, due=_today() - timedelta(days=days_late))
        db.session.commit()
        return bill.number
    return _in(app, data, make)


def _outstanding(app, data, number):
    return _in(app, data, lambda: bill_service.bill_views(
        [db.session.scalar(select(Bill).where(Bill.number == number))], today=_today())[0].outstanding)


@pytest.mark.parametrize("role, allowed", [("agent", False), ("billing", False), ("collections", True),
                                           ("supervisor", True), ("tenant_admin", True)])
def test_each_role_sees_the_money_pages_or_is_refused(app, browser, alpha, role, allowed):
    office = _office(browser, alpha, role)

    codes = {path: office.get(path).status_code for path in PAGES}
    home = office.get("/backoffice/").get_data(as_text=True)

    assert set(codes.values()) == ({200} if allowed else {403}), codes
    assert ('href="/backoffice/money/"' in home) is allowed


@pytest.mark.parametrize("role, allowed", [("agent", False), ("billing", False), ("collections", False),
                                           ("supervisor", True), ("tenant_admin", True)])
def test_only_the_second_pair_of_eyes_may_approve(app, browser, alpha, role, allowed):
    number = _bill(app, alpha)

    def propose():
        proposer = db.session.scalar(select(StaffUser).where(StaffUser.email == alpha.staff_emails["collections"]))
        proposal = write_offs.propose(account=account_of(alpha.account_number), bill_numbers=[number],
                                      reason="uneconomic", note=None, staff=proposer, now=utcnow(), today=_today(),
                                      currency="EUR")
        db.session.commit()
        return proposal.public_id
    public_id = _in(app, alpha, propose)
    office = _office(browser, alpha, role)

    answer = office.submit("/backoffice/", {}, action=f"/backoffice/money/write-offs/{public_id}/approve")

    assert answer.status_code == (302 if allowed else 403)
    status = _in(app, alpha, lambda: db.session.scalar(select(WriteOff.status)))
    assert status == ("approved" if allowed else "proposed")
    assert _outstanding(app, alpha, number) == (Decimal("0.00") if allowed else Decimal("80.00"))


def test_a_supervisor_cannot_approve_the_write_off_they_proposed(app, browser, alpha):
    number = _bill(app, alpha)
    supervisor = _office(browser, alpha, "supervisor")
    path = f"/backoffice/money/write-offs/new/{alpha.account_number}"
    proposed = supervisor.submit(path, {"bills": [number], "reason": "insolvency", "note": "Liquidation"})
    public_id = _in(app, alpha, lambda: db.session.scalar(select(WriteOff.public_id)))
    listing = supervisor.get("/backoffice/money/write-offs").get_data(as_text=True)

    answer = supervisor.submit("/backoffice/money/write-offs",
                               {}, action=f"/backoffice/money/write-offs/{public_id}/approve")
    after = supervisor.get("/backoffice/money/write-offs").get_data(as_text=True)

    assert proposed.status_code == 302
    assert "You proposed it: another person decides." in listing
    assert answer.status_code == 303
    assert "another person with the right to approve must decide it" in after
    assert _in(app, alpha, lambda: db.session.scalar(select(WriteOff.status))) == "proposed"
    assert _outstanding(app, alpha, number) == Decimal("80.00")


def test_a_cheque_recorded_from_the_customer_file_settles_the_bill_and_sends_a_receipt(app, browser, alpha):
    number = _bill(app, alpha, "45.60")
    office = _office(browser, alpha, "collections")
    form_path = f"/backoffice/money/payments/new?account={alpha.account_number}"
    customer_file = office.get(f"/backoffice/customers/{alpha.account_number}").get_data(as_text=True)
    fields = {"account_number": alpha.account_number, "method": "cheque", "amount": "45.60",
              "received_on": _today().isoformat(), "reference": "CHQ 881", "bills": [number]}

    first = office.submit(form_path, fields)
    again = office.submit(form_path, fields)
    other = office.submit(form_path, {**fields, "amount": "46.00"})
    page = office.get(f"/backoffice/customers/{alpha.account_number}").get_data(as_text=True)

    assert f'href="/backoffice/money/payments/new?account={alpha.account_number}"' in customer_file
    assert first.status_code == again.status_code == 302
    assert other.status_code == 422 and "already recorded with another amount" in other.get_data(as_text=True)
    assert _outstanding(app, alpha, number) == Decimal("0.00")
    assert "CHQ 881" in page and "Payment received" in page
    assert _in(app, alpha, lambda: db.session.scalar(select(func.count(Payment.id)).where(
        Payment.provider == "manual"))) == 1
    receipts = _in(app, alpha, lambda: db.session.scalars(select(Message).where(
        Message.kind == "payment_received")).all())
    assert len(receipts) == 1 and "payment of €45.60 (Cheque)" in receipts[0].text_body


@pytest.mark.parametrize("fields, message", [
    ({"amount": "12,345"}, "at most two decimals"), ({"amount": ""}, "Enter the amount received."),
    ({"received_on": "2999-01-01"}, "cannot be after today"), ({"account_number": "NOPE"}, "No customer account"),
])
def test_bad_payment_input_is_refused_with_a_message_and_nothing_recorded(app, browser, alpha, fields, message):
    office = _office(browser, alpha, "collections")
    data = {"account_number": alpha.account_number, "method": "cash", "amount": "10.00",
            "received_on": _today().isoformat(), "reference": "R-1", **fields}

    answer = office.submit("/backoffice/money/payments/new", data)

    assert answer.status_code == 422 and message in answer.get_data(as_text=True)
    assert _in(app, alpha, lambda: db.session.scalar(select(func.count(Payment.id)).where(
        Payment.provider == "manual"))) == 0


def test_a_refund_proposed_by_collections_is_approved_by_a_supervisor_and_the_customer_told(app, browser, alpha):
    owed = _in(app, alpha, lambda: balance_of(alpha.account_number))
    collections = _office(browser, alpha, "collections")
    collections.submit("/backoffice/money/payments/new", {
        "account_number": alpha.account_number, "method": "transfer", "amount": str(owed + Decimal("30.00")),
        "received_on": _today().isoformat(), "reference": "VIR-9"})
    path = f"/backoffice/money/refunds/new/{alpha.account_number}"
    bad = collections.submit(path, {"amount": "30.00", "iban": "FR76 0000"})
    proposed = collections.submit(path, {"amount": "30.00", "iban": ""})
    public_id = _in(app, alpha, lambda: db.session.scalar(select(Refund.public_id)))
    collections.submit("/backoffice/", {}, action="/backoffice/logout")
    supervisor = _office(browser, alpha, "supervisor")

    approved = supervisor.submit("/backoffice/money/refunds", {},
                                 action=f"/backoffice/money/refunds/{public_id}/approve")
    listing = supervisor.get("/backoffice/money/refunds?status=approved")
    export = supervisor.get("/backoffice/money/refunds?status=approved&format=csv")

    assert bad.status_code == 422 and "This IBAN is not valid" in bad.get_data(as_text=True)
    assert proposed.status_code == approved.status_code == 302
    assert _in(app, alpha, lambda: balance_of(alpha.account_number)) == Decimal("0.00")
    assert alpha.account_number in listing.get_data(as_text=True)
    assert export.mimetype == "text/csv" and "30.00" in export.get_data(as_text=True)
    mails = _in(app, alpha, lambda: db.session.scalars(select(Message).where(Message.kind == "credit_refund")).all())
    assert len(mails) == 1 and "€30.00" in mails[0].text_body


def _upload(office, data: bytes, name="statement.xml"):
    import io

    token = office.csrf("/backoffice/money/statements")
    return office.post("/backoffice/money/statements", {"csrf_token": token, "statement": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_a_statement_is_imported_once_and_what_is_left_is_matched_by_hand(app, browser, alpha):
    number = _bill(app, alpha, "120.50", days_late=3)
    other = _bill(app, alpha, "63.27", days_late=1)
    data = camt053([Line("120.50", ref="BK-1", name="X", ustrd=f"Bill {number}"),
                    Line("63.27", ref="BK-2", name="Unknown payer")], booked=_today(), version="08")
    office = _office(browser, alpha, "collections")

    first = _upload(office, data)
    detail = office.get(first.headers["Location"]).get_data(as_text=True)
    again = _upload(office, data)
    queue = office.get("/backoffice/money/matching").get_data(as_text=True)
    entry = _in(app, alpha, lambda: db.session.scalar(select(StatementEntry.public_id).where(
        StatementEntry.status == "to_match")))
    confirmed = office.submit("/backoffice/money/matching", {"account_number": alpha.account_number,
                                                             "bill_number": other},
                              action=f"/backoffice/money/matching/{entry}/confirm")
    export = office.get("/backoffice/money/statements?format=csv").get_data(as_text=True)

    assert first.status_code == again.status_code == 302
    assert "bill number quoted" in detail and "to match" in detail
    assert other in queue and "same amount" in queue
    assert confirmed.status_code == 302
    assert (_outstanding(app, alpha, number), _outstanding(app, alpha, other)) == (Decimal("0.00"), Decimal("0.00"))
    assert _in(app, alpha, lambda: db.session.scalar(select(func.count(BankStatement.id)))) == 1
    assert "STMT-2026-001" in export


def test_a_hostile_statement_is_refused_with_a_clear_message_and_nothing_written(app, browser, alpha):
    office = _office(browser, alpha, "collections")

    answer = _upload(office, BILLION_LAUGHS)
    csv_bad = _upload(office, b"statement_id,amount\nS,1\n", name="s.csv")

    assert answer.status_code == 422
    assert "declares a document type or entities" in answer.get_data(as_text=True)
    assert csv_bad.status_code == 422 and "lacks required columns" in csv_bad.get_data(as_text=True)
    assert _in(app, alpha, lambda: db.session.scalar(select(func.count(BankStatement.id)))) == 0


@pytest.mark.parametrize("path", ["/backoffice/money/payments", "/backoffice/money/refunds?status=all",
                                  "/backoffice/money/write-offs?status=all", "/backoffice/money/statements",
                                  "/backoffice/money/matching"])
def test_every_list_exports_to_csv(app, browser, alpha, path):
    office = _office(browser, alpha, "collections")

    page = office.get(path).get_data(as_text=True)
    export = office.get(path + ("&" if "?" in path else "?") + "format=csv")

    assert "format=csv" in page
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert export.get_data(as_text=True).startswith("\ufeff")
