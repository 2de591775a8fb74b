"""Getting in: activating online access with a customer number and a fact from a bill, e-mail
verification, linking another account to the same login.

A postcode is no secret: with it, the link goes only to the address on file (domain/identity/activation.py)."""
from __future__ import annotations

import logging
from datetime import datetime

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from app.auth import customer_required, public_view, sign_in
from app.auth_forms import EMAIL_SHAPE, NewPasswordForm
from app.auth_views import PASSWORD_PROBLEM_MESSAGES, _throttled
from app.i18n import tenant_zone
from app.mail import compose
from app.messages import queue_message
from domain.db import utcnow
from domain.identity import activation
from domain.identity.services import WeakPassword
from portal.blueprint import bp

log = logging.getLogger("portal.access")


class _ProofFields(FlaskForm):
    account_number = StringField(_l("Customer number"), validators=[
        DataRequired(_l("Enter your customer number.")), Length(max=20, message=_l("Enter your customer number.")),
    ])
    postcode = StringField(_l("Postcode of your postal address"), validators=[Optional(), Length(max=16)])
    activation_code = StringField(_l("Activation code"), validators=[Optional(), Length(max=24)])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if (not activation.normalise_postcode(self.postcode.data)
                and not activation.normalise_code(self.activation_code.data)):
            self.postcode.errors = [*self.postcode.errors,
                                    _("Enter the postcode of your postal address or the activation code.")]
            return False
        return ok


class ActivationForm(_ProofFields):
    # Only with the activation code: with the postcode alone the link goes to the address on file.
    email = EmailField(_l("E-mail address"), validators=[
        Optional(),
        Regexp(EMAIL_SHAPE, message=_l("Enter a valid e-mail address.")),
        Length(max=254, message=_l("Enter a valid e-mail address.")),
    ])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if activation.normalise_code(self.activation_code.data) and not (self.email.data or "").strip():
            self.email.errors = [*self.email.errors, _("Enter the e-mail address you will sign in with.")]
            return False
        return ok


class LinkAccountForm(_ProofFields):
    pass


def _today():
    return datetime.now(tenant_zone()).date()


def _secret() -> bytes:
    return current_app.config["SECRET_KEY"].encode()


def _locked_page():
    """Too many failed attempts for this number: nothing is checked, sent or counted until staff lift the lock."""
    log.info("activation refused, number locked tenant=%s", g.tenant.id)
    return render_template("portal/access/locked.html"), 429


def tell_holders(user, account_ids: list[int], now) -> None:
    """A new online access: the holder's address on file hears of it (the other logins see a notice)."""
    for address, number, locale in activation.tell_holders(user=user, account_ids=account_ids, now=now):
        queue_message(kind="access_created", to=address, subject=_l("A new online access to your account"),
                      locale=locale, account_number=number, email_masked=activation.hint_email(user.email),
                      created_at=now)


def _send_link(started: activation.StartedVerification, *, kind: str, subject, link: str, locale) -> None:
    # After the response: whether a mail goes out must not show in how long the answer takes.
    queue_message(kind=kind, to=started.email, subject=subject, locale=locale, link=link, account=started.account,
                  account_number=started.account.account_number, existing=started.existing_user is not None,
                  after_response=True)


@public_view
def activate():
    if current_user.is_authenticated and current_user.kind == "customer":
        return redirect(url_for("portal.link_account"))
    form = ActivationForm()
    if form.validate_on_submit():
        with_code = bool(activation.normalise_code(form.activation_code.data))
        try:
            answer = activation.start_activation(
                account_number=form.account_number.data, postcode=form.postcode.data,
                activation_code=form.activation_code.data, email=form.email.data if with_code else None,
                now=utcnow(), secret=_secret())
        except activation.ActivationLocked:
            return _locked_page()
        started = answer.started
        if started is not None:
            link = url_for("portal.activate_account", token=started.token, _external=True)
            _send_link(started, kind="activation", subject=_l("Activate your online access"), link=link,
                       locale=started.existing_user.locale if started.existing_user else str(get_locale()))
            log.info("activation link sent tenant=%s account=%s to=%s", g.tenant.id, started.account.account_number,
                     "typed" if with_code else "on-file")
        else:
            # Render the mail a hit would send, and drop it: a miss then costs what a hit costs.
            compose(tenant=g.tenant, to=form.email.data or "nobody@invalid", subject=_l("Activate your online access"),
                    template="activation", locale=str(get_locale()), link=url_for("portal.activate", _external=True),
                    account_number=activation.normalise_account_number(form.account_number.data), existing=False)
            log.info("activation refused tenant=%s", g.tenant.id)
        # One answer whether or not the facts match: nobody learns which customer numbers exist.
        if with_code:
            return render_template("portal/access/check_mail.html", email=form.email.data.strip())
        return render_template("portal/access/check_mail.html", on_file=answer.sent_to)
    return render_template("portal/access/activate.html", form=form)


