"""Isolation cases of dunning, payment arrangements and disputes: tenant B's bills, letters, arrangements and disputes
answer like missing ones on tenant A's host (pages, PDFs, every action), A's queue and letters never list B's, and
nothing of B's changes."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from domain.collections import arrangements, disputes, jobs
from domain.collections.models import BillDispute, DunningLetter, DunningLevel, PaymentArrangement
from domain.collections.rules import DEFAULT_LIMITS, Level
from domain.collections.settings import save_settings
from domain.db import db, utcnow
from domain.payments.models import DirectDebitMandate
from tenants.context import tenant_scope
from tests.clock import TODAY
from tests.isolation import _TOKEN, MISSING, _same_as_missing
from tests.integration.test_payments import account_of, add_bill


def _world(app, data) -> dict:
    """In `data`'s tenant: a letter for an overdue bill, an arrangement on a second bill, a dispute on a third."""
    with app.app_context(), tenant_scope(data.tenant_id):
        for mandate in db.session.scalars(select(DirectDebitMandate)):
            mandate.status = "revoked"
        overdue = add_bill(data.account_number, "100.00", due=TODAY - timedelta(days=20))
        save_settings(levels=[Level(1, 10, Decimal("0.00"), "letter"), Level(2, 25, Decimal("5.00"), "email"),
                              Level(3, 40, Decimal("15.00"), "letter")], limits=DEFAULT_LIMITS)
        jobs.daily_collections(today_iso=TODAY.isoformat())
        arranged = add_bill(data.account_number, "60.00", due=TODAY + timedelta(days=5),
                            start=TODAY - timedelta(days=40))
        disputed = add_bill(data.account_number, "70.00", due=TODAY + timedelta(days=5),
                            start=TODAY - timedelta(days=80))
        account = account_of(data.account_number)
        arrangement = arrangements.create_arrangement(
            account=account, bill_numbers=[arranged.number], today=TODAY, now=utcnow(), by="staff", by_customer=False,
            instalments=[(TODAY + timedelta(days=10), Decimal("30.00")), (TODAY + timedelta(days=40),
                                                                          Decimal("30.00"))])
        dispute = disputes.open_dispute(bill=disputed, reason="amount", note="Secret note of B", by="staff",
                                        by_customer=False, now=utcnow())
        db.session.commit()
        return {"overdue": overdue.number, "arranged": arranged.number, "disputed": disputed.number,
                "letter": db.session.scalar(select(DunningLetter.public_id)), "arrangement": arrangement.public_id,
                "dispute": dispute.public_id}


def _state(app, data):
    with app.app_context(), tenant_scope(data.tenant_id):
        return ([(x.status, x.ended_on) for x in db.session.scalars(select(PaymentArrangement))],
                [(x.status, x.resolution_note) for x in db.session.scalars(select(BillDispute))],
                [x.sent_at for x in db.session.scalars(select(DunningLetter))],
                [(x.position, x.delay_days) for x in db.session.scalars(select(DunningLevel))])


def _office(browser, a, role="collections"):
    office = browser(a.slug)
    office.login(a.staff_emails[role], area="/backoffice")
    return office


def _portal(browser, a):
    portal = browser(a.slug)
    portal.login(a.customer_email)
    return portal


def _post_same_as_missing(client, token_page: str, foreign: str, missing: str, ref: str, data: dict):
    token = client.csrf(token_page)
    answer_foreign = client.post(foreign, {**data, "csrf_token": token})
    answer_missing = client.post(missing, {**data, "csrf_token": token})
    assert answer_foreign.status_code == answer_missing.status_code == 404
    assert _TOKEN.sub("", answer_foreign.get_data(as_text=True)).replace(ref, MISSING) == \
        _TOKEN.sub("", answer_missing.get_data(as_text=True))


def case_collections_queue(app, browser, a, b):
    theirs = _world(app, b)
    office = _office(browser, a)
    page = office.get("/backoffice/collections/queue").get_data(as_text=True)
    csv = office.get("/backoffice/collections/queue?format=csv").get_data(as_text=True)
    found = office.get(f"/backoffice/collections/queue?q={theirs['overdue']}").get_data(as_text=True)
    for text in (page, csv):
        assert theirs["overdue"] not in text and b.account_number not in text
    assert "No overdue bill matches." in found and b.account_number not in found  # the box keeps what was typed


def case_collections_letter_list(app, browser, a, b):
    theirs = _world(app, b)
    office = _office(browser, a)
    for path in ("/backoffice/collections/letters?sent=1", "/backoffice/collections/letters?format=csv&sent=1"):
        text = office.get(path).get_data(as_text=True)
        assert theirs["overdue"] not in text, "bill"
        assert theirs["letter"] not in text, "letter"
        assert b.account_number not in text, (b.account_number, a.account_number)


