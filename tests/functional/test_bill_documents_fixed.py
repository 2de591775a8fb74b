"""A bill's document is fixed when the bill is issued: rendered right after the run commits, stored with its SHA-256,
served byte-identical by the portal and the back office whatever happens later (a card payment, the mandate
revoked); its payment instructions read the mandates as they were at issue, and an account without a mandate is
never told it will be debited."""
from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import delete, select

from domain.billing import runs
from domain.billing.document_jobs import documents_on_demand
from domain.billing.models import Bill
from domain.contracts.models import CustomerAccount
from domain.db import db, utcnow
from domain.payments import mandates
from domain.payments import sepa_collections as collections
from domain.payments.models import DirectDebitMandate
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant
from tests.conftest import Browser, host
from tests.integration.test_payments import pay_allocated

TENANT_IBAN = "FR7630006000011234567890189"
SIGNED_AT = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)  # before the run: its bill is debited


@pytest.fixture(autouse=True)
def _jobs_in_process(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)


@pytest.fixture
def alpha(app, two_tenants):
    a, _b = two_tenants
    with app.app_context(), platform_scope("test: bank details on bills"):
        tenant = db.session.get(Tenant, a.tenant_id)
        tenant.iban, tenant.bic, tenant.sepa_creditor_id = TENANT_IBAN, "AGRIFRPP", "FR72ZZZ123456"
        db.session.commit()
    return a


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def _account(data) -> CustomerAccount:
    return db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == data.account_number))


def _without_mandates(app, data) -> None:
    """`populate_tenant` gives the account a mandate: these accounts have none."""
    with app.app_context(), tenant_scope(data.tenant_id):
        db.session.execute(delete(DirectDebitMandate))
        db.session.commit()


def _sign(app, data, *, at: datetime = SIGNED_AT) -> None:
    with app.app_context(), tenant_scope(data.tenant_id):
        tenant = db.session.get(Tenant, data.tenant_id)
        tenant.sepa_creditor_id = tenant.sepa_creditor_id or "FR72ZZZ123456"  # a utility that collects by SEPA
        mandates.sign_mandate(tenant=tenant, account=_account(data), iban="DE89370400440532013000",
                              holder_name="Alice Martin", accepted=True, signed_at=at, signed_by_user_id=None)
        db.session.commit()


def _issue_run(app, data, *, on_demand: bool = False) -> Bill:
    with app.app_context(), tenant_scope(data.tenant_id):
        run = runs.create_run(billing_date=date(2024, 2, 1), mode="issue", scope_activity=None, scope_cycle=None,
                              created_by="test", now=utcnow())
        db.session.commit()
        if on_demand:
            with documents_on_demand():
                runs.start(run)
        else:
            runs.start(run)
        bill = db.session.scalar(select(Bill).where(Bill.billing_run_id == run.id))
        db.session.expunge(bill)
        return bill


def _stored(app, bill: Bill) -> bytes:
    return (Path(app.config["FILES_DIR"]) / bill.document_path).read_bytes()


def _customer_pdf(app, data, number: str):
    portal = Browser(app.test_client(), host(data.slug))  # a fresh session each time: the customer signs in
    portal.login(data.customer_email)
    return portal.get(f"/bills/{number}.pdf")


def _office(app, data) -> Browser:
    """Staff on a client of their own (the customer's session stays on the other)."""
    office = Browser(app.test_client(), host(data.slug))
    office.login(data.staff_emails["agent"], area="/backoffice")
    return office


def _staff_pdf(app, data, number: str):
    office = _office(app, data)
    return office.get(f"/backoffice/bills/{number}.pdf")


def test_the_document_is_stored_with_its_checksum_as_soon_as_the_run_has_issued(app, alpha):
    bill = _issue_run(app, alpha)

    assert bill.status == "issued" and bill.document_path
    stored = _stored(app, bill)
    assert stored.startswith(b"%PDF")
    assert hashlib.sha256(stored).hexdigest() == bill.document_sha256
    assert bill.number in _text(stored)


def test_the_pdf_is_byte_identical_after_a_card_payment_and_after_the_mandate_is_revoked(app, alpha):
    _sign(app, alpha)
    bill = _issue_run(app, alpha)
    at_issue = _stored(app, bill)
    with app.app_context(), tenant_scope(alpha.tenant_id):
        pay_allocated(db.session.get(Bill, bill.id), str(bill.total_incl_tax))  # paid by card after all
        db.session.commit()

    after_payment = _customer_pdf(app, alpha, bill.number)
    with app.app_context(), tenant_scope(alpha.tenant_id):
        mandates.revoke_mandate(account=_account(alpha), revoked_at=utcnow())
        db.session.commit()
    after_revocation = _customer_pdf(app, alpha, bill.number)
    staff_copy = _staff_pdf(app, alpha, bill.number)

    assert "debited" in _text(at_issue)
    assert after_payment.status_code == after_revocation.status_code == staff_copy.status_code == 200
    assert after_payment.data == after_revocation.data == staff_copy.data == at_issue


