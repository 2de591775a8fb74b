"""Staff collect bills by SEPA direct debit: preview then prepare a batch, download its pain.008 file, submit,
settle, record a return (the customer is e-mailed in their language); the tenant admin sets the creditor id."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from domain.accounting.models import Payment
from domain.audit.models import AuditEvent
from domain.db import db, utcnow
from domain.identity.models import CustomerUser
from domain.payments import mandates
from domain.payments.collection_models import CollectionBatch, CollectionItem
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.integration.test_payments import account_of, add_bill, balance_of
from tests.integration.test_sepa_collections import configure


def _today():
    return utcnow().astimezone(ZoneInfo("Europe/Paris")).date()


@pytest.fixture
def alpha(app, two_tenants):
    a, b = two_tenants
    configure(app, a.slug)
    configure(app, b.slug, creditor_id="DE98ZZZ09999999999")
    return a


@pytest.fixture
def bill_due(app, alpha):
    """A 120.50 bill due in three days on the customer's account, whose mandate the customer signed online."""
    with app.app_context(), tenant_scope(alpha.tenant_id):
        account = account_of(alpha.account_number)
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == alpha.customer_email))
        user.locale = "fr"
        mandates.sign_mandate(tenant=db.session.get(Tenant, alpha.tenant_id), account=account,
                              iban="DE89370400440532013000", holder_name="Jürgen Groß",
                              accepted=True, signed_at=utcnow() - timedelta(days=30), signed_by_user_id=user.id)
        bill = add_bill(alpha.account_number, "120.50", due=_today() + timedelta(days=3))
        db.session.commit()
        return bill.number


@pytest.fixture
def office(browser, alpha):
    signed_in = browser(alpha.slug)
    signed_in.login(alpha.staff_emails["collections"], area="/backoffice")
    return signed_in


def _in(app, data, fn):
    with app.app_context(), tenant_scope(data.tenant_id):
        return fn()


def _prepare(office, on) -> str:
    preview = office.get(f"/backoffice/collections/preview?collection_date={on.isoformat()}")
    assert preview.status_code == 200
    token_page = preview.get_data(as_text=True)
    import re
    fields = dict(re.findall(r'name="(csrf_token|collection_date|shown)" type="hidden" value="([^"]*)"', token_page))
    response = office.post("/backoffice/collections/prepare", fields)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[-1]


def _batch(app, data, public_id):
    return _in(app, data, lambda: db.session.scalar(select(CollectionBatch).where(
        CollectionBatch.public_id == public_id)))


def test_preview_lists_the_due_bills_and_confirming_prepares_the_batch_once(app, office, alpha, bill_due):
    on = _today() + timedelta(days=7)

    preview = office.get(f"/backoffice/collections/preview?collection_date={on.isoformat()}").get_data(as_text=True)
    public_id = _prepare(office, on)
    again = office.get(f"/backoffice/collections/preview?collection_date={on.isoformat()}").get_data(as_text=True)
    listing = office.get("/backoffice/collections/").get_data(as_text=True)

    assert bill_due in preview and "120.50" in preview and "<td>first collection (FRST)</td>" in preview
    assert "No bill is due for collection by this date." in again
    items = _in(app, alpha, lambda: [(i.amount, i.sequence_type, i.status) for i in db.session.scalars(
        select(CollectionItem))])
    assert items == [(Decimal("120.50"), "FRST", "pending")]
    assert public_id in listing and f"DD{on:%Y%m%d}-01" in listing and "120.50" in listing
    assert 'href="/backoffice/collections/"' in listing  # the navigation link


def test_confirming_a_preview_twice_adds_nothing_twice(app, office, alpha, bill_due):
    on = _today() + timedelta(days=7)
    page = office.get(f"/backoffice/collections/preview?collection_date={on.isoformat()}").get_data(as_text=True)
    import re
    fields = dict(re.findall(r'name="(csrf_token|collection_date|shown)" type="hidden" value="([^"]*)"', page))

    first = office.post("/backoffice/collections/prepare", fields)
    second = office.post("/backoffice/collections/prepare", fields)

    assert first.status_code == 302
    assert second.status_code == 409
    assert "have changed since the preview" in second.get_data(as_text=True)
    assert _in(app, alpha, lambda: db.session.scalar(select(func.count(CollectionItem.id)))) == 1


