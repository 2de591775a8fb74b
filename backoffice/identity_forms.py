"""Forms of the administration's identity and portal pages sections: the shape of the input (lengths, required);
the rules (VAT format, phone numbers, contrast) are the domain's (domain/brand/identity.py)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import ColorField, StringField, TelField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional


def _max(length: int):
    return Length(max=length, message=_l("Use at most %(max)d characters.", max=length))


class LegalForm(FlaskForm):
    legal_name = StringField(_l("Legal name"), validators=[
        InputRequired(message=_l("Enter the utility's legal name, as registered.")), _max(200)])
    company_registration = StringField(_l("Company registration number"), validators=[Optional(), _max(60)])
    vat_number = StringField(_l("VAT number"), validators=[Optional(), _max(30)])
    registered_office = TextAreaField(_l("Registered office"), validators=[Optional(), _max(300)],
                                      render_kw={"rows": 3})
    website = StringField(_l("Website"), validators=[Optional(), _max(200)])


class ServiceForm(FlaskForm):
    postal_address = TextAreaField(_l("Postal address for letters"), validators=[Optional(), _max(300)],
                                   render_kw={"rows": 3})
    support_email = StringField(_l("Customer-service e-mail address"), validators=[Optional(), _max(254)])
    support_phone = TelField(_l("Customer-service phone"), validators=[Optional(), _max(40)])
    support_hours = StringField(_l("Opening hours"), validators=[Optional(), _max(200)])
    emergency_water = TelField(_l("Emergency number, water"), validators=[Optional(), _max(40)])
    emergency_gas = TelField(_l("Emergency number, gas"), validators=[Optional(), _max(40)])
    emergency_electricity = TelField(_l("Emergency number, electricity"), validators=[Optional(), _max(40)])
    emergency_heating = TelField(_l("Emergency number, urban heating"), validators=[Optional(), _max(40)])


class OmbudsmanForm(FlaskForm):
    dispute_contact = StringField(_l("Where customers send a complaint first"), validators=[Optional(), _max(500)])
    ombudsman = StringField(_l("Mediator or ombudsman"), validators=[Optional(), _max(500)])
    ombudsman_contact = TextAreaField(_l("Mediator's or ombudsman's contact"), validators=[Optional(), _max(500)],
                                      render_kw={"rows": 3})


class ColoursForm(FlaskForm):
    primary_colour = ColorField(_l("Primary colour"), validators=[
        InputRequired(message=_l("Choose a colour, written like #0b5cad."))])
    accent_colour = ColorField(_l("Accent colour"), validators=[
        InputRequired(message=_l("Choose a colour, written like #0b5cad."))])


class LogoForm(FlaskForm):
    logo = FileField(_l("Logo file"), validators=[FileRequired(message=_l("Choose a PNG or SVG file."))],
                     render_kw={"accept": ".png,.svg,image/png,image/svg+xml"})


class PageForm(FlaskForm):
    body = TextAreaField(_l("Text of the page (Markdown)"), validators=[
        InputRequired(message=_l("Write the page's text, or go back to the generated text."))],
        render_kw={"rows": 22})


FORMS = {"legal": LegalForm, "service": ServiceForm, "ombudsman": OmbudsmanForm, "colours": ColoursForm}
