"""The words for message kinds, statuses and failures, shared by the back office's customer file and the portal's
notification preferences (never the codes themselves)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

KIND_NAMES = {
    "activation": _l("Online access activation"),
    "link_account": _l("Account added to an online access"),
    "access_created": _l("New online access to the account"),
    "password_reset": _l("Password reset"),
    "verify_email": _l("Confirmation of a new e-mail address"),
    "email_changed": _l("E-mail address changed"),
    "access_address_changed": _l("Sign-in address of an online access to the account changed"),
    "access_closure": _l("Closure of the online access"),
    "staff_invitation": _l("Staff invitation"),
    "bill_available": _l("Bill available"),
    "payment_received": _l("Payment received"),
    "payment_failed": _l("Payment failed"),
    "payment_reversal": _l("Money given back on a card payment"),
    "collection_returned": _l("Direct debit returned"),
    "mandate_confirmation": _l("Direct-debit mandate confirmed"),
    "mandate_revoked": _l("Direct-debit mandate ended"),
    "budget_plan_confirmation": _l("Budget billing schedule"),
    "budget_plan_cancelled": _l("Budget billing ended"),
    "reading_rejected": _l("Outcome of a meter reading check"),
    "request_reply": _l("Reply to a request"),
    "direct_debit_prenotification": _l("Direct debit announced"),
    "reading_window_open": _l("Reminder to read the meter"),
    "reading_to_check": _l("Meter reading being checked"),
    "reading_accepted": _l("Meter reading accepted"),
    "move_out_confirmed": _l("Move-out confirmed"),
    "dunning_reminder": _l("Payment reminder"),
    "dunning_second_reminder": _l("Second payment reminder"),
    "dunning_formal_notice": _l("Formal notice to pay"),
    "arrangement_confirmation": _l("Payment arrangement agreed"),
    "arrangement_broken": _l("Payment arrangement ended"),
}

STATUS_NAMES = {
    "queued": _l("Waiting to be sent"),
    "sending": _l("Being sent"),
    "sent": _l("Sent"),
    "failed": _l("Not delivered"),
    "skipped": _l("Not sent"),
}

FAILURE_NAMES = {
    "retrying": _l("The mail server refused it for now; it will be tried again."),
    "refused": _l("The recipient's mail server refused this address."),
    "gave_up": _l("The mail server kept refusing it; no more attempts are made."),
    "switched_off": _l("The customer has switched this notification off."),
}


def kind_name(kind: str):
    return KIND_NAMES.get(kind, _l("Message"))

# How the profile names the notifications a customer may switch off, and those that always come.
PREFERENCE_LABELS = {
    "payment_received": _l("A receipt for each card payment"),
    "reading_rejected": _l("The outcome when we check one of my meter readings"),
    "reading_window_open": _l("A reminder when it is time to read my meter"),
    "reading_to_check": _l("A confirmation when one of my readings is sent for a check"),
    "reading_accepted": _l("A confirmation when a checked reading is accepted"),
}
ALWAYS_SENT_LABELS = {
    "bill_available": _l("A new bill is available"),
    "payment_failed": _l("A payment did not go through, or a direct debit was returned"),
    "mandate_confirmation": _l("Direct-debit mandates and budget billing schedules"),
    "direct_debit_prenotification": _l("The amount and date of each direct debit, before it is taken"),
    "move_out_confirmed": _l("The confirmation of a move-out with its final readings"),
    "request_reply": _l("Replies to my requests and complaints"),
    "dunning_reminder": _l("Reminders of unpaid bills, and my payment arrangements"),
    "password_reset": _l("Sign-in and security: activation, password reset, change of e-mail address"),
}


def preference_label(kind: str):
    return PREFERENCE_LABELS.get(kind) or KIND_NAMES.get(kind, _l("Message"))
