"""Collections staff work overdue bills: the queue (why a bill is held, its next step, CSV), disputes opened and
resolved, payment arrangements agreed from the customer file, dunning letters to post; the tenant administrator sets
the levels; customers dispute a bill and arrange instalments in the portal. Every page answers each role."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.collections import jobs
from domain.collections.models import BillDispute, DunningLetter, DunningLevel, PaymentArrangement
from domain.collections.rules import DEFAULT_LIMITS, Level
from domain.collections.settings import save_settings
from domain.db import db
from domain.payments.models import DirectDebitMandate
from tenants.context import tenant_scope
from tests.clock import TODAY
from tests.integration.test_payments import add_bill

OVERDUE = TODAY - timedelta(days=20)


@pytest.fixture
def alpha(app, two_tenants):
    """Tenant A's customer without a mandate, with a 90.00 bill twenty days overdue."""
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        for mandate in db.session.scalars(select(DirectDebitMandate)):
            mandate.status = "revoked"
        a.overdue_bill = add_bill(a.account_number, "90.00", due=OVERDUE).number
        db.session.commit()
    return a


def _office(browser, data, role="collections"):
    office = browser(data.slug)
    office.login(data.staff_emails[role], area="/backoffice")
    return office


def _in(app, data, fn):
    with app.app_context(), tenant_scope(data.tenant_id):
        return fn()


PAGES = [
    ("/backoffice/collections/queue", {"collections", "supervisor", "tenant_admin"}),
    ("/backoffice/collections/letters", {"collections", "supervisor", "tenant_admin"}),
    ("/backoffice/collections/customers/{account}/arrangement", {"collections", "supervisor", "tenant_admin"}),
    ("/backoffice/collections/bills/{bill}/dispute", {"collections", "supervisor", "tenant_admin"}),
    ("/backoffice/admin/dunning", {"tenant_admin"}),
]


@pytest.mark.parametrize("role", ["agent", "billing", "collections", "supervisor", "tenant_admin"])
def test_each_role_sees_the_collections_pages_it_may(alpha, browser, role):
    office = _office(browser, alpha, role)

    answers = {path: office.get(path.format(account=alpha.account_number, bill=alpha.overdue_bill)).status_code
               for path, _roles in PAGES}

    assert answers == {path: 200 if role in roles else 403 for path, roles in PAGES}


def test_queue_shows_the_overdue_bill_its_next_step_and_exports_it(alpha, browser):
    office = _office(browser, alpha)

    page = office.get("/backoffice/collections/queue").get_data(as_text=True)
    csv = office.get("/backoffice/collections/queue?state=dunned&format=csv").get_data(as_text=True)
    held = office.get("/backoffice/collections/queue?state=held").get_data(as_text=True)

    assert alpha.overdue_bill in page and "€90.00" in page and "Reminder" in page
    assert csv.splitlines()[1].startswith(f"{alpha.account_number},") and f",{alpha.overdue_bill}," in csv
    assert ",90.00,EUR,,Reminder," in csv
    assert alpha.overdue_bill not in held


def test_a_dispute_holds_the_bill_until_resolved_with_a_note(app, alpha, browser):
    office = _office(browser, alpha)
    path = f"/backoffice/collections/bills/{alpha.overdue_bill}/dispute"

    empty = office.submit(path, {"reason": "", "note": ""})
    opened = office.submit(path, {"reason": "reading", "note": "Index misread"})
    queue = office.get("/backoffice/collections/queue?held=dispute").get_data(as_text=True)
    public_id = _in(app, alpha, lambda: db.session.scalar(select(BillDispute.public_id)))
    no_note = office.submit(f"/backoffice/customers/{alpha.account_number}",
                            {"outcome": "rejected", "note": ""},
                            action=f"/backoffice/collections/disputes/{public_id}/resolve", follow_redirects=True)
    resolved = office.submit(f"/backoffice/customers/{alpha.account_number}",
                             {"outcome": "rejected", "note": "Index checked on site"},
                             action=f"/backoffice/collections/disputes/{public_id}/resolve")

    assert empty.status_code == 422 and "Choose a reason." in empty.get_data(as_text=True)
    assert opened.status_code == 302 and "Held: In dispute" in queue
    assert "Write a note saying why." in no_note.get_data(as_text=True)
    assert resolved.status_code == 302
    assert _in(app, alpha, lambda: db.session.scalar(select(BillDispute.status))) == "rejected"


