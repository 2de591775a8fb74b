"""Words for collections (dunning levels, channels, why an item is held, arrangement and dispute states), shared by
the back office and the portal so neither borrows the other's."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

LEVEL_NAMES = {1: _l("Reminder"), 2: _l("Second reminder"), 3: _l("Formal notice")}
CHANNEL_NAMES = {"letter": _l("Letter"), "email": _l("E-mail")}
SKIP_NAMES = {"dispute": _l("In dispute"), "arrangement": _l("Payment arrangement"),
              "direct_debit": _l("Direct debit to come")}
ARRANGEMENT_STATUS_NAMES = {"active": lazy_pgettext("arrangement status", "Running"),
                            "completed": lazy_pgettext("arrangement status", "Paid in full"),
                            "broken": lazy_pgettext("arrangement status", "Ended: instalment missed"),
                            "cancelled": lazy_pgettext("arrangement status", "Cancelled")}
INSTALMENT_STATUS_NAMES = {"paid": lazy_pgettext("instalment", "Paid"),
                           "partly_paid": lazy_pgettext("instalment", "Partly paid"),
                           "due": lazy_pgettext("instalment", "To pay"),
                           "missed": lazy_pgettext("instalment", "Missed")}
DISPUTE_STATUS_NAMES = {"open": lazy_pgettext("dispute status", "Being looked into"),
                        "upheld": lazy_pgettext("dispute status", "Upheld"),
                        "rejected": lazy_pgettext("dispute status", "Rejected")}
DISPUTE_REASON_NAMES = {"amount": _l("The amount is wrong"), "reading": _l("The meter reading is wrong"),
                        "not_mine": _l("This bill is not mine"), "service": _l("A problem with the supply or service"),
                        "other": _l("Another reason")}
ARRANGEMENT_REFUSALS = {
    "not_offered": _l("Payment arrangements cannot be set up online: please contact us."),
    "already": _l("A payment arrangement is already running on this account."),
    "no_bills": _l("Choose at least one bill."),
    "bills": _l("These bills cannot be covered by an arrangement any more (paid, disputed or already covered): "
                "check the list again."),
    "state": _l("This arrangement is no longer running."),
}
DISPUTE_REFUSALS = {
    "reason": _l("Choose a reason."),
    "note": _l("Write a note saying why."),
    "note_long": _l("Keep the note under 2,000 characters."),
    "bill": _l("This bill cannot be disputed."),
    "already": _l("This bill is already being looked into."),
    "outcome": _l("Choose whether the dispute is upheld or rejected."),
    "state": _l("This dispute is already resolved."),
}


def schedule_refusal(exc, currency: str | None = None) -> str:
    from flask_babel import gettext as _

    from app.i18n import money

    code, details = exc.code, exc.details
    if code == "too_many":
        return _("At most %(most)s instalments.", most=details["most"])
    if code == "too_long":
        return _("The last instalment must be within %(days)s days.", days=details["days"])
    if code == "sum":
        return _("The instalments must add up to exactly %(total)s.", total=money(details["total"], currency))
    if code == "too_small":
        return _("Each instalment must be at least %(least)s.", least=money(details["least"], currency))
    return str({"empty": _l("Enter at least one instalment."),
                "amount": _l("Enter each amount in euros and cents, above zero, such as 45.50."),
                "past": _l("An instalment cannot be due before today."),
                "order": _l("Enter the instalments in date order, one per date.")}.get(code, _l("This schedule cannot "
                                                                                                "be used.")))
