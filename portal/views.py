"""Portal pages: sign-in, the home page (what is due, latest bill and readings, what needs action), account detail."""
from __future__ import annotations

from datetime import datetime

from flask import abort, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth import customer_required
from app.auth_views import register_auth_views
from app.i18n import LOCALES, tenant_zone
from domain.billing.payment_method import payment_method_at
from domain.contracts import overview
from domain.contracts import services as accounts
from domain.db import utcnow

from portal.blueprint import bp
from portal.reading_views import REGISTER_NAMES, UNIT_LABELS

register_auth_views(bp, kind="customer", home_endpoint="portal.home", template_dir="portal",
                    protect=customer_required)

READING_SOURCE_NAMES = {"customer": _l("yours"), "agent": _l("by an agent"), "smart_meter": _l("smart meter"),
                        "estimated": _l("estimated"), "regularisation": _l("regularisation")}


def _today():
    """Today in the tenant's time zone (the edge computes "now"; tests replace this)."""
    return datetime.now(tenant_zone()).date()


@bp.get("/")
@customer_required
def home():
    page = overview.home_page(customer_user_id=current_user.user.id, tenant=g.tenant, today=_today(), now=utcnow())
    return render_template("portal/home.html", summaries=page.summaries, actions=page.actions,
                           source_names=READING_SOURCE_NAMES, register_names=REGISTER_NAMES, unit_labels=UNIT_LABELS)


@bp.get("/accounts/<account_number>")
@customer_required
def account(account_number: str):
    found = accounts.account_of_customer(customer_user_id=current_user.user.id, account_number=account_number)
    if found is None:
        abort(404)
    balance = accounts.balances(account_ids=[found.id])[found.id]
    # "Direct debit (active)" from the mandate in force, not from the method the account was once given.
    paid_by = payment_method_at(account=found, at=utcnow())
    return render_template("portal/account.html", account=found, balance=balance, paid_by=paid_by)


@bp.post("/language")
def language():
    """Remember the language chosen from the switcher (for the signed-in user too)."""
    chosen = request.form.get("locale")
    if chosen in LOCALES:
        session["locale"] = chosen
        if current_user.is_authenticated and current_user.kind == "customer":
            from domain.identity import profile

            profile.set_locale(user=current_user.user, locale=chosen, now=utcnow())  # in the customer's history
        elif current_user.is_authenticated and current_user.kind == "staff":
            current_user.user.locale = chosen
    target = request.form.get("next") or url_for("portal.home")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("portal.home")
    return redirect(target)