def test_staff_agree_an_arrangement_whose_instalments_add_up(app, alpha, browser):
    office = _office(browser, alpha)
    path = f"/backoffice/collections/customers/{alpha.account_number}/arrangement"
    first = TODAY + timedelta(days=10)

    wrong = office.submit(path, {"schedule": f"{first.isoformat()} 40.00\n{(first + timedelta(days=30)).isoformat()}"
                                             " 40.00", "note": ""})
    garbled = office.submit(path, {"schedule": "next week 40", "note": ""})
    agreed = office.submit(path, {"count": "3", "first": first.isoformat(), "note": "Agreed by phone"})
    customer = office.get(f"/backoffice/customers/{alpha.account_number}").get_data(as_text=True)

    assert wrong.status_code == 422 and "must add up to exactly €90.00" in wrong.get_data(as_text=True)
    assert garbled.status_code == 422 and "such as 2026-12-15 45.50" in garbled.get_data(as_text=True)
    assert agreed.status_code == 302
    assert "Payment arrangement" in customer and "Agreed by phone" in customer and "€30.00" in customer
    assert _in(app, alpha, lambda: db.session.scalar(select(PaymentArrangement.total))) == Decimal("90.00")


def test_admin_sets_levels_and_refuses_a_level_before_the_previous_one(app, alpha, browser):
    admin = _office(browser, alpha, "tenant_admin")
    form = {"delay_1": "5", "fee_1": "0", "channel_1": "email", "delay_2": "15", "fee_2": "4.50",
            "channel_2": "email", "delay_3": "30", "fee_3": "12", "channel_3": "letter", "portal_arrangements": "y",
            "max_instalments": "4", "max_days": "120", "min_instalment": "25", "grace_days": "3"}

    refused = admin.submit("/backoffice/admin/dunning", {**form, "delay_2": "4"})
    saved = admin.submit("/backoffice/admin/dunning", form)

    assert refused.status_code == 422
    assert "Each level must come more days after the due date" in refused.get_data(as_text=True)
    assert saved.status_code == 302
    levels = _in(app, alpha, lambda: [(lv.position, lv.delay_days, lv.fee, lv.channel) for lv in db.session.scalars(
        select(DunningLevel).order_by(DunningLevel.position))])
    assert levels == [(1, 5, Decimal("0.00"), "email"), (2, 15, Decimal("4.50"), "email"),
                      (3, 30, Decimal("12.00"), "letter")]


def test_letters_are_listed_opened_and_marked_posted(app, alpha, browser):
    def run():
        save_settings(levels=[Level(1, 10, Decimal("0.00"), "letter"), Level(2, 25, Decimal("5.00"), "email"),
                              Level(3, 40, Decimal("15.00"), "letter")], limits=DEFAULT_LIMITS)
        jobs.daily_collections(today_iso=TODAY.isoformat())
        db.session.commit()
        return db.session.scalar(select(DunningLetter.public_id))

    public_id = _in(app, alpha, run)
    office = _office(browser, alpha)

    listed = office.get("/backoffice/collections/letters").get_data(as_text=True)
    pdf = office.get(f"/backoffice/collections/letters/{public_id}.pdf")
    posted = office.submit("/backoffice/collections/letters", {},
                           action=f"/backoffice/collections/letters/{public_id}/sent")

    assert f"Reminder: bill {alpha.overdue_bill} is unpaid" in listed
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert posted.status_code == 302
    assert _in(app, alpha, lambda: db.session.scalar(select(DunningLetter.sent_by))) == \
        alpha.staff_emails["collections"]
    # The letter is in the customer's contact log, with the PDF a click away, and in its export.
    contacts = office.get(f"/backoffice/customers/{alpha.account_number}/contacts").get_data(as_text=True)
    exported = office.get(f"/backoffice/customers/{alpha.account_number}/contacts?format=csv&kind=letter")
    assert f"Reminder: bill {alpha.overdue_bill} is unpaid" in contacts and f"{public_id}.pdf" in contacts
    assert "Dunning letter: posted on" in exported.get_data(as_text=True)


