"""Administration: the utility's webhook subscriptions, their deliveries and answers, replays and test events.

Views parse the forms and call one domain service each (domain/webhooks/services.py); the signing secret is shown
once, in the answer to the request that made it, never stored in the session or shown again.
"""
from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.auth import staff_permission
from app.confirmation import confirmed
from backoffice.admin_settings_forms import ActionForm
from backoffice.admin_views import bp
from backoffice.webhook_forms import EVENT_NAMES, DeleteSubscriptionForm, RollSecretForm, SubscriptionForm
from domain.db import db, utcnow
from domain.webhooks import services as webhooks
from domain.webhooks import transport

log = logging.getLogger("backoffice.webhooks")
PAGE_SIZE = 50

URL_REFUSALS = {
    "invalid": _l("Enter a web address such as https://example.com/webhooks."),
    "scheme": _l("Enter an address starting with https://."),
    "host": _l("Enter an address with a host name and without a user name or password."),
    "unresolved": _l("This host name cannot be found: check the address."),
    "private": _l("This address leads to a private or local network, which webhooks may not reach."),
    "too_many": _l("A utility may have at most 20 subscriptions: delete one first."),
}
EVENT_REFUSALS = {
    "empty": _l("Choose at least one event."),
    "unknown": _l("Choose among the events listed."),
}
DELIVERY_STATUS_NAMES = {"pending": _l("Waiting"), "delivered": _l("Delivered"), "failed": _l("Failed")}
SUBSCRIPTION_STATUS_NAMES = {"active": _l("Active"), "paused": _l("Paused")}


def _url_refusals() -> dict:
    if transport.policy().allow_http:
        return {**URL_REFUSALS, "scheme": _l("Enter an address starting with https:// or http://.")}
    return URL_REFUSALS


def _refuse(form: SubscriptionForm, exc: webhooks.SubscriptionRefused) -> None:
    db.session.rollback()
    wording = EVENT_REFUSALS if exc.field == "event_types" else _url_refusals()
    field = form[exc.field]
    field.errors = [*field.errors, str(wording.get(exc.code, wording.get("invalid", "")))]


def _subscription_or_404(public_id: str):
    found = webhooks.find_subscription(public_id)
    if found is None:
        abort(404)
    return found


def _list_page(*, form=None, status: int = 200):
    if form is None:
        form = SubscriptionForm(formdata=None)
    form.label_events()
    return render_template("backoffice/admin/webhooks.html", subscriptions=webhooks.subscriptions(),
                           counts=webhooks.delivery_counts(), form=form, event_names=EVENT_NAMES,
                           status_names=SUBSCRIPTION_STATUS_NAMES), status


