"""The tenant administrator's billing, payment and mail settings pages: what they save, what they refuse (and then
change nothing), that secrets never come back on a page nor sit in clear in the tenants table, the Stripe test
against the fake Stripe server, the test e-mail through aiosmtpd; and what customers then see in the portal."""
from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from domain.audit.models import AuditEvent
from domain.billing.plan_models import DownPaymentPlan
from domain.contracts.models import Contract
from domain.db import db
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant
from tests.functional.test_portal_direct_debit import TODAY, world  # noqa: F401  (fixture)
from tests.functional.test_portal_readings import _one_a_day, _rows_today, _send, _setup, _signed_in
from tests.integration.test_operation_settings import SmtpServer
from tests.integration.test_sepa_collections import configure
from tests.stripe_fake import StripeFake

SECRET = "sk_test_51AlphaSecretKeyXyZ4242"
WEBHOOK = "whsec_AlphaWebhookSigningSecret99"
BILLING = {"frequencies": ["monthly", "quarterly"], "default_frequency": "quarterly", "reading_window_days": "10",
           "plausibility_factor": "2.5", "back_billing_months": "14", "payment_terms_days": "21",
           "plans_monthly": ["10", "12"], "plans_quarterly": ["4"]}


@pytest.fixture
def admin(browser, two_tenants):
    a, _b = two_tenants
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    return office


def _tenant(app, data) -> Tenant:
    with app.app_context(), platform_scope("test: read tenant"):
        tenant = db.session.get(Tenant, data.tenant_id)
        db.session.expunge(tenant)
        return tenant


def _events(app, data, action: str) -> list[AuditEvent]:
    with app.app_context(), tenant_scope(data.tenant_id):
        found = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        for event in found:
            db.session.expunge(event)
        return found


def _set(app, data, **values) -> None:
    with app.app_context(), platform_scope("test: settings"):
        tenant = db.session.get(Tenant, data.tenant_id)
        for key, value in values.items():
            setattr(tenant, key, value)
        db.session.commit()


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- billing and readings -------------------------------------------------------------------------------------------

def test_administrator_saves_the_billing_settings_audited_with_their_name(app, admin, two_tenants):
    a, b = two_tenants

    saved = admin.submit("/backoffice/admin/billing", BILLING)

    assert saved.status_code == 302
    tenant = _tenant(app, a)
    assert (tenant.billing_frequencies, tenant.default_billing_frequency) == (["monthly", "quarterly"], "quarterly")
    assert (tenant.reading_window_days, tenant.plausibility_factor, tenant.back_billing_months,
            tenant.payment_terms_days) == (10, Decimal("2.5"), 14, 21)
    assert tenant.down_payment_options == {"monthly": [12, 10], "quarterly": [4]}
    (event,) = _events(app, a, "billing_settings")
    assert event.actor_label == a.staff_emails["tenant_admin"] and event.actor_kind == "staff"
    page = _text(admin.get("/backoffice/admin/billing"))
    assert "The billing and readings settings are saved." in page
    assert 'value="21"' in page and 'value="2.5"' in page
    assert _tenant(app, b).payment_terms_days == 14


@pytest.mark.parametrize(("change", "message"), [
    ({"reading_window_days": "0"}, "Enter a number of days from 1 to 28."),
    ({"payment_terms_days": "many"}, "Enter a number of days from 1 to 90."),
    ({"plausibility_factor": "12"}, "Enter a factor from 1.5 to 10, or leave it empty."),
    ({"frequencies": []}, "Choose at least one billing frequency."),
    ({"default_frequency": "annual"}, "The billing frequency of new contracts must be one of those offered."),
    ({"plans_monthly": [], "plans_quarterly": []}, "Offer at least one down-payment plan."),
    ({"frequencies": ["quarterly"]}, "Contracts still bill at a frequency you withdrew: Monthly (1 contract)."),
])
def test_a_refused_billing_setting_says_why_and_changes_nothing(app, admin, two_tenants, change, message):
    a, _b = two_tenants

    refused = admin.submit("/backoffice/admin/billing", BILLING | change)

    assert refused.status_code == 422
    assert message in _text(refused) and 'class="error-summary"' in _text(refused)
    tenant = _tenant(app, a)
    assert (tenant.payment_terms_days, tenant.billing_frequencies, tenant.down_payment_options) == (14, None, None)
    assert _events(app, a, "billing_settings") == []


