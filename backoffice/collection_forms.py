"""Forms of the SEPA collection pages and of the direct-debit settings."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, NumberRange, Optional, ValidationError

from domain.payments import creditor, mandates, pain008

CREDITOR_ID_MESSAGES = {
    "empty": _l("Enter the SEPA creditor identifier."),
    "format": _l("A creditor identifier is a country code, two check digits, a three-character business code and "
                 "your national identifier, for example DE98ZZZ09999999999."),
    "country": _l("This creditor identifier's country does not take part in SEPA direct debit."),
    "checksum": _l("This creditor identifier is not valid: check for a mistyped character."),
}
IBAN_MESSAGES = {
    "empty": _l("Enter the IBAN the collections are paid into."),
    "characters": _l("An IBAN has only letters and digits, for example FR76 3000 6000 0112 3456 7890 189."),
    "country": _l("This IBAN's country does not take part in SEPA direct debit. Check the first two letters."),
    "length": _l("This IBAN does not have the right number of characters for its country."),
    "checksum": _l("This IBAN is not valid: check for a mistyped character."),
}


class PreviewForm(FlaskForm):
    """A GET form: it only shows what a batch would collect."""

    class Meta:
        csrf = False

    collection_date = DateField(_l("Collection date"), validators=[DataRequired(_l("Enter the collection date."))])


class ConfirmForm(FlaskForm):
    collection_date = HiddenField()
    shown = HiddenField()  # the preview's fingerprint: confirming never collects another set of bills


class ActionForm(FlaskForm):
    """CSRF-only form of the submit, settle and cancel buttons."""


class CancelBatchForm(FlaskForm):
    """Cancelling withdraws every collection of the batch: the staff member ticks a box first."""

    confirm = BooleanField(validators=[DataRequired(_l("Tick the box to confirm that the batch is to be "
                                                       "cancelled."))])


class ReturnForm(FlaskForm):
    reason = SelectField(_l("Reason given by the bank"), validators=[DataRequired(_l("Choose the reason code."))])


def _creditor_id(form, field):
    # Optional here: a utility taking bank transfers only sets the IBAN printed on bills without being a SEPA
    # creditor; the domain refuses an empty one while direct debit is offered.
    if not "".join((field.data or "").split()):
        field.data = None
        return
    try:
        field.data = creditor.normalise_creditor_id(field.data)
    except creditor.InvalidCreditorId as exc:
        raise ValidationError(str(CREDITOR_ID_MESSAGES[exc.code])) from exc


def _iban(form, field):
    try:
        field.data = mandates.normalise_iban(field.data)
    except mandates.InvalidIban as exc:
        raise ValidationError(str(IBAN_MESSAGES[exc.code])) from exc


def _bic(form, field):
    value = "".join((field.data or "").split()).upper()
    if value and not pain008.is_bic(value):
        raise ValidationError(str(_l("A BIC has 8 or 11 letters and digits, for example AGRIFRPP or "
                                     "COBADEFFXXX.")))
    field.data = value or None


class SettingsForm(FlaskForm):
    creditor_id = StringField(_l("SEPA creditor identifier"), validators=[_creditor_id])
    iban = StringField(_l("IBAN of the collection account"), validators=[_iban])
    bic = StringField(_l("BIC of the collection account (optional)"), validators=[_bic])
    lead_days = IntegerField(_l("Prepare collections automatically, days before the collection date (optional)"),
                             validators=[Optional(), NumberRange(min=1, max=30, message=_l(
                                 "Enter a number of days from 1 to 30, or leave it empty."))])
