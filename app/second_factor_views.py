"""The second step of sign-in (TOTP code or recovery code), enrolment, and the account page of the second factor,
added to the back-office and console blueprints. The rules live in domain/identity/second_factor.py.

Between a right password and the second step nobody is signed in: the browser's session holds only who passed the
password, on which host, since when and where to go next (`PENDING`). Every other page keeps asking to sign in, and
sends back here; a session of tenant A replayed on tenant B's host is worth nothing there.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import qrcode
import qrcode.image.svg
from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.auth import public_view, safe_next, sign_in
from app.auth_views import SIGN_IN_SCOPE
from app.extensions import limiter
from app.ratelimit import count_failed_sign_in, sign_in_blocked
from domain.audit.actor import Actor, acting_as
from domain.db import db, utcnow
from domain.identity import second_factor, totp
from domain.identity.models import PlatformOperator, StaffUser

log = logging.getLogger("auth")

PENDING = "second_step"
PENDING_LIFETIME = timedelta(minutes=10)
_USER_MODELS = {"staff": StaffUser, "operator": PlatformOperator}


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[
        DataRequired(_l("Enter the code.")),
        Length(max=40, message=_l("This code is not right.")),
    ])


def _tenant_id() -> int | None:
    tenant = g.get("tenant")
    return tenant.id if tenant is not None else None


def continue_sign_in(kind: str, user, *, prefix: str, home_endpoint: str):
    """After a right password: the second step when the user has or must have a second factor; else None (the
    caller signs the user in as before)."""
    step = second_factor.sign_in_step(kind=kind, user=user)
    if step is None:
        return None
    target = safe_next(url_for(home_endpoint))
    locale = session.get("locale")
    session.clear()  # nothing from before survives but the language picked: the state below is all this browser holds
    if locale:
        session["locale"] = locale
    session[PENDING] = {"kind": kind, "tenant": _tenant_id(), "user": user.id, "next": target,
                        "since": utcnow().timestamp()}
    log.info("sign-in second step %s kind=%s tenant=%s user=%s", step, kind, _tenant_id(), user.id)
    return redirect(url_for(f"{prefix}.second_step" if step == "code" else f"{prefix}.second_factor_required"))


def pending_sign_in(kind: str):
    """(user, where to go next) of the sign-in waiting for its second step in this browser, on this host; or None."""
    state = session.get(PENDING)
    if not isinstance(state, dict) or state.get("kind") != kind or state.get("tenant") != _tenant_id():
        return None
    since = state.get("since")
    if not isinstance(since, (int, float)) or utcnow().timestamp() - since > PENDING_LIFETIME.total_seconds():
        return None
    user = db.session.get(_USER_MODELS[kind], state.get("user"))  # the tenant guard applies: A's user is not on B
    if user is None or not user.is_active:
        return None
    return user, state.get("next") or "/"


def qr_svg(uri: str) -> Markup:
    """The QR code of `uri` as inline SVG: served with the page, nothing fetched elsewhere, no script."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathFillImage, border=2)
    label = escape(_("QR code to scan with your app"))
    svg = image.to_string(encoding="unicode")
    return Markup(svg.replace("<svg ", f'<svg class="qr-code" role="img" aria-label="{label}" ', 1))


def _too_many():
    return _("Too many failed attempts to sign in to this account. Wait a few minutes and try again.")


def _code_error(exc: second_factor.SecondFactorError) -> str:
    if isinstance(exc, second_factor.CodeAlreadyUsed):
        return _("This code has already been used. Wait for the next code from your app and type it.")
    return _("This code is not right. Type the 6-digit code your app shows now, or one of your recovery codes. "
             "If codes are always refused, check that your phone's clock is right.")


def _enrolment_error() -> str:
    return _("This code is not right. Type the 6-digit code your app shows now. If codes are always refused, "
             "check that your phone's clock is right.")


