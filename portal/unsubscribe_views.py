"""One-click unsubscribe from a utility's marketing e-mails (RFC 8058), on its portal host, without signing in.

The link in the e-mail (and its `List-Unsubscribe` header) carries a signed token. A GET shows a small page in the
customer's language with one button; a POST to the same address unsubscribes at once: the mail client's one-click
POST (`List-Unsubscribe=One-Click`) carries no CSRF token, so this one route is exempt. The signature is what
protects it: a token cannot be made without the app's secret, and one of another utility is refused here.
"""
from __future__ import annotations

import logging

from flask import current_app, g, render_template, request
from flask_babel import refresh

from app.extensions import csrf
from domain.campaigns.unsubscribe import BadUnsubscribeLink, resolve, unsubscribe as record_unsubscribe
from domain.db import db, utcnow
from portal.blueprint import bp

log = logging.getLogger("campaigns")


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    try:
        target = resolve(secret=current_app.config["SECRET_KEY"], tenant_id=g.tenant.id, token=token[:500])
    except BadUnsubscribeLink:
        log.info("unsubscribe link refused tenant=%s", g.tenant.id)
        return render_template("portal/unsubscribe.html", state="invalid"), 400
    if target.locale:
        g.page_locale = target.locale
        refresh()
    if request.method == "POST":
        record_unsubscribe(target, now=utcnow())
        db.session.commit()
        return render_template("portal/unsubscribe.html", state="done")
    return render_template("portal/unsubscribe.html", state="confirm", token=token)