def test_a_missing_or_past_date_is_explained_and_prepares_nothing(app, office, alpha, bill_due):
    missing = office.get("/backoffice/collections/preview?collection_date=")
    past = office.get(f"/backoffice/collections/preview?collection_date={_today().isoformat()}")
    forged = office.submit("/backoffice/collections/", {"collection_date": "not-a-date", "shown": "x"},
                           action="/backoffice/collections/prepare")
    stale = office.submit("/backoffice/collections/", {"collection_date": _today().isoformat(), "shown": "x"},
                          action="/backoffice/collections/prepare")

    assert missing.status_code == 422 and "Enter the collection date." in missing.get_data(as_text=True)
    assert past.status_code == 200
    assert "The collection date must be after today." in past.get_data(as_text=True)
    assert "Prepare the batch" not in past.get_data(as_text=True)
    assert forged.status_code == 400
    assert stale.status_code == 422 and "must be after today" in stale.get_data(as_text=True)
    assert _in(app, alpha, lambda: db.session.scalar(select(func.count(CollectionBatch.id)))) == 0


def test_the_file_downloads_as_pain008_with_the_tenants_creditor_identifier(app, office, alpha, bill_due):
    public_id = _prepare(office, _today() + timedelta(days=7))

    response = office.get(f"/backoffice/collections/{public_id}.xml")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="DD')
    xml = response.get_data(as_text=True)
    assert "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02" in xml
    assert "<Id>FR72ZZZ123456</Id>" in xml and '<InstdAmt Ccy="EUR">120.50</InstdAmt>' in xml
    assert f"<Ustrd>Bill {bill_due}</Ustrd>" in xml and "<Nm>Jurgen Gross</Nm>" in xml
    assert "DE98ZZZ09999999999" not in xml  # bravo's identifier


def _move_to(clock, office, alpha, day) -> None:
    """The tests' clock moved to `day`, in the morning in Paris; staff sign in again (sessions last hours)."""
    clock.move_to(datetime.combine(day, time(8), tzinfo=UTC))
    office.login(alpha.staff_emails["collections"], area="/backoffice")


def _on_collection_day(clock, office, alpha, days: int = 7) -> None:
    _move_to(clock, office, alpha, _today() + timedelta(days=days))


def test_submit_settle_then_a_return_makes_the_bill_unpaid_and_tells_the_customer_in_french(
        app, office, alpha, bill_due, outbox, clock):
    public_id = _prepare(office, _today() + timedelta(days=7))
    base = f"/backoffice/collections/{public_id}"

    assert office.submit(base, {}, action=f"{base}/submit").status_code == 302
    _on_collection_day(clock, office, alpha)
    assert office.submit(base, {}, action=f"{base}/settle").status_code == 302
    settled_balance = _in(app, alpha, lambda: balance_of(alpha.account_number))
    e2e = _in(app, alpha, lambda: db.session.scalar(select(CollectionItem.end_to_end_id)))
    returned = office.submit(base, {"reason": "AM04"}, action=f"{base}/items/{e2e}/return")
    page = office.get(base).get_data(as_text=True)
    customer_file = office.get(f"/backoffice/customers/{alpha.account_number}").get_data(as_text=True)

    assert returned.status_code == 302
    assert _batch(app, alpha, public_id).status == "settled"
    payment = _in(app, alpha, lambda: db.session.scalar(select(Payment).where(Payment.method == "direct_debit")))
    assert (payment.amount, payment.status, payment.failure_reason) == (Decimal("120.50"), "failed",
                                                                         "SEPA return AM04")
    assert _in(app, alpha, lambda: balance_of(alpha.account_number)) == settled_balance + Decimal("120.50")
    assert "AM04 (insufficient funds)" in page
    assert "AM04 (insufficient funds)" in customer_file and bill_due in customer_file
    (mail,) = [m for m in outbox() if bill_due in m["Subject"]]
    assert mail["To"] == alpha.customer_email
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Votre banque a rejeté le prélèvement" in body and "AM04" in body
    events = _in(app, alpha, lambda: db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "CollectionItem")).all())
    assert events.count("update") >= 2  # settled, then returned, each audited