def case_collections_letter_pdf(app, browser, a, b):
    theirs = _world(app, b)
    _same_as_missing(_office(browser, a), f"/backoffice/collections/letters/{theirs['letter']}.pdf",
                     f"/backoffice/collections/letters/{MISSING}.pdf", theirs["letter"])


def case_collections_letter_sent(app, browser, a, b):
    theirs = _world(app, b)
    before = _state(app, b)
    _post_same_as_missing(_office(browser, a), "/backoffice/collections/letters",
                          f"/backoffice/collections/letters/{theirs['letter']}/sent",
                          f"/backoffice/collections/letters/{MISSING}/sent", theirs["letter"], {})
    assert _state(app, b) == before


def case_collections_arrangement_new(app, browser, a, b):
    _world(app, b)
    before = _state(app, b)
    office = _office(browser, a)
    _same_as_missing(office, f"/backoffice/collections/customers/{b.account_number}/arrangement",
                     f"/backoffice/collections/customers/{MISSING}/arrangement", b.account_number)
    _post_same_as_missing(office, "/backoffice/collections/queue",
                          f"/backoffice/collections/customers/{b.account_number}/arrangement",
                          f"/backoffice/collections/customers/{MISSING}/arrangement", b.account_number,
                          {"count": "2", "first": (TODAY + timedelta(days=9)).isoformat(), "note": ""})
    assert _state(app, b) == before


def case_collections_arrangement_cancel(app, browser, a, b):
    theirs = _world(app, b)
    before = _state(app, b)
    _post_same_as_missing(_office(browser, a), "/backoffice/collections/letters",
                          f"/backoffice/collections/arrangements/{theirs['arrangement']}/cancel",
                          f"/backoffice/collections/arrangements/{MISSING}/cancel", theirs["arrangement"], {})
    assert _state(app, b) == before


def case_collections_dispute_new(app, browser, a, b):
    theirs = _world(app, b)
    before = _state(app, b)
    office = _office(browser, a)
    _same_as_missing(office, f"/backoffice/collections/bills/{theirs['overdue']}/dispute",
                     f"/backoffice/collections/bills/{MISSING}/dispute", theirs["overdue"])
    _post_same_as_missing(office, "/backoffice/collections/letters",
                          f"/backoffice/collections/bills/{theirs['overdue']}/dispute",
                          f"/backoffice/collections/bills/{MISSING}/dispute", theirs["overdue"],
                          {"reason": "other", "note": "x"})
    assert _state(app, b) == before


def case_collections_dispute_resolve(app, browser, a, b):
    theirs = _world(app, b)
    before = _state(app, b)
    _post_same_as_missing(_office(browser, a), "/backoffice/collections/letters",
                          f"/backoffice/collections/disputes/{theirs['dispute']}/resolve",
                          f"/backoffice/collections/disputes/{MISSING}/resolve", theirs["dispute"],
                          {"outcome": "upheld", "note": "Taken"})
    assert _state(app, b) == before


def case_admin_dunning_settings_page(app, browser, a, b):
    _world(app, b)
    before = _state(app, b)
    admin = _office(browser, a, "tenant_admin")
    page = admin.get("/backoffice/admin/dunning").get_data(as_text=True)
    saved = admin.submit("/backoffice/admin/dunning", {
        "delay_1": "3", "fee_1": "0", "channel_1": "email", "delay_2": "13", "fee_2": "1", "channel_2": "email",
        "delay_3": "33", "fee_3": "2", "channel_3": "email", "max_instalments": "3", "max_days": "90",
        "min_instalment": "10", "grace_days": "2"})
    assert 'value="10"' in page and saved.status_code == 302  # A's own defaults, not B's saved levels
    assert _state(app, b) == before


def case_portal_payment_arrangement(app, browser, a, b):
    _world(app, b)
    _same_as_missing(_portal(browser, a), f"/accounts/{b.account_number}/payment-arrangement",
                     f"/accounts/{MISSING}/payment-arrangement", b.account_number)


def case_portal_agree_payment_arrangement(app, browser, a, b):
    _world(app, b)
    before = _state(app, b)
    _post_same_as_missing(_portal(browser, a), f"/accounts/{a.account_number}/payment-arrangement",
                          f"/accounts/{b.account_number}/payment-arrangement",
                          f"/accounts/{MISSING}/payment-arrangement", b.account_number, {"count": "2"})
    assert _state(app, b) == before


def case_portal_dispute_bill(app, browser, a, b):
    theirs = _world(app, b)
    before = _state(app, b)
    portal = _portal(browser, a)
    _same_as_missing(portal, f"/bills/{theirs['overdue']}/dispute", f"/bills/{MISSING}/dispute", theirs["overdue"])
    _post_same_as_missing(portal, f"/accounts/{a.account_number}/payment-arrangement",
                          f"/bills/{theirs['overdue']}/dispute", f"/bills/{MISSING}/dispute", theirs["overdue"],
                          {"reason": "amount", "note": "x"})
    assert _state(app, b) == before
