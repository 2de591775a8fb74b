"""Forms of the API keys pages: a new key, revoking one, the call log's filter (validation only; the domain decides)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from api.scope_texts import SCOPE_TEXTS
from app.confirmation import confirm_form
from domain.apikeys.scopes import SCOPES
from domain.apikeys.services import DEFAULT_RATE_LIMIT, MAX_NAME, MAX_RATE_LIMIT

RATE_LIMIT_MESSAGE = _l("Enter a number of calls a minute from 1 to %(most)s.", most=MAX_RATE_LIMIT)


class NewKeyForm(FlaskForm):
    # Declared in the page's order: the error summary lists problems in field order.
    name = StringField(_l("Name"), validators=[
        DataRequired(_l("Enter a name for the key, such as the system that will use it.")),
        Length(max=MAX_NAME, message=_l("Use at most %(count)s characters.", count=MAX_NAME))])
    scopes = SelectMultipleField(_l("What the key may do"), choices=[(s, SCOPE_TEXTS[s]) for s in SCOPES],
                                 validate_choice=False,
                                 validators=[DataRequired(_l("Choose at least one thing the key may do."))])
    expires_on = DateField(_l("Last day the key works (optional)"), validators=[Optional()])
    rate_limit_per_minute = IntegerField(_l("Calls a minute at most"), default=DEFAULT_RATE_LIMIT)
    # This form's single-use reference (backoffice/api_key_views.py): the same form sent again (a page reloaded
    # after the key was shown) creates no second key.
    once = HiddenField()

    def validate_scopes(self, field):
        if any(scope not in SCOPES for scope in field.data or ()):
            raise ValidationError(_l("Choose what the key may do from the list."))

    # Text that is not a date or a number: one clear message rather than WTForms' own as well.
    def validate_expires_on(self, field):
        if field.raw_data and field.raw_data[0].strip() and field.data is None:
            field.errors.clear()
            raise ValidationError(_l("Enter the date as day, month and year, or leave it empty."))

    def validate_rate_limit_per_minute(self, field):
        field.errors.clear()
        if field.data is None or not 1 <= field.data <= MAX_RATE_LIMIT:
            raise ValidationError(RATE_LIMIT_MESSAGE)


RevokeKeyForm = confirm_form(_l("Tick the box to confirm that this key is to be revoked."))


class CallFilterForm(FlaskForm):
    """The call log's filter: a GET form, in the query string, so a filtered page can be linked and exported."""

    class Meta:
        csrf = False

    key = SelectField(_l("Key"), choices=[], default="", validate_choice=False)
    status = SelectField(_l("Answer"), default="", validate_choice=False, choices=[
        SelectChoice("", _l("All answers")), SelectChoice("2", _l("Succeeded (2xx)")),
        SelectChoice("4", _l("Refused (4xx)")), SelectChoice("5", _l("Failed on our side (5xx)"))])
    # Not `endpoint`: url_for (the pager, the export link) takes that name for itself.
    path = StringField(_l("Endpoint contains"), validators=[Length(max=200)])

    def __init__(self, *args, keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.key.choices = [SelectChoice("", _l("All keys"))] + [SelectChoice(k.public_id, k.name) for k in keys]