def test_a_return_without_a_reason_or_twice_changes_nothing(app, office, alpha, bill_due, outbox, clock):
    public_id = _prepare(office, _today() + timedelta(days=7))
    base = f"/backoffice/collections/{public_id}"
    office.submit(base, {}, action=f"{base}/submit")
    _on_collection_day(clock, office, alpha)
    e2e = _in(app, alpha, lambda: db.session.scalar(select(CollectionItem.end_to_end_id)))

    empty = office.submit(base, {"reason": ""}, action=f"{base}/items/{e2e}/return")
    first = office.submit(base, {"reason": "MD01"}, action=f"{base}/items/{e2e}/return")
    twice = office.submit(base, {"reason": "AM04"}, action=f"{base}/items/{e2e}/return")
    unknown = office.submit(base, {"reason": "AM04"}, action=f"{base}/items/NOPE-1/return")

    assert empty.status_code == 422 and "Choose the reason code" in empty.get_data(as_text=True)
    assert first.status_code == 302
    assert twice.status_code == 409 and "already recorded as returned" in twice.get_data(as_text=True)
    assert unknown.status_code == 404
    assert _in(app, alpha, lambda: db.session.scalar(select(CollectionItem.return_reason))) == "MD01"
    assert len([m for m in outbox() if bill_due in m["Subject"]]) == 1


def test_settling_a_prepared_batch_is_refused_and_cancel_frees_the_bills(app, office, alpha, bill_due):
    public_id = _prepare(office, _today() + timedelta(days=7))
    base = f"/backoffice/collections/{public_id}"

    early = office.submit(base, {}, action=f"{base}/settle")
    cancelled = office.submit(base, {"confirm": "y"}, action=f"{base}/cancel")
    again = _prepare(office, _today() + timedelta(days=7))

    assert early.status_code == 409 and "cannot do that in its current state" in early.get_data(as_text=True)
    assert cancelled.status_code == 302
    assert _batch(app, alpha, public_id).status == "cancelled"
    assert _batch(app, alpha, again).message_id.endswith("-02")
    assert _in(app, alpha, lambda: db.session.scalar(select(func.count(Payment.id)).where(
        Payment.method == "direct_debit"))) == 0


def test_staff_without_the_collections_permission_are_refused(browser, alpha, bill_due):
    billing = browser(alpha.slug)
    billing.login(alpha.staff_emails["billing"], area="/backoffice")

    assert billing.get("/backoffice/collections/").status_code == 403
    assert billing.get("/backoffice/collections/settings").status_code == 403
    assert 'href="/backoffice/collections/"' not in billing.get("/backoffice/").get_data(as_text=True)


def test_the_admin_sets_the_creditor_identifier_shown_on_the_mandate_page(app, browser, alpha):
    admin = browser(alpha.slug)
    admin.login(alpha.staff_emails["tenant_admin"], area="/backoffice")

    wrong = admin.submit("/backoffice/collections/settings", {"creditor_id": "DE97ZZZ09999999999",
                                                              "iban": "FR7630006000011234567890189"})
    saved = admin.submit("/backoffice/collections/settings", {
        "creditor_id": "at92 zzz 0000 0012 345", "iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "agrifrpp",
        "lead_days": "5"})
    portal = browser(alpha.slug)
    portal.login(alpha.customer_email)
    mandate_page = portal.get(f"/accounts/{alpha.account_number}/direct-debit").get_data(as_text=True)

    assert wrong.status_code == 422
    assert "check digits" in wrong.get_data(as_text=True) or "not valid" in wrong.get_data(as_text=True)
    assert saved.status_code == 302
    with app.app_context(), tenant_scope(alpha.tenant_id):
        tenant = db.session.get(Tenant, alpha.tenant_id)
        assert (tenant.sepa_creditor_id, tenant.iban, tenant.bic, tenant.sepa_collection_lead_days) == (
            "AT92ZZZ00000012345", "FR7630006000011234567890189", "AGRIFRPP", 5)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sepa_settings"))
        assert event.changes["sepa_creditor_id"] == {"before": "FR72ZZZ123456", "after": "AT92ZZZ00000012345"}
        assert event.actor_label == alpha.staff_emails["tenant_admin"]
    assert "AT92ZZZ00000012345" in mandate_page


