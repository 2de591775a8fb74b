"""Gas calorific values in the back office: the values in force and their dates, and a new value from a date
(billing staff and administrators; `flask billing calorific-value` does the same from the command line)."""
from __future__ import annotations

import logging

from flask import flash, g, redirect, render_template, url_for
from babel.numbers import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import InputRequired

from app.auth import staff_permission
from app.i18n import format_day, format_locale
from backoffice.billing_views import bp
from domain.db import db, utcnow
from domain.offers import services as offers

log = logging.getLogger("backoffice.calorific_values")

REFUSALS = {
    "value": _l("Enter a calorific value from 20 to 60 MJ/m³, with at most four decimals."),
    "date": _l("A calorific value is already recorded from this date."),
}


def calorific(value) -> str:
    """A calorific value as the page's locale writes it, with the decimals it has (39.2, 38,8765)."""
    return format_decimal(value, format="#,##0.0###", locale=format_locale())


class CalorificValueForm(FlaskForm):
    effective_from = DateField(_l("In force from"), validators=[InputRequired(
        message=_l("Enter the first day the value is in force."))])
    value = StringField(_l("Calorific value (MJ/m³)"), validators=[InputRequired(
        message=_l("Enter a calorific value from 20 to 60 MJ/m³, with at most four decimals."))])


@bp.route("/calorific-values", methods=["GET", "POST"])
@staff_permission("billing.run")
def calorific_values():
    form = CalorificValueForm()
    if form.validate_on_submit():
        try:
            row = offers.record_calorific_value(effective_from=form.effective_from.data, value=form.value.data,
                                                recorded_by=current_user.user.email, now=utcnow())
        except offers.CalorificValueRefused as exc:
            db.session.rollback()
            (form.value if exc.code == "value" else form.effective_from).errors.append(REFUSALS[exc.code])
        else:
            db.session.commit()
            log.info("calorific value recorded tenant=%s from=%s value=%s staff=%s", g.tenant.id,
                     row.effective_from, row.value, current_user.user.id)
            flash(_("The calorific value %(value)s MJ/m³ is in force from %(date)s.", value=calorific(row.value),
                    date=format_day(row.effective_from)), "success")
            return redirect(url_for("billing.calorific_values"))
    return render_template("backoffice/billing/calorific_values.html", form=form, values=offers.calorific_values(),
                           base=g.tenant.gas_calorific_value,
                           calorific=calorific), 422 if form.errors else 200