def test_only_tenant_administrators_reach_the_settings(browser, two_tenants):
    a, _b = two_tenants
    office = browser(a.slug)
    office.login(a.staff_emails["billing"], area="/backoffice")

    assert [office.get(f"/backoffice/admin/{p}").status_code for p in ("billing", "payments", "mail")] == [403] * 3
    assert office.post("/backoffice/admin/payments/stripe/test").status_code in (400, 403)


def test_the_administration_home_lists_the_three_sections(admin):
    home = _text(admin.get("/backoffice/admin/"))

    for path in ("/backoffice/admin/billing", "/backoffice/admin/payments", "/backoffice/admin/mail"):
        assert f'href="{path}"' in home


def test_the_utility_s_plausibility_factor_judges_customers_readings(app, browser, two_tenants):
    a, _b = two_tenants
    serial = _setup(app, a, readings=_one_a_day())
    portal = _signed_in(browser, a)

    _set(app, a, plausibility_factor=Decimal(4))
    _send(portal, serial, {"r_TOTAL": "526"})  # 61 m3 where 20 were expected: within 4 x
    within_four = [(r.value, r.status) for r in _rows_today(app, a)]
    _set(app, a, plausibility_factor=Decimal(2))
    _send(portal, serial, {"r_TOTAL": "526"})  # the same, beyond 2 x: staff check it first
    beyond_two = [(r.value, r.status) for r in _rows_today(app, a)]

    assert within_four == [(Decimal("526.000"), "valid")]
    assert beyond_two == [(Decimal("526.000"), "pending")]


def test_customers_choose_among_the_plans_the_utility_offers(app, browser, world):  # noqa: F811
    a, _b = world
    _set(app, a, down_payment_options={"quarterly": [4], "biannual": [2]})
    portal = browser(a.slug)
    portal.login(a.customer_email)
    path = f"/accounts/{a.account_number}/budget"
    with app.app_context(), tenant_scope(a.tenant_id):
        contract_number = db.session.scalar(select(Contract.contract_number))

    offered = _text(portal.get(path))
    monthly = portal.get(f"{path}?contract={contract_number}&instalments=12")
    shown = portal.get(f"{path}?contract={contract_number}&instalments=quarterly-4")
    fingerprint = re.search(r'name="shown" type="hidden" value="([^"]*)"', _text(shown)).group(1)
    created = portal.submit(f"{path}?contract={contract_number}&instalments=quarterly-4",
                            {"contract": contract_number, "instalments": "quarterly-4", "shown": fingerprint},
                            action=path)

    assert "4 quarterly instalments" in offered and "2 half-yearly instalments" in offered
    assert "12 monthly instalments" not in offered
    assert monthly.status_code == 422 and "Choose one of the instalment plans offered." in _text(monthly)
    assert shown.status_code == 200 and "Quarterly instalment" in _text(shown)
    assert created.status_code == 302
    with app.app_context(), tenant_scope(a.tenant_id):
        plan = db.session.scalar(select(DownPaymentPlan).where(DownPaymentPlan.status == "active"))
        assert (plan.instalment_count, plan.instalment_months) == (4, 3)
        assert [i.due_on.isoformat() for i in plan.instalments] == ["2026-12-01", "2027-03-01", "2027-06-01",
                                                                   "2027-09-01"]


# --- payments -------------------------------------------------------------------------------------------------------

@pytest.fixture
def stripe_api(app, monkeypatch):
    fake = StripeFake().start()
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", fake.url)
    yield fake
    fake.stop()


def _save_keys(admin, secret=SECRET, webhook=WEBHOOK):
    return admin.submit("/backoffice/admin/payments", {"secret_key": secret, "webhook_secret": webhook},
                        action="/backoffice/admin/payments/stripe")


def _tenants_dump(app) -> str:
    with app.app_context(), platform_scope("test: dump"):
        return "\n".join(repr(tuple(row)) for row in db.session.execute(text("SELECT * FROM tenants")))


