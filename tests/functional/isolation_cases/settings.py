"""Isolation cases of the administration's billing, payment and mail settings: tenant A's administrator neither sees
nor changes anything of tenant B's settings, secrets included, and A's tests never use B's keys or server."""
from __future__ import annotations

from decimal import Decimal

from domain.db import db
from tenants.context import platform_scope
from tenants.models import Tenant

B_SECRET = "sk_test_BravoSecretKeyDoNotShow"
B_WEBHOOK = "whsec_BravoWebhookSecretDoNotShow"


def _set(app, data, **values) -> None:
    with app.app_context(), platform_scope("test: settings of B"):
        tenant = db.session.get(Tenant, data.tenant_id)
        for key, value in values.items():
            setattr(tenant, key, value)
        db.session.commit()


def _get(app, data, *names):
    with app.app_context(), platform_scope("test: settings of B"):
        tenant = db.session.get(Tenant, data.tenant_id)
        return tuple(getattr(tenant, name) for name in names)


def _b_configured(app, b) -> None:
    _set(app, b, payment_terms_days=45, billing_frequencies=["annual"], default_billing_frequency="annual",
         plausibility_factor=Decimal("7.5"), down_payment_options={"biannual": [2]}, payment_methods=["transfer"],
         stripe_secret_key=B_SECRET, stripe_webhook_secret=B_WEBHOOK, sepa_creditor_id="AT92ZZZ00000012345",
         mail_sender_address="billing@bravo.example", smtp_host="smtp.bravo.example", smtp_port=1,
         smtp_security="none", smtp_username="bravo", smtp_password="BravoSmtpPassword")


def _admin(browser, a):
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    return office


B_STATE = ("payment_terms_days", "billing_frequencies", "payment_methods", "stripe_secret_key", "smtp_host",
           "smtp_password", "mail_sender_address", "mail_tested_at", "stripe_keys_set_at")


def _b_unchanged(app, b) -> None:
    assert _get(app, b, *B_STATE) == (45, ["annual"], ["transfer"], B_SECRET, "smtp.bravo.example",
                                      "BravoSmtpPassword", "billing@bravo.example", None, None)


def case_admin_billing_settings_page(app, browser, a, b):
    _b_configured(app, b)
    office = _admin(browser, a)
    page = office.get("/backoffice/admin/billing").get_data(as_text=True)
    assert 'value="14"' in page and 'value="45"' not in page and "7.5" not in page
    saved = office.submit("/backoffice/admin/billing", {
        "frequencies": ["monthly"], "default_frequency": "monthly", "reading_window_days": "5",
        "payment_terms_days": "30", "plans_monthly": ["12"]})
    assert saved.status_code == 302
    assert _get(app, a, "payment_terms_days") == (30,)
    _b_unchanged(app, b)


def case_admin_payment_settings_page(app, browser, a, b):
    _b_configured(app, b)
    page = _admin(browser, a).get("/backoffice/admin/payments").get_data(as_text=True)
    assert "No keys" in page and "AT92ZZZ00000012345" not in page and "BravoSecret" not in page
    assert f"http://{a.slug}.localhost/payments/webhook" in page and f"{b.slug}.localhost" not in page


def case_admin_payment_methods_save(app, browser, a, b):
    _b_configured(app, b)
    saved = _admin(browser, a).submit("/backoffice/admin/payments", {"methods": ["card", "transfer"]},
                                      action="/backoffice/admin/payments/methods")
    assert saved.status_code == 302
    assert _get(app, a, "payment_methods") == (["card", "transfer"],)
    _b_unchanged(app, b)


def case_admin_stripe_keys_save(app, browser, a, b):
    _b_configured(app, b)
    saved = _admin(browser, a).submit("/backoffice/admin/payments", {
        "secret_key": "sk_test_AlphaSecretKeyOfItsOwn", "webhook_secret": "whsec_AlphaWebhookOfItsOwn"},
        action="/backoffice/admin/payments/stripe")
    assert saved.status_code == 302
    assert _get(app, a, "stripe_secret_key") == ("sk_test_AlphaSecretKeyOfItsOwn",)
    _b_unchanged(app, b)


def case_admin_stripe_keys_remove(app, browser, a, b):
    _b_configured(app, b)
    removed = _admin(browser, a).submit("/backoffice/admin/payments", {"confirm": "y"},
                                        action="/backoffice/admin/payments/stripe/remove")
    assert removed.status_code == 302
    _b_unchanged(app, b)


def case_admin_stripe_keys_test(app, browser, a, b):
    _b_configured(app, b)
    tested = _admin(browser, a).submit("/backoffice/admin/payments", {},
                                       action="/backoffice/admin/payments/stripe/test")
    assert tested.status_code == 422  # A has no keys: B's are never used
    assert "There are no Stripe keys to test." in tested.get_data(as_text=True)
    _b_unchanged(app, b)


def case_admin_mail_settings_page(app, browser, a, b):
    _b_configured(app, b)
    page = _admin(browser, a).get("/backoffice/admin/mail").get_data(as_text=True)
    assert "smtp.bravo.example" not in page and "billing@bravo.example" not in page and "BravoSmtp" not in page


def case_admin_mail_settings_save(app, browser, a, b):
    _b_configured(app, b)
    saved = _admin(browser, a).submit("/backoffice/admin/mail", {
        "sender_name": "Alpha", "sender_address": "billing@alpha.example", "server": "platform",
        "smtp_security": "starttls"})
    assert saved.status_code == 302
    assert _get(app, a, "mail_sender_address") == ("billing@alpha.example",)
    _b_unchanged(app, b)


def case_admin_mail_test(app, browser, a, b):
    from pathlib import Path

    _b_configured(app, b)  # B's own server is unreachable (port 1): A's test goes through the platform's
    tested = _admin(browser, a).submit("/backoffice/admin/mail", {}, action="/backoffice/admin/mail/test")
    assert tested.status_code == 302
    assert _get(app, a, "mail_tested_at")[0] is not None
    assert list((Path(app.config["OUTBOX_DIR"]) / f"t{a.tenant_id}").glob("*.eml"))
    _b_unchanged(app, b)
