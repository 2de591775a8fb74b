"""Collections in the back office: the queue of overdue items (why one is held, its next step), letters to print,
payment arrangements and disputes from the customer file, the customer file's section, and the tenant's dunning
settings (administration). Views parse and call one domain service each."""
from __future__ import annotations

import logging
from decimal import Decimal

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth import staff_permission
from app.csv_export import csv_response, wants_csv
from app.i18n import tenant_today
from backoffice.admin_views import bp as admin_bp
from backoffice.collection_texts import (ARRANGEMENT_REFUSALS, ARRANGEMENT_STATUS_NAMES, CHANNEL_NAMES,
                                         DISPUTE_REASON_NAMES, DISPUTE_REFUSALS, DISPUTE_STATUS_NAMES,
                                         INSTALMENT_STATUS_NAMES, LEVEL_NAMES, SKIP_NAMES, schedule_refusal)
from backoffice.collection_views import bp
from backoffice.customer_sections import customer_section
from backoffice.dunning_forms import (ActionForm, DisputeForm, DunningSettingsForm, ResolveDisputeForm,
                                      StaffArrangementForm)
from domain.billing.models import Bill
from domain.collections import arrangements, disputes, dunning, letters
from domain.collections import settings as dunning_settings
from domain.collections.rules import Level, Limits, LevelsRefused, ScheduleRefused, monthly_schedule
from domain.contracts import services as accounts
from domain.contracts.models import CustomerAccount
from domain.db import db, utcnow
from domain.paging import page_of

log = logging.getLogger("backoffice.dunning")
QUEUE_PAGE = 50
STATES = ("all", "dunned", "held")


@bp.app_context_processor
def _collection_names():
    return {"dunning_level_names": LEVEL_NAMES, "dunning_channel_names": CHANNEL_NAMES,
            "dunning_skip_names": SKIP_NAMES, "arrangement_status_names": ARRANGEMENT_STATUS_NAMES,
            "instalment_status_names": INSTALMENT_STATUS_NAMES, "dispute_status_names": DISPUTE_STATUS_NAMES,
            "dispute_reason_names": DISPUTE_REASON_NAMES}


def _by() -> str:
    return current_user.user.email


# --- the queue --------------------------------------------------------------------------------------------------

def _filters() -> dict:
    args = request.args
    state = args.get("state") if args.get("state") in STATES else "all"
    held = args.get("held") if args.get("held") in SKIP_NAMES else ""
    level = args.get("level", "")
    level = int(level) if level in ("0", "1", "2", "3") else None
    try:
        min_age = max(0, min(int(args.get("min_age") or 0), 36500))
    except ValueError:
        min_age = 0
    return {"state": state, "held": held, "level": level, "min_age": min_age,
            "q": (args.get("q") or "").strip()[:40]}


@bp.get("/queue")
@staff_permission("collections.manage")
def queue():
    today = tenant_today()
    f = _filters()
    rows = dunning.queue_rows(today=today, **f)
    if wants_csv():
        return csv_response("collections-queue", [
            _("Customer number"), _("Customer"), _("Bill number"), _("Due date"), _("Days overdue"),
            _("Left to pay"), _("Currency"), _("Current level"), _("Next step"), _("Next step on"), _("Held")],
            ([r["item"].account.account_number, r["holder"], r["item"].bill.number, r["item"].bill.due_date, r["age"],
              r["item"].outstanding, r["item"].bill.currency,
              str(LEVEL_NAMES[r["item"].current_level]) if r["item"].current_level else "",
              str(LEVEL_NAMES[r["next"].level.position]) if r["next"] else "",
              r["next"].on if r["next"] and not r["item"].skip else "",
              str(SKIP_NAMES[r["item"].skip]) if r["item"].skip else ""] for r in rows))
    page = page_of(requested=request.args.get("page"), total=len(rows), size=QUEUE_PAGE)
    shown = rows[page.offset:page.offset + page.size]
    total = sum((r["item"].outstanding for r in rows), Decimal("0.00"))
    return render_template("backoffice/collections/queue.html", rows=shown, page=page, f=f, count=len(rows),
                           total=total, today=today, currency=g.tenant.currency)


# --- letters --------------------------------------------------------------------------------------------------

@bp.get("/letters")
@staff_permission("collections.manage")
def letter_list():
    include_sent = request.args.get("sent") == "1"
    rows = letters.letters_to_send(include_sent=include_sent)
    if wants_csv():
        return csv_response("dunning-letters", [_("Created on"), _("Customer number"), _("Subject"), _("Sent on"),
                                                _("Sent by")],
                            ([letter.created_at, number, letter.subject, letter.sent_at, letter.sent_by]
                             for letter, number in rows))
    return render_template("backoffice/collections/letters.html", rows=rows, include_sent=include_sent,
                           form=ActionForm(formdata=None))


def _letter_or_404(public_id: str):
    letter = letters.letter_by_public_id(public_id)
    if letter is None:
        abort(404)
    return letter


