"""Portal pages: sign-in, home with the customer's accounts and points of delivery, account detail."""
from __future__ import annotations

from flask import abort, redirect, render_template, request, session, url_for
from flask_login import current_user

from app.auth import customer_required
from app.auth_views import register_auth_views
from app.i18n import LOCALES
from domain.contracts import services as accounts

from portal.blueprint import bp

register_auth_views(bp, kind="customer", home_endpoint="portal.home", template_dir="portal",
                    protect=customer_required)


@bp.get("/")
@customer_required
def home():
    customer_accounts = accounts.accounts_of_customer(customer_user_id=current_user.user.id)
    balances = accounts.balances(account_ids=[a.id for a in customer_accounts])
    return render_template("portal/home.html", accounts=customer_accounts, balances=balances)


@bp.get("/accounts/<account_number>")
@customer_required
def account(account_number: str):
    found = accounts.account_of_customer(customer_user_id=current_user.user.id, account_number=account_number)
    if found is None:
        abort(404)
    balance = accounts.balances(account_ids=[found.id])[found.id]
    return render_template("portal/account.html", account=found, balance=balance)


@bp.post("/language")
def language():
    """Remember the language chosen from the switcher (for the signed-in user too)."""
    chosen = request.form.get("locale")
    if chosen in LOCALES:
        session["locale"] = chosen
        if current_user.is_authenticated and current_user.kind in ("customer", "staff"):
            current_user.user.locale = chosen
    target = request.form.get("next") or url_for("portal.home")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("portal.home")
    return redirect(target)