def test_stripe_keys_are_saved_sealed_and_never_shown_again(app, admin, two_tenants):
    a, _b = two_tenants

    saved = _save_keys(admin)
    page = _text(admin.get("/backoffice/admin/payments"))

    assert saved.status_code == 302
    assert "Keys set" in page and SECRET not in page and WEBHOOK not in page and "4242" not in page
    assert f"http://{a.slug}.localhost/payments/webhook" in page
    dump = _tenants_dump(app)
    assert SECRET not in dump and WEBHOOK not in dump and "AlphaSecretKey" not in dump
    assert _tenant(app, a).stripe_secret_key == SECRET
    trail = repr([e.changes for e in _events(app, a, "stripe_keys_set")])
    assert SECRET not in trail and "4242" not in trail


def test_malformed_stripe_keys_are_refused_not_echoed_and_nothing_is_stored(app, admin, two_tenants):
    a, _b = two_tenants

    refused = _save_keys(admin, secret="pk_live_publishableKeyNotSecret", webhook=WEBHOOK)

    assert refused.status_code == 422
    assert "This is not a Stripe secret key" in _text(refused)
    assert "pk_live_publishableKeyNotSecret" not in _text(refused) and WEBHOOK not in _text(refused)
    assert _tenant(app, a).stripe_secret_key_sealed is None


def test_test_connection_calls_stripe_with_the_saved_key(app, admin, stripe_api, two_tenants):
    _save_keys(admin)

    passed = admin.submit("/backoffice/admin/payments", {}, action="/backoffice/admin/payments/stripe/test")
    stripe_api.revoked_keys.add(SECRET)
    refused = admin.submit("/backoffice/admin/payments", {}, action="/backoffice/admin/payments/stripe/test")

    assert passed.status_code == 200 and "Stripe answered: the secret key works." in _text(passed)
    assert refused.status_code == 422 and "Stripe refused the secret key" in _text(refused)
    assert [r["headers"]["Authorization"] for r in stripe_api.requests] == [f"Bearer {SECRET}"] * 2


def test_removing_the_keys_needs_the_box_ticked(app, admin, two_tenants):
    a, _b = two_tenants
    _save_keys(admin)

    unticked = admin.submit("/backoffice/admin/payments", {}, action="/backoffice/admin/payments/stripe/remove")
    kept = _tenant(app, a).has_stripe_keys
    removed = admin.submit("/backoffice/admin/payments", {"confirm": "y"},
                           action="/backoffice/admin/payments/stripe/remove")

    assert unticked.status_code == 422 and kept is True
    assert removed.status_code == 302 and _tenant(app, a).has_stripe_keys is False
    assert len(_events(app, a, "stripe_keys_removed")) == 1


def test_direct_debit_cannot_be_offered_without_a_creditor_identifier(app, admin, two_tenants):
    a, _b = two_tenants

    refused = admin.submit("/backoffice/admin/payments", {"methods": ["direct_debit", "transfer"]},
                           action="/backoffice/admin/payments/methods")

    assert refused.status_code == 422
    assert "SEPA direct debit needs the SEPA creditor identifier" in _text(refused)
    assert _tenant(app, a).payment_methods is None


def test_the_portal_offers_only_the_methods_enabled(app, browser, two_tenants):
    a, _b = two_tenants
    configure(app, a.slug)  # euros and a creditor identifier: direct debit possible
    site = browser(a.slug)  # one browser: the customer, then the administrator, then the customer again
    site.login(a.customer_email)
    before = _text(site.get("/pay"))
    mandate_path = f"/accounts/{a.account_number}/direct-debit"
    mandate_before = _text(site.get(mandate_path))

    site.login(a.staff_emails["tenant_admin"], area="/backoffice")
    saved = site.submit("/backoffice/admin/payments", {"methods": ["transfer"]},
                        action="/backoffice/admin/payments/methods")
    site.login(a.customer_email)
    after = _text(site.get("/pay"))
    card_attempt = site.post("/pay", {"csrf_token": site.csrf("/pay"), "mode": "balance",
                                      "account": a.account_number})

    not_offered = "does not collect payments by SEPA direct debit"
    assert "Pay by card" in before and not_offered not in mandate_before
    assert saved.status_code == 302 and _tenant(app, a).payment_methods == ["transfer"]
    assert "How to pay" in after and "Pay by bank transfer" in after and "Set up direct debit" not in after
    assert card_attempt.status_code == 409
    assert not_offered in _text(site.get(mandate_path))


