"""The integration API's keys and call log in the administration (tenant administrators, `api.manage`).

A new key's token is in the answer to the form that created it and nowhere else: not in the session, a flash
message, a URL or a log line; the page is not cached and the database keeps only its hash. Keys are named in URLs by
their public reference; another utility's key answers as a missing one.
"""
from __future__ import annotations

import logging
import secrets
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user

from api.scope_texts import SCOPE_TEXTS
from app.auth import staff_permission
from app.confirmation import confirmed
from app.csv_export import wants_csv
from app.i18n import tenant_zone
from backoffice import exports
from backoffice.admin_views import bp
from backoffice.api_key_forms import CallFilterForm, NewKeyForm, RevokeKeyForm
from domain.apikeys import overview
from domain.apikeys import services as keys
from domain.audit import services as audit
from domain.db import utcnow
from domain.paging import page_of

log = logging.getLogger(__name__)
CALLS_PER_PAGE = 50
KEY_CALLS_SHOWN = 10
# A key's state agrees with "key" where the noun has a gender (French "clé active", not the staff member's "actif").
STATE_NAMES = {"active": lazy_pgettext("API key state", "Active"), "expired": lazy_pgettext("API key state", "Expired"),
               "revoked": lazy_pgettext("API key state", "Revoked")}
REFUSALS = {  # domain.apikeys.services.KeyProblem reasons: (field, message)
    "name": ("name", _l("Enter a name of at most 100 characters.")),
    "scopes": ("scopes", _l("Choose at least one thing the key may do.")),
    "expiry_past": ("expires_on", _l("Choose today or a later day: a key cannot expire in the past.")),
    "rate_limit": ("rate_limit_per_minute", _l("Enter a number of calls a minute from 1 to %(most)s.",
                                               most=keys.MAX_RATE_LIMIT)),
}
UTC = ZoneInfo("UTC")


def _key_or_404(public_id: str):
    key = keys.key_by_public_id(public_id)
    if key is None:
        abort(404)
    return key


def _expires_at(day, zone) -> datetime | None:
    """A key whose last day is `day` stops working at the following midnight, the utility's time."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def last_day(key):
    """The last day a key with an expiry works, as the form asked for it (None when it has none)."""
    if key.expires_at is None:
        return None
    return (key.expires_at - timedelta(microseconds=1)).astimezone(tenant_zone()).date()


def scope_words(key) -> list[str]:
    return [str(SCOPE_TEXTS.get(scope, scope)) for scope in sorted(key.scope_set)]


bp.add_app_template_global(last_day, "api_key_last_day")
bp.add_app_template_global(scope_words, "api_key_scope_words")


@bp.get("/api-keys")
@staff_permission("api.manage")
def api_keys():
    now = utcnow()
    found = keys.keys()
    return render_template("backoffice/admin/api_keys.html", keys=found, now=now, state_names=STATE_NAMES,
                           use=overview.use_by_key(now=now), no_use=overview.NO_USE,
                           staff_names=overview.staff_names(k.created_by_staff_id for k in found))


FORMS_ISSUED = "api_key_forms"  # the session's single-use references of new-key forms not sent yet
FORMS_KEPT = 10


def _issue(form: NewKeyForm) -> None:
    """Give a new-key form shown its single-use reference (kept while it is shown again with errors)."""
    issued = session.get(FORMS_ISSUED, [])
    if form.once.data not in issued:
        form.once.data = secrets.token_urlsafe(16)
        session[FORMS_ISSUED] = [*issued, form.once.data][-FORMS_KEPT:]


def _take(form: NewKeyForm) -> bool:
    """Use up the form's reference; False when it was used already (the form sent again) or never issued."""
    issued = session.get(FORMS_ISSUED, [])
    if not form.once.data or form.once.data not in issued:
        return False
    session[FORMS_ISSUED] = [once for once in issued if once != form.once.data]
    return True


