"""How campaign statuses, recipient statuses and refusals read on the back office's pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

CAMPAIGN_STATUS_NAMES = {"draft": _l("Draft"), "scheduled": _l("Scheduled"), "sending": _l("Sending"),
                         "paused": _l("Paused"), "cancelled": _l("Cancelled"), "completed": _l("Completed")}
RECIPIENT_STATUS_NAMES = {"pending": _l("To send"), "sending": _l("Sending"), "sent": _l("Sent"),
                          "failed": _l("Failed"), "skipped": _l("Skipped")}
PURPOSE_NAMES = {"marketing": _l("Marketing"), "service": _l("Service information")}
SKIP_REASONS = {"no_email": _l("no e-mail address"), "cancelled": _l("campaign cancelled"),
                "unsubscribed": _l("unsubscribed before it was sent")}
REFUSALS = {
    "name": _l("Enter a name of at most 120 characters."),
    "purpose": _l("Choose the purpose of the campaign."),
    "state": _l("This campaign cannot do that in its current state."),
    "locale": _l("Choose one of the languages offered."),
    "subject": _l("Enter a subject of at most 200 characters."),
    "text": _l("Enter the text of the e-mail."),
    "template": _l("Write the e-mail in the utility's language first."),
    "past": _l("Choose a moment in the future."),
    "when": _l("Choose the date and time of sending."),
}
CRITERIA_REFUSALS = {
    "choice": _l("Choose one of the values offered."),
    "format": _l("This value cannot match any customer."),
}
TEMPLATE_REFUSALS = {
    "syntax": _l("The template cannot be read (%(part)s, line %(line)s): %(detail)s"),
    "unknown_variable": _l("The template uses a variable that does not exist (%(part)s): %(detail)s"),
    "unsafe": _l("The template tries something that is not allowed (%(part)s)."),
    "not_allowed": _l("Campaign e-mails allow text, variables and conditions only; this template uses %(detail)s "
                      "(%(part)s, line %(line)s)."),
    "error": _l("The template fails when it is filled in (%(part)s): %(detail)s"),
    "too_long": _l("The e-mail is too long once filled in (%(part)s)."),
}
PART_NAMES = {"subject": _l("subject"), "text": _l("text"), "html": _l("HTML version")}
VARIABLE_HELP = {
    "customer_name": _l("the account holder's name"),
    "account_number": _l("the customer number"),
    "utility_name": _l("the utility's name"),
    "portal_url": _l("the address of the customer portal"),
    "unsubscribe_url": _l("the one-click unsubscribe link (added at the end of marketing e-mails anyway)"),
}


def template_refusal(exc) -> str:
    message = TEMPLATE_REFUSALS.get(exc.code, TEMPLATE_REFUSALS["error"])
    return str(message) % {"part": PART_NAMES.get(exc.part, exc.part), "line": exc.line or "?",
                           "detail": exc.detail}