def test_a_document_first_opened_after_the_mandate_ended_says_what_the_bill_said_at_issue(app, alpha):
    _sign(app, alpha)
    bill = _issue_run(app, alpha, on_demand=True)  # nobody rendered it at issue (a bill from before this change)
    with app.app_context(), tenant_scope(alpha.tenant_id):
        mandates.revoke_mandate(account=_account(alpha), revoked_at=utcnow())
        db.session.commit()

    opened = _customer_pdf(app, alpha, bill.number)

    assert bill.document_path is None and opened.status_code == 200
    text = _text(opened.data)
    assert "debited" in text and "7890 189" not in text.replace("7890189", "7890 189")


def test_an_account_marked_direct_debit_without_a_mandate_is_told_to_pay_by_transfer(app, alpha):
    _without_mandates(app, alpha)
    with app.app_context(), tenant_scope(alpha.tenant_id):
        _account(alpha).payment_method = "direct_debit"  # imported that way, no mandate was ever given
        db.session.commit()

    bill = _issue_run(app, alpha)
    office = _office(app, alpha)
    customer_file = office.get(f"/backoffice/customers/{alpha.account_number}").get_data(as_text=True)

    text = _text(_stored(app, bill))
    assert "debited" not in text and "direct debit" not in text.lower()
    assert "IBAN" in text and bill.number in text  # transfer details, quoting the bill's number
    method = customer_file[customer_file.index("Payment method"):][:200]
    assert "bank transfer" in method and "direct debit" not in method
    assert "No active mandate: bills are paid by bank transfer." in customer_file


def test_an_account_without_an_active_mandate_is_never_put_in_a_direct_debit_batch(app, alpha):
    # Checked, not changed: the batch selection already requires an active mandate (domain/payments).
    _without_mandates(app, alpha)
    with app.app_context(), tenant_scope(alpha.tenant_id):
        _account(alpha).payment_method = "direct_debit"
        db.session.commit()
    bill = _issue_run(app, alpha)

    with app.app_context(), tenant_scope(alpha.tenant_id):
        candidates = collections.preview(collection_date=bill.due_date).candidates

    assert bill.total_incl_tax > Decimal("0") and [c.bill.number for c in candidates] == []


def test_a_stored_document_whose_bytes_changed_is_never_served(app, alpha):
    bill = _issue_run(app, alpha)
    path = Path(app.config["FILES_DIR"]) / bill.document_path
    path.write_bytes(path.read_bytes().replace(b"%%EOF", b"%%EOF tampered"))

    customer = _customer_pdf(app, alpha, bill.number)
    staff = _staff_pdf(app, alpha, bill.number)

    assert customer.status_code == 503 and b"tampered" not in customer.data
    assert "cannot be shown at the moment" in customer.get_data(as_text=True)
    assert staff.status_code == 503 and b"tampered" not in staff.data
    assert b"does not match its checksum" not in staff.data  # the page speaks to staff, not in internal terms
    assert "no longer matches" in staff.get_data(as_text=True)


def test_a_lost_file_is_replaced_only_by_an_identical_rendering(app, alpha):
    bill = _issue_run(app, alpha)
    original = _stored(app, bill)
    (Path(app.config["FILES_DIR"]) / bill.document_path).unlink()

    restored = _customer_pdf(app, alpha, bill.number)  # the same facts at issue: the same bytes

    assert restored.status_code == 200 and restored.data == original
    with app.app_context(), tenant_scope(alpha.tenant_id):
        again = db.session.get(Bill, bill.id)
        _account(alpha).holder.last_name = "Someone-Else"  # a fact the document shows has changed since
        db.session.commit()
        (Path(app.config["FILES_DIR"]) / again.document_path).unlink()
    lost = _customer_pdf(app, alpha, bill.number)
    assert lost.status_code == 503 and not lost.data.startswith(b"%PDF")


def test_bills_issued_outside_runs_get_their_documents_once_the_request_has_committed(app, alpha):
    bill = _issue_run(app, alpha)
    office = Browser(app.test_client(), host(alpha.slug))
    office.login(alpha.staff_emails["billing"], area="/backoffice")

    office.submit(f"/backoffice/customers/{alpha.account_number}", {"confirm": "y"},
                  action=f"/backoffice/bills/{bill.number}/correct")

    with app.app_context(), tenant_scope(alpha.tenant_id):
        made = db.session.execute(select(Bill.kind, Bill.document_path, Bill.document_sha256)
                                  .where(Bill.corrects_bill_id == bill.id)).all()
    assert sorted(kind for kind, _path, _sha in made) == ["corrective", "credit_note"]
    for _kind, path, digest in made:
        assert path and hashlib.sha256((Path(app.config["FILES_DIR"]) / path).read_bytes()).hexdigest() == digest


def test_the_portal_account_page_says_direct_debit_is_active_only_with_a_mandate_in_force(app, alpha):
    portal = Browser(app.test_client(), host(alpha.slug))
    portal.login(alpha.customer_email)
    with_mandate = portal.get(f"/accounts/{alpha.account_number}").get_data(as_text=True)
    _without_mandates(app, alpha)
    with app.app_context(), tenant_scope(alpha.tenant_id):
        _account(alpha).payment_method = "direct_debit"  # imported that way, no mandate in force
        db.session.commit()

    without = portal.get(f"/accounts/{alpha.account_number}").get_data(as_text=True)

    assert "Direct debit (active)" in with_mandate
    assert "Direct debit (active)" not in without and "Direct debit" in without
