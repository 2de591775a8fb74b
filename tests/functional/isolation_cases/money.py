"""Isolation cases of the money pages (payments received, refunds, write-offs, bank statements, matching queue):
tenant B's proposals, statements and entries answer like missing ones on tenant A's host, B's accounts and bills
are never found from A, and nothing of B's changes."""
from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from domain.collections import manual_payments, refunds, write_offs
from domain.collections.money_models import Refund, WriteOff
from domain.collections.statements import services as statements
from domain.collections.statements.models import StatementEntry
from domain.db import db, utcnow
from domain.identity.models import StaffUser
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.integration.test_payments import account_of, add_bill
from tests.integration.test_sepa_collections import configure
from tests.isolation import MISSING, same_page
from tests.statement_samples import Line, camt053


def _b_world(app, b) -> dict:
    """B's write-off and refund waiting for approval, a payment recorded by staff and a statement with one entry
    left to match; their public references."""
    configure(app, b.slug)
    today = utcnow().date()
    with app.app_context(), tenant_scope(b.tenant_id):
        staff = db.session.scalar(select(StaffUser).where(StaffUser.email == b.staff_emails["collections"]))
        account = account_of(b.account_number)
        bill = add_bill(b.account_number, "66.60", due=today - timedelta(days=60))
        proposal = write_offs.propose(account=account, bill_numbers=[bill.number], reason="uneconomic", note=None,
                                      staff=staff, now=utcnow(), today=today, currency="EUR")
        manual_payments.record_manual_payment(account=account, amount="500.00", method="cheque",
                                              reference="B-CHEQUE-77", received_on=today, staff=staff, now=utcnow(),
                                              today=today)
        refund = refunds.propose(account=account, amount="1.00", iban=None, holder_name=None, note=None,
                                 staff=staff, now=utcnow(), currency="EUR")
        data = camt053([Line("12.34", ref="B-ENTRY-1", name="Bravo Payer", ustrd="B-STATEMENT-TEXT")],
                       booked=today, statement_id="B-STMT-1")
        result = statements.import_statement(data=data, file_name="b.xml", staff=staff, now=utcnow(), today=today,
                                             tenant=db.session.get(Tenant, b.tenant_id))
        db.session.commit()
        entry = db.session.scalar(select(StatementEntry.public_id))
        return {"write_off": proposal.public_id, "refund": refund.public_id, "bill": bill.number,
                "statement": result.statements[0].public_id, "entry": entry, "data": data}


def _b_statuses(app, b):
    with app.app_context(), tenant_scope(b.tenant_id):
        return (db.session.scalar(select(WriteOff.status)), db.session.scalar(select(Refund.status)),
                db.session.scalar(select(StatementEntry.status)))


def _office(app, browser, a, role="supervisor"):
    configure(app, a.slug)
    office = browser(a.slug)
    office.login(a.staff_emails[role], area="/backoffice")
    return office


def _same_as_missing_get(office, path_foreign: str, path_missing: str, foreign_ref: str):
    foreign, missing = office.get(path_foreign), office.get(path_missing)
    assert foreign.status_code == missing.status_code == 404
    assert same_page(foreign, missing, foreign_ref)


def _same_as_missing_post(office, path: str, foreign_ref: str, data: dict | None = None):
    foreign = office.submit("/backoffice/money/", data or {}, action=path)
    missing = office.submit("/backoffice/money/", data or {}, action=path.replace(foreign_ref, MISSING))
    assert foreign.status_code == missing.status_code == 404
    assert same_page(foreign, missing, foreign_ref)


def _list_shows_nothing_of_b(app, browser, a, b, path, *refs):
    world = _b_world(app, b)
    text = _office(app, browser, a).get(path).get_data(as_text=True)
    for ref in refs or (b.account_number,):
        assert world.get(ref, ref) not in text


def case_money_home(app, browser, a, b):
    _b_world(app, b)
    text = _office(app, browser, a).get("/backoffice/money/").get_data(as_text=True)
    assert "0 refunds waiting for approval" in text and "0 write-offs waiting for approval" in text
    assert "0 entries to match by hand" in text


def case_money_payments(app, browser, a, b):
    _list_shows_nothing_of_b(app, browser, a, b, "/backoffice/money/payments", "B-CHEQUE-77", b.account_number)


def case_money_payment_new(app, browser, a, b):
    _b_world(app, b)
    office = _office(app, browser, a)
    page = office.get(f"/backoffice/money/payments/new?account={b.account_number}").get_data(as_text=True)
    answer = office.submit("/backoffice/money/payments/new", {
        "account_number": b.account_number, "method": "cash", "amount": "5.00",
        "received_on": utcnow().date().isoformat(), "reference": "A-1"})
    assert "Find the account" in page and "66.60" not in page
    assert answer.status_code == 422 and "No customer account has this number." in answer.get_data(as_text=True)


