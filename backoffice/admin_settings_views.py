"""Administration: billing and readings settings, payments (Stripe keys, methods offered), mail (sender, SMTP
server, test e-mail). Views parse the forms and call one domain service each; the rules are in
domain/billing/settings.py, domain/payments/settings.py and domain/communications/mail_settings.py."""
from __future__ import annotations

import logging

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from app.auth import staff_permission
from app.confirmation import confirmed
from app.mail import MailNotConfigured, compose, platform_transport
from backoffice.admin_settings_forms import (
    BILLING_FREQUENCY_NAMES,
    PAYMENT_METHOD_NAMES,
    ActionForm,
    BillingSettingsForm,
    MailSettingsForm,
    PaymentMethodsForm,
    RemoveStripeKeysForm,
    StripeKeysForm,
)
from backoffice.admin_views import bp
from domain.billing import settings as billing_settings
from domain.communications import mail_settings
from domain.db import db, utcnow
from domain.payments import settings as payment_settings
from domain.payments.mandates import mask_iban
from domain.payments.providers import card_provider_kind
from tenants.operation_settings import BILLING_FREQUENCIES, tenant_mail_tested

log = logging.getLogger("backoffice.admin_settings")

BILLING_REFUSALS = {
    ("frequencies", "empty"): _l("Choose at least one billing frequency."),
    ("frequencies", "unknown"): _l("Choose among the billing frequencies listed."),
    ("default_frequency", "not_offered"): _l("The billing frequency of new contracts must be one of those offered."),
    ("plans", "empty"): _l("Offer at least one down-payment plan."),
    ("plausibility_factor", "range"): _l("Enter a factor from 1.5 to 10, or leave it empty."),
}
PAYMENT_REFUSALS = {
    "empty": _l("Choose at least one way for customers to pay."),
    "unknown": _l("Choose among the payment methods listed."),
    "not_euro": _l("SEPA direct debit is only for a utility billing in euros."),
    "no_creditor_id": _l("SEPA direct debit needs the SEPA creditor identifier: enter it in the direct-debit "
                         "settings first."),
    "no_card_provider": _l("Card payments need the Stripe keys: enter them above first."),
}
STRIPE_KEY_REFUSALS = {
    "secret_key": _l("This is not a Stripe secret key: it starts with sk_live_ or sk_test_ (or rk_ for a restricted "
                     "key)."),
    "webhook_secret": _l("This is not a Stripe webhook signing secret: it starts with whsec_."),
}
STRIPE_CHECKS = {
    "ok": _l("Stripe answered: the secret key works."),
    "no_keys": _l("There are no Stripe keys to test."),
    "refused": _l("Stripe refused the secret key: check it in the Stripe dashboard and enter it again."),
    "unreachable": _l("Stripe could not be reached. Try again in a few minutes."),
    "error": _l("Stripe answered with an error. Try again in a few minutes."),
}
MAIL_REFUSALS = {
    "sender_name": _l("Enter the sender name on one line, without < > or quotation marks."),
    "sender_address": _l("Enter an e-mail address such as billing@example.com."),
    "smtp_host": _l("Enter the server's host name, such as smtp.example.com."),
    "smtp_port": _l("Enter a port from 1 to 65535."),
    "smtp_security": _l("Choose how the connection is secured."),
    "smtp_password": _l("Enter the password of this user name."),
}
MAIL_TEST_FAILURES = {
    "auth": _l("The mail server refused the user name or password."),
    "tls": _l("The secure connection to the mail server could not be set up: check the port and the secure "
              "connection chosen."),
    "unreachable": _l("The mail server could not be reached: check its host name and port."),
    "rejected": _l("The mail server refused the sender or the recipient: check the sender address."),
    "not_configured": _l("The platform's mail server is not set up: ask the platform operator, or use your own "
                         "SMTP server."),
    "error": _l("The mail server answered with an error."),
}


def _page(template: str, status: int = 200, **context):
    return render_template(f"backoffice/admin/settings/{template}", **context), status


# --- billing and readings -------------------------------------------------------------------------------------------

def _billing_form_from(tenant) -> BillingSettingsForm:
    current = billing_settings.current_settings(tenant)
    form = BillingSettingsForm(formdata=None, frequencies=list(current.frequencies),
                               default_frequency=current.default_frequency,
                               reading_window_days=current.reading_window_days,
                               plausibility_factor=current.plausibility_factor,
                               back_billing_months=current.back_billing_months,
                               payment_terms_days=current.payment_terms_days)
    for frequency, _name, field in form.plan_fields():
        field.data = list(current.plan_options.get(frequency, ()))
    return form


