"""Forms of the collections pages: dunning settings, a payment arrangement agreed by staff, disputes."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, IntegerField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from backoffice.collection_texts import CHANNEL_NAMES, DISPUTE_REASON_NAMES


def _level_fields(position: int) -> dict:
    return {
        f"delay_{position}": IntegerField(_l("Days after the due date"), validators=[
            InputRequired(_l("Enter a number of days.")),
            NumberRange(1, 365, _l("Enter a number of days from 1 to 365."))]),
        f"fee_{position}": DecimalField(_l("Fee"), places=2, validators=[
            InputRequired(_l("Enter the fee, 0 for none.")),
            NumberRange(Decimal("0"), Decimal("1000"), _l("Enter a fee from 0 to 1,000.00."))]),
        f"channel_{position}": RadioField(_l("Sent by"), choices=list(CHANNEL_NAMES.items()),
                                          validators=[DataRequired(_l("Choose letter or e-mail."))]),
    }


class DunningSettingsForm(FlaskForm):
    portal_arrangements = BooleanField(_l("Customers may set up a payment arrangement themselves in the portal"))
    max_instalments = IntegerField(_l("Most instalments a customer may choose"), validators=[
        InputRequired(_l("Enter a number.")), NumberRange(2, 24, _l("Enter a number from 2 to 24."))])
    max_days = IntegerField(_l("Last instalment at most this many days away"), validators=[
        InputRequired(_l("Enter a number of days.")), NumberRange(7, 730, _l("Enter a number of days from 7 to 730."))])
    min_instalment = DecimalField(_l("Smallest instalment"), places=2, validators=[
        InputRequired(_l("Enter an amount, 0 for no minimum.")),
        NumberRange(Decimal("0"), Decimal("10000"), _l("Enter an amount from 0 to 10,000.00."))])
    grace_days = IntegerField(_l("Days of grace after an instalment's date"), validators=[
        InputRequired(_l("Enter a number of days.")), NumberRange(0, 60, _l("Enter a number of days from 0 to 60."))])

    def level_rows(self):
        return [(position, self[f"delay_{position}"], self[f"fee_{position}"], self[f"channel_{position}"])
                for position in (1, 2, 3)]


for _position in (1, 2, 3):
    for _name, _field in _level_fields(_position).items():
        setattr(DunningSettingsForm, _name, _field)


class StaffArrangementForm(FlaskForm):
    count = IntegerField(_l("Number of monthly instalments"), validators=[
        Optional(), NumberRange(1, 36, _l("Enter a number of instalments from 1 to 36."))])
    first = DateField(_l("First instalment on"), validators=[Optional()])
    schedule = TextAreaField(_l("Or the instalments one per line: date and amount"), validators=[
        Optional(), Length(max=4000)])
    note = TextAreaField(_l("Note (what was agreed, with whom)"), validators=[Length(max=2000)])

    def validate_schedule(self, field):
        if not (field.data or "").strip() and not (self.count.data and self.first.data):
            raise ValidationError(_l("Enter the number of instalments and the first date, or the instalments "
                                     "one per line."))
        try:
            self.parsed_schedule = parse_schedule(field.data or "")
        except ValueError as exc:
            raise ValidationError(_l("Write each instalment as a date and an amount, such as 2026-12-15 45.50.")) \
                from exc


def parse_schedule(text: str) -> list[tuple[date, Decimal]]:
    """Lines "YYYY-MM-DD amount" (a comma for decimals is taken too); blank lines are skipped."""
    out = []
    for line in text.splitlines():
        parts = line.replace(";", " ").split()
        if not parts:
            continue
        if len(parts) != 2:
            raise ValueError(line)
        try:
            day = date.fromisoformat(parts[0])
            amount = Decimal(parts[1].replace(",", "."))
        except (ValueError, InvalidOperation) as exc:
            raise ValueError(line) from exc
        if not amount.is_finite():
            raise ValueError(line)
        out.append((day, amount))
    return out


class DisputeForm(FlaskForm):
    reason = SelectField(_l("Reason"), choices=[SelectChoice("", _l("Choose…"))] + [
        SelectChoice(code, name) for code, name in DISPUTE_REASON_NAMES.items()],
                         validators=[DataRequired(_l("Choose a reason."))])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000, message=_l("Keep the note under 2,000 "
                                                                             "characters."))])


class ResolveDisputeForm(FlaskForm):
    outcome = RadioField(_l("Outcome"), choices=[("upheld", _l("Upheld: the customer is right")),
                                                 ("rejected", _l("Rejected: the bill stands"))],
                         validators=[DataRequired(_l("Choose whether the dispute is upheld or rejected."))])
    note = TextAreaField(_l("Note"), validators=[DataRequired(_l("Write a note saying why.")),
                                                 Length(max=2000, message=_l("Keep the note under 2,000 "
                                                                             "characters."))])


class ActionForm(FlaskForm):
    """A button: the CSRF token only."""
