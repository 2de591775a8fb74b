"""The CSV exports of the back office's existing list pages: the page's own filter, every row (no paging), columns
in the staff member's language, amounts and counts as numbers (app/csv_export.py). Each list's view answers
`?format=csv` with one call here; the page links to it with the export_link macro."""
from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import select

from app.csv_export import csv_response
from app.i18n import ACTIVITY_NAMES, ACTION_NAMES, ENTITY_NAMES, LOCALE_NAMES, ROLE_NAMES, RUN_STATUS_NAMES
from app.message_wording import FAILURE_NAMES as MESSAGE_FAILURE_NAMES
from app.message_wording import STATUS_NAMES as MESSAGE_STATUS_NAMES
from app.message_wording import kind_name
from domain.db import db

EXPORT_LIMIT = 100_000  # a search exported: more than anyone reads, less than a whole customer base at once
CHUNK = 1000


def _word(names: dict, code) -> str:
    return str(names.get(code, code)) if code is not None else ""


# --- a customer's messages and history ---------------------------------------------------------------------------

def messages(account):
    from domain.communications import pipeline as communications

    _page, found = communications.messages_of_account(account_id=account.id, size=EXPORT_LIMIT)
    rows = ([m.sent_at or m.queued_at, kind_name(m.kind), m.recipient, m.subject,
             _word(MESSAGE_STATUS_NAMES, m.status),
             _word(MESSAGE_FAILURE_NAMES, m.failure_code) if m.failure_code else ""] for m in found)
    return csv_response(f"messages-{account.account_number}", [_("Time"), _("Message"), _("To"), _("Subject"),
                                                               _("Status"), _("Why not sent")], rows)


def history(account, events, *, describe):
    """`describe(event)` -> (what, details) as the history page words them (backoffice/views.py)."""
    def who(event):
        if event.actor_kind == "system" and event.actor_label == "system":
            return _("System")
        return (_("Customer") + " · " if event.actor_kind == "customer" else "") + event.actor_label

    rows = ([event.occurred_at, who(event), *describe(event)] for event in events)
    return csv_response(f"history-{account.account_number}", [_("When"), _("Who"), _("What"), _("Details")], rows)


def describe_event(event, *, history_changes, entry_actions, contract_numbers, told) -> tuple[str, str]:
    """What happened and its details in words, for the history's export (the page's template says the same)."""
    worded = told(event)
    if worded is not None:
        return worded
    changes = event.changes or {}
    if event.action in ("reading_accepted", "reading_rejected", "reading_corrected"):
        what = {"reading_accepted": _("accepted"), "reading_rejected": _("rejected"),
                "reading_corrected": _("corrected")}[event.action]
        return (f"{ENTITY_NAMES['MeterReading']} · {what}",
                _("Meter %(serial)s (%(register)s), %(date)s: %(value)s", serial=changes.get("meter"),
                  register=changes.get("register"), date=changes.get("read_on"), value=changes.get("value")))
    if event.action in entry_actions:
        return str(entry_actions[event.action]), ""
    entity = _word(ENTITY_NAMES, event.entity_type)
    if event.entity_type == "Contract" and event.entity_id in contract_numbers:
        entity += f" {contract_numbers[event.entity_id]}"
    action = "portal_update" if event.actor_kind == "customer" and event.action == "update" else event.action
    details = ""
    if event.action in ("update", "portal_update"):
        details = "; ".join(_("%(field)s changed (value not shown)", field=label) if before is None else
                            _("%(field)s: %(before)s → %(after)s", field=label, before=before, after=after)
                            for label, before, after in history_changes(changes))
    return f"{entity} · {_word(ACTION_NAMES, action)}", details


# --- readings to check ----------------------------------------------------------------------------------------------

def readings_to_check():
    from backoffice.customer_file_texts import READING_ORIGIN_NAMES
    from domain.readings import review
    from domain.readings.account_readings import origin_of

    found = review.readings_to_check(page=1, per_page=max(review.pending_count(), 1))

    def rows():
        for item in found.items:
            r = item.reading
            yield [r.received_at, r.read_on, item.meter.serial_number, item.register.code, r.value, item.meter.unit,
                   _word(READING_ORIGIN_NAMES, origin_of(r)), item.account.account_number if item.account else "",
                   item.account.holder.display_name if item.account else "",
                   item.delivery_point.identifier if item.delivery_point else "",
                   item.previous.value if item.previous else None, item.previous.read_on if item.previous else None,
                   item.consumption, item.expected]
    return csv_response("readings-to-check", [
        _("Received"), _("Reading date"), _("Meter"), _("Register"), _("Index"), _("Unit"), _("Source"),
        _("Customer number"), _("Customer"), _("Point of delivery"), _("Previous actual reading"),
        _("Previous reading date"), _("Consumption"), _("Expected consumption")], rows())


# --- billing runs ---------------------------------------------------------------------------------------------------