# --- mail -----------------------------------------------------------------------------------------------------------

def _own_server(admin, port: int, **changes):
    values = {"sender_name": "Alpha Billing", "sender_address": "billing@alpha.example", "server": "own",
              "smtp_host": "127.0.0.1", "smtp_port": str(port), "smtp_security": "none",
              "smtp_username": "billing", "smtp_password": "s3cret-Pass"}
    return admin.submit("/backoffice/admin/mail", values | changes)


def test_a_test_e_mail_through_the_utility_s_server_marks_the_mail_settings_tested(app, admin, two_tenants):
    a, _b = two_tenants
    with SmtpServer() as smtp:
        saved = _own_server(admin, smtp.port)
        page = _text(admin.get("/backoffice/admin/mail"))
        tested = admin.submit("/backoffice/admin/mail", {}, action="/backoffice/admin/mail/test")
        (received,) = smtp.wait()

    assert saved.status_code == 302 and "s3cret-Pass" not in page
    assert "A password is stored: leave empty to keep it." in page
    assert tested.status_code == 302
    assert received.rcpt_tos == [a.staff_emails["tenant_admin"]]
    assert b"From: Alpha Billing <billing@alpha.example>" in received.content
    assert _tenant(app, a).mail_tested_at is not None
    assert "Tested" in _text(admin.get("/backoffice/admin/mail"))
    assert "s3cret-Pass" not in _tenants_dump(app)


def test_a_failed_test_e_mail_says_why_and_marks_nothing(app, admin, two_tenants):
    a, _b = two_tenants
    with SmtpServer() as smtp:
        _own_server(admin, smtp.port, smtp_password="wrong")
        failed = admin.submit("/backoffice/admin/mail", {}, action="/backoffice/admin/mail/test")

    assert failed.status_code == 422
    assert "The mail server refused the user name or password." in _text(failed)
    assert _tenant(app, a).mail_tested_at is None


def test_the_platform_s_server_sends_the_test_by_default(app, admin, two_tenants, outbox):
    a, _b = two_tenants

    tested = admin.submit("/backoffice/admin/mail", {}, action="/backoffice/admin/mail/test")

    (mail,) = outbox()
    assert tested.status_code == 302 and mail["To"] == a.staff_emails["tenant_admin"]
    assert _tenant(app, a).mail_tested_at is not None


def test_production_never_writes_the_test_e_mail_to_the_outbox_folder(app, admin, two_tenants, outbox,
                                                                       monkeypatch):
    a, _b = two_tenants
    monkeypatch.setitem(app.config, "ENV_NAME", "production")

    failed = admin.submit("/backoffice/admin/mail", {}, action="/backoffice/admin/mail/test")

    assert failed.status_code == 422 and "The platform's mail server is not set up" in _text(failed)
    assert outbox() == [] and _tenant(app, a).mail_tested_at is None


@pytest.mark.parametrize(("change", "message"), [
    ({"smtp_host": ""}, "Enter the server's host name, such as smtp.example.com."),
    ({"smtp_port": "99999"}, "Enter a port from 1 to 65535."),
    ({"sender_address": "billing@"}, "Enter an e-mail address such as billing@example.com."),
    ({"smtp_password": ""}, "Enter the password of this user name."),
])
def test_refused_mail_settings_say_why_and_change_nothing(app, admin, two_tenants, change, message):
    a, _b = two_tenants

    refused = _own_server(admin, 2525, **change)

    assert refused.status_code == 422 and message in _text(refused)
    tenant = _tenant(app, a)
    assert (tenant.smtp_host, tenant.mail_sender_address, tenant.smtp_password_sealed) == (None, None, None)
    assert _events(app, a, "mail_settings") == []
