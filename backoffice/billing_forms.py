"""Forms of the billing-run pages."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional


class StartRunForm(FlaskForm):
    billing_date = DateField(_l("Billing date"), validators=[DataRequired(_l("Enter the billing date."))])
    # Radio buttons, not a list: the simulation's label was cut off in a drop-down half the page wide.
    mode = RadioField(_l("What to do"), choices=[
        SelectChoice("simulate", _l("Simulate first: draft bills to review, nothing is issued")),
        SelectChoice("issue", _l("Issue the bills straight away")),
    ], default="simulate")
    activity = SelectField(_l("Activity"), choices=[
        SelectChoice("", _l("All activities")), SelectChoice("water", _l("Water")), SelectChoice("gas", _l("Gas")),
        SelectChoice("electricity", _l("Electricity")), SelectChoice("heating", _l("Urban heating")),
    ], default="", validators=[Optional()])
    cycle = StringField(_l("Billing cycle (optional)"), validators=[Optional(), Length(max=16)])


class RunActionForm(FlaskForm):
    """CSRF-only form for the issue and resume buttons."""


class CancelRunForm(FlaskForm):
    """Cancelling deletes draft bills: the staff member ticks a box first (the page says how many go)."""

    confirm = BooleanField(validators=[DataRequired(_l("Tick the box to confirm that the run is to be cancelled."))])
