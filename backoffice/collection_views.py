"""SEPA direct-debit collections in the back office: batches, preview and prepare, the pain.008 file, submission,
settlement, returns; and the tenant's direct-debit settings (creditor identifier)."""
from __future__ import annotations

import logging
from datetime import date

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user

from app.jobs import enqueue_after_commit
from app.auth import staff_permission
from app.csv_export import wants_csv
from backoffice import exports
from app.i18n import tenant_today
from app.messages import queue_message
from backoffice.collection_forms import (CREDITOR_ID_MESSAGES, ActionForm, CancelBatchForm, ConfirmForm,
                                         PreviewForm, ReturnForm, SettingsForm)
from domain.db import db, utcnow
from domain.payments import sepa_collections as collections

log = logging.getLogger("backoffice.collections")
bp = Blueprint("collections", __name__)

REFUSALS = {
    "not_configured": _l("Direct debits are not set up yet: enter the SEPA creditor identifier and the IBAN in the "
                         "direct-debit settings."),
    "currency": _l("SEPA direct debits are in euros, and this utility bills in another currency."),
    "date_past": _l("The collection date must be after today."),
    "nothing_due": _l("No bill is due for collection by this date."),
    "changed": _l("The bills to collect have changed since the preview: check the new list before confirming."),
    "busy": _l("Someone else is preparing collections at the same time. Try again in a moment."),
    "state": _l("This batch cannot do that in its current state."),
    "empty": _l("Every mandate of this batch has been revoked: cancel the batch."),
    "reason": _l("Choose the reason code given by the bank."),
    "already_returned": _l("This collection is already recorded as returned."),
    "too_early": _l("It is too early to send this batch to the bank: a direct debit may be sent at most 14 days "
                    "before its collection date. Submit it from the date shown."),
    "date_passed": _l("The collection date of this batch has come: the bank will not take it any more. Cancel it "
                      "and prepare a batch for a later date."),
    "not_yet": _l("The collection date has not come yet: the bank settles a batch, and returns items, only from "
                  "its collection date."),
}
BATCH_STATUS_NAMES = {"prepared": _l("prepared"), "submitted": _l("submitted to the bank"), "settled": _l("settled"),
                      "cancelled": lazy_pgettext("direct-debit batch status", "cancelled")}
ITEM_STATUS_NAMES = {"pending": _l("to collect"), "settled": _l("collected"), "returned": _l("returned"),
                     "cancelled": _l("withdrawn")}
# What the customer and staff read for a reason code; the others are "another reason given by the bank".
REASON_NAMES = {
    "AC01": _l("wrong account number"), "AC04": _l("account closed"), "AC06": _l("account blocked"),
    "AG01": _l("direct debit not allowed on this account"), "AM04": _l("insufficient funds"),
    "MD01": _l("no valid mandate"), "MD02": _l("mandate data missing or wrong"),
    "MD06": _l("refund requested by the account holder"), "MD07": _l("account holder deceased"),
    "MS02": _l("refused by the account holder"), "MS03": _l("reason not given by the bank"),
    "SL01": _l("refused by a service of the bank"),
}


def reason_label(code: str) -> str:
    return str(REASON_NAMES.get(code, _l("another reason given by the bank")))


def _by() -> str:
    return current_user.user.email


def _batch_or_404(public_id: str, *, lock: bool = False):
    batch = collections.batch_by_public_id(public_id, lock=lock)
    if batch is None:
        abort(404)
    return batch


def _return_form() -> ReturnForm:
    form = ReturnForm()
    form.reason.choices = [("", _("Choose…"))] + [(code, f"{code} — {reason_label(code)}")
                                                   for code in collections.RETURN_REASONS]
    return form


@bp.app_template_global()
def payments_held_as_credit(account) -> list:
    """The customer file's payments that settled no bill (held as credit on the account)."""
    from domain.payments import services as payment_services

    return payment_services.payments_held_as_credit(account_id=account.id)


@bp.app_template_global()
def direct_debit_collections(account) -> list:
    """The customer file's collections (returns included), for staff who may see collections."""
    return collections.collections_of_account(account_id=account.id)


# SEPA sequence types in words; the code stays beside them, as the bank's files and statements use it.
SEQUENCE_NAMES = {"FRST": _l("first collection"), "RCUR": _l("recurring"), "OOFF": _l("one-off"),
                  "FNAL": _l("last collection")}


