"""Actions that cannot be undone ask first: a box the person ticks, checked again by the server, so the question works
without JavaScript; an unticked request answers 422 and changes nothing (templates/_macros/confirm.html)."""
from __future__ import annotations

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired


class ConfirmForm(FlaskForm):
    """CSRF and the ticked box; subclasses word the error for their action."""

    confirm = BooleanField(validators=[DataRequired(_l("Tick the box to confirm."))])


def confirm_form(message) -> type[ConfirmForm]:
    """A ConfirmForm whose error says what the box confirms ("Tick the box to confirm that the mandate ends.")."""
    return type("ConfirmActionForm", (ConfirmForm,), {"confirm": BooleanField(validators=[DataRequired(message)])})


def confirmed(form: ConfirmForm) -> bool:
    """True when the box is ticked; a request without a valid CSRF token is a 400, as for every other form."""
    if form.validate_on_submit():
        return True
    if "csrf_token" in form.errors:
        abort(400)
    return False
