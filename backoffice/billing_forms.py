"""Forms of the billing-run pages."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from domain.billing.runs import ACTIVITIES

ACTIVITY_LABELS = {"water": _l("Water"), "gas": _l("Gas"), "electricity": _l("Electricity"),
                   "heating": _l("Urban heating")}


class StartRunForm(FlaskForm):
    billing_date = DateField(_l("Billing date"), validators=[DataRequired(_l("Enter the billing date."))])
    # Radio buttons, not a list: the simulation's label was cut off in a drop-down half the page wide.
    mode = RadioField(_l("What to do"), choices=[
        SelectChoice("simulate", _l("Simulate first: draft bills to review, nothing is issued")),
        SelectChoice("issue", _l("Issue the bills straight away")),
    ], default="simulate")
    activity = SelectField(_l("Activity"), choices=[], default="", validators=[Optional()])
    cycle = StringField(_l("Billing cycle (optional)"), validators=[Optional(), Length(max=16)])

    def __init__(self, *args, activities: tuple[str, ...] = ACTIVITIES, **kwargs):
        """`activities`: those the utility supplies; the list offers only them (and all of them together)."""
        super().__init__(*args, **kwargs)
        self.activity.choices = [SelectChoice("", _l("All activities"))] + [
            SelectChoice(activity, ACTIVITY_LABELS[activity]) for activity in activities]


class RunActionForm(FlaskForm):
    """CSRF-only form for the issue and resume buttons."""


class CancelRunForm(FlaskForm):
    """Cancelling deletes draft bills: the staff member ticks a box first (the page says how many go)."""

    confirm = BooleanField(validators=[DataRequired(_l("Tick the box to confirm that the run is to be cancelled."))])