def _billing_refusal(form: BillingSettingsForm, exc: billing_settings.SettingsRefused) -> None:
    field = exc.field
    if exc.code == "in_use":
        in_use = sorted(exc.details["in_use"].items())
        names = ", ".join(ngettext("%(frequency)s (%(num)d contract)", "%(frequency)s (%(num)d contracts)", n,
                                   frequency=BILLING_FREQUENCY_NAMES[f]) for f, n in in_use)
        message = _("Contracts still bill at a frequency you withdrew: %(list)s. Keep it offered.", list=names)
    elif exc.code == "not_in_year":
        message = _("At most %(most)s instalments fit in a year at this frequency.", most=exc.details["most"])
    elif exc.code == "range" and field in ("reading_window_days", "payment_terms_days", "back_billing_months"):
        message = _("Enter a number from %(low)s to %(high)s.", low=exc.details["low"], high=exc.details["high"])
    else:
        message = str(BILLING_REFUSALS.get((field, exc.code), _l("This value cannot be used.")))
    target = form.plans_monthly if field == "plans" else getattr(form, field, form.frequencies)
    target.errors = [*target.errors, message]


@bp.route("/billing", methods=["GET", "POST"])
@staff_permission("admin.configure")
def billing_settings_page():
    tenant = g.tenant
    form = BillingSettingsForm() if request.method == "POST" else _billing_form_from(tenant)
    if form.validate_on_submit():
        try:
            changes = billing_settings.update_billing_settings(
                tenant=tenant, frequencies=form.frequencies.data, default_frequency=form.default_frequency.data,
                reading_window_days=form.reading_window_days.data,
                plausibility_factor=form.plausibility_factor.data,
                back_billing_months=form.back_billing_months.data, payment_terms_days=form.payment_terms_days.data,
                plan_options_offered=form.plan_options(), now=utcnow())
        except billing_settings.SettingsRefused as exc:
            db.session.rollback()
            _billing_refusal(form, exc)
        else:
            flash(_("The billing and readings settings are saved.") if changes else _("Nothing has changed."),
                  "success")
            return redirect(url_for("admin.billing_settings_page"))
    elif request.method == "POST" and "csrf_token" in form.errors:
        return _page("billing.html", 400, form=form, in_use=_in_use())
    return _page("billing.html", 422 if form.errors else 200, form=form, in_use=_in_use())


def _in_use() -> list[tuple[str, int]]:
    """(frequency name, contracts not ended billed at it), in the platform's order."""
    counts = billing_settings.frequencies_in_use()
    return [(str(BILLING_FREQUENCY_NAMES[f]), counts[f]) for f in BILLING_FREQUENCIES if counts.get(f)]


# --- payments -------------------------------------------------------------------------------------------------------

def card_provider_name(tenant) -> str | None:
    return card_provider_kind(has_stripe_keys=tenant.has_stripe_keys,
                              production=current_app.config.get("ENV_NAME") == "production",
                              demo=bool(tenant.payments_demo))


def _card_possible(tenant) -> bool:
    return card_provider_name(tenant) is not None


def _payments_page(*, status: int = 200, methods_form=None, keys_form=None, remove_form=None, check=None):
    tenant = g.tenant
    if methods_form is None:
        # What customers are offered today: a method allowed but not set up (no creditor identifier) starts unticked.
        methods_form = PaymentMethodsForm(formdata=None, methods=list(payment_settings.offered_methods(
            tenant, card_possible=_card_possible(tenant))))
    return _page(
        "payments.html", status, tenant=tenant, methods_form=methods_form,
        keys_form=keys_form or StripeKeysForm(formdata=None), remove_form=remove_form or RemoveStripeKeysForm(
            formdata=None), action_form=ActionForm(formdata=None), check=check,
        webhook_url=url_for("portal.payment_webhook", _external=True),
        iban=mask_iban(tenant.iban) if tenant.iban else None, sepa_possible=payment_settings.sepa_possible(tenant),
        offered=payment_settings.offered_methods(tenant, card_possible=_card_possible(tenant)),
        card_provider=card_provider_name(tenant), method_names=PAYMENT_METHOD_NAMES)


@bp.get("/payments")
@staff_permission("admin.configure")
def payment_settings_page():
    return _payments_page()


@bp.post("/payments/methods")
@staff_permission("admin.configure")
def payment_methods_save():
    form = PaymentMethodsForm()
    if form.validate_on_submit():
        try:
            changed = payment_settings.update_payment_methods(
                tenant=g.tenant, methods=form.methods.data, card_possible=_card_possible(g.tenant), now=utcnow())
        except payment_settings.PaymentSettingsRefused as exc:
            db.session.rollback()
            form.methods.errors = [*form.methods.errors, str(PAYMENT_REFUSALS[exc.code])]
        else:
            flash(_("The payment methods offered are saved.") if changed else _("Nothing has changed."), "success")
            return redirect(url_for("admin.payment_settings_page"))
    elif "csrf_token" in form.errors:
        return _payments_page(status=400)
    return _payments_page(status=422, methods_form=form)


