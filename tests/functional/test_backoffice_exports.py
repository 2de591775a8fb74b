"""Every list page of the back office exports what it shows for its current filter as CSV: the header in the staff
member's language, the rows of that filter (every one, no paging), none of another filter's or tenant's."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from domain.audit.actor import Actor, acting_as
from domain.campaigns import services as campaign_services
from domain.campaigns.models import CampaignRecipient
from domain.communications.models import Message
from domain.contracts.models import CustomerAccount
from domain.db import db, utcnow
from domain.imports.models import CustomerImport
from domain.readings.models import MeterReading
from tenants.context import tenant_scope
from tests.functional.isolation_cases.backoffice_collections import _b_batch
from tests.integration.test_billing_runs import _jobs_in_process  # noqa: F401  (jobs run in this process)
from tests.integration.test_billing_runs import _start


def _office(browser, data, role):
    office = browser(data.slug)
    office.login(data.staff_emails[role], area="/backoffice")
    return office


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv", response.status_code
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_customer_search_exports_the_customers_it_finds(two_tenants, browser):
    a, b = two_tenants
    office = _office(browser, a, "agent")

    found = _csv(office.get(f"/backoffice/customers?q={a.account_number}&format=csv"))
    other = _csv(office.get(f"/backoffice/customers?q={b.account_number}&format=csv"))
    page = office.get(f"/backoffice/customers?q={a.account_number}").get_data(as_text=True)

    assert found[0][:2] == ["Customer number", "Holder"] and [row[0] for row in found[1:]] == [a.account_number]
    assert other == [found[0]]
    assert "format=csv" in page and f"q={a.account_number}" in page


def test_a_customers_messages_and_history_export(app, two_tenants, browser):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == a.account_number))
        db.session.add(Message(kind="bill_available", category="transactional", recipient=a.customer_email,
                               account_id=account.id, sender_name="Alpha", sender_address="no-reply@alpha.test",
                               subject="Your bill is ready", text_body="…", status="failed", failure_code="refused",
                               message_id="<m2@x>", queued_at=utcnow()))
        with acting_as(Actor("staff", 1, "agent@alpha.test")):
            account.paperless = True
            db.session.commit()
    office = _office(browser, a, "supervisor")

    messages = _csv(office.get(f"/backoffice/customers/{a.account_number}/messages?format=csv"))
    history = _csv(office.get(f"/backoffice/customers/{a.account_number}/history?format=csv"))

    assert messages[0][:4] == ["Time", "Message", "To", "Subject"]
    assert messages[1][1:5] == ["Bill available", a.customer_email, "Your bill is ready", "Not delivered"]
    assert history[0] == ["When", "Who", "What", "Details"]
    assert ["agent@alpha.test", "Account · changed", "Paperless billing: No → Yes"] in [row[1:] for row in history]


def test_readings_to_check_export_the_pending_readings_only(app, two_tenants, browser):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        reading = db.session.scalar(select(MeterReading).where(MeterReading.source == "customer"))
        reading.status = "pending"
        db.session.commit()

    rows = _csv(_office(browser, a, "agent").get("/backoffice/readings?format=csv"))

    assert rows[0][:5] == ["Received", "Reading date", "Meter", "Register", "Index"]
    assert len(rows) == 2 and rows[1][4] == "1234.000" and rows[1][7] == a.account_number


def test_billing_runs_export_with_their_totals_as_numbers(app, two_tenants, browser):
    a, _b = two_tenants
    _start(app, a.tenant_id)

    rows = _csv(_office(browser, a, "billing").get("/backoffice/billing/runs?format=csv"))

    assert rows[0][:5] == ["Billing date", "Scope", "Billing cycle", "Mode", "Status"]
    assert len(rows) == 2 and rows[1][3:5] == ["simulation", "simulated"] and rows[1][6] == "1"
    assert Decimal(rows[1][10]) > 0


def test_direct_debit_batches_and_their_items_export(app, two_tenants, browser):
    a, _b = two_tenants
    public_id, e2e, bill_number, message_id = _b_batch(app, a)
    office = _office(browser, a, "collections")

    batches = _csv(office.get("/backoffice/collections/?format=csv"))
    items = _csv(office.get(f"/backoffice/collections/{public_id}?format=csv"))

    assert batches[0][:3] == ["Collection date", "Reference", "Status"]
    assert [row[1] for row in batches[1:]] == [message_id] and batches[1][3:5] == ["1", "77.00"]
    assert items[0][:3] == ["End-to-end id", "Bill number", "Customer number"]
    assert items[1][:3] == [e2e, bill_number, a.account_number] and items[1][6] == "77.00"


def test_campaigns_and_their_recipients_export_by_status(app, two_tenants, browser):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        campaign = campaign_services.create_campaign(name="Winter", purpose="service", criteria={},
                                                     created_by="supervisor@alpha.test", now=utcnow())
        account = db.session.scalar(select(CustomerAccount))
        db.session.flush()
        db.session.add(CampaignRecipient(campaign_id=campaign.id, account_id=account.id, email="x@example.test",
                                         name="Camille Durand", account_number=account.account_number, locale="fr",
                                         status="sent", attempts=1, sent_at=utcnow()))
        db.session.commit()
        public_id = campaign.public_id
    office = _office(browser, a, "supervisor")

    listed = _csv(office.get("/backoffice/campaigns/?format=csv"))
    sent = _csv(office.get(f"/backoffice/campaigns/{public_id}/recipients?status=sent&format=csv"))
    skipped = _csv(office.get(f"/backoffice/campaigns/{public_id}/recipients?status=skipped&format=csv"))

    assert listed[0][:3] == ["Name", "Purpose", "Status"] and listed[1][:3] == ["Winter", "Service information",
                                                                               "Draft"]
    assert sent[0][:2] == ["Customer number", "Name"] and sent[1][1:5] == ["Camille Durand", "x@example.test",
                                                                          "Français", "Sent"]
    assert skipped == [sent[0]]


def test_staff_and_imports_export_for_the_administrator(app, two_tenants, browser):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.add(CustomerImport(status="completed", files={"customers": "c.csv"}, created_by="admin@alpha.test",
                                      created_at=utcnow() - timedelta(hours=1), total_rows=12, error_count=0))
        db.session.commit()
    office = _office(browser, a, "tenant_admin")

    staff = _csv(office.get("/backoffice/admin/staff?format=csv"))
    imports = _csv(office.get("/backoffice/admin/imports?format=csv"))

    assert staff[0][:3] == ["Name", "E-mail", "Roles"]
    assert {row[1] for row in staff[1:]} == {a.staff_emails[r] for r in a.staff_emails}
    assert "bravo" not in " ".join(row[1] for row in staff[1:])
    assert imports[0][:3] == ["Sent on", "Files", "Status"] and imports[1][1] == "1" and imports[1][3] == "12"


def test_an_export_is_refused_to_staff_who_cannot_see_the_list(two_tenants, browser):
    a, _b = two_tenants
    office = _office(browser, a, "agent")

    answers = [office.get(path).status_code for path in (
        "/backoffice/billing/runs?format=csv", "/backoffice/collections/?format=csv",
        "/backoffice/campaigns/?format=csv", "/backoffice/admin/staff?format=csv")]

    assert answers == [403, 403, 403, 403]


def test_calorific_values_export_with_the_values_as_numbers(two_tenants, browser):
    a, _b = two_tenants
    office = _office(browser, a, "billing")
    office.submit("/backoffice/billing/calorific-values", {"effective_from": "2027-01-01", "value": "39.2"})

    rows = _csv(office.get("/backoffice/billing/calorific-values?format=csv"))

    assert rows[0][:3] == ["Zone", "In force from", "Calorific value (MJ/m³)"]
    assert rows[1][1:4] == ["2027-01-01", "39.2000", a.staff_emails["billing"]]
