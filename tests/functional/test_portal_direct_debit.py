"""Portal journey: give an IBAN and accept a SEPA mandate, end it; choose budget billing, see and end the plan."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from domain.billing import down_payments as plans
from domain.billing.plan_models import DownPaymentPlan
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.payments.models import DirectDebitMandate
from tenants.context import tenant_scope
from tests.integration.test_sepa_collections import configure

TODAY = date(2026, 11, 28)
GOOD_IBAN = "DE89 3704 0044 0532 0130 00"


@pytest.fixture
def world(app, two_tenants, monkeypatch):
    """Tenant A's customer: no plan, contract billed until 2026-11-01; the portal's today is fixed."""
    import portal.direct_debit_views as views
    monkeypatch.setattr(views, "tenant_today", lambda: TODAY)
    a, b = two_tenants
    configure(app, a.slug)  # SEPA direct debit: euros and a creditor identifier
    with app.app_context(), tenant_scope(a.tenant_id):
        for plan in db.session.scalars(select(DownPaymentPlan)):
            for instalment in plan.instalments:
                db.session.delete(instalment)
            db.session.delete(plan)
        for contract in db.session.scalars(select(Contract)):
            contract.billed_until = date(2026, 11, 1)
        db.session.commit()
    return a, b


@pytest.fixture
def portal(browser, world):
    a, _b = world
    client = browser(a.slug)
    client.login(a.customer_email)
    return client


def _mandates(app, tenant_id: int) -> list[DirectDebitMandate]:
    with app.app_context(), tenant_scope(tenant_id):
        return list(db.session.scalars(select(DirectDebitMandate).order_by(DirectDebitMandate.id)))


def _payment_method(app, tenant_id: int) -> str:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(CustomerAccount.payment_method))


def test_a_valid_iban_and_accepted_mandate_is_stored_masked_and_confirmed_by_mail(app, portal, world, outbox):
    a, _b = world
    path = f"/accounts/{a.account_number}/direct-debit"
    before = _mandates(app, a.tenant_id)

    response = portal.submit(path, {"holder_name": "Alice Martin", "iban": GOOD_IBAN, "accept": "y"})

    assert response.status_code == 302
    after = _mandates(app, a.tenant_id)
    new = after[-1]
    assert len(after) == len(before) + 1
    assert new.iban == "DE89370400440532013000" and new.status == "active" and new.holder_name == "Alice Martin"
    assert new.reference.startswith(f"MD-{a.account_number}-") and new.signed_at is not None
    assert [m.status for m in after[:-1]] == ["revoked"] * len(before)  # one active mandate per account
    assert _payment_method(app, a.tenant_id) == "direct_debit"
    page = portal.get(path).get_data(as_text=True)
    assert "DE89 •••• 3000" in page and "370400440532013000" not in page and new.reference in page
    (mail,) = [m for m in outbox() if new.reference in m["Subject"]]
    body = mail.get_body(("plain",)).get_content()
    assert new.reference in body and "DE89 •••• 3000" in body and "0532013000" not in body


def test_a_wrong_iban_is_refused_with_a_clear_message_and_nothing_is_stored(app, portal, world):
    a, _b = world
    path = f"/accounts/{a.account_number}/direct-debit"
    before = [(m.id, m.status) for m in _mandates(app, a.tenant_id)]

    response = portal.submit(path, {"holder_name": "Alice Martin", "iban": "DE88 3704 0044 0532 0130 00",
                                    "accept": "y"})

    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "This IBAN is not valid: check for a mistyped character." in text
    assert 'href="#iban"' in text  # the error summary links to the field
    assert [(m.id, m.status) for m in _mandates(app, a.tenant_id)] == before
    assert _payment_method(app, a.tenant_id) == "transfer"


def test_a_wrong_length_is_explained(portal, world):
    a, _b = world

    response = portal.submit(f"/accounts/{a.account_number}/direct-debit",
                             {"holder_name": "Alice Martin", "iban": "FR76 3000 6000 0112 3456 7890 18", "accept": "y"})

    assert response.status_code == 422
    assert "does not have the right number of characters" in response.get_data(as_text=True)


def test_without_accepting_the_mandate_nothing_is_stored(app, portal, world):
    a, _b = world
    before = [(m.id, m.status) for m in _mandates(app, a.tenant_id)]

    response = portal.submit(f"/accounts/{a.account_number}/direct-debit",
                             {"holder_name": "Alice Martin", "iban": GOOD_IBAN})

    assert response.status_code == 422
    assert "Tick the box to accept the mandate" in response.get_data(as_text=True)
    assert [(m.id, m.status) for m in _mandates(app, a.tenant_id)] == before


def test_a_post_without_the_csrf_token_changes_nothing(app, portal, world):
    a, _b = world
    before = [(m.id, m.status) for m in _mandates(app, a.tenant_id)]

    signed = portal.post(f"/accounts/{a.account_number}/direct-debit",
                         {"holder_name": "Alice Martin", "iban": GOOD_IBAN, "accept": "y"})
    revoked = portal.post(f"/accounts/{a.account_number}/direct-debit/revoke")

    assert signed.status_code in (400, 422) and revoked.status_code == 400
    assert [(m.id, m.status) for m in _mandates(app, a.tenant_id)] == before


def test_revoking_ends_the_mandate_and_goes_back_to_transfers(app, portal, world, outbox):
    a, _b = world
    path = f"/accounts/{a.account_number}/direct-debit"
    portal.submit(path, {"holder_name": "Alice Martin", "iban": GOOD_IBAN, "accept": "y"})

    response = portal.submit(path, {"confirm": "y"}, action=f"{path}/revoke")

    assert response.status_code == 302
    assert all(m.status == "revoked" and m.revoked_at for m in _mandates(app, a.tenant_id))
    assert _payment_method(app, a.tenant_id) == "transfer"
    assert any("has ended" in m["Subject"] for m in outbox())
    assert "Set up direct debit" in portal.get(path).get_data(as_text=True)


def _confirm(portal, account_number: str, contract_number: str, count: str, shown: str | None = None):
    """Look at the proposed schedule, then confirm it (with the fingerprint the page carries, unless given)."""
    path = f"/accounts/{account_number}/budget"
    page = portal.get(f"{path}?contract={contract_number}&instalments={count}").get_data(as_text=True)
    if shown is None:
        shown = re.search(r'name="shown" type="hidden" value="([^"]*)"', page).group(1)
    return portal.submit(f"{path}?contract={contract_number}&instalments={count}",
                         {"contract": contract_number, "instalments": count, "shown": shown}, action=path)


def _expected_proposal(app, tenant_id: int, count: int):
    with app.app_context(), tenant_scope(tenant_id):
        contract = db.session.scalar(select(Contract))
        return plans.propose_plan(contract=contract, count=count, as_of=TODAY), contract.contract_number


def test_budget_billing_shows_the_schedule_then_creates_the_plan_on_confirmation(app, portal, world, outbox):
    a, _b = world
    proposal, number = _expected_proposal(app, a.tenant_id, 11)
    path = f"/accounts/{a.account_number}/budget"

    shown = portal.get(f"{path}?contract={number}&instalments=11")

    text = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "Your proposed schedule" in text and "1 Dec 2026" in text and "1 Dec 2027" in text
    assert f"€{proposal.estimated_amount:,}" in text and f"€{proposal.instalment_amount}" in text
    assert text.count("<td>Not yet</td>") == 0
    with app.app_context(), tenant_scope(a.tenant_id):
        active = select(func.count(DownPaymentPlan.id)).where(DownPaymentPlan.status == "active")
        assert db.session.scalar(active) == 0

    confirmed = _confirm(portal, a.account_number, number, "11")

    assert confirmed.status_code == 302
    with app.app_context(), tenant_scope(a.tenant_id):
        plan = db.session.scalar(select(DownPaymentPlan).where(DownPaymentPlan.status == "active"))
        assert plan.instalment_count == 11 and plan.estimated_amount == proposal.estimated_amount
        assert sum(i.amount for i in plan.instalments) == proposal.estimated_amount
    page = portal.get(path).get_data(as_text=True)
    assert page.count("Not yet") == 11 and "End budget billing" in page
    assert any("budget billing schedule" in m["Subject"] for m in outbox())


def test_a_count_outside_ten_to_twelve_is_refused(app, portal, world):
    a, _b = world
    _proposal, number = _expected_proposal(app, a.tenant_id, 12)
    path = f"/accounts/{a.account_number}/budget"

    shown = portal.get(f"{path}?contract={number}&instalments=9")
    posted = _confirm(portal, a.account_number, number, "13", shown="x")

    assert shown.status_code == 422 and posted.status_code == 422
    with app.app_context(), tenant_scope(a.tenant_id):
        active = select(func.count(DownPaymentPlan.id)).where(DownPaymentPlan.status == "active")
        assert db.session.scalar(active) == 0


def test_ending_budget_billing_from_the_portal(app, portal, world):
    a, _b = world
    _proposal, number = _expected_proposal(app, a.tenant_id, 12)
    path = f"/accounts/{a.account_number}/budget"
    _confirm(portal, a.account_number, number, "12")
    with app.app_context(), tenant_scope(a.tenant_id):
        public_id = db.session.scalar(select(DownPaymentPlan.public_id).where(DownPaymentPlan.status == "active"))

    unconfirmed = portal.submit(path, {}, action=f"{path}/{public_id}/cancel")
    with app.app_context(), tenant_scope(a.tenant_id):
        still = db.session.scalar(select(DownPaymentPlan.status).where(DownPaymentPlan.public_id == public_id))
    response = portal.submit(path, {"confirm": "y"}, action=f"{path}/{public_id}/cancel")

    # Without the ticked box nothing ends: the page says what to do.
    assert unconfirmed.status_code == 422 and still == "active"
    assert "Tick the box to confirm that budget billing ends." in unconfirmed.get_data(as_text=True)
    assert response.status_code == 302
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(DownPaymentPlan.status).where(DownPaymentPlan.public_id == public_id)) \
            == "cancelled"
        assert db.session.scalar(select(Contract.billed_until)) == date(2026, 11, 1)


def test_the_pages_speak_the_customers_language(app, portal, world):
    a, _b = world
    portal.post("/language", {"locale": "fr", "csrf_token": portal.csrf("/")})

    text = portal.get(f"/accounts/{a.account_number}/direct-debit").get_data(as_text=True)
    bad = portal.submit(f"/accounts/{a.account_number}/direct-debit",
                        {"holder_name": "Alice", "iban": "FR00", "accept": "y"}).get_data(as_text=True)

    assert "Prélèvement automatique" in text and "mandat" in text
    assert "caractères" in bad


def test_the_customer_file_shows_the_mandate_masked_and_the_plan_schedule(app, browser, portal, world):
    a, _b = world
    portal.submit(f"/accounts/{a.account_number}/direct-debit",
                  {"holder_name": "Alice Martin", "iban": GOOD_IBAN, "accept": "y"})
    _proposal, number = _expected_proposal(app, a.tenant_id, 10)
    _confirm(portal, a.account_number, number, "10")
    reference = _mandates(app, a.tenant_id)[-1].reference
    staff = browser(a.slug)
    staff.login(a.staff_emails["agent"], area="/backoffice")

    text = staff.get(f"/backoffice/customers/{a.account_number}").get_data(as_text=True)

    assert "DE89 •••• 3000" in text and "0532013000" not in text and reference in text
    assert "Budget plan" in text and text.count("Not yet") == 10


def test_a_contract_that_is_not_the_accounts_is_refused_with_a_message(portal, world):
    a, _b = world

    response = portal.get(f"/accounts/{a.account_number}/budget?contract=K-NOT-MINE&instalments=12")

    assert response.status_code == 422
    assert "Choose one of the contracts listed." in response.get_data(as_text=True)


def test_confirming_a_schedule_that_has_changed_shows_the_new_one_and_creates_nothing(app, portal, world):
    a, _b = world
    _proposal, number = _expected_proposal(app, a.tenant_id, 12)

    response = _confirm(portal, a.account_number, number, "12", shown="2026-12-01|1.00|12")

    text = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "The schedule has changed since it was shown to you" in text and "Confirm this schedule" in text
    with app.app_context(), tenant_scope(a.tenant_id):
        active = select(func.count(DownPaymentPlan.id)).where(DownPaymentPlan.status == "active")
        assert db.session.scalar(active) == 0


# --- SEPA only where the utility collects in euros under a creditor identifier ------------------------------------

def _gbp_utility(app, make_tenant, browser):
    from tests.factories import populate_tenant

    tenant = make_tenant("gamma", currency="GBP", timezone="Europe/London")
    with app.app_context():
        data = populate_tenant(tenant)
    with app.app_context(), tenant_scope(data.tenant_id):
        for mandate in db.session.scalars(select(DirectDebitMandate)):
            mandate.status = "revoked"  # the factory's mandate: this customer has none
        db.session.scalar(select(CustomerAccount)).payment_method = "transfer"
        db.session.commit()
    client = browser(data.slug)
    client.login(data.customer_email)
    return data, client


def test_a_utility_billing_in_pounds_offers_no_sepa_mandate(app, make_tenant, browser):
    data, client = _gbp_utility(app, make_tenant, browser)
    path = f"/accounts/{data.account_number}/direct-debit"

    account_page = client.get(f"/accounts/{data.account_number}").get_data(as_text=True)
    page = client.get(path).get_data(as_text=True)
    refused = client.submit(path, {"holder_name": "Jane Doe", "iban": GOOD_IBAN, "accept": "y"})

    assert path not in account_page
    assert "does not collect payments by SEPA direct debit" in page and "Accept the mandate" not in page
    assert refused.status_code == 409
    assert [m.status for m in _mandates(app, data.tenant_id)] == ["revoked"]


def test_a_euro_utility_without_a_creditor_identifier_offers_no_mandate_and_the_domain_refuses(
        app, world, portal):
    from domain.payments import mandates
    from tenants.models import Tenant

    a, _b = world
    configure(app, a.slug, creditor_id=None)
    before = [(m.id, m.status) for m in _mandates(app, a.tenant_id)]

    page = portal.get(f"/accounts/{a.account_number}/direct-debit").get_data(as_text=True)
    with app.app_context(), tenant_scope(a.tenant_id):
        account = db.session.scalar(select(CustomerAccount))
        with pytest.raises(mandates.MandateRefused) as refused:
            mandates.sign_mandate(tenant=db.session.get(Tenant, a.tenant_id), account=account, iban=GOOD_IBAN,
                                  holder_name="Jane Doe", accepted=True, signed_at=datetime.now(UTC),
                                  signed_by_user_id=None)

    assert refused.value.code == "not_offered"
    assert "Accept the mandate" not in page
    assert [(m.id, m.status) for m in _mandates(app, a.tenant_id)] == before