@bp.route("/api-keys/new", methods=["GET", "POST"])
@staff_permission("api.manage")
def new_api_key():
    form = NewKeyForm()
    if form.validate_on_submit():
        if not _take(form):
            flash(_("This form was sent already: its key was created then and shown once. Create a new key if you "
                    "need another one."), "info")
            return redirect(url_for("admin.api_keys"), 303)
        try:
            key, token = keys.create_key(
                tenant_slug=g.tenant.slug, name=form.name.data, scopes=set(form.scopes.data), now=utcnow(),
                expires_at=_expires_at(form.expires_on.data, tenant_zone()),
                rate_limit_per_minute=form.rate_limit_per_minute.data, staff_id=current_user.user.id)
        except keys.KeyProblem as exc:
            field, message = REFUSALS[exc.reason]
            getattr(form, field).errors.append(str(message))
        else:
            log.info("api key created tenant=%s key=%s scopes=%s staff=%s", g.tenant.id, key.public_id, key.scopes,
                     current_user.user.id)
            # The only time the token is shown: in this answer, never cached, never kept anywhere else.
            response = render_template("backoffice/admin/api_key_created.html", key=key, token=token)
            return response, 200, {"Cache-Control": "no-store", "Pragma": "no-cache",
                                   "Referrer-Policy": "no-referrer"}
    _issue(form)
    return render_template("backoffice/admin/api_key_new.html", form=form,
                           scope_codes={scope: scope for scope in SCOPE_TEXTS}), 422 if form.errors else 200


def _history_line(event) -> str:
    changes = event.changes or {}
    if event.action == "insert":
        return _("Key created")
    if (changes.get("revoked_at") or {}).get("after"):
        return _("Key revoked: calls with it are refused")
    return _("Key changed")


def _key_page(key, revoke_form, status: int = 200):
    now = utcnow()
    history = [(event, _history_line(event)) for event in audit.history_of(entity_type="ApiKey", entity_id=key.id)]
    recent = overview.call_rows(overview.CallFilter(key_id=key.id), offset=0, limit=KEY_CALLS_SHOWN)
    return render_template(
        "backoffice/admin/api_key.html", key=key, state=key.state(now), state_names=STATE_NAMES,
        use=overview.use_by_key(now=now).get(key.id, overview.NO_USE), history=history, recent=recent,
        staff_names=overview.staff_names((key.created_by_staff_id, key.revoked_by_staff_id)),
        revoke_form=revoke_form), status


@bp.get("/api-keys/<public_id>")
@staff_permission("api.manage")
def api_key(public_id: str):
    return _key_page(_key_or_404(public_id), RevokeKeyForm(formdata=None))


@bp.post("/api-keys/<public_id>/revoke")
@staff_permission("api.manage")
def revoke_api_key(public_id: str):
    key = _key_or_404(public_id)
    form = RevokeKeyForm()
    if not confirmed(form):
        return _key_page(key, form, status=422)
    if keys.revoke_key(key=key, now=utcnow(), staff_id=current_user.user.id):
        log.info("api key revoked tenant=%s key=%s staff=%s", g.tenant.id, key.public_id, current_user.user.id)
        flash(_("The key “%(name)s” is revoked: the next call with it is refused.", name=key.name), "success")
    else:
        flash(_("The key “%(name)s” was already revoked.", name=key.name), "info")
    return redirect(url_for("admin.api_key", public_id=key.public_id))


def _call_filter(form: CallFilterForm, by_public_id: dict) -> overview.CallFilter:
    key_id = None
    if form.key.data:
        key = by_public_id.get(form.key.data)
        key_id = key.id if key else overview.NO_KEY  # a key unknown here (or another utility's) made no call
    status = form.status.data if form.status.data in ("2", "4", "5") else ""
    return overview.CallFilter(key_id=key_id, status_class=int(status) if status else None,
                               endpoint=(form.path.data or "")[:overview.MAX_ENDPOINT_FILTER])


@bp.get("/api-calls")
@staff_permission("api.manage")
def api_calls():
    all_keys = keys.keys()
    form = CallFilterForm(request.args, keys=all_keys)
    wanted = _call_filter(form, {k.public_id: k for k in all_keys})
    if wants_csv():
        return exports.api_calls(overview.every_call_row(wanted, limit=exports.EXPORT_LIMIT))
    page = page_of(requested=request.args.get("page"), total=overview.count_calls(wanted), size=CALLS_PER_PAGE)
    rows = overview.call_rows(wanted, offset=page.offset, limit=page.size)
    kept = {name: value for name, value in request.args.items() if name in ("key", "status", "path") and value}
    return render_template("backoffice/admin/api_calls.html", form=form, rows=rows, page=page, pager_args=kept,
                           filtered=bool(kept))
