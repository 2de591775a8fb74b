"""Money received and given back, in the back office: payments recorded by staff, refunds and write-offs proposed
by collections staff and decided by a supervisor, bank statements imported and the matching queue."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth import staff_permission
from app.jobs import enqueue_after_commit
from app.csv_export import csv_response, wants_csv
from app.i18n import tenant_today
from app.messages import queue_message
from backoffice.customer_sections import customer_section
from backoffice.money_forms import (METHOD_NAMES, REASON_NAMES, ConfirmEntryForm, DecisionForm, IgnoreEntryForm,
                                    ManualPaymentForm, RefundForm, StatementForm, WriteOffForm)
from domain.billing import bills as bill_service
from domain.collections import manual_payments, refunds, write_offs
from domain.collections.statements import parsing
from domain.collections.statements import services as statements
from domain.contracts import services as accounts
from domain.db import db, utcnow
from domain.payments import mandates

log = logging.getLogger("backoffice.money")
bp = Blueprint("money", __name__)

PAYMENT_REFUSALS = {
    "amount": _l("Enter an amount above zero with at most two decimals, for example 120.50."),
    "method": _l("Choose how the payment was received."),
    "reference": _l("Enter the payment's reference (at most 100 characters)."),
    "date": _l("The date received cannot be after today."),
    "bill": _l("A chosen bill is not an open bill of this account any more: check the list."),
    "reference_taken": _l("This reference was already recorded with another amount or for another account. "
                          "Check the reference: the first payment stands and nothing was added."),
}
REFUND_REFUSALS = {
    "amount": _l("Enter an amount above zero with at most two decimals, for example 25.00."),
    "over_credit": _l("The amount is more than the credit left to refund on this account."),
    "no_iban": _l("The customer has no active direct-debit mandate: type the IBAN to pay the refund to."),
    "iban": _l("This IBAN is not valid: check the country code, the length and for a mistyped character."),
    "holder": _l("Enter the name of the bank account holder."),
    "decided": _l("This refund has already been decided."),
    "own_proposal": _l("You proposed this refund: another person with the right to approve must decide it."),
}
WRITE_OFF_REFUSALS = {
    "reason": _l("Choose the reason of the write-off."),
    "note": _l("Say in the note why the debt is written off."),
    "no_bill": _l("Choose at least one bill."),
    "bill": _l("A chosen bill is not an open bill of this account any more: check the list."),
    "already_proposed": _l("A chosen bill is already in a write-off waiting for a decision."),
    "decided": _l("This write-off has already been decided."),
    "own_proposal": _l("You proposed this write-off: another person with the right to approve must decide it."),
    "nothing_left": _l("These bills have been paid meanwhile: nothing is left to write off. Refuse the proposal."),
    "in_collection": _l("A chosen bill is in a direct-debit batch already sent to the bank: wait until the bank "
                        "settles or returns it."),
}
STATEMENT_REFUSALS = {
    "too_big": _l("The file is too big (at most 10 MB). Ask the bank for a statement per day."),
    "empty": _l("The file is empty."),
    "hostile": _l("The file was refused: it declares a document type or entities, which bank statements never "
                  "do. Nothing was imported."),
    "not_xml": _l("The file is not well-formed XML. Nothing was imported."),
    "format": _l("The file is not a camt.053 statement of version 001.02 or 001.08. Nothing was imported."),
    "invalid": _l("The file does not follow the ISO 20022 camt.053 schema. Nothing was imported."),
    "other_account": _l("This statement is for another bank account than the utility's. Nothing was imported."),
    "csv_encoding": _l("The CSV file is not in UTF-8. Nothing was imported."),
    "csv_columns": _l("The CSV file lacks required columns. Nothing was imported."),
    "csv_value": _l("A line of the CSV file has a missing or wrong value. Nothing was imported."),
}
ENTRY_REFUSALS = {
    "state": _l("This entry has already been dealt with."),
    "account": _l("No customer account has this number."),
    "bill": _l("This account has no issued bill with this number."),
}
STATUS_NAMES = {"proposed": _l("waiting for approval"), "approved": _l("approved"), "refused": _l("refused")}
ENTRY_STATUS_NAMES = {"to_match": _l("to match"), "matched": _l("matched"), "returned": _l("direct debit returned"),
                      "ignored": _l("ignored"), "not_ours": _l("nothing to do")}
RULE_NAMES = {"reference": _l("bill number quoted"), "account_reference": _l("account number quoted"),
              "amount_name": _l("amount and payer's name"), "person": _l("allocated by a person"),
              "return": _l("return of a direct debit")}
SUGGESTION_NAMES = {"reference": _l("bill number quoted"), "amount_name": _l("same amount, payer's name or IBAN"),
                    "amount": _l("same amount"), "iban": _l("payer's IBAN on a mandate"),
                    "name": _l("payer's name")}
FORMAT_NAMES = {"camt.053.001.02": "camt.053 (001.02)", "camt.053.001.08": "camt.053 (001.08)", "csv": "CSV"}
DIRECTION_NAMES = {"credit": _l("money in"), "debit": _l("money out")}


@bp.app_context_processor
def _names():
    return {"money_method_names": METHOD_NAMES, "money_reason_names": REASON_NAMES,
            "money_status_names": STATUS_NAMES, "entry_status_names": ENTRY_STATUS_NAMES,
            "entry_rule_names": RULE_NAMES, "suggestion_names": SUGGESTION_NAMES,
            "statement_format_names": FORMAT_NAMES, "entry_direction_names": DIRECTION_NAMES}


def _staff():
    return current_user.user


def _account_or_none(number: str | None):
    number = (number or "").strip()
    return accounts.account_by_number(account_number=number) if number and len(number) <= 20 else None


def _queue_receipt(receipt, *, account, method: str) -> None:
    if receipt is not None:
        queue_message(kind="payment_received", to=receipt.to, subject=_l("Your payment receipt"),
                      locale=receipt.locale, receipt=receipt, account=account, method=method)


# --- Home of the area: what waits ---------------------------------------------------------------------------------

@bp.get("/")
@staff_permission("collections.manage")
def home():
    return render_template(
        "backoffice/money/home.html",
        refunds_waiting=len(refunds.refund_rows(status="proposed")),
        write_offs_waiting=len(write_offs.write_off_rows(status="proposed")),
        entries_waiting=len(statements.waiting_entries(limit=1000)))


# --- Payments received by cheque, cash or transfer -----------------------------------------------------------------

@bp.get("/payments")
@staff_permission("collections.manage")
def payments():
    if wants_csv():
        rows = manual_payments.manual_payments(limit=None)
        return csv_response("payments-received", [
            _("Received on"), _("Account"), _("Received by"), _("Reference"), _("Amount"), _("Currency"),
            _("Bills settled"), _("Recorded by"), _("Note")],
            ([r.record.received_on, r.account_number, str(METHOD_NAMES[r.payment.method]),
              r.payment.provider_reference, r.payment.amount, r.payment.currency, " ".join(r.bills),
              r.record.recorded_by, r.record.note] for r in rows))
    return render_template("backoffice/money/payments.html", rows=manual_payments.manual_payments())


def _payment_form_page(form, account, *, error=None, status=200):
    open_views = bill_service.open_bills(account_ids=[account.id], today=tenant_today()) if account else []
    return render_template("backoffice/money/payment_new.html", form=form, account=account, open_views=open_views,
                           error=error), status


@bp.route("/payments/new", methods=["GET", "POST"])
@staff_permission("collections.manage")
def payment_new():
    form = ManualPaymentForm()
    if request.method == "GET":
        form.account_number.data = request.args.get("account", "")[:20]
        form.received_on.data = form.received_on.data or tenant_today()
        form.method.data = form.method.data or "cheque"
        return _payment_form_page(form, _account_or_none(form.account_number.data))
    account = _account_or_none(form.account_number.data)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _payment_form_page(form, account, status=422)
    if account is None:
        form.account_number.errors = [_("No customer account has this number.")]
        return _payment_form_page(form, None, status=422)
    try:
        done = manual_payments.record_manual_payment(
            account=account, amount=form.amount.data, method=form.method.data, reference=form.reference.data,
            received_on=form.received_on.data, staff=_staff(), now=utcnow(), today=tenant_today(),
            bill_numbers=form.bills.data, note=form.note.data)
    except manual_payments.PaymentNotRecorded as exc:
        db.session.rollback()
        return _payment_form_page(form, account, error=PAYMENT_REFUSALS[exc.code], status=422)
    if done.created:
        _queue_receipt(done.receipt, account=account, method=done.payment.method)
        flash(_("The payment of %(amount)s is recorded on account %(account)s.",
                amount=_money(done.payment.amount, done.payment.currency), account=account.account_number)
              + (" " + _("A receipt is sent to the customer.") if done.receipt else ""), "success")
    else:
        flash(_("This payment was already recorded with this reference: nothing was added."), "info")
    return redirect(url_for("backoffice.customer", account_number=account.account_number))


def _money(amount, currency):
    from app.i18n import money

    return money(amount, currency)


# --- Refunds -----------------------------------------------------------------------------------------------------

def _status_filter() -> str | None:
    status = request.args.get("status", "proposed")
    return status if status in STATUS_NAMES else None


@bp.get("/refunds")
@staff_permission("collections.manage")
def refund_list():
    status = _status_filter()
    if wants_csv():
        rows = refunds.refund_rows(status=status, limit=None)
        return csv_response("refunds", [
            _("Proposed on"), _("Account"), _("Amount"), _("Currency"), _("Pay to IBAN"), _("Account holder"),
            _("Status"), _("Proposed by"), _("Decided by"), _("Booked on"), _("Note")],
            ([r.refund.proposed_at, r.account_number, r.refund.amount, r.refund.currency, r.refund.iban,
              r.refund.holder_name, str(STATUS_NAMES[r.refund.status]), r.refund.proposed_by, r.refund.decided_by,
              r.refund.booked_on, r.refund.note] for r in rows))
    return render_template("backoffice/money/refunds.html", rows=refunds.refund_rows(status=status), status=status,
                           form=DecisionForm(formdata=None))


def _refund_page(form, account, *, error=None, status=200):
    return render_template("backoffice/money/refund_new.html", form=form, account=account, error=error,
                           credit=refunds.credit_balance(account.id), refundable=refunds.refundable(account.id),
                           mandate=refunds.mandate_iban(account.id), mask_iban=mandates.mask_iban), status


@bp.route("/refunds/new/<account_number>", methods=["GET", "POST"])
@staff_permission("collections.manage")
def refund_new(account_number: str):
    account = _account_or_none(account_number)
    if account is None:
        abort(404)
    form = RefundForm()
    if request.method == "GET":
        form.amount.data = str(refunds.refundable(account.id))
        return _refund_page(form, account)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _refund_page(form, account, status=422)
    try:
        refund = refunds.propose(account=account, amount=form.amount.data, iban=form.iban.data,
                                 holder_name=form.holder_name.data, note=form.note.data, staff=_staff(),
                                 now=utcnow(), currency=g.tenant.currency)
    except refunds.RefundRefused as exc:
        db.session.rollback()
        return _refund_page(form, account, error=REFUND_REFUSALS[exc.code], status=422)
    flash(_("The refund of %(amount)s is proposed: a supervisor approves it before it is paid.",
            amount=_money(refund.amount, refund.currency)), "success")
    return redirect(url_for("backoffice.customer", account_number=account.account_number))


def _refund_or_404(public_id: str):
    refund = refunds.by_public_id(public_id, lock=True)
    if refund is None:
        abort(404)
    return refund


def _decision_refused(message, back: str):
    db.session.rollback()
    flash(str(message), "error")
    return redirect(back), 303


@bp.post("/refunds/<public_id>/approve")
@staff_permission("collections.manage", "collections.approve")
def refund_approve(public_id: str):
    refund = _refund_or_404(public_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        notice = refunds.approve(refund=refund, staff=_staff(), now=utcnow(), today=tenant_today(),
                                 note=form.note.data)
    except refunds.RefundRefused as exc:
        return _decision_refused(REFUND_REFUSALS.get(exc.code, exc.code), url_for("money.refund_list"))
    if notice is not None:
        queue_message(kind="credit_refund", to=notice.to, locale=notice.locale, account_id=refund.account_id,
                      subject=_l("Your credit is being refunded"), notice=notice)
    flash(_("The refund is approved and booked: it is listed for payment.")
          + (" " + _("The customer is told by e-mail.") if notice else ""), "success")
    return redirect(url_for("money.refund_list"))


@bp.post("/refunds/<public_id>/refuse")
@staff_permission("collections.manage", "collections.approve")
def refund_refuse(public_id: str):
    refund = _refund_or_404(public_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        refunds.refuse(refund=refund, staff=_staff(), now=utcnow(), note=form.note.data)
    except refunds.RefundRefused as exc:
        return _decision_refused(REFUND_REFUSALS.get(exc.code, exc.code), url_for("money.refund_list"))
    flash(_("The refund is refused: nothing is paid."), "success")
    return redirect(url_for("money.refund_list"))


# --- Write-offs ------------------------------------------------------------------------------------------------------

@bp.get("/write-offs")
@staff_permission("collections.manage")
def write_off_list():
    status = _status_filter()
    if wants_csv():
        rows = write_offs.write_off_rows(status=status, limit=None)
        return csv_response("write-offs", [
            _("Proposed on"), _("Account"), _("Account holder"), _("Bills"), _("Amount"), _("Currency"),
            _("Reason"), _("Note"), _("Status"), _("Proposed by"), _("Decided by")],
            ([r.write_off.proposed_at, r.account_number, r.holder_name, " ".join(n for n, _a in r.bills),
              r.write_off.amount, r.write_off.currency, str(REASON_NAMES[r.write_off.reason]), r.write_off.note,
              str(STATUS_NAMES[r.write_off.status]), r.write_off.proposed_by, r.write_off.decided_by]
             for r in rows))
    return render_template("backoffice/money/write_offs.html", rows=write_offs.write_off_rows(status=status),
                           status=status, form=DecisionForm(formdata=None))


def _write_off_page(form, account, *, error=None, status=200):
    open_views = bill_service.open_bills(account_ids=[account.id], today=tenant_today())
    return render_template("backoffice/money/write_off_new.html", form=form, account=account, open_views=open_views,
                           error=error), status


@bp.route("/write-offs/new/<account_number>", methods=["GET", "POST"])
@staff_permission("collections.manage")
def write_off_new(account_number: str):
    account = _account_or_none(account_number)
    if account is None:
        abort(404)
    form = WriteOffForm()
    if request.method == "GET":
        return _write_off_page(form, account)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _write_off_page(form, account, status=422)
    try:
        proposal = write_offs.propose(account=account, bill_numbers=form.bills.data, reason=form.reason.data,
                                      note=form.note.data, staff=_staff(), now=utcnow(), today=tenant_today(),
                                      currency=g.tenant.currency)
    except write_offs.WriteOffRefused as exc:
        db.session.rollback()
        return _write_off_page(form, account, error=WRITE_OFF_REFUSALS[exc.code], status=422)
    flash(_("The write-off of %(amount)s is proposed: a supervisor approves it before it is booked.",
            amount=_money(proposal.amount, proposal.currency)), "success")
    return redirect(url_for("backoffice.customer", account_number=account.account_number))


def _write_off_or_404(public_id: str):
    proposal = write_offs.by_public_id(public_id, lock=True)
    if proposal is None:
        abort(404)
    return proposal


@bp.post("/write-offs/<public_id>/approve")
@staff_permission("collections.manage", "collections.approve")
def write_off_approve(public_id: str):
    proposal = _write_off_or_404(public_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        amount = write_offs.approve(write_off=proposal, staff=_staff(), now=utcnow(), today=tenant_today(),
                                    note=form.note.data)
    except write_offs.WriteOffRefused as exc:
        return _decision_refused(WRITE_OFF_REFUSALS.get(exc.code, exc.code), url_for("money.write_off_list"))
    flash(_("The write-off of %(amount)s is approved and booked: the bills are settled.",
            amount=_money(amount, proposal.currency)), "success")
    return redirect(url_for("money.write_off_list"))


@bp.post("/write-offs/<public_id>/refuse")
@staff_permission("collections.manage", "collections.approve")
def write_off_refuse(public_id: str):
    proposal = _write_off_or_404(public_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        write_offs.refuse(write_off=proposal, staff=_staff(), now=utcnow(), note=form.note.data)
    except write_offs.WriteOffRefused as exc:
        return _decision_refused(WRITE_OFF_REFUSALS.get(exc.code, exc.code), url_for("money.write_off_list"))
    flash(_("The write-off is refused: the bills stay due."), "success")
    return redirect(url_for("money.write_off_list"))


# --- Bank statements and the matching queue -----------------------------------------------------------------------

def _statement_list_page(form, *, error=None, detail=None, status=200):
    rows = statements.statements()
    return render_template("backoffice/money/statements.html", form=form, rows=rows, error=error, detail=detail,
                           counts=statements.status_counts([s.id for s in rows])), status


@bp.get("/statements")
@staff_permission("collections.manage")
def statement_list():
    if wants_csv():
        rows = statements.statements(limit=None)
        return csv_response("bank-statements", [
            _("Imported on"), _("Statement"), _("Bank account"), _("Format"), _("From"), _("To"), _("Entries"),
            _("Money in"), _("Money out"), _("Currency"), _("Imported by")],
            ([s.imported_at, s.statement_ref, s.account_iban, FORMAT_NAMES[s.format], s.from_date, s.to_date,
              s.entry_count, s.credit_total, s.debit_total, s.currency, s.imported_by] for s in rows))
    return _statement_list_page(StatementForm(formdata=None))


@bp.post("/statements")
@staff_permission("collections.manage")
def statement_import():
    form = StatementForm()
    if not form.validate_on_submit():
        abort(400)
    upload = form.statement.data
    if upload is None or not getattr(upload, "filename", ""):
        form.statement.errors = [_("Choose the statement file to import.")]
        return _statement_list_page(form, status=422)
    data = upload.stream.read(parsing.MAX_BYTES + 1)
    try:
        result = statements.import_statement(data=data, file_name=upload.filename, staff=_staff(), now=utcnow(),
                                             today=tenant_today(), tenant=g.tenant)
    except statements.StatementRefused as exc:
        db.session.rollback()
        log.info("statement refused tenant=%s code=%s detail=%s", g.tenant.id, exc.code, exc.detail)
        return _statement_list_page(form, error=STATEMENT_REFUSALS[exc.code], detail=exc.detail, status=422)
    for statement in result.queued:  # a big statement: matched on the workers once this request has committed
        enqueue_after_commit("collections.match_statement", tenant_id=g.tenant.id, statement_id=statement.id,
                             today_iso=tenant_today().isoformat())
    if not result.statements:
        flash(_("This statement was already imported: nothing has changed."), "info")
        return redirect(url_for("money.statement_detail", public_id=result.already[0].public_id))
    counts = result.counts
    if result.queued:
        flash(_("Statement imported: %(count)s entries are being matched; the page shows them as they are done.",
                count=counts.get("queued", 0)), "success")
        return redirect(url_for("money.statement_detail", public_id=result.statements[0].public_id))
    flash(_("Statement imported: %(matched)s payments matched, %(returned)s direct debits returned, %(waiting)s "
            "entries to match by hand.", matched=counts.get("matched", 0), returned=counts.get("returned", 0),
            waiting=counts.get("to_match", 0)), "success")
    return redirect(url_for("money.statement_detail", public_id=result.statements[0].public_id))


def _entry_rows(entries):
    account_numbers = statements.account_numbers({e.account_id for e in entries})
    bill_numbers = statements.bill_numbers({e.bill_id for e in entries})
    return [(e, account_numbers.get(e.account_id), bill_numbers.get(e.bill_id)) for e in entries]


def _entries_csv(name, rows):
    return csv_response(name, [
        _("Booked on"), _("Direction"), _("Amount"), _("Currency"), _("Payer or payee"), _("Their IBAN"),
        _("Reference"), _("Remittance"), _("Status"), _("How"), _("Account"), _("Bill"), _("Bank reference")],
        ([e.booked_on, str(DIRECTION_NAMES[e.direction]), e.amount, e.currency, e.counterparty_name,
          e.counterparty_iban, e.reference, e.remittance, str(ENTRY_STATUS_NAMES[e.status]),
          str(RULE_NAMES[e.match_rule]) if e.match_rule else "", account, bill, e.bank_ref]
         for e, account, bill in rows))


@bp.get("/statements/<public_id>")
@staff_permission("collections.manage")
def statement_detail(public_id: str):
    statement = statements.statement_by_public_id(public_id)
    if statement is None:
        abort(404)
    rows = _entry_rows(statements.entries_of(statement))
    if wants_csv():
        return _entries_csv(f"statement-{statement.statement_ref}", rows)
    return render_template("backoffice/money/statement.html", statement=statement, rows=rows)


@bp.get("/matching")
@staff_permission("collections.manage")
def matching():
    entries = statements.waiting_entries(limit=None if wants_csv() else 100)
    if wants_csv():
        return _entries_csv("matching-queue", _entry_rows(entries))
    today = tenant_today()
    return render_template("backoffice/money/matching.html",
                           rows=[(e, statements.suggestions(e, today=today)) for e in entries],
                           confirm_form=ConfirmEntryForm(formdata=None), ignore_form=IgnoreEntryForm(formdata=None))


def _entry_or_404(public_id: str):
    entry = statements.entry_by_public_id(public_id, lock=True)
    if entry is None:
        abort(404)
    return entry


@bp.post("/matching/<public_id>/confirm")
@staff_permission("collections.manage")
def entry_confirm(public_id: str):
    entry = _entry_or_404(public_id)
    form = ConfirmEntryForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _decision_refused(_("Enter the customer account number."), url_for("money.matching"))
    try:
        statements.confirm_entry(entry=entry, account_number=form.account_number.data,
                                            bill_number=form.bill_number.data, staff=_staff(), now=utcnow(),
                                            today=tenant_today())
    except statements.EntryRefused as exc:
        return _decision_refused(ENTRY_REFUSALS[exc.code], url_for("money.matching"))
    flash(_("The payment of %(amount)s is recorded on account %(account)s.",
            amount=_money(entry.amount, entry.currency), account=form.account_number.data.strip()), "success")
    return redirect(url_for("money.matching"))


@bp.post("/matching/<public_id>/ignore")
@staff_permission("collections.manage")
def entry_ignore(public_id: str):
    entry = _entry_or_404(public_id)
    form = IgnoreEntryForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        statements.ignore_entry(entry=entry, note=form.note.data, staff=_staff(), now=utcnow())
    except statements.EntryRefused as exc:
        return _decision_refused(ENTRY_REFUSALS[exc.code], url_for("money.matching"))
    flash(_("The entry is ignored: it is no longer in the matching queue."), "success")
    return redirect(url_for("money.matching"))


# --- The customer file's section ------------------------------------------------------------------------------------

@customer_section("backoffice/_customer_money.html", order=35, permission="collections.manage")
def _customer_money(account) -> dict:
    return {"payments": manual_payments.manual_payments(account_id=account.id, limit=20),
            "refunds": refunds.refund_rows(account_id=account.id, limit=20),
            "write_offs": write_offs.write_off_rows(account_id=account.id, limit=20),
            "credit": refunds.credit_balance(account.id)}
