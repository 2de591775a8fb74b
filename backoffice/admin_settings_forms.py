"""Forms of the administration's billing, payment and mail settings (validation only; the domain decides)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.confirmation import confirm_form
from app.plan_wording import PLAN_FREQUENCY_NAMES
from tenants.operation_settings import BILLING_FREQUENCIES, PAYMENT_METHODS, PLAN_FREQUENCY_MONTHS

BILLING_FREQUENCY_NAMES = {"monthly": _l("Monthly"), "bimonthly": _l("Every two months"),
                           "quarterly": _l("Quarterly"), "biannual": _l("Half-yearly"), "annual": _l("Yearly")}
PAYMENT_METHOD_NAMES = {"card": _l("Card (Stripe)"), "direct_debit": _l("SEPA direct debit"),
                        "transfer": _l("Bank transfer")}
SMTP_SECURITY_NAMES = {"starttls": _l("STARTTLS (usually port 587)"),
                       "tls": _l("TLS from the start (usually port 465)"),
                       "none": _l("None (only on a private network)")}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BillingSettingsForm(FlaskForm):
    frequencies = MultiCheckboxField(_l("Billing frequencies offered"),
                                     choices=[SelectChoice(f, BILLING_FREQUENCY_NAMES[f]) for f in BILLING_FREQUENCIES],
                                     validators=[DataRequired(_l("Choose at least one billing frequency."))])
    default_frequency = RadioField(_l("Billing frequency of new contracts"),
                                   choices=[SelectChoice(f, BILLING_FREQUENCY_NAMES[f]) for f in BILLING_FREQUENCIES],
                                   validators=[InputRequired(_l("Choose the billing frequency of new contracts."))])
    reading_window_days = IntegerField(_l("Reading window (days)"), validators=[
        InputRequired(_l("Enter a number of days from 1 to 28.")),
        NumberRange(min=1, max=28, message=_l("Enter a number of days from 1 to 28."))])
    plausibility_factor = DecimalField(_l("Plausibility factor (optional)"), places=1, validators=[
        Optional(), NumberRange(min=1.5, max=10, message=_l("Enter a factor from 1.5 to 10, or leave it empty."))])
    back_billing_months = IntegerField(_l("Back-billing limit in months (optional)"), validators=[
        Optional(), NumberRange(min=1, max=72, message=_l("Enter a number of months from 1 to 72, or leave it "
                                                          "empty for no limit."))])
    payment_terms_days = IntegerField(_l("Payment terms (days)"), validators=[
        InputRequired(_l("Enter a number of days from 1 to 90.")),
        NumberRange(min=1, max=90, message=_l("Enter a number of days from 1 to 90."))])
    plans_monthly = MultiCheckboxField(_l("Monthly instalments"), coerce=int,
                                       choices=[SelectChoice(n, str(n)) for n in range(1, 13)])
    plans_bimonthly = MultiCheckboxField(_l("Instalments every two months"), coerce=int,
                                         choices=[SelectChoice(n, str(n)) for n in range(1, 7)])
    plans_quarterly = MultiCheckboxField(_l("Quarterly instalments"), coerce=int,
                                         choices=[SelectChoice(n, str(n)) for n in range(1, 5)])
    plans_biannual = MultiCheckboxField(_l("Half-yearly instalments"), coerce=int,
                                        choices=[SelectChoice(n, str(n)) for n in range(1, 3)])

    def plan_fields(self):
        return [(frequency, PLAN_FREQUENCY_NAMES[frequency], self[f"plans_{frequency}"])
                for frequency in PLAN_FREQUENCY_MONTHS]

    def plan_options(self) -> dict[str, list[int]]:
        return {frequency: list(self[f"plans_{frequency}"].data or []) for frequency in PLAN_FREQUENCY_MONTHS}


class PaymentMethodsForm(FlaskForm):
    methods = MultiCheckboxField(_l("Methods customers may use"),
                                 choices=[SelectChoice(m, PAYMENT_METHOD_NAMES[m]) for m in PAYMENT_METHODS],
                                 validators=[DataRequired(_l("Choose at least one way for customers to pay."))])


class StripeKeysForm(FlaskForm):
    secret_key = PasswordField(_l("Secret key"), validators=[
        DataRequired(_l("Enter the secret key (it starts with sk_live_ or sk_test_).")),
        Length(max=255, message=_l("This is not a Stripe secret key."))])
    webhook_secret = PasswordField(_l("Webhook signing secret"), validators=[
        DataRequired(_l("Enter the webhook signing secret (it starts with whsec_).")),
        Length(max=255, message=_l("This is not a Stripe webhook signing secret."))])


class ActionForm(FlaskForm):
    """A button that changes or tries something: CSRF only."""


RemoveStripeKeysForm = confirm_form(_l("Tick the box to confirm that the Stripe keys are removed."))


class MailSettingsForm(FlaskForm):
    sender_name = StringField(_l("Sender name (optional)"), validators=[
        Length(max=120, message=_l("Use at most 120 characters."))])
    sender_address = StringField(_l("Sender address (optional)"), validators=[
        Length(max=254, message=_l("Use at most 254 characters."))])
    server = RadioField(_l("Mail server"), default="platform",
                        choices=[SelectChoice("platform", _l("The platform's mail server")),
                                 SelectChoice("own", _l("Our own SMTP server"))],
                        validators=[InputRequired(_l("Choose the mail server."))])
    smtp_host = StringField(_l("SMTP server host name"), validators=[
        Length(max=253, message=_l("Use at most 253 characters."))])
    smtp_port = IntegerField(_l("Port (optional)"), validators=[
        Optional(), NumberRange(min=1, max=65535, message=_l("Enter a port from 1 to 65535."))])
    smtp_security = SelectField(_l("Secure connection"), default="starttls",
                                choices=[SelectChoice(k, v) for k, v in SMTP_SECURITY_NAMES.items()])
    smtp_username = StringField(_l("User name (optional)"), validators=[
        Length(max=254, message=_l("Use at most 254 characters."))])
    smtp_password = PasswordField(_l("Password"), validators=[
        Length(max=255, message=_l("Use at most 255 characters."))])
