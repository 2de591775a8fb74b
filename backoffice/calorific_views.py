"""Gas calorific values in the back office: the values in force and their dates, per calorific zone where the
network has zones, a new value from a date, and a point of delivery's zone (billing staff and administrators;
`flask billing calorific-value` records a value from the command line)."""
from __future__ import annotations

import logging

from flask import flash, g, redirect, render_template, request, url_for
from babel.numbers import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import InputRequired, Optional

from app.auth import staff_permission
from app.csv_export import wants_csv
from backoffice import exports
from app.i18n import format_day, format_locale
from backoffice.billing_views import bp
from domain.db import db, utcnow
from domain.offers import services as offers

log = logging.getLogger("backoffice.calorific_values")

REFUSALS = {
    "value": _l("Enter a calorific value from 20 to 60 MJ/m³, with at most four decimals."),
    "date": _l("A calorific value is already recorded from this date."),
    "zone": _l("Enter a zone name of up to 40 letters, digits, spaces or dashes."),
    "delivery_point": _l("There is no gas point of delivery with this identifier."),
}


def calorific(value) -> str:
    """A calorific value as the page's locale writes it, with the decimals it has (39.2, 38,8765)."""
    return format_decimal(value, format="#,##0.0###", locale=format_locale())


class CalorificValueForm(FlaskForm):
    effective_from = DateField(_l("In force from"), validators=[InputRequired(
        message=_l("Enter the first day the value is in force."))])
    value = StringField(_l("Calorific value (MJ/m³)"), validators=[InputRequired(
        message=_l("Enter a calorific value from 20 to 60 MJ/m³, with at most four decimals."))])
    zone = StringField(_l("Zone (only where the network has calorific zones)"), validators=[Optional()])


class DeliveryPointZoneForm(FlaskForm):
    identifier = StringField(_l("Point of delivery identifier"), validators=[InputRequired(
        message=_l("Enter the identifier of a gas point of delivery."))])
    zone = StringField(_l("Its calorific zone (empty: none)"), validators=[Optional()])


@bp.route("/calorific-values", methods=["GET", "POST"])
@staff_permission("billing.run")
def calorific_values():
    if request.method == "GET" and wants_csv():
        return exports.calorific_values(offers.calorific_values())
    form = CalorificValueForm()
    if form.validate_on_submit():
        try:
            row = offers.record_calorific_value(effective_from=form.effective_from.data, value=form.value.data,
                                                recorded_by=current_user.user.email, now=utcnow(),
                                                zone=form.zone.data)
        except offers.CalorificValueRefused as exc:
            db.session.rollback()
            target = {"value": form.value, "zone": form.zone}.get(exc.code, form.effective_from)
            target.errors.append(REFUSALS[exc.code])
        else:
            db.session.commit()
            log.info("calorific value recorded tenant=%s from=%s value=%s staff=%s", g.tenant.id,
                     row.effective_from, row.value, current_user.user.id)
            flash(_("The calorific value %(value)s MJ/m³ is in force from %(date)s.", value=calorific(row.value),
                    date=format_day(row.effective_from)), "success")
            return redirect(url_for("billing.calorific_values"))
    return _page(form, DeliveryPointZoneForm(formdata=None, prefix="pod"))


def _page(form, zone_form):
    return render_template("backoffice/billing/calorific_values.html", form=form, values=offers.calorific_values(),
                           base=g.tenant.gas_calorific_value, zones=offers.calorific_zones(), zone_form=zone_form,
                           calorific=calorific), 422 if form.errors or zone_form.errors else 200


@bp.post("/calorific-values/zones")
@staff_permission("billing.run")
def calorific_zone():
    """Put a gas point of delivery in a calorific zone: its gas is converted with that zone's values."""
    zone_form = DeliveryPointZoneForm(prefix="pod")
    if zone_form.validate_on_submit():
        try:
            point = offers.set_delivery_point_zone(identifier=zone_form.identifier.data, zone=zone_form.zone.data)
        except offers.CalorificValueRefused as exc:
            db.session.rollback()
            (zone_form.zone if exc.code == "zone" else zone_form.identifier).errors.append(REFUSALS[exc.code])
        else:
            db.session.commit()
            log.info("calorific zone set tenant=%s dp=%s zone=%s staff=%s", g.tenant.id, point.id,
                     point.calorific_zone, current_user.user.id)
            flash(_("The point of delivery %(identifier)s is in zone %(zone)s.", identifier=point.identifier,
                    zone=point.calorific_zone) if point.calorific_zone else
                  _("The point of delivery %(identifier)s uses the values without a zone.",
                    identifier=point.identifier), "success")
            return redirect(url_for("billing.calorific_values"))
    return _page(CalorificValueForm(formdata=None), zone_form)