def billing_runs(runs_with_progress):
    rows = ([run.billing_date, _word(ACTIVITY_NAMES, run.scope_activity) if run.scope_activity else
             _("All activities"), run.scope_cycle or "", _("simulation") if run.mode == "simulate" else _("issue"),
             _word(RUN_STATUS_NAMES, run.status), p.total, p.billed, p.exceptions, p.total_excl_tax, p.total_tax,
             p.total_incl_tax, run.created_by, run.created_at] for run, p in runs_with_progress)
    return csv_response("billing-runs", [
        _("Billing date"), _("Scope"), _("Billing cycle"), _("Mode"), _("Status"), _("Contracts"), _("Bills"),
        _("Exceptions"), _("Total excl. tax"), _("Tax"), _("Total incl. tax"), _("Started by"), _("Started")], rows)


def calorific_values(values):
    rows = ([row.zone, row.effective_from, row.value, row.recorded_by, row.recorded_at] for row in values)
    return csv_response("calorific-values", [_("Zone"), _("In force from"), _("Calorific value (MJ/m³)"),
                                             _("Recorded by"), _("Recorded on")], rows)


# --- SEPA direct-debit collections ----------------------------------------------------------------------------------

def collection_batches(summaries, *, status_names):
    rows = ([s.batch.collection_date, s.batch.message_id, _word(status_names, s.batch.status), s.count, s.total,
             s.returned_count, s.returned_total, s.batch.currency, s.batch.prepared_by, s.batch.prepared_at]
            for s in summaries)
    return csv_response("direct-debit-collections", [
        _("Collection date"), _("Reference"), _("Status"), _("Collections"), _("Amount"), _("Returned"),
        _("Amount returned"), _("Currency"), _("Prepared by"), _("Prepared")], rows)


def collection_items(batch, rows_of_batch, *, status_names, reason_label):
    rows = ([r.item.end_to_end_id, r.bill_number, r.account_number, r.holder_name, r.mandate_reference,
             r.item.sequence_type, r.item.amount, r.item.currency, _word(status_names, r.item.status),
             r.item.return_reason or "", reason_label(r.item.return_reason) if r.item.return_reason else ""]
            for r in rows_of_batch)
    return csv_response(f"direct-debit-collection-{batch.collection_date.isoformat()}", [
        _("End-to-end id"), _("Bill number"), _("Customer number"), _("Customer"), _("Mandate reference"),
        _("Sequence"), _("Amount"), _("Currency"), _("Status"), _("Return reason code"), _("Return reason")], rows)


# --- campaigns ------------------------------------------------------------------------------------------------------

def campaigns(found, *, status_names, purpose_names):
    rows = ([c.name, _word(purpose_names, c.purpose), _word(status_names, c.status), c.recipient_count,
             c.skipped_count, c.created_at, c.created_by, c.scheduled_at, c.finished_at] for c in found)
    return csv_response("campaigns", [_("Name"), _("Purpose"), _("Status"), _("Recipients"), _("Skipped"),
                                      _("Created"), _("Created by"), _("Scheduled for"), _("Finished")], rows)


def campaign_recipients(campaign, *, status: str | None, status_names, skip_reasons):
    from domain.campaigns.models import CampaignRecipient

    def rows() -> Iterable[list]:
        after = 0
        while True:  # by chunks of ids: a campaign may have a hundred thousand recipients
            query = select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id,
                                                    CampaignRecipient.id > after)
            if status:
                query = query.where(CampaignRecipient.status == status)
            chunk = list(db.session.scalars(query.order_by(CampaignRecipient.id).limit(CHUNK)))
            for r in chunk:
                yield [r.account_number, r.name, r.email or "", LOCALE_NAMES.get(r.locale, r.locale),
                       _word(status_names, r.status), r.attempts, r.sent_at,
                       _word(skip_reasons, r.reason) if r.reason else ""]
            if len(chunk) < CHUNK:
                return
            after = chunk[-1].id
            db.session.expunge_all()
    return csv_response(f"campaign-recipients-{campaign.public_id[:8]}", [
        _("Customer number"), _("Name"), _("E-mail"), _("Language"), _("Status"), _("Attempts"), _("Sent"),
        _("Reason")], rows())


# --- administration -------------------------------------------------------------------------------------------------

def staff(found, *, status_names, work_group_name):
    rows = ([row.user.full_name, row.user.email, ", ".join(_word(ROLE_NAMES, r) for r in row.roles),
             ", ".join(work_group_name(g) for g in row.work_groups), _word(status_names, row.status),
             row.user.last_login_at] for row in found)
    return csv_response("staff", [_("Name"), _("E-mail"), _("Roles"), _("Work groups"), _("Status"),
                                  _("Last sign-in")], rows)


def imports(found, *, status_names):
    rows = ([i.created_at, len(i.files or {}), _word(status_names, i.status), i.total_rows, i.error_count,
             i.created_by, i.finished_at] for i in found)
    return csv_response("customer-imports", [_("Sent on"), _("Files"), _("Status"), _("Rows"), _("Errors"),
                                             _("Sent by"), _("Finished")], rows)



def api_calls(found):
    """The integration API's call log (backoffice/api_key_views.py), newest first; `found` yields overview.CallRow."""
    rows = ([r.call.called_at, r.key_name, r.call.method, r.call.endpoint, r.call.status, r.call.duration_ms,
             r.call.error_code or ""] for r in found)
    return csv_response("api-calls", [_("Time"), _("Key"), _("Method"), _("Endpoint"), _("Status"),
                                      _("Duration (ms)"), _("Error code")], rows)