def test_a_utility_taking_transfers_only_saves_its_iban_without_a_creditor_identifier(app, browser, alpha):
    admin = browser(alpha.slug)
    admin.login(alpha.staff_emails["tenant_admin"], area="/backoffice")
    settings = {"creditor_id": "", "iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "", "lead_days": ""}

    refused = admin.submit("/backoffice/collections/settings", settings)  # direct debit is offered (all methods)
    admin.submit("/backoffice/admin/payments", {"methods": ["transfer"]}, action="/backoffice/admin/payments/methods")
    saved = admin.submit("/backoffice/collections/settings", settings)

    assert refused.status_code == 422 and "Enter the SEPA creditor identifier." in refused.get_data(as_text=True)
    assert saved.status_code == 302
    with app.app_context(), tenant_scope(alpha.tenant_id):
        tenant = db.session.get(Tenant, alpha.tenant_id)
        assert (tenant.sepa_creditor_id, tenant.iban) == (None, "FR7630006000011234567890189")


def test_the_batches_reference_column_is_not_called_a_transfers_reference_in_german(app, office, alpha, bill_due):
    from domain.identity.models import StaffUser

    _prepare(office, _today() + timedelta(days=5))
    with app.app_context(), tenant_scope(alpha.tenant_id):
        db.session.scalar(select(StaffUser).where(StaffUser.email == alpha.staff_emails["collections"])).locale = "de"
        db.session.commit()

    html = office.get("/backoffice/collections/").get_data(as_text=True)

    assert ">Referenz</th>" in html and "Verwendungszweck" not in html


def test_the_preview_button_counts_its_bills_in_the_singular_and_plural(app, office, alpha, bill_due):
    on = _today() + timedelta(days=7)

    one = office.get(f"/backoffice/collections/preview?collection_date={on.isoformat()}").get_data(as_text=True)
    _in(app, alpha, lambda: (add_bill(alpha.account_number, "10.00", due=_today() + timedelta(days=2)),
                             db.session.commit()))
    two = office.get(f"/backoffice/collections/preview?collection_date={on.isoformat()}").get_data(as_text=True)

    assert "Prepare the batch of 1 bill<" in one and "these 1 bills" not in one
    assert "Prepare the batch of 2 bills<" in two


def test_a_batchs_sequence_type_reads_in_words_beside_its_code(app, office, alpha, bill_due):
    from domain.identity.models import StaffUser

    public_id = _prepare(office, _today() + timedelta(days=5))
    with app.app_context(), tenant_scope(alpha.tenant_id):
        db.session.scalar(select(StaffUser).where(StaffUser.email == alpha.staff_emails["collections"])).locale = "fr"
        db.session.commit()

    html = office.get(f"/backoffice/collections/{public_id}").get_data(as_text=True)

    assert "<td>premier prélèvement (FRST)</td>" in html


def test_a_batchs_reference_in_its_heading_does_not_break_at_its_hyphen(app, office, alpha, bill_due):
    on = _today() + timedelta(days=5)
    public_id = _prepare(office, on)

    html = office.get(f"/backoffice/collections/{public_id}").get_data(as_text=True)

    assert f'<h1>Collection <span class="nowrap">DD{on:%Y%m%d}-01</span>' in html


def test_cancelling_a_batch_says_what_is_withdrawn_and_changes_nothing_until_confirmed(app, office, alpha, bill_due):
    public_id = _prepare(office, _today() + timedelta(days=7))
    base = f"/backoffice/collections/{public_id}"
    page = office.get(base).get_data(as_text=True)

    unconfirmed = office.submit(base, {}, action=f"{base}/cancel")

    assert "Cancelling withdraws the 1 collection of this batch (€120.50): do not send its file to the bank." in page
    assert 'name="confirm" value="y" required' in page
    assert unconfirmed.status_code == 422
    text = unconfirmed.get_data(as_text=True)
    assert "Tick the box to confirm that the batch is to be cancelled." in text
    assert '<details class="review-form bo-confirm" open>' in text
    assert _batch(app, alpha, public_id).status == "prepared"
    assert _in(app, alpha, lambda: db.session.scalar(select(CollectionItem.status))) == "pending"


def test_a_french_staff_member_is_told_in_french_what_cancelling_a_batch_withdraws(app, office, alpha, bill_due):
    from domain.identity.models import StaffUser

    public_id = _prepare(office, _today() + timedelta(days=7))
    with app.app_context(), tenant_scope(alpha.tenant_id):
        db.session.scalar(select(StaffUser).where(StaffUser.email == alpha.staff_emails["collections"])).locale = "fr"
        db.session.commit()

    page = office.get(f"/backoffice/collections/{public_id}").get_data(as_text=True)

    assert "L’annulation retire 1 prélèvement de ce lot (120,50\u00a0€)" in page
    assert "Oui, annuler ce lot et retirer 1 prélèvement" in page


def test_a_batch_is_submitted_only_in_its_window_and_settled_or_returned_only_from_its_date(
        app, office, alpha, bill_due, outbox, clock):
    far = _today() + timedelta(days=20)
    with app.app_context(), tenant_scope(alpha.tenant_id):
        add_bill(alpha.account_number, "30.00", due=_today() + timedelta(days=15))
        db.session.commit()
    public_id = _prepare(office, far)
    base = f"/backoffice/collections/{public_id}"

    early_page = office.get(base).get_data(as_text=True)
    too_early = office.submit(base, {}, action=f"{base}/submit")
    _move_to(clock, office, alpha, far - timedelta(days=14))
    in_window = office.submit(base, {}, action=f"{base}/submit")
    e2e = _in(app, alpha, lambda: db.session.scalar(select(CollectionItem.end_to_end_id)))
    settle_early = office.submit(base, {}, action=f"{base}/settle")
    return_early = office.submit(base, {"reason": "AM04"}, action=f"{base}/items/{e2e}/return")
    submitted_page = office.get(base).get_data(as_text=True)

    assert "Can be sent to the bank from" in early_page and "Mark as submitted to the bank" not in early_page
    assert too_early.status_code == 409 and "too early to send this batch" in too_early.get_data(as_text=True)
    assert in_window.status_code == 302
    assert settle_early.status_code == 409 and "collection date has not come yet" in settle_early.get_data(
        as_text=True)
    assert return_early.status_code == 409 and "collection date has not come yet" in return_early.get_data(
        as_text=True)
    assert "Can be settled, and returns recorded, from the collection date" in submitted_page
    batch = _batch(app, alpha, public_id)
    assert (batch.status, batch.settled_at) == ("submitted", None)
    assert _in(app, alpha, lambda: db.session.scalar(select(func.count(Payment.id)).where(
        Payment.method == "direct_debit"))) == 0
    assert _in(app, alpha, lambda: db.session.scalar(select(CollectionItem.return_reason))) is None


def test_preparing_a_batch_tells_each_debtor_of_the_coming_debit(app, office, alpha, bill_due, outbox):
    from domain.communications.models import Message

    on = _today() + timedelta(days=7)

    _prepare(office, on)

    notices = _in(app, alpha, lambda: [(m.kind, m.status) for m in db.session.scalars(
        select(Message).where(Message.kind == "direct_debit_prenotification"))])
    assert notices == [("direct_debit_prenotification", "sent")]
    (mail,) = [m for m in outbox() if "debit" in m["Subject"].lower()]
    assert "120.50" in mail.get_body(("plain",)).get_content()
