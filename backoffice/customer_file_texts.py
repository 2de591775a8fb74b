"""How the customer file's payments, readings and contact log read for staff (never the stored codes)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

PAYMENT_METHOD_NAMES = {"card": _l("card"), "direct_debit": _l("direct debit"), "transfer": _l("bank transfer"),
                        "cash": _l("cash"), "cheque": _l("cheque")}
# A payment's words ("paiement": "Payé"), not a bill's ("facture": "Payée").
PAYMENT_STATUS_NAMES = {
    "pending": _l("Being confirmed"), "succeeded": lazy_pgettext("payment status", "Paid"), "failed": _l("Failed"),
    "cancelled": lazy_pgettext("payment status", "Cancelled"), "refunded": _l("Refunded"),
    "partly_refunded": _l("Partly refunded"), "expired": _l("Not completed"),
}
REVERSAL_NAMES = {"refund": lazy_pgettext("card reversal", "Refund"),
                  "dispute": lazy_pgettext("card reversal", "Dispute")}
REVERSAL_OUTCOMES = {"refunded": _l("Refunded to the card"), "open": _l("Dispute open"),
                     "won": _l("Dispute won: nothing given back"), "lost": _l("Dispute lost: given back"),
                     "closed": _l("Dispute closed without a decision")}
READING_ORIGIN_NAMES = {
    "portal": _l("Customer, in the portal"), "phone": _l("Customer, given to staff"),
    "meter_reader": _l("Meter reader"), "smart_meter": _l("Smart meter"), "estimate": _l("Estimate"),
    "regularisation": _l("Regularisation"), "import": _l("Imported from the former system"),
}
READING_STATUS_NAMES = {"pending": _l("To check"), "valid": _l("Valid"), "rejected": _l("Rejected")}
REVIEW_NAMES = {"reading_accepted": _l("accepted by %(who)s"), "reading_rejected": _l("rejected by %(who)s"),
                "reading_corrected": _l("corrected by %(who)s")}
CONTACT_CHANNEL_NAMES = {"phone": _l("Phone call"), "letter": _l("Letter"), "visit": _l("Visit"),
                         "email": _l("E-mail")}
CONTACT_DIRECTION_NAMES = {"inbound": _l("from the customer"), "outbound": _l("to the customer")}
# The same choice as the form asks it.
CONTACT_DIRECTION_CHOICES = {"inbound": _l("The customer contacted us"), "outbound": _l("We contacted the customer")}
CONTACT_REFUSALS = {
    "channel": _l("Choose a call, a letter or a visit."),
    "direction": _l("Say whether the customer or the utility made the contact."),
    "note_missing": _l("Write a note of what was said."),
    "note_long": _l("Write a note of at most 4,000 characters."),
    "subject_long": _l("Write a subject of at most 200 characters."),
}


def validated_by(row) -> str:
    """Who made a reading count: the review in the queue of readings to check, else how it got its status."""
    from flask_babel import gettext as _

    if row.review:
        return str(REVIEW_NAMES[row.review]) % {"who": row.reviewed_by}
    if row.reading.status == "valid":
        if row.entered_by:
            return _("entered by %(who)s", who=row.entered_by)
        if row.origin in ("estimate", "regularisation"):
            return _("calculated by billing")
        if row.origin == "import":
            return _("imported")
        return _("automatically, within the expected range")
    if row.reading.status == "pending":
        return _("waiting for a check")
    return _("rejected on receipt")