@bp.get("/letters/<public_id>.pdf")
@staff_permission("collections.manage")
def letter_pdf(public_id: str):
    letter = _letter_or_404(public_id)
    try:
        data = letters.letter_document(letter)
    except (OSError, ValueError):
        log.exception("dunning letter unavailable tenant=%s letter=%s", letter.tenant_id, letter.public_id)
        abort(404)
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="letter-{letter.public_id[:8]}.pdf"'
    return response


@bp.post("/letters/<public_id>/sent")
@staff_permission("collections.manage")
def letter_sent(public_id: str):
    letter = _letter_or_404(public_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if letters.mark_sent(letter=letter, by=_by(), now=utcnow()):
        db.session.commit()
        flash(_("The letter is marked as posted."), "success")
    else:
        flash(_("This letter was already marked as posted."), "info")
    return redirect(url_for("collections.letter_list"))


# --- the customer file ------------------------------------------------------------------------------------------

@customer_section("backoffice/_customer_dunning.html", order=35, permission="collections.manage")
def _customer_dunning(account) -> dict:
    today = tenant_today()
    levels = dunning_settings.current_levels()
    items = dunning.open_items(today=today, account_id=account.id)
    letter_rows = letters.letters_of_account(account_id=account.id)
    return {"items": [(item, dunning.next_step_of(item, levels)) for item in items],
            "steps": dunning.steps_of_account(account_id=account.id), "letters": letter_rows,
            "arrangements": arrangements.arrangements_of_account(account_id=account.id, today=today),
            "disputes": disputes.disputes_of_account(account_id=account.id), "today": today,
            "action_form": ActionForm(formdata=None), "resolve_form": ResolveDisputeForm(formdata=None)}


def _account_or_404(account_number: str):
    account = accounts.account_by_number(account_number=account_number)
    if account is None:
        abort(404)
    return account


def _customer_url(account) -> str:
    return url_for("backoffice.customer", account_number=account.account_number)


def _arrangement_page(account, form, *, error=None, status=200):
    today = tenant_today()
    bills = arrangements.arrangeable_bills(account_id=account.id, today=today)
    total = sum((v.outstanding for v in bills), Decimal("0.00"))
    return render_template("backoffice/collections/arrangement_new.html", account=account, form=form, bills=bills,
                           total=total, error=error, running=arrangements.active_arrangement(account_id=account.id),
                           limits=dunning_settings.current_limits()), status


@bp.route("/customers/<account_number>/arrangement", methods=["GET", "POST"])
@staff_permission("collections.manage")
def arrangement_new(account_number: str):
    account = _account_or_404(account_number)
    form = StaffArrangementForm()
    if request.method == "GET":
        return _arrangement_page(account, StaffArrangementForm(formdata=None))
    if not form.validate_on_submit():
        return _arrangement_page(account, form, status=400 if "csrf_token" in form.errors else 422)
    today = tenant_today()
    bills = arrangements.arrangeable_bills(account_id=account.id, today=today)
    total = sum((v.outstanding for v in bills), Decimal("0.00"))
    schedule = getattr(form, "parsed_schedule", None)
    try:
        if not schedule:
            if total <= 0:
                raise arrangements.ArrangementRefused("no_bills")
            try:
                schedule = monthly_schedule(total=total, count=form.count.data, first=form.first.data)
            except ValueError as exc:
                raise ScheduleRefused("amount") from exc
        arrangements.create_arrangement(account=account, bill_numbers=[v.bill.number for v in bills],
                                        instalments=schedule, today=today, now=utcnow(), by=_by(),
                                        by_customer=False, note=form.note.data)
    except arrangements.ArrangementRefused as exc:
        db.session.rollback()
        return _arrangement_page(account, form, error=str(ARRANGEMENT_REFUSALS[exc.code]), status=422)
    except ScheduleRefused as exc:
        db.session.rollback()
        return _arrangement_page(account, form, error=schedule_refusal(exc), status=422)
    db.session.commit()
    flash(_("The payment arrangement is agreed: its bills are not dunned while the instalments are paid."),
          "success")
    return redirect(_customer_url(account) + "#dunning")


@bp.post("/arrangements/<public_id>/cancel")
@staff_permission("collections.manage")
def arrangement_cancel(public_id: str):
    arrangement = arrangements.arrangement_by_public_id(public_id)
    if arrangement is None:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    account = db.session.get(CustomerAccount, arrangement.account_id)
    try:
        arrangements.cancel_arrangement(arrangement=arrangement, today=tenant_today(), by=_by())
    except arrangements.ArrangementRefused as exc:
        db.session.rollback()
        flash(str(ARRANGEMENT_REFUSALS[exc.code]), "error")
    else:
        db.session.commit()
        flash(_("The arrangement is cancelled: dunning resumes on its bills."), "success")
    return redirect(_customer_url(account) + "#dunning")


def _bill_or_404(number: str) -> Bill:
    bill = db.session.scalar(select(Bill).where(Bill.number == number, Bill.status != "draft"))
    if bill is None:
        abort(404)
    return bill


@bp.route("/bills/<number>/dispute", methods=["GET", "POST"])
@staff_permission("collections.manage")
def dispute_new(number: str):
    bill = _bill_or_404(number)
    form = DisputeForm()
    error = None
    if form.validate_on_submit():
        try:
            disputes.open_dispute(bill=bill, reason=form.reason.data, note=form.note.data, by=_by(),
                                  by_customer=False, now=utcnow())
        except disputes.DisputeRefused as exc:
            db.session.rollback()
            error = str(DISPUTE_REFUSALS[exc.code])
        else:
            db.session.commit()
            flash(_("The dispute is recorded: bill %(number)s is not dunned until it is resolved.",
                    number=bill.number), "success")
            return redirect(_customer_url(bill.account) + "#dunning")
    elif request.method == "POST" and "csrf_token" in form.errors:
        return render_template("backoffice/collections/dispute_new.html", bill=bill, form=form, error=None), 400
    status = 422 if (form.errors or error) else 200
    return render_template("backoffice/collections/dispute_new.html", bill=bill, form=form, error=error,
                           dispute=disputes.open_dispute_of(bill_id=bill.id)), status


@bp.post("/disputes/<public_id>/resolve")
@staff_permission("collections.manage")
def dispute_resolve(public_id: str):
    dispute = disputes.dispute_by_public_id(public_id)
    if dispute is None:
        abort(404)
    bill = db.session.get(Bill, dispute.bill_id)
    form = ResolveDisputeForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(_customer_url(bill.account) + "#disputes")
    try:
        disputes.resolve_dispute(dispute=dispute, outcome=form.outcome.data, note=form.note.data, by=_by(),
                                 now=utcnow())
    except disputes.DisputeRefused as exc:
        db.session.rollback()
        flash(str(DISPUTE_REFUSALS[exc.code]), "error")
    else:
        db.session.commit()
        flash(_("The dispute on bill %(number)s is resolved.", number=bill.number), "success")
    return redirect(_customer_url(bill.account) + "#disputes")


# --- administration: the tenant's dunning ------------------------------------------------------------------------

def _settings_form() -> DunningSettingsForm:
    levels = {lv.position: lv for lv in dunning_settings.current_levels()}
    limits = dunning_settings.current_limits()
    data = {"portal_arrangements": limits.portal_arrangements, "max_instalments": limits.max_instalments,
            "max_days": limits.max_days, "min_instalment": limits.min_instalment, "grace_days": limits.grace_days}
    for position, level in levels.items():
        data.update({f"delay_{position}": level.delay_days, f"fee_{position}": level.fee,
                     f"channel_{position}": level.channel})
    return DunningSettingsForm(formdata=None, data=data)


LEVEL_REFUSALS = {"order": lambda: _("Each level must come more days after the due date than the one before."),
                  "range": lambda: _("This value cannot be used."), "unknown": lambda: _("Choose letter or e-mail."),
                  "count": lambda: _("Set the three levels.")}


@admin_bp.route("/dunning", methods=["GET", "POST"])
@staff_permission("admin.configure")
def dunning_settings_page():
    form = DunningSettingsForm() if request.method == "POST" else _settings_form()
    status = 200
    if form.validate_on_submit():
        levels = [Level(p, form[f"delay_{p}"].data, Decimal(form[f"fee_{p}"].data).quantize(Decimal("0.01")),
                        form[f"channel_{p}"].data) for p in (1, 2, 3)]
        limits = Limits(portal_arrangements=bool(form.portal_arrangements.data),
                        max_instalments=form.max_instalments.data, max_days=form.max_days.data,
                        min_instalment=Decimal(form.min_instalment.data).quantize(Decimal("0.01")),
                        grace_days=form.grace_days.data)
        try:
            changed = dunning_settings.save_settings(levels=levels, limits=limits)
        except LevelsRefused as exc:
            db.session.rollback()
            for position, field, code in exc.problems:
                name = {"delay_days": "delay"}.get(field, field)
                target = form[f"{name}_{position}"] if position else form.delay_1
                target.errors = [*target.errors, LEVEL_REFUSALS[code]()]
            status = 422
        except ScheduleRefused as exc:
            db.session.rollback()
            target = form[exc.details.get("field", "max_days")]
            target.errors = [*target.errors, _("Enter a number from %(low)s to %(high)s.", low=exc.details["low"],
                                               high=exc.details["high"])]
            status = 422
        else:
            db.session.commit()
            flash(_("The dunning settings are saved.") if changed else _("Nothing has changed."), "success")
            return redirect(url_for("admin.dunning_settings_page"))
    elif request.method == "POST":
        status = 400 if "csrf_token" in form.errors else 422
    return render_template("backoffice/admin/settings/dunning.html", form=form, level_names=LEVEL_NAMES), status