def _detail_page(subscription, *, form=None, secret: str | None = None, status: int = 200, delete_form=None,
                 roll_form=None):
    if form is None:
        form = SubscriptionForm(formdata=None, url=subscription.url, description=subscription.description,
                                event_types=list(subscription.event_types))
    form.label_events()
    # The page after a delivery named by its public id (never a sequential id in a URL); an unknown one: the first.
    after = webhooks.find_delivery(subscription=subscription, public_id=request.args.get("after") or "")
    rows = webhooks.deliveries(subscription=subscription, before_id=after.id if after else None, limit=PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    attempts = webhooks.attempts_of([delivery.id for delivery, _event in rows])
    return render_template(
        "backoffice/admin/webhook.html", subscription=subscription, form=form, secret=secret, rows=rows,
        attempts=attempts, older=rows[-1][0].public_id if more else None, action_form=ActionForm(formdata=None),
        delete_form=delete_form or DeleteSubscriptionForm(formdata=None),
        roll_form=roll_form or RollSecretForm(formdata=None), event_names=EVENT_NAMES,
        delivery_status_names=DELIVERY_STATUS_NAMES, status_names=SUBSCRIPTION_STATUS_NAMES), status, (
        {"Cache-Control": "no-store"} if secret else {})  # a page showing the secret is kept by no cache


@bp.get("/webhooks")
@staff_permission("admin.configure")
def webhooks_page():
    return _list_page()


@bp.post("/webhooks")
@staff_permission("admin.configure")
def webhook_create():
    form = SubscriptionForm()
    if form.validate_on_submit():
        try:
            saved = webhooks.create_subscription(url=form.url.data, event_types=form.event_types.data or [],
                                                 description=form.description.data, now=utcnow())
        except webhooks.SubscriptionRefused as exc:
            _refuse(form, exc)
        else:
            log.info("webhook subscription created tenant=%s subscription=%s", g.tenant.id,
                     saved.subscription.public_id)
            flash(_("The subscription is saved. Copy its signing secret now: it is not shown again."), "success")
            return _detail_page(saved.subscription, secret=saved.secret, status=201)
    elif "csrf_token" in form.errors:
        abort(400)
    return _list_page(form=form, status=422)


@bp.get("/webhooks/<public_id>")
@staff_permission("admin.configure")
def webhook_page(public_id: str):
    return _detail_page(_subscription_or_404(public_id))


@bp.post("/webhooks/<public_id>")
@staff_permission("admin.configure")
def webhook_save(public_id: str):
    subscription = _subscription_or_404(public_id)
    form = SubscriptionForm()
    if form.validate_on_submit():
        try:
            changed = webhooks.update_subscription(subscription=subscription, url=form.url.data,
                                                   event_types=form.event_types.data or [],
                                                   description=form.description.data, now=utcnow())
        except webhooks.SubscriptionRefused as exc:
            _refuse(form, exc)
        else:
            flash(_("The subscription is saved.") if changed else _("Nothing has changed."), "success")
            return redirect(url_for("admin.webhook_page", public_id=public_id))
    elif "csrf_token" in form.errors:
        abort(400)
    return _detail_page(subscription, form=form, status=422)


@bp.post("/webhooks/<public_id>/status")
@staff_permission("admin.configure")
def webhook_status(public_id: str):
    subscription = _subscription_or_404(public_id)
    form = ActionForm()
    wanted = request.form.get("status")
    if not form.validate_on_submit() or wanted not in ("active", "paused"):
        abort(400)
    webhooks.set_status(subscription=subscription, status=wanted, now=utcnow())
    flash(_("The subscription is paused: no event is sent to it until it is resumed.") if wanted == "paused"
          else _("The subscription is active: new events are sent to it."), "success")
    return redirect(url_for("admin.webhook_page", public_id=public_id))


@bp.post("/webhooks/<public_id>/secret")
@staff_permission("admin.configure")
def webhook_roll_secret(public_id: str):
    subscription = _subscription_or_404(public_id)
    form = RollSecretForm()
    if not confirmed(form):
        return _detail_page(subscription, roll_form=form, status=422)
    secret = webhooks.roll_secret(subscription=subscription, now=utcnow())
    flash(_("A new signing secret replaces the old one from now on. Copy it now: it is not shown again."), "success")
    return _detail_page(subscription, secret=secret)


@bp.post("/webhooks/<public_id>/delete")
@staff_permission("admin.configure")
def webhook_delete(public_id: str):
    subscription = _subscription_or_404(public_id)
    form = DeleteSubscriptionForm()
    if not confirmed(form):
        return _detail_page(subscription, delete_form=form, status=422)
    webhooks.delete_subscription(subscription=subscription)
    flash(_("The subscription and its deliveries are deleted."), "success")
    return redirect(url_for("admin.webhooks_page"))


@bp.post("/webhooks/<public_id>/test")
@staff_permission("admin.configure")
def webhook_test(public_id: str):
    subscription = _subscription_or_404(public_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    webhooks.send_test_event(subscription=subscription, now=utcnow())
    flash(_("A test event is being sent: its delivery appears below."), "success")
    return redirect(url_for("admin.webhook_page", public_id=public_id))


@bp.post("/webhooks/<public_id>/deliveries/<delivery_id>/replay")
@staff_permission("admin.configure")
def webhook_replay(public_id: str, delivery_id: str):
    subscription = _subscription_or_404(public_id)
    delivery = webhooks.find_delivery(subscription=subscription, public_id=delivery_id)
    if delivery is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not webhooks.replay(delivery=delivery, now=utcnow()):
        flash(_("The event will be sent again once the subscription is resumed."), "success")
    else:
        flash(_("The event is being sent again."), "success")
    return redirect(url_for("admin.webhook_page", public_id=public_id))