def _recovery_notice(left: int) -> str:
    used = ngettext("You signed in with a recovery code, which cannot be used again: %(num)d recovery code left.",
                    "You signed in with a recovery code, which cannot be used again: %(num)d recovery codes left.",
                    left)
    if left < 3:
        used += " " + _("Make new recovery codes on your two-step sign-in page.")
    return used


def _acting(kind: str, user):
    return acting_as(Actor(kind, user.id, user.email))


def register_second_factor_views(bp, *, kind: str, home_endpoint: str, layout: str, issuer, protect) -> None:
    """Add the second step of sign-in, the enrolment it may require, and the account page of the second factor.

    `issuer()` names the account in the user's app (the utility's name, or the platform console)."""
    prefix = bp.name

    def _enrolment_page(user, form, error, *, at_sign_in: bool, status: int = 200):
        secret = second_factor.start_enrolment(kind=kind, user=user, now=utcnow())
        uri = totp.provisioning_uri(secret, account=user.email, issuer=str(issuer()))
        return render_template("auth/second_factor_enrol.html", layout=layout, form=form, error=error,
                               qr=qr_svg(uri), secret=totp.grouped(secret), at_sign_in=at_sign_in,
                               account_url=None if at_sign_in else url_for(f"{prefix}.second_factor")), status

    def _codes_page(codes: list[str], continue_url: str):
        return render_template("auth/recovery_codes.html", layout=layout, codes=codes, continue_url=continue_url)

    @public_view
    def second_step():
        pending = pending_sign_in(kind)
        if pending is None:
            return redirect(url_for(f"{prefix}.login"))
        user, target = pending
        form = CodeForm()
        if form.validate_on_submit():
            if sign_in_blocked(kind, user.email):
                return render_template("auth/second_step.html", layout=layout, form=form, error=_too_many()), 429
            try:
                with _acting(kind, user):
                    result = second_factor.verify(kind=kind, user=user, code=form.code.data, now=utcnow())
            except second_factor.NotEnrolled:  # reset meanwhile: start again from the password
                session.pop(PENDING, None)
                return redirect(url_for(f"{prefix}.login"))
            except second_factor.SecondFactorError as exc:
                count_failed_sign_in(kind, user.email)
                form.code.errors.append(_code_error(exc))
                log.info("second step refused kind=%s tenant=%s user=%s", kind, _tenant_id(), user.id)
            else:
                sign_in(kind, user)
                if result.by_recovery_code:
                    flash(_recovery_notice(result.recovery_codes_left), "error" if result.recovery_codes_left < 3
                          else "info")
                log.info("login kind=%s tenant=%s user=%s", kind, _tenant_id(), user.id)
                return redirect(target)
        return render_template("auth/second_step.html", layout=layout, form=form, error=None)

    bp.add_url_rule("/login/code", "second_step", _throttled(second_step, f"{prefix}_second_step"),
                    methods=["GET", "POST"])

    @public_view
    def second_factor_required():
        pending = pending_sign_in(kind)
        if pending is None:
            return redirect(url_for(f"{prefix}.login"))
        user, target = pending
        if second_factor.has_second_factor(kind=kind, user=user):
            return redirect(url_for(f"{prefix}.second_step"))
        form = CodeForm()
        if form.validate_on_submit():
            if sign_in_blocked(kind, user.email):
                return _enrolment_page(user, form, _too_many(), at_sign_in=True, status=429)
            try:
                with _acting(kind, user):
                    codes = second_factor.confirm_enrolment(kind=kind, user=user, code=form.code.data, now=utcnow())
            except second_factor.SecondFactorError:
                count_failed_sign_in(kind, user.email)
                form.code.errors.append(_enrolment_error())
            else:
                sign_in(kind, user)
                log.info("login after enrolment kind=%s tenant=%s user=%s", kind, _tenant_id(), user.id)
                return _codes_page(codes, target)
        return _enrolment_page(user, form, None, at_sign_in=True)

    bp.add_url_rule("/login/second-factor", "second_factor_required",
                    _throttled(second_factor_required, f"{prefix}_second_factor_required"), methods=["GET", "POST"])

    def _status_page(user, form, error=None, status: int = 200):
        enrolled = second_factor.enrolled_at(kind=kind, user=user) if user.has_second_factor else None
        left = second_factor.recovery_codes_left(kind=kind, user=user) if enrolled else None
        return render_template("auth/second_factor.html", layout=layout, kind=kind, enrolled_at=enrolled,
                               codes_left=left, form=form, error=error), status

    @protect
    def second_factor_page():
        return _status_page(current_user.user, CodeForm(formdata=None))

    bp.add_url_rule("/account/second-factor", "second_factor", second_factor_page)

    @protect
    def second_factor_enrol():
        user = current_user.user
        if user.has_second_factor:
            return redirect(url_for(f"{prefix}.second_factor"))
        form = CodeForm()
        if form.validate_on_submit():
            try:
                codes = second_factor.confirm_enrolment(kind=kind, user=user, code=form.code.data, now=utcnow())
            except second_factor.SecondFactorError:
                form.code.errors.append(_enrolment_error())
            else:
                flash(_("Two-step sign-in is on. From now on you sign in with your password and a code from your "
                        "app."), "success")
                return _codes_page(codes, url_for(f"{prefix}.second_factor"))
        return _enrolment_page(user, form, None, at_sign_in=False, status=422 if form.code.errors else 200)

    bp.add_url_rule("/account/second-factor/enrol", "second_factor_enrol", second_factor_enrol,
                    methods=["GET", "POST"])

    @protect
    def second_factor_recovery_codes():
        user = current_user.user
        if not user.has_second_factor:
            return redirect(url_for(f"{prefix}.second_factor"))
        form = CodeForm()
        if not form.validate_on_submit():
            return _status_page(user, form, status=422)
        if sign_in_blocked(kind, user.email):
            return _status_page(user, form, _too_many(), status=429)
        try:
            codes = second_factor.renew_recovery_codes(kind=kind, user=user, code=form.code.data, now=utcnow())
        except second_factor.SecondFactorError as exc:
            count_failed_sign_in(kind, user.email)
            form.code.errors.append(_code_error(exc))
            return _status_page(user, form, status=422)
        return _codes_page(codes, url_for(f"{prefix}.second_factor"))

    bp.add_url_rule("/account/second-factor/recovery-codes", "second_factor_recovery_codes",
                    _throttled(second_factor_recovery_codes, f"{prefix}_second_factor_recovery_codes"),
                    methods=["POST"])