def sequence_label(code: str) -> str:
    name = SEQUENCE_NAMES.get(code)
    return f"{name} ({code})" if name else code


@bp.app_context_processor
def _names():
    return {"collection_batch_status_names": BATCH_STATUS_NAMES, "collection_item_status_names": ITEM_STATUS_NAMES,
            "collection_reason_label": reason_label, "collection_sequence_label": sequence_label}


@bp.get("/")
@staff_permission("collections.manage")
def batch_list():
    if wants_csv():
        return exports.collection_batches(collections.latest_batches(), status_names=BATCH_STATUS_NAMES)
    form = PreviewForm(formdata=None)
    return render_template("backoffice/collections/batches.html", form=form,
                           summaries=collections.latest_batches(), setup=collections.setup_problem(g.tenant))


@bp.get("/preview")
@staff_permission("collections.manage")
def preview():
    form = PreviewForm(request.args)
    if not form.validate():
        return render_template("backoffice/collections/batches.html", form=form,
                               summaries=collections.latest_batches(),
                               setup=collections.setup_problem(g.tenant)), 422
    found = collections.preview(collection_date=form.collection_date.data)
    confirm = ConfirmForm(formdata=None, collection_date=found.collection_date.isoformat(), shown=found.fingerprint)
    return render_template("backoffice/collections/preview.html", preview=found, confirm=confirm,
                           setup=collections.setup_problem(g.tenant), today=tenant_today())


@bp.post("/prepare")
@staff_permission("collections.manage")
def prepare():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        collection_date = date.fromisoformat(form.collection_date.data or "")
    except ValueError:
        abort(400)
    try:
        batch, added = collections.prepare_batch(tenant=g.tenant, collection_date=collection_date, today=tenant_today(),
                                                 now=utcnow(), prepared_by=_by(), expected=form.shown.data)
    except collections.CollectionRefused as exc:
        found = collections.preview(collection_date=collection_date)
        confirm = ConfirmForm(formdata=None, collection_date=collection_date.isoformat(), shown=found.fingerprint)
        return render_template("backoffice/collections/preview.html", preview=found, confirm=confirm,
                               setup=collections.setup_problem(g.tenant), today=tenant_today(),
                               error=REFUSALS[exc.code]), 409 if exc.code in ("changed", "busy") else 422
    if added:  # the debtors are told before the debit, by a job once this batch is committed
        enqueue_after_commit("payments.prenotify_collection", tenant_id=g.tenant.id, batch_id=batch.id)
    flash(_("%(count)s bills added to the collection of %(date)s.", count=added,
            date=batch.collection_date.isoformat()), "success")
    return redirect(url_for("collections.batch_detail", public_id=batch.public_id))


def _detail(batch, *, return_form=None, error=None, status=200, cancel_form=None):
    summary = collections.summaries([batch])[0]
    return render_template("backoffice/collections/batch.html", batch=batch, summary=summary, today=tenant_today(),
                           submission_opens_on=collections.submission_opens_on(batch),
                           rows=collections.item_rows(batch), form=ActionForm(),
                           return_form=return_form or _return_form(), error=error,
                           cancel_form=cancel_form or CancelBatchForm(formdata=None)), status


@bp.get("/<public_id>")
@staff_permission("collections.manage")
def batch_detail(public_id: str):
    batch = _batch_or_404(public_id)
    if wants_csv():
        return exports.collection_items(batch, collections.item_rows(batch), status_names=ITEM_STATUS_NAMES,
                                        reason_label=reason_label)
    return _detail(batch)


@bp.get("/<public_id>.xml")
@staff_permission("collections.manage")
def batch_xml(public_id: str):
    batch = _batch_or_404(public_id)
    try:
        xml = collections.xml_of(batch=batch, tenant=g.tenant, created_at=utcnow())
    except collections.CollectionRefused as exc:
        return _detail(batch, error=REFUSALS[exc.code], status=409)
    response = make_response(xml)
    response.headers["Content-Type"] = "application/xml; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{batch.message_id}.xml"'
    response.headers["Cache-Control"] = "no-store"
    log.info("collection file downloaded tenant=%s batch=%s staff=%s", g.tenant.id, batch.message_id,
             current_user.user.id)
    return response