def test_customer_disputes_a_bill_and_arranges_instalments_in_the_portal(app, alpha, browser):
    def remind():
        save_settings(levels=[Level(1, 10, Decimal("2.50"), "email"), Level(2, 25, Decimal("5.00"), "email"),
                              Level(3, 40, Decimal("15.00"), "letter")], limits=DEFAULT_LIMITS)
        jobs.daily_collections(today_iso=TODAY.isoformat())
        db.session.commit()

    _in(app, alpha, remind)
    portal = browser(alpha.slug)
    portal.login(alpha.customer_email)
    arrangement = f"/accounts/{alpha.account_number}/payment-arrangement"

    page = portal.get(arrangement).get_data(as_text=True)
    agreed = portal.submit(arrangement, {"count": "3"})
    shown = portal.get(arrangement).get_data(as_text=True)
    disputed = portal.submit(f"/bills/{alpha.overdue_bill}/dispute", {"reason": "amount", "note": "Too high"})
    bill_page = portal.get(f"/bills/{alpha.overdue_bill}").get_data(as_text=True)

    assert "Reminder: fee of €2.50 added to your account" in bill_page
    assert "3 instalments of about €30.00" in page
    assert agreed.status_code == 302 and "Your arrangement since" in shown and "€30.00" in shown
    assert disputed.status_code == 302 and "we are looking into it" in bill_page
    assert _in(app, alpha, lambda: db.session.scalar(select(BillDispute.by_customer))) is True


def _nothing_written(app, alpha) -> bool:
    return _in(app, alpha, lambda: (db.session.scalars(select(PaymentArrangement)).all(),
                                    db.session.scalars(select(BillDispute)).all(),
                                    db.session.scalars(select(DunningLevel)).all())) == ([], [], [])


def test_bad_input_from_staff_gets_a_message_and_changes_nothing(app, alpha, browser):
    office = _office(browser, alpha)
    arrangement = f"/backoffice/collections/customers/{alpha.account_number}/arrangement"

    queue = office.get("/backoffice/collections/queue?state=<x>&held=zz&level=9&min_age=-4&page=abc&q=" + "x" * 300)
    staff = office.submit(arrangement, {"count": "many", "first": "31/02/2026", "note": ""})
    past = office.submit(arrangement, {"count": "2", "first": (TODAY - timedelta(days=3)).isoformat(), "note": ""})

    assert queue.status_code == 200 and "No overdue bill matches." in queue.get_data(as_text=True)
    assert staff.status_code == 422 and "Not a valid integer value." in staff.get_data(as_text=True)
    assert past.status_code == 422 and "An instalment cannot be due before today." in past.get_data(as_text=True)
    assert _nothing_written(app, alpha)


def test_bad_settings_get_a_message_and_change_nothing(app, alpha, browser):
    admin = _office(browser, alpha, "tenant_admin")

    settings = admin.submit("/backoffice/admin/dunning", {
        "delay_1": "ten", "fee_1": "1e9", "channel_1": "fax", "delay_2": "", "fee_2": "-1", "channel_2": "email",
        "delay_3": "30", "fee_3": "0", "channel_3": "letter", "max_instalments": "99", "max_days": "1",
        "min_instalment": "x", "grace_days": "-1"})

    assert settings.status_code == 422 and "Enter a number from 2 to 24." in settings.get_data(as_text=True)
    assert _nothing_written(app, alpha)


def test_bad_input_from_a_customer_gets_a_message_and_changes_nothing(app, alpha, browser):
    portal = browser(alpha.slug)
    portal.login(alpha.customer_email)

    chosen = portal.submit(f"/accounts/{alpha.account_number}/payment-arrangement", {"count": "99"})
    reason = portal.submit(f"/bills/{alpha.overdue_bill}/dispute", {"reason": "because", "note": "x" * 3000})

    assert chosen.status_code == 422 and reason.status_code == 422
    assert "Keep the note under 2,000 characters." in reason.get_data(as_text=True)
    assert _nothing_written(app, alpha)
