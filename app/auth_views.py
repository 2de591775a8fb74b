"""Sign-in, sign-out and password views, added to the portal and back-office blueprints."""
from __future__ import annotations

import logging

from flask import current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth import public_view, safe_next, sign_in, sign_out
from app.auth_forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, NewPasswordForm
from app.extensions import limiter
from app.i18n import format_moment
from app.messages import queue_message
from app.ratelimit import account_key, count_failed_sign_in, forget_failed_sign_ins, sign_in_blocked
from domain.db import utcnow
from domain.identity import notices
from domain.identity import services as identity

log = logging.getLogger("auth")

PASSWORD_PROBLEM_MESSAGES = {
    "too_short": lambda: _("Use at least 10 characters."),
    "spaces_around": lambda: _("Do not start or end the password with a space."),
    "too_common": lambda: _("This password is too common. Choose another one."),
}


def _login_limit() -> str:
    return current_app.config["RATE_LIMIT_LOGIN"]


def _account_limit() -> str:
    return current_app.config["RATE_LIMIT_LOGIN_ACCOUNT"]


SIGN_IN_SCOPE = "sign-in"  # one allowance per IP shared by every sign-in form: portal, back office and console


def _throttled(view, name: str, *, per_account: bool = True, ip_scope: str | None = None):
    """Rate-limit a sign-in style view per client IP and, optionally, per account (POSTs only).

    The IP key has no tenant in it (app/ratelimit.py): an address is counted across every tenant host. Views given
    the same `ip_scope` share one allowance."""
    # Flask-Limiter keys its limits by the function's name: each blueprint's view needs its own.
    view.__name__ = view.__qualname__ = name
    if per_account:
        view = limiter.limit(_account_limit, key_func=account_key, methods=["POST"])(view)
    if ip_scope:
        view = limiter.shared_limit(_login_limit, scope=ip_scope, methods=["POST"])(view)
    else:
        view = limiter.limit(_login_limit, methods=["POST"])(view)
    view.required_permissions = ()
    return view


def too_many_failures_message(*, can_reset: bool) -> str:
    if can_reset:
        return _("Too many failed attempts to sign in to this account. Wait a few minutes, or choose a new "
                 "password with “Forgotten your password?”: the link we send works even now.")
    return _("Too many failed attempts to sign in to this account. Wait a few minutes and try again.")


_NOTICE_TEXTS = {
    "access_created": lambda n, when: _(
        "On %(when)s, a new online access to your account %(number)s was created for %(email)s. If it was not "
        "you or someone you trust, contact us straight away.", when=when, number=n.account_number,
        email=n.email_masked),
    "email_changed": lambda n, when: _(
        "On %(when)s, the e-mail address of your online access was changed to %(email)s. If you did not make "
        "this change, contact us straight away.", when=when, email=n.email_masked),
    "address_changed": lambda n, when: _(
        "On %(when)s, the sign-in address of another online access to your account %(number)s was changed to "
        "%(email)s. If it was not someone you trust, contact us straight away.", when=when, number=n.account_number,
        email=n.email_masked),
}


def show_access_notices(user, now) -> None:
    """What the owner must hear of at this sign-in (a new access to their account, a changed address): once."""
    for notice in notices.take_unshown(user=user, now=now):
        flash(_NOTICE_TEXTS[notice.kind](notice, format_moment(notice.occurred_at, "minutes")), "error")