def _throttled(view, name: str):
    """The sign-in forms' allowance per client IP, shared with them (POSTs only); per account, the failed codes
    count with the failed passwords (app/ratelimit.py)."""
    view.__name__ = view.__qualname__ = name
    required = getattr(view, "required_permissions", ())
    public = getattr(view, "is_public", False)
    view = limiter.shared_limit(lambda: current_app.config["RATE_LIMIT_LOGIN"], scope=SIGN_IN_SCOPE,
                                methods=["POST"])(view)
    view.required_permissions = required
    if public:
        view.is_public = True
    return view


_PREFIXES = {"staff": "backoffice", "operator": "console"}


def pending_step_redirect(kind: str):
    """For a page asked for (GET) half-way through sign-in: back to the step the sign-in waits for (the code, or
    the enrolment an administrator cannot skip); None when no sign-in of this kind waits in this browser."""
    if kind not in _PREFIXES or request.method != "GET" or PENDING not in session:
        return None
    pending = pending_sign_in(kind)
    if pending is None:
        return None
    user, _target = pending
    prefix = _PREFIXES[kind]
    if second_factor.has_second_factor(kind=kind, user=user):
        return redirect(url_for(f"{prefix}.second_step"))
    return redirect(url_for(f"{prefix}.second_factor_required"))