@bp.post("/payments/stripe")
@staff_permission("admin.configure")
def stripe_keys_save():
    form = StripeKeysForm()
    if form.validate_on_submit():
        try:
            payment_settings.set_stripe_keys(tenant=g.tenant, secret_key=form.secret_key.data,
                                             webhook_secret=form.webhook_secret.data, now=utcnow())
        except payment_settings.PaymentSettingsRefused as exc:
            db.session.rollback()
            field = form[exc.field]
            field.errors = [*field.errors, str(STRIPE_KEY_REFUSALS[exc.field])]
        else:
            flash(_("The Stripe keys are saved. Test the connection to check them."), "success")
            return redirect(url_for("admin.payment_settings_page"))
    elif "csrf_token" in form.errors:
        return _payments_page(status=400)
    form.secret_key.data = form.webhook_secret.data = None  # a secret typed is never sent back
    return _payments_page(status=422, keys_form=form)


@bp.post("/payments/stripe/remove")
@staff_permission("admin.configure")
def stripe_keys_remove():
    form = RemoveStripeKeysForm()
    if not confirmed(form):
        return _payments_page(status=422, remove_form=form)
    removed = payment_settings.remove_stripe_keys(tenant=g.tenant, now=utcnow())
    flash(_("The Stripe keys are removed.") if removed else _("There were no Stripe keys."), "success")
    return redirect(url_for("admin.payment_settings_page"))


@bp.post("/payments/stripe/test")
@staff_permission("admin.configure")
def stripe_keys_test():
    form = ActionForm()
    if not form.validate_on_submit():
        return _payments_page(status=400)
    api_base = current_app.config.get("STRIPE_API_BASE") or current_app.config["SETTINGS"].stripe_api_base
    check = payment_settings.test_stripe_connection(tenant=g.tenant, api_base=api_base)
    return _payments_page(status=200 if check.ok else 502 if check.code in ("unreachable", "error") else 422,
                          check=(check.ok, str(STRIPE_CHECKS[check.code])))


# --- mail -----------------------------------------------------------------------------------------------------------

def _mail_page(*, form=None, status: int = 200, test_error: str | None = None):
    tenant = g.tenant
    if form is None:
        form = MailSettingsForm(formdata=None, sender_name=tenant.mail_sender_name,
                                sender_address=tenant.mail_sender_address,
                                server="own" if tenant.smtp_host else "platform", smtp_host=tenant.smtp_host,
                                smtp_port=tenant.smtp_port, smtp_security=tenant.smtp_security or "starttls",
                                smtp_username=tenant.smtp_username)
    form.smtp_password.data = None  # never sent back
    name, address = mail_settings.sender_of(tenant, platform_domain=current_app.config["PLATFORM_DOMAIN"])
    return _page("mail.html", status, tenant=tenant, form=form, test_form=ActionForm(formdata=None),
                 sender=(name, address), password_stored=bool(tenant.smtp_password_sealed),
                 tested=tenant_mail_tested(tenant), test_error=test_error, admin_email=current_user.user.email)


@bp.get("/mail")
@staff_permission("admin.configure")
def mail_settings_page():
    return _mail_page()


@bp.post("/mail")
@staff_permission("admin.configure")
def mail_settings_save():
    form = MailSettingsForm()
    own = form.server.data == "own"
    if form.validate_on_submit():
        try:
            changes = mail_settings.update_mail_settings(
                tenant=g.tenant, sender_name=form.sender_name.data, sender_address=form.sender_address.data,
                own_server=own, host=form.smtp_host.data, port=form.smtp_port.data,
                security=form.smtp_security.data, username=form.smtp_username.data,
                password=form.smtp_password.data, now=utcnow())
        except mail_settings.MailSettingsRefused as exc:
            db.session.rollback()
            field = form[exc.field]
            field.errors = [*field.errors, str(MAIL_REFUSALS[exc.field])]
        else:
            flash(_("The mail settings are saved. Send a test e-mail to check them.") if changes
                  else _("Nothing has changed."), "success")
            return redirect(url_for("admin.mail_settings_page"))
    elif "csrf_token" in form.errors:
        return _mail_page(status=400)
    return _mail_page(form=form, status=422)


@bp.post("/mail/test")
@staff_permission("admin.configure")
def mail_test():
    form = ActionForm()
    if not form.validate_on_submit():
        return _mail_page(status=400)
    tenant, user = g.tenant, current_user.user
    mail = compose(tenant=tenant, to=user.email, subject=_l("Test e-mail from %(name)s", name=tenant.name),
                   template="settings_test", locale=user.locale, server=tenant.smtp_host)
    try:
        transport = mail_settings.tenant_transport(tenant, timeout=mail_settings.TEST_TIMEOUT_SECONDS)
        if transport is None:
            try:
                transport = platform_transport()
            except MailNotConfigured as exc:
                raise mail_settings.MailTestFailed("not_configured", str(exc)) from exc
        mail_settings.send_test_mail(tenant=tenant, mail=mail, transport=transport, now=utcnow())
    except mail_settings.MailTestFailed as exc:
        log.info("mail test failed tenant=%s code=%s", tenant.id, exc.code)
        return _mail_page(status=502 if exc.code in ("unreachable", "tls", "error") else 422,
                          test_error=str(MAIL_TEST_FAILURES[exc.code]))
    flash(_("A test e-mail was sent to %(address)s. Check that it arrived.", address=user.email), "success")
    return redirect(url_for("admin.mail_settings_page"))