def register_auth_views(bp, *, kind: str, home_endpoint: str, template_dir: str, protect) -> None:
    """Add login, logout, forgot, reset and change-password views for one kind of user."""
    prefix = bp.name

    @public_view
    def login():
        if current_user.is_authenticated and current_user.kind == kind:
            return redirect(url_for(home_endpoint))
        form = LoginForm()
        error = None
        if form.validate_on_submit():
            if sign_in_blocked(kind, form.email.data):
                # Checked before the password: a right guess now is refused like a wrong one.
                log.info("login refused, account throttled kind=%s tenant=%s", kind, g.tenant.id)
                return render_template(f"{template_dir}/login.html", form=form,
                                       error=too_many_failures_message(can_reset=True)), 429
            now = utcnow()
            try:
                user = identity.authenticate(user_kind=kind, email=form.email.data,
                                             password=form.password.data, now=now)
            except identity.InvalidCredentials:
                count_failed_sign_in(kind, form.email.data)
                error = _("The e-mail address or the password is not right.")
                log.info("login refused kind=%s tenant=%s", kind, g.tenant.id)
            else:
                from app.second_factor_views import continue_sign_in

                second_step = continue_sign_in(kind, user, prefix=prefix, home_endpoint=home_endpoint)
                if second_step is not None:  # staff with a second factor, or an administrator who must enrol
                    return second_step
                sign_in(kind, user)
                if kind == "customer":
                    show_access_notices(user, now)
                log.info("login kind=%s tenant=%s user=%s", kind, g.tenant.id, user.id)
                return redirect(safe_next(url_for(home_endpoint)))
        return render_template(f"{template_dir}/login.html", form=form, error=error)

    bp.add_url_rule("/login", "login", _throttled(login, f"{prefix}_login", per_account=False,
                                                  ip_scope=SIGN_IN_SCOPE), methods=["GET", "POST"])

    @public_view
    def logout():
        sign_out()
        flash(_("You are signed out."), "info")
        return redirect(url_for(f"{prefix}.login"))

    bp.add_url_rule("/logout", "logout", logout, methods=["POST"])

    @public_view
    def forgot_password():
        form = ForgotPasswordForm()
        if form.validate_on_submit():
            found = identity.start_password_reset(user_kind=kind, email=form.email.data, now=utcnow())
            if found is not None:
                user, token = found
                link = url_for(f"{prefix}.reset_password", token=token, _external=True)
                # After the response: whether a mail goes out must not show in how long the answer takes.
                queue_message(kind="password_reset", to=user.email, subject=_l("Reset your password"),
                              locale=user.locale, link=link, after_response=True,
                              customer_user=user if kind == "customer" else None)
            # Same answer whether or not the address is known.
            flash(_("If this address belongs to an account, we have sent it a link to choose a new password. "
                    "The link works once, for 30 minutes."), "info")
            return redirect(url_for(f"{prefix}.login"))
        return render_template(f"{template_dir}/forgot_password.html", form=form)

    bp.add_url_rule("/password/forgot", "forgot_password",
                    _throttled(forgot_password, f"{prefix}_forgot_password"), methods=["GET", "POST"])

    @public_view
    def reset_password(token: str):
        now = utcnow()
        if not identity.reset_token_is_valid(user_kind=kind, token=token, now=now):
            return render_template(f"{template_dir}/reset_invalid.html"), 404
        form = NewPasswordForm()
        if form.validate_on_submit():
            try:
                user = identity.complete_password_reset(user_kind=kind, token=token, new_password=form.password.data,
                                                        now=now)
            except identity.WeakPassword as exc:
                form.password.errors.extend(PASSWORD_PROBLEM_MESSAGES[p]() for p in exc.problems)
            except identity.InvalidResetToken:
                return render_template(f"{template_dir}/reset_invalid.html"), 404
            else:
                forget_failed_sign_ins(kind, user.email)  # the owner proved itself: the lock-out ends
                flash(_("Your password has been changed. You can sign in with it now."), "success")
                return redirect(url_for(f"{prefix}.login"))
        return render_template(f"{template_dir}/reset_password.html", form=form, token=token)

    bp.add_url_rule("/password/reset/<token>", "reset_password",
                    _throttled(reset_password, f"{prefix}_reset_password", per_account=False),
                    methods=["GET", "POST"])

    @protect
    def change_password():
        form = ChangePasswordForm()
        if form.validate_on_submit():
            try:
                identity.change_password(user_kind=kind, user=current_user.user,
                                         current_password=form.current_password.data,
                                         new_password=form.password.data, now=utcnow())
            except identity.InvalidCredentials:
                form.current_password.errors.append(_("The current password is not right."))
            except identity.WeakPassword as exc:
                form.password.errors.extend(PASSWORD_PROBLEM_MESSAGES[p]() for p in exc.problems)
            else:
                user = current_user.user
                sign_in(kind, user)  # every other session has ended; this browser gets a fresh one
                flash(_("Your password has been changed. Other devices have been signed out."), "success")
                return redirect(url_for(home_endpoint))
        return render_template(f"{template_dir}/change_password.html", form=form)

    bp.add_url_rule("/password/change", "change_password", change_password, methods=["GET", "POST"])
