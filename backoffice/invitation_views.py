"""An invited staff member follows the link of their invitation, chooses a password and is signed in."""
from __future__ import annotations

import logging

from flask import current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from app.second_factor_views import continue_sign_in
from app.auth import public_view, sign_in
from app.auth_forms import NewPasswordForm
from app.auth_views import PASSWORD_PROBLEM_MESSAGES
from app.extensions import limiter
from backoffice.views import bp
from domain.db import utcnow
from domain.identity import invitations
from domain.identity.services import WeakPassword

log = logging.getLogger("auth")


def _invalid(reason: str):
    # An unknown link (or another utility's) is a plain 404; a used, expired or replaced one says what to do.
    status = 404 if reason == "unknown" else 410
    return render_template("backoffice/invitation_invalid.html", reason=reason), status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public_view
@limiter.limit(lambda: current_app.config["RATE_LIMIT_LOGIN"], methods=["POST"])
def accept_invitation(token: str):
    now = utcnow()
    try:
        _invitation, user = invitations.check_invitation(token=token, now=now)
    except invitations.InvitationNotValid as exc:
        return _invalid(exc.reason)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = invitations.accept_invitation(token=token, new_password=form.password.data, now=now)
        except WeakPassword as exc:
            form.password.errors.extend(PASSWORD_PROBLEM_MESSAGES[p]() for p in exc.problems)
        except invitations.InvitationNotValid as exc:
            return _invalid(exc.reason)
        else:
            log.info("staff joined tenant=%s staff=%s", g.tenant.id, user.id)
            second_step = continue_sign_in("staff", user, prefix="backoffice", home_endpoint="backoffice.home")
            if second_step is not None:  # an administrator enrols a second factor before anything else
                flash(_("Welcome, %(name)s. Your password is set.", name=user.full_name), "success")
                return second_step
            sign_in("staff", user)
            flash(_("Welcome, %(name)s. Your password is set and you are signed in.", name=user.full_name),
                  "success")
            return redirect(url_for("backoffice.home"))
    return render_template("backoffice/invitation_accept.html", form=form, user=user)
