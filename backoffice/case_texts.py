"""Words staff read for case work's codes: task kinds, statuses and history steps, service-level units, request
categories, and the refusals of the task and request services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from app.case_wording import CATEGORY_NAMES, category_name  # noqa: F401  (staff pages word categories the same)

TASK_KIND_NAMES = {
    "reading_check": _l("Reading to check"),
    "billing_exception": _l("Billing exception"),
    "access_closure": _l("Closing of an online access"),
    "service_request": _l("Customer request"),
    "request_escalation": _l("Escalated request"),
}
TASK_STATUS_NAMES = {"open": _l("to do"), "in_progress": _l("in progress"),
                     "done": lazy_pgettext("task status", "done"), "cancelled": _l("cancelled")}
TASK_ACTION_NAMES = {"claimed": _l("Taken"), "released": _l("Given back to the queue"), "assigned": _l("Assigned"),
                     "transferred": _l("Handed to another work group"), "done": _l("Completed"),
                     "cancelled": _l("Cancelled"), "reopened": _l("Reopened")}
QUEUE_FILTER_NAMES = {"all": _l("All tasks to do"), "mine": _l("Mine"), "unassigned": _l("Nobody's yet"),
                      "overdue": _l("Overdue")}
UNIT_NAMES = {"hours": _l("hours"), "days": _l("calendar days"), "working_days": _l("working days")}

TASK_REFUSALS = {
    "closed": _l("This task is already closed."),
    "taken": _l("Someone else took this task just before you."),
    "not_yours": _l("This task is someone else's: only they or a supervisor can do this."),
    "not_member": _l("Choose a member of this task's work group."),
    "same_group": _l("The task is already in this work group: choose another one."),
    "group": _l("Choose the work group to hand the task to."),
    "note_missing": _l("Write a note saying why."),
    "note_long": _l("Use at most 2000 characters."),
    "outcome": _l("Choose whether the task is done or cancelled."),
}


REQUEST_REFUSALS = {
    "category": _l("Choose one of the categories listed."),
    "reason": _l("Write why the request needs a supervisor."),
    "reason_long": _l("Use at most 2000 characters."),
    "done": _l("This request is resolved or closed: reopen it before escalating it."),
    "supervisor": _l("Choose a supervisor from the list."),
}
TEMPLATE_REFUSALS = {
    ("name", "empty"): _l("Enter a name for the template."),
    ("name", "long"): _l("Use at most 120 characters."),
    ("name", "taken"): _l("A template of this name already exists in this language."),
    ("locale", "unknown"): _l("Choose one of the languages listed."),
    ("body", "empty"): _l("Write the text of the template."),
    ("body", "long"): _l("Use at most 5000 characters."),
}
PLACEHOLDER_NAMES = {
    "customer_name": _l("the customer's name"), "request_reference": _l("the request's reference"),
    "request_subject": _l("the request's subject"), "answer_due_date": _l("the date the answer is due"),
    "utility_name": _l("your utility's name"), "staff_name": _l("your name"),
}


def time_left(due_at, now) -> str:
    """"2 days left" or "overdue by 3 hours", in the staff member's language (words, not only a colour)."""
    from flask_babel import format_timedelta
    from flask_babel import gettext as _

    if due_at is None:
        return ""
    if due_at >= now:
        return _("%(time)s left", time=format_timedelta(due_at - now, threshold=1))
    return _("overdue by %(time)s", time=format_timedelta(now - due_at, threshold=1))
