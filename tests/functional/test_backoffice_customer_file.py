"""The customer file's payments, readings with their source and contact log (issue 15 §2): each in the file, all of
them on their own page exported as CSV, and a call recorded by staff beside the e-mails sent."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.audit.actor import Actor, acting_as
from domain.audit.recorder import record_event
from domain.communications.models import Message
from domain.contacts import services as contacts
from domain.contacts.models import ContactLogEntry
from domain.contracts.models import CustomerAccount
from domain.db import db, utcnow
from domain.readings.models import MeterReading
from tenants.context import tenant_scope
from domain.payments.models import PaymentReversal
from tests.factories import PaymentAllocationFactory, PaymentFactory

ROLES = ("agent", "billing", "collections", "supervisor", "tenant_admin")


def _office(browser, a, role="agent"):
    office = browser(a.slug)
    office.login(a.staff_emails[role], area="/backoffice")
    return office


def _account(a):
    return db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == a.account_number))


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.fixture
def file_data(app, two_tenants):
    """Tenant A's customer has a cheque payment given back in part and a refused one, a pending reading accepted by
    an agent, a call on record and an e-mail sent."""
    a, b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        account = _account(a)
        from domain.billing.models import Bill
        bill = db.session.scalar(select(Bill).where(Bill.number == a.bill_number))
        cheque = PaymentFactory(account=account, method="cheque", provider="bank", amount=Decimal("25.50"),
                                refunded_amount=Decimal("5.00"))
        PaymentAllocationFactory(payment=cheque, bill=bill, amount=Decimal("20.50"))
        db.session.add(PaymentReversal(payment_id=cheque.id, provider="bank", kind="refund", reference="r1",
                                       status="refunded", amount=Decimal("5.00"), currency="EUR",
                                       created_at=utcnow(), applied_at=utcnow()))
        PaymentFactory(account=account, method="direct_debit", provider="bank", status="failed",
                       amount=Decimal("60.00"), failure_reason="Insufficient funds")
        reading = db.session.scalar(select(MeterReading).where(MeterReading.source == "customer"))
        with acting_as(Actor("staff", 1, a.staff_emails["agent"])):
            record_event(db.session, tenant_id=a.tenant_id, action="reading_accepted", entity_type="CustomerAccount",
                         entity_id=account.id, details={"reading_id": reading.id}, occurred_at=utcnow())
        contacts.record_contact(account=account, channel="phone", direction="inbound", note="Asked about the bill",
                                subject="Bill question", staff_user_id=None, staff_name="Agent Smith", now=utcnow())
        db.session.add(Message(kind="bill_available", category="transactional", recipient=a.customer_email,
                               account_id=account.id, sender_name="Alpha", sender_address="no-reply@alpha.test",
                               subject="Your bill is ready", text_body="…", status="sent", message_id="<m1@x>",
                               queued_at=utcnow(), sent_at=utcnow()))
        db.session.commit()
    return a, b


def test_the_file_shows_payments_readings_and_contacts_in_words(browser, file_data):
    a, _b = file_data

    html = _office(browser, a).get(f"/backoffice/customers/{a.account_number}").get_data(as_text=True)

    assert "cheque" in html and "€25.50" in html and f"{a.bill_number}: €20.50" in html
    assert "Refund €5.00 · Refunded to the card" in html and "Insufficient funds" in html
    assert "Customer, in the portal" in html and "Meter reader" in html
    assert f"accepted by {a.staff_emails['agent']}" in html
    assert "Bill question" in html and "Asked about the bill" in html and "recorded by Agent Smith" in html
    assert "Your bill is ready" in html
    assert "direct_debit" not in html and "meter_reader" not in html


def test_the_contact_log_lists_contacts_and_e_mails_newest_first_and_filters_them(browser, file_data):
    a, _b = file_data
    office = _office(browser, a)

    office.submit(f"/backoffice/customers/{a.account_number}/contacts",
                  {"channel": "letter", "direction": "outbound", "note": "Sent the meter form", "subject": ""})
    page = office.get(f"/backoffice/customers/{a.account_number}/contacts").get_data(as_text=True)
    letters = office.get(f"/backoffice/customers/{a.account_number}/contacts?kind=letter").get_data(as_text=True)

    assert page.index("Sent the meter form") < page.index("Asked about the bill")
    assert "Your bill is ready" in page
    assert "Sent the meter form" in letters and "Asked about the bill" not in letters
    assert "Your bill is ready" not in letters


def test_a_contact_without_a_note_is_refused_and_nothing_is_recorded(app, browser, file_data):
    a, _b = file_data
    office = _office(browser, a, "collections")

    refused = office.submit(f"/backoffice/customers/{a.account_number}/contacts",
                            {"channel": "visit", "direction": "inbound", "note": "  ", "subject": "x"})
    odd = office.submit(f"/backoffice/customers/{a.account_number}/contacts",
                        {"channel": "pigeon", "direction": "inbound", "note": "Hello"})

    assert refused.status_code == 422 and "Write a note of what was said." in refused.get_data(as_text=True)
    assert odd.status_code == 422 and "Choose a call, a letter or a visit." in odd.get_data(as_text=True)
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(ContactLogEntry.note).where(ContactLogEntry.channel == "visit")) is None
        assert len(db.session.scalars(select(ContactLogEntry)).all()) == 1


def test_a_recorded_call_names_the_staff_member_and_reads_in_their_language(app, browser, file_data):
    a, _b = file_data
    office = _office(browser, a, "collections")

    done = office.submit(f"/backoffice/customers/{a.account_number}/contacts",
                         {"channel": "phone", "direction": "outbound", "note": "Agreed to pay on Friday"})

    assert done.status_code == 302
    with app.app_context(), tenant_scope(a.tenant_id):
        entry = db.session.scalar(select(ContactLogEntry).where(ContactLogEntry.direction == "outbound"))
        assert entry.note == "Agreed to pay on Friday" and entry.staff_name == "Collections"


def test_the_exports_hold_the_whole_list_with_amounts_as_numbers(browser, file_data):
    a, _b = file_data
    office = _office(browser, a)
    base = f"/backoffice/customers/{a.account_number}"

    payments = _rows(office.get(f"{base}/payments?format=csv"))
    readings = _rows(office.get(f"{base}/readings?format=csv"))
    contacts_all = _rows(office.get(f"{base}/contacts?format=csv"))
    emails = _rows(office.get(f"{base}/contacts?format=csv&kind=email"))

    assert payments[0][:5] == ["Date", "Payment", "Method", "Status", "Amount"]
    assert sorted(row[4] for row in payments[1:]) == ["25.50", "60.00", "60.00"]
    cheque = next(row for row in payments[1:] if row[2] == "cheque")
    assert cheque[6] == "20.50" and cheque[8] == "5.00" and a.bill_number in cheque[7]
    assert readings[0][0] == "Reading date" and len(readings) == 3
    assert {row[5] for row in readings[1:]} == {"Customer, in the portal", "Meter reader"}
    assert sorted(row[1] for row in contacts_all[1:]) == ["E-mail", "Phone call"]
    assert [row[1] for row in emails[1:]] == ["E-mail"]


def test_the_export_reads_in_the_staff_members_language(app, browser, file_data):
    a, _b = file_data
    from domain.identity.models import StaffUser
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(StaffUser).where(StaffUser.email == a.staff_emails["agent"])).locale = "fr"
        db.session.commit()

    rows = _rows(_office(browser, a).get(f"/backoffice/customers/{a.account_number}/payments?format=csv"))

    assert rows[0][2:5] == ["Moyen", "Statut", "Montant"]
    assert "chèque" in {row[2] for row in rows[1:]}


@pytest.mark.parametrize("role", ROLES)
def test_every_role_that_opens_customers_sees_their_payments_readings_and_contacts(browser, two_tenants, role):
    a, _b = two_tenants
    office = _office(browser, a, role)
    base = f"/backoffice/customers/{a.account_number}"

    answers = [office.get(f"{base}/{page}").status_code for page in ("payments", "readings", "contacts")]

    assert answers == [200, 200, 200]
