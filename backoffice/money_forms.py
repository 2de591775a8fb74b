"""Forms of the money pages: a payment received, a refund or a write-off proposed, a decision, a bank statement
uploaded, a statement entry allocated or ignored."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from domain.collections.money_models import WRITE_OFF_REASONS

METHOD_NAMES = {"cheque": _l("Cheque"), "cash": _l("Cash"), "transfer": _l("Bank transfer")}
REASON_NAMES = {
    "insolvency": _l("Insolvency of the customer"), "deceased": _l("Customer deceased, no estate"),
    "uneconomic": _l("Too small to pursue"), "time_barred": _l("Time-barred debt"),
    "untraceable": _l("Customer cannot be traced"), "other": _l("Another reason (say which in the note)"),
}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ManualPaymentForm(FlaskForm):
    account_number = StringField(_l("Customer account number"),
                                 validators=[DataRequired(_l("Enter the customer account number.")), Length(max=20)])
    method = RadioField(_l("Received by"), choices=list(METHOD_NAMES.items()),
                        validators=[DataRequired(_l("Choose how the payment was received."))])
    amount = StringField(_l("Amount"), validators=[DataRequired(_l("Enter the amount received.")), Length(max=20)])
    received_on = DateField(_l("Received on"), validators=[DataRequired(_l("Enter the date the payment arrived."))])
    reference = StringField(_l("Reference (cheque number, transfer reference, cash receipt number)"),
                            validators=[DataRequired(_l("Enter the payment's reference.")), Length(max=100)])
    bills = MultiCheckboxField(_l("Bills to settle (none chosen: the oldest due first)"), choices=[],
                               validate_choice=False)
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=255)])


class RefundForm(FlaskForm):
    amount = StringField(_l("Amount to refund"), validators=[DataRequired(_l("Enter the amount to refund.")),
                                                             Length(max=20)])
    iban = StringField(_l("IBAN to pay to (leave empty to use the IBAN of the customer's mandate)"),
                       validators=[Optional(), Length(max=42)])
    holder_name = StringField(_l("Name of the bank account holder (optional)"), validators=[Optional(),
                                                                                            Length(max=140)])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=255)])


class WriteOffForm(FlaskForm):
    bills = MultiCheckboxField(_l("Bills to write off"), choices=[], validate_choice=False,
                               validators=[DataRequired(_l("Choose at least one bill."))])
    reason = SelectField(_l("Reason"), choices=[("", _l("Choose…"))] + [(r, REASON_NAMES[r])
                                                                         for r in WRITE_OFF_REASONS],
                         validators=[DataRequired(_l("Choose the reason of the write-off."))])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=255)])


class DecisionForm(FlaskForm):
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=255)])


class StatementForm(FlaskForm):
    statement = FileField(_l("Bank statement (camt.053 XML or CSV)"),
                          render_kw={"accept": ".xml,.csv,text/xml,application/xml,text/csv"})


class ConfirmEntryForm(FlaskForm):
    account_number = StringField(_l("Customer account number"),
                                 validators=[DataRequired(_l("Enter the customer account number.")), Length(max=20)])
    bill_number = StringField(_l("Bill number (optional)"), validators=[Optional(), Length(max=40)])


class IgnoreEntryForm(FlaskForm):
    note = StringField(_l("Why it is ignored"), validators=[Optional(), Length(max=255)])
