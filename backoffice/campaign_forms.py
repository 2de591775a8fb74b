"""Forms of the campaign pages: the campaign and its segment, a template per language, sending."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.i18n import ACTIVITY_NAMES, LOCALE_NAMES, LOCALES, PAYMENT_METHOD_NAMES

CRITERIA_FIELDS = ("activity", "offer", "postcode", "town", "payment_method", "paperless", "overdue", "consent",
                   "language")


def _yes_no(any_label):
    return [SelectChoice("", any_label), SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))]


class CampaignForm(FlaskForm):
    name = StringField(_l("Name of the campaign"), validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
    purpose = RadioField(_l("Purpose"), choices=[
        SelectChoice("marketing", _l("Marketing: only customers who agreed to news and offers")),
        SelectChoice("service", _l("Service information (a regulated price change): every customer concerned")),
    ], default="marketing")
    activity = SelectField(_l("Activity"), choices=[], default="", validators=[Optional()])
    offer = SelectField(_l("Offer"), choices=[], default="", validators=[Optional()])
    postcode = StringField(_l("Postcode starts with"), validators=[Optional(), Length(max=16)])
    town = StringField(_l("Town"), validators=[Optional(), Length(max=100)])
    payment_method = SelectField(_l("Payment method"), default="", validators=[Optional()], choices=[
        SelectChoice("", _l("Any")), *[SelectChoice(k, v) for k, v in PAYMENT_METHOD_NAMES.items()]])
    paperless = SelectField(_l("Paperless billing"), choices=_yes_no(_l("Any")), default="", validators=[Optional()])
    overdue = SelectField(_l("Overdue balance"), choices=_yes_no(_l("Any")), default="", validators=[Optional()])
    consent = SelectField(_l("Agreed to news and offers"), choices=_yes_no(_l("Any")), default="",
                          validators=[Optional()])
    language = SelectField(_l("Language"), default="", validators=[Optional()], choices=[
        SelectChoice("", _l("Any")), *[SelectChoice(code, LOCALE_NAMES[code]) for code in LOCALES]])

    def __init__(self, *args, activities=(), offers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.activity.choices = [SelectChoice("", _l("Any"))] + [
            SelectChoice(a, ACTIVITY_NAMES.get(a, a)) for a in activities]
        self.offer.choices = [SelectChoice("", _l("Any"))] + [SelectChoice(code, name) for code, name in offers]

    def criteria(self) -> dict:
        return {name: self[name].data for name in CRITERIA_FIELDS}


class TemplateForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(_l("Enter the subject.")), Length(max=200)])
    text = TextAreaField(_l("Text of the e-mail"), validators=[DataRequired(_l("Enter the text of the e-mail."))],
                         render_kw={"rows": 12})
    html = TextAreaField(_l("HTML version (optional)"), validators=[Optional()], render_kw={"rows": 8})


class SendForm(FlaskForm):
    when = RadioField(_l("When"), choices=[SelectChoice("now", _l("Send now")),
                                           SelectChoice("later", _l("Schedule"))], default="now")
    at = DateTimeLocalField(_l("Date and time"), format="%Y-%m-%dT%H:%M", validators=[Optional()])


class ActionForm(FlaskForm):
    """CSRF only: pause, resume, cancel, test send."""
