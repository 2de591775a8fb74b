"""The customer journey end to end in Chromium: activate online access from a bill → sign in → send a meter
reading → open the latest bill and its PDF → pay it in the sandbox → see it paid → file a complaint.

Only what a customer has is used: the customer number and postcode printed on a bill, the link in the e-mail, the
pages' labels, roles and texts (accessible locators: a step they cannot reach is an accessibility bug). Playwright
waits for navigations and elements; nothing sleeps. The database is checked at the end for what each step stored.
"""
from __future__ import annotations

import base64
import io
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from domain.accounting.models import LedgerEntry, Payment, PaymentAllocation
from domain.billing.models import Bill
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import CustomerAccess, CustomerUser
from domain.readings.models import MeterReading
from domain.requests.models import RequestAttachment, ServiceRequest
from domain.sites.models import Meter, Register
from tenants.context import tenant_scope
from tests.browser.journey_data import JourneyCustomer, build_journey_customer

PASSWORD = "lilac-street-meter-2026"
STEP_MS = 20_000  # a loaded 2-core CI machine renders a PDF and a page in well under this
_LINK = re.compile(r"https?://[^/\s]+(/activate/\S+)")
_REFERENCE = re.compile(r"Your request (\S+) is registered")


@pytest.fixture
def journey(app, make_tenant) -> JourneyCustomer:
    tenant = make_tenant("juniper", activities=("electricity",))
    with app.app_context():
        return build_journey_customer(tenant)


def _money(amount: Decimal) -> str:
    return f"€{amount:,.2f}"


def _path(page) -> str:
    return urlsplit(page.url).path


def _activation_link(outbox, email: str) -> str:
    mails = [m for m in outbox() if m["To"] == email]
    assert len(mails) == 1, f"one activation mail to {email}, got {[m['To'] for m in outbox()]}"
    body = mails[0].get_body(preferencelist=("plain",)).get_content()
    found = _LINK.search(body)
    assert found, body
    return found.group(1)