# Per IP here; per customer number by the lock-out of domain/identity/activation.py (a typed address is no key:
# with the postcode it is ignored, with the code the code is what is guessed).
bp.add_url_rule("/activate", "activate", _throttled(activate, "portal_activate", per_account=False),
                methods=["GET", "POST"])


def _invalid_link():
    return render_template("portal/access/link_invalid.html"), 404


@public_view
def activate_account(token: str):
    now = utcnow()
    row = activation.pending_link(token=token, purposes=("activation",), now=now)
    if row is None:
        return _invalid_link()
    if activation.login_with_email(row.email) is not None:
        # The address already signs in: the link adds the account to that login once its owner signs in.
        return redirect(url_for("portal.confirm_link", token=token))
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = activation.complete_activation(token=token, password=form.password.data, now=now,
                                                  today=_today(), locale=str(get_locale()))
        except WeakPassword as exc:
            form.password.errors.extend(PASSWORD_PROBLEM_MESSAGES[p]() for p in exc.problems)
        except activation.AlreadyRegistered:
            return redirect(url_for("portal.confirm_link", token=token))
        except activation.InvalidVerification:
            return _invalid_link()
        else:
            tell_holders(user, [a.account_id for a in user.accesses], now)
            sign_in("customer", user)
            log.info("access activated tenant=%s user=%s", g.tenant.id, user.id)
            flash(_("Your online access is ready. Welcome!"), "success")
            return redirect(url_for("portal.home"))
    return render_template("portal/access/set_password.html", form=form, email=row.email)


bp.add_url_rule("/activate/<token>", "activate_account",
                _throttled(activate_account, "portal_activate_account", per_account=False),
                methods=["GET", "POST"])


@customer_required
def link_account():
    form = LinkAccountForm()
    if form.validate_on_submit():
        user = current_user.user
        with_code = bool(activation.normalise_code(form.activation_code.data))
        try:
            answer = activation.start_link_account(
                user=user, account_number=form.account_number.data, postcode=form.postcode.data,
                activation_code=form.activation_code.data, now=utcnow(), secret=_secret())
        except activation.ActivationLocked:
            return _locked_page()
        started = answer.started
        if started is not None:
            link = url_for("portal.confirm_link", token=started.token, _external=True)
            _send_link(started, kind="link_account", subject=_l("Add an account to your online access"),
                       link=link, locale=user.locale or str(get_locale()))
            log.info("link-account link sent tenant=%s user=%s", g.tenant.id, user.id)
        if with_code:
            return render_template("portal/access/check_mail.html", email=user.email, linking=True)
        return render_template("portal/access/check_mail.html", on_file=answer.sent_to, linking=True)
    return render_template("portal/access/link_account.html", form=form)


bp.add_url_rule("/accounts/link", "link_account", _throttled(link_account, "portal_link_account", per_account=False),
                methods=["GET", "POST"])


@bp.route("/accounts/link/<token>", methods=["GET", "POST"])
@customer_required
def confirm_link(token: str):
    now = utcnow()
    user = current_user.user
    row = activation.pending_link(token=token, purposes=("activation", "link_account"), now=now)
    if row is None or not activation.link_is_for(row, user):
        return _invalid_link()
    if request.method == "POST":
        form = FlaskForm()
        if not form.validate_on_submit():
            abort(400)
        try:
            account = activation.add_account_by_link(token=token, user=user, now=now)
        except activation.InvalidVerification:
            return _invalid_link()
        tell_holders(user, [account.id], now)
        log.info("account linked tenant=%s user=%s account=%s", g.tenant.id, user.id, account.account_number)
        flash(_("Account %(number)s is now part of your online access.", number=account.account_number), "success")
        return redirect(url_for("portal.home"))
    return render_template("portal/access/confirm_link.html", account=activation.account_of_link(row),
                           form=FlaskForm())