def _action(public_id: str, act, done):
    batch = _batch_or_404(public_id, lock=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(batch, act, done)


def _act(batch, act, done):
    """Do `act(batch)` and say `done(result)`, or show why the batch refused; back to its page."""
    public_id = batch.public_id
    try:
        result = act(batch)
    except collections.CollectionRefused as exc:
        return _detail(batch, error=REFUSALS[exc.code], status=409)
    db.session.flush()
    flash(done(result), "success")
    return redirect(url_for("collections.batch_detail", public_id=public_id))


@bp.post("/<public_id>/submit")
@staff_permission("collections.manage")
def batch_submit(public_id: str):
    def done(dropped):
        if dropped:
            return _("The batch is marked as submitted to the bank. %(count)s collections whose mandate was revoked "
                     "were withdrawn.", count=dropped)
        return _("The batch is marked as submitted to the bank.")
    return _action(public_id, lambda batch: collections.submit_batch(batch=batch, now=utcnow(),
                                                                        today=tenant_today(), by=_by()), done)


@bp.post("/<public_id>/settle")
@staff_permission("collections.manage")
def batch_settle(public_id: str):
    return _action(public_id, lambda batch: collections.settle_batch(batch=batch, now=utcnow(), today=tenant_today(),
                                                                       by=_by()),
                   lambda payments: _("The batch is settled: %(count)s payments are recorded on the customers' "
                                      "accounts.", count=len(payments)))


@bp.post("/<public_id>/cancel")
@staff_permission("collections.manage")
def batch_cancel(public_id: str):
    batch = _batch_or_404(public_id, lock=True)
    form = CancelBatchForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _detail(batch, cancel_form=form, status=422)  # not confirmed: every collection stays
    return _act(batch, lambda b: collections.cancel_batch(batch=b, now=utcnow()),
                lambda _result: _("The batch is cancelled; its bills can be collected in another batch."))


@bp.post("/<public_id>/items/<end_to_end_id>/return")
@staff_permission("collections.manage")
def item_return(public_id: str, end_to_end_id: str):
    batch = _batch_or_404(public_id, lock=True)
    item = collections.item_by_end_to_end_id(batch, end_to_end_id)
    if item is None:
        abort(404)
    form = _return_form()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _detail(batch, return_form=form, error=REFUSALS["reason"], status=422)
    try:
        notice = collections.record_return(batch=batch, item=item, reason=form.reason.data, now=utcnow(),
                                           today=tenant_today(), by=_by())
    except collections.CollectionRefused as exc:
        return _detail(batch, return_form=form, error=REFUSALS[exc.code], status=409)
    if notice is not None:
        queue_message(
            kind="collection_returned", to=notice.to, locale=notice.locale, account_id=item.account_id,
            subject=_l("Your direct debit for bill %(number)s was returned", number=notice.bill_number),
            notice=notice, reason=REASON_NAMES.get(notice.reason, _l("another reason given by the bank")),
            portal_url=url_for("portal.home", _external=True))
    flash(_("Collection %(reference)s is recorded as returned (%(reason)s); the bill is unpaid again.",
            reference=item.end_to_end_id, reason=item.return_reason) + (
        " " + _("The customer is told by e-mail.") if notice else " " + _("The customer has no e-mail address.")),
        "success")
    return redirect(url_for("collections.batch_detail", public_id=public_id))


@bp.route("/settings", methods=["GET", "POST"])
@staff_permission("admin.configure")
def settings():
    tenant = g.tenant
    form = SettingsForm()
    if request.method == "GET":
        form.creditor_id.data = tenant.sepa_creditor_id
        form.iban.data = tenant.iban
        form.bic.data = tenant.bic
        form.lead_days.data = tenant.sepa_collection_lead_days
    if form.validate_on_submit():
        try:
            changes = collections.update_settings(tenant=tenant, creditor_id=form.creditor_id.data,
                                                  iban=form.iban.data, bic=form.bic.data,
                                                  lead_days=form.lead_days.data, now=utcnow())
        except collections.CollectionRefused as exc:
            if exc.code != "creditor_id":
                raise
            db.session.rollback()
            form.creditor_id.errors = [str(CREDITOR_ID_MESSAGES["empty"])]
            return render_template("backoffice/collections/settings.html", form=form), 422
        flash(_("The direct-debit settings are saved.") if changes else _("Nothing has changed."), "success")
        return redirect(url_for("collections.settings"))
    return render_template("backoffice/collections/settings.html", form=form), 422 if form.errors else 200