def test_activate_sign_in_read_pay_and_complain(site, journey, outbox, app):
    visitor = site(journey.slug)
    page = visitor.page
    page.set_default_timeout(STEP_MS)
    page.set_default_navigation_timeout(STEP_MS)
    total = _money(journey.latest_bill_total)

    # --- Activate: customer number and postcode from a bill, the link from the e-mail, a password ------------
    visitor.goto("/login")
    with page.expect_navigation():
        page.get_by_role("link", name="Activate your online access").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activate your online access")
    page.get_by_label("Customer number").fill(journey.account_number)
    page.get_by_label("Postcode of your postal address").fill(journey.postcode_as_typed)
    with page.expect_navigation():
        page.get_by_role("button", name="Send me the link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    # The link went to the address on file, named masked.
    expect(page.get_by_role("status")).to_contain_text(journey.email[0] + "•••@" + journey.email.split("@")[1])

    visitor.goto(_activation_link(outbox, journey.email))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose your password")
    expect(page.get_by_text(f"Your e-mail address {journey.email} is confirmed")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the new password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Activate my online access").click()
    assert _path(page) == "/"
    expect(page.get_by_text("Your online access is ready. Welcome!")).to_be_visible()

    # --- Sign out, then sign in with the new password ------------------------------------------------------
    navigation = page.get_by_role("navigation", name="Main")
    with page.expect_navigation():
        navigation.get_by_role("button", name="Sign out").click()
    visitor.goto("/")
    assert _path(page) == "/login", "signed out: the portal asks to sign in"
    page.get_by_label("E-mail address").fill(journey.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert _path(page) == "/"
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello {journey.holder_name}")
    expect(page.get_by_role("main")).to_contain_text(journey.account_number)

    # --- A meter reading: the previous one is shown, a plausible one is accepted --------------------------
    with page.expect_navigation():
        navigation.get_by_role("link", name="Meter readings").click()
    meter = page.get_by_role("region", name=re.compile(f"meter {journey.meter_serial}"))
    expect(meter).to_contain_text(journey.delivery_point)
    expect(meter).to_contain_text(f"Previous reading: {journey.previous_reading:,.0f} kWh")
    meter.get_by_label("Reading in kWh").fill(f"{journey.plausible_reading:.0f}")
    with page.expect_navigation():
        meter.get_by_role("button", name="Send my reading").click()
    assert _path(page) == f"/readings/{journey.meter_serial}/history"
    expect(page.get_by_text(re.compile(r"Thank you: your reading of .+ is recorded\."))).to_be_visible()
    expect(page.get_by_text("our team will check it")).to_have_count(0)
    newest = page.get_by_role("table").get_by_role("row").nth(1)
    expect(newest).to_contain_text(f"{journey.plausible_reading:,.0f} kWh")
    expect(newest).to_contain_text("You")
    expect(newest).to_contain_text("Accepted")

    # --- The latest bill, its lines and its PDF --------------------------------------------------------------
    with page.expect_navigation():
        navigation.get_by_role("link", name="Bills").click()
    expect(page.get_by_role("region", name=f"Account {journey.account_number}")).to_contain_text(total)
    bills = page.get_by_role("table", name="Your bills")
    latest_row = bills.get_by_role("row").nth(1)
    expect(latest_row).to_contain_text(journey.latest_bill_number)
    expect(latest_row.get_by_role("cell", name="Due", exact=True)).to_be_visible()
    expect(latest_row).to_contain_text(total)
    older_row = bills.get_by_role("row").filter(has_text=journey.paid_bill_number)
    expect(older_row.get_by_role("cell", name="Paid", exact=True)).to_be_visible()
    with page.expect_navigation():
        latest_row.get_by_role("link", name=journey.latest_bill_number).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Bill {journey.latest_bill_number}")
    details = page.get_by_role("table", name="Details")
    expect(details).to_contain_text("Energy consumption")
    expect(details).to_contain_text("Standing charge")
    expect(page.get_by_role("table", name="Totals")).to_contain_text(total)

    # Chromium shows the PDF in its viewer (no download): check what it was served, then read the same bytes
    # through the browser's own session for their content.
    pdf_link = page.get_by_role("link", name=re.compile("^Open the PDF"))
    with page.expect_response(lambda r: urlsplit(r.url).path.endswith(".pdf")) as opened:
        pdf_link.click()
    page.wait_for_url(f"**/bills/{journey.latest_bill_number}.pdf", wait_until="commit")
    served = opened.value
    assert served.status == 200
    assert served.header_value("content-type") == "application/pdf"
    assert served.header_value("content-disposition") == f'inline; filename="{journey.latest_bill_number}.pdf"'
    page.go_back()
    assert _path(page) == f"/bills/{journey.latest_bill_number}"
    pdf = _fetch(page, pdf_link.get_attribute("href"))
    assert pdf["status"] == 200 and pdf["type"] == "application/pdf"
    assert pdf["body"][:5] == b"%PDF-"
    pdf_text = _pdf_text(pdf["body"])
    assert journey.latest_bill_number in pdf_text and journey.holder_name in pdf_text and total in pdf_text

    # --- Pay it in the sandbox (test mode) -------------------------------------------------------------------
    with page.expect_navigation():
        page.get_by_role("link", name=f"Pay {total} by card").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pay by card")
    expect(page.get_by_text("Test mode — no real money.")).to_be_visible()
    choice = page.get_by_role("checkbox", name=re.compile(f"Bill {journey.latest_bill_number} — {re.escape(total)}"))
    expect(choice).to_be_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="Pay the selected bills").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Simulated card payment")
    expect(page.get_by_role("note")).to_have_text("Test mode — no real money.")
    expect(page.get_by_role("main")).to_contain_text(total)
    with page.expect_navigation():
        page.get_by_role("button", name="Pay", exact=True).click()
    assert re.fullmatch(r"/payments/[^/]+", _path(page)), page.url
    expect(page.get_by_role("status")).to_have_text(
        f"Thank you: your payment of {total} has been received. A receipt has been sent to you by e-mail.")
    expect(page.get_by_role("main")).to_contain_text(journey.latest_bill_number)
    receipts = [m for m in outbox() if m["To"] == journey.email
                and m["Subject"] not in ("Activate your online access", "A new online access to your account")]
    assert [m["Subject"] for m in receipts] == ["Your payment receipt"]

    # --- See it paid: the bill, the list, the balance ----------------------------------------------------------
    with page.expect_navigation():
        page.get_by_role("link", name=journey.latest_bill_number).click()
    expect(page.locator("#bill-status")).to_have_text("Status: Paid")
    expect(page.get_by_role("table", name="Payments on this bill")).to_contain_text(total)
    expect(page.get_by_role("link", name=re.compile("by card$"))).to_have_count(0)
    with page.expect_navigation():
        navigation.get_by_role("link", name="Bills").click()
    expect(page.get_by_role("region", name=f"Account {journey.account_number}")).to_contain_text("Nothing to pay")
    paid_row = page.get_by_role("table", name="Your bills").get_by_role("row").filter(
        has_text=journey.latest_bill_number)
    expect(paid_row.get_by_role("cell", name="Paid", exact=True)).to_be_visible()
    expect(page.get_by_role("table", name="Your card payments").get_by_role("row").nth(1)).to_contain_text(total)

    # --- File a complaint, with the bill's PDF attached ---------------------------------------------------------
    subject = f"Bill {journey.latest_bill_number} counts too many days"
    description = "The standing charge counts 30 days but the period on the bill is shorter. Please check."
    with page.expect_navigation():
        navigation.get_by_role("link", name="Requests").click()
    with page.expect_navigation():
        page.get_by_role("link", name="Open a request").click()
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("^Complaint")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Complaint")
    expect(page.get_by_label("Account")).to_have_value(journey.account_number)
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Your message").fill(description)
    page.get_by_label("Attachments (optional)").set_input_files(
        files=[{"name": f"{journey.latest_bill_number}.pdf", "mimeType": "application/pdf", "buffer": pdf["body"]}])
    with page.expect_navigation():
        page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(subject)
    flash = page.get_by_text(_REFERENCE)
    expect(flash).to_be_visible()
    reference = _REFERENCE.search(flash.inner_text()).group(1)
    expect(page.get_by_role("main")).to_contain_text(description)
    expect(page.get_by_role("link", name=f"{journey.latest_bill_number}.pdf")).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("link", name="My requests").click()
    listed = page.get_by_role("listitem").filter(has=page.get_by_role("link", name=subject))
    expect(listed).to_contain_text(reference)
    expect(listed).to_contain_text("Complaint")
    expect(listed).to_contain_text("open")

    _assert_stored(app, journey, reference=reference, subject=subject, description=description)


def _fetch(page, href: str) -> dict:
    """GET `href` from the page with the browser's cookies (the way the page's own links load)."""
    answer = page.evaluate("""async href => {
        const response = await fetch(href, {credentials: "same-origin"});
        const bytes = new Uint8Array(await response.arrayBuffer());
        let binary = "";
        for (let i = 0; i < bytes.length; i += 0x8000) {
            binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
        }
        return {status: response.status, type: response.headers.get("content-type"), body: btoa(binary)};
    }""", href)
    return {**answer, "body": base64.b64decode(answer["body"])}


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


def _assert_stored(app, journey: JourneyCustomer, *, reference: str, subject: str, description: str) -> None:
    """What the journey stored: the login, the reading, the payment credited and allocated, the complaint."""
    with app.app_context(), tenant_scope(journey.tenant_id):
        account = db.session.scalar(
            select(CustomerAccount).where(CustomerAccount.account_number == journey.account_number))
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == journey.email))
        assert user is not None and user.email_verified_at is not None
        assert db.session.scalars(select(CustomerAccess.account_id).where(
            CustomerAccess.customer_user_id == user.id)).all() == [account.id]

        readings = db.session.scalars(
            select(MeterReading).join(Register, Register.id == MeterReading.register_id)
            .join(Meter, Meter.id == Register.meter_id).where(Meter.serial_number == journey.meter_serial,
                                                              MeterReading.source == "customer")).all()
        assert [(r.value, r.status, r.submitted_by_user_id) for r in readings] == [
            (journey.plausible_reading, "valid", user.id)]

        bill = db.session.scalar(select(Bill).where(Bill.number == journey.latest_bill_number))
        payment = db.session.scalar(select(Payment).where(Payment.customer_user_id == user.id))
        assert (payment.status, payment.provider, payment.amount, payment.account_id) == (
            "succeeded", "sandbox", journey.latest_bill_total, account.id)
        assert payment.receipt_sent_at is not None
        assert db.session.execute(select(PaymentAllocation.bill_id, PaymentAllocation.amount).where(
            PaymentAllocation.payment_id == payment.id)).all() == [(bill.id, journey.latest_bill_total)]
        credits = db.session.execute(select(LedgerEntry.direction, LedgerEntry.amount).where(
            LedgerEntry.payment_id == payment.id)).all()
        assert credits == [("credit", journey.latest_bill_total)]

        complaint = db.session.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
        assert (complaint.kind, complaint.status, complaint.subject, complaint.account_id) == (
            "complaint", "open", subject, account.id)
        assert complaint.opened_by_user_id == user.id and complaint.due_at is not None
        files = db.session.scalars(select(RequestAttachment).where(RequestAttachment.request_id == complaint.id)).all()
        assert [(f.filename, f.content_type) for f in files] == [
            (f"{journey.latest_bill_number}.pdf", "application/pdf")]
        assert complaint.description == description