def case_money_refund_list(app, browser, a, b):
    _list_shows_nothing_of_b(app, browser, a, b, "/backoffice/money/refunds?status=all")


def case_money_refund_new(app, browser, a, b):
    _b_world(app, b)
    office = _office(app, browser, a)
    _same_as_missing_get(office, f"/backoffice/money/refunds/new/{b.account_number}",
                         f"/backoffice/money/refunds/new/{MISSING}", b.account_number)
    _same_as_missing_post(office, f"/backoffice/money/refunds/new/{b.account_number}", b.account_number,
                          {"amount": "1.00"})


def case_money_refund_approve(app, browser, a, b):
    world = _b_world(app, b)
    _same_as_missing_post(_office(app, browser, a), f"/backoffice/money/refunds/{world['refund']}/approve",
                          world["refund"])
    assert _b_statuses(app, b)[1] == "proposed"


def case_money_refund_refuse(app, browser, a, b):
    world = _b_world(app, b)
    _same_as_missing_post(_office(app, browser, a), f"/backoffice/money/refunds/{world['refund']}/refuse",
                          world["refund"])
    assert _b_statuses(app, b)[1] == "proposed"


def case_money_write_off_list(app, browser, a, b):
    _list_shows_nothing_of_b(app, browser, a, b, "/backoffice/money/write-offs?status=all", "bill",
                             b.account_number)


def case_money_write_off_new(app, browser, a, b):
    world = _b_world(app, b)
    office = _office(app, browser, a)
    _same_as_missing_get(office, f"/backoffice/money/write-offs/new/{b.account_number}",
                         f"/backoffice/money/write-offs/new/{MISSING}", b.account_number)
    _same_as_missing_post(office, f"/backoffice/money/write-offs/new/{b.account_number}", b.account_number,
                          {"bills": [world["bill"]], "reason": "uneconomic"})
    # On A's own account, B's bill is not a bill to write off.
    answer = office.submit(f"/backoffice/money/write-offs/new/{a.account_number}",
                           {"bills": [world["bill"]], "reason": "uneconomic"})
    assert answer.status_code == 422 and world["bill"] not in answer.get_data(as_text=True)


def case_money_write_off_approve(app, browser, a, b):
    world = _b_world(app, b)
    _same_as_missing_post(_office(app, browser, a), f"/backoffice/money/write-offs/{world['write_off']}/approve",
                          world["write_off"])
    assert _b_statuses(app, b)[0] == "proposed"


def case_money_write_off_refuse(app, browser, a, b):
    world = _b_world(app, b)
    _same_as_missing_post(_office(app, browser, a), f"/backoffice/money/write-offs/{world['write_off']}/refuse",
                          world["write_off"])
    assert _b_statuses(app, b)[0] == "proposed"


def case_money_statement_list(app, browser, a, b):
    _list_shows_nothing_of_b(app, browser, a, b, "/backoffice/money/statements", "B-STMT-1", "statement")


def case_money_statement_import(app, browser, a, b):
    world = _b_world(app, b)
    office = _office(app, browser, a, "collections")
    token = office.csrf("/backoffice/money/statements")
    # The same statement of the same bank account, imported by A: not "already imported" (B's is not A's).
    answer = office.post("/backoffice/money/statements",
                         {"csrf_token": token, "statement": (io.BytesIO(world["data"]), "b.xml")},
                         content_type="multipart/form-data")
    assert answer.status_code == 302 and "/backoffice/money/statements/" in answer.headers["Location"]
    assert world["statement"] not in answer.headers["Location"]
    assert _b_statuses(app, b)[2] == "to_match"


def case_money_statement_detail(app, browser, a, b):
    world = _b_world(app, b)
    _same_as_missing_get(_office(app, browser, a), f"/backoffice/money/statements/{world['statement']}",
                         f"/backoffice/money/statements/{MISSING}", world["statement"])


def case_money_matching(app, browser, a, b):
    _list_shows_nothing_of_b(app, browser, a, b, "/backoffice/money/matching", "entry", "B-STATEMENT-TEXT")


def case_money_entry_confirm(app, browser, a, b):
    world = _b_world(app, b)
    _same_as_missing_post(_office(app, browser, a), f"/backoffice/money/matching/{world['entry']}/confirm",
                          world["entry"], {"account_number": a.account_number})
    assert _b_statuses(app, b)[2] == "to_match"


def case_money_entry_ignore(app, browser, a, b):
    world = _b_world(app, b)
    _same_as_missing_post(_office(app, browser, a), f"/backoffice/money/matching/{world['entry']}/ignore",
                          world["entry"])
    assert _b_statuses(app, b)[2] == "to_match"
