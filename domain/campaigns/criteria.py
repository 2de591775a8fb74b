"""A campaign's segment as criteria: parsed and checked from plain values (a form, JSON), no database."""
from __future__ import annotations

from dataclasses import asdict, dataclass

ACTIVITIES = ("water", "gas", "electricity", "heating")
PAYMENT_METHODS = ("transfer", "card", "direct_debit")
LOCALES = ("en", "fr", "de", "es")
YES_NO = ("yes", "no")


class CriteriaRefused(ValueError):
    """`field` says which criterion is wrong and `code` why; nothing was saved."""

    def __init__(self, field: str, code: str):
        super().__init__(f"{field}: {code}")
        self.field, self.code = field, code


@dataclass(frozen=True)
class Criteria:
    """Every criterion is optional: an empty one does not narrow the segment."""

    activity: str | None = None
    offer: str | None = None  # an offer's code
    postcode: str | None = None  # a prefix: "75" reaches every Paris postcode
    town: str | None = None  # the town, whatever its case
    payment_method: str | None = None
    paperless: str | None = None  # yes / no
    overdue: str | None = None  # yes: an issued bill is past its due date and not paid in full / no: none is
    consent: str | None = None  # yes / no: the marketing consent (marketing campaigns always need yes)
    language: str | None = None

    def as_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value}


def _clean(value) -> str | None:
    value = (str(value) if value is not None else "").strip()
    return value or None


def _choice(data: dict, field: str, choices: tuple[str, ...]) -> str | None:
    value = _clean(data.get(field))
    if value is not None and value not in choices:
        raise CriteriaRefused(field, "choice")
    return value


def parse_criteria(data: dict) -> Criteria:
    """Criteria from submitted values; raises CriteriaRefused on a value no customer could ever have."""
    postcode = _clean(data.get("postcode"))
    if postcode is not None and (len(postcode) > 16 or not all(c.isalnum() or c in " -" for c in postcode)):
        raise CriteriaRefused("postcode", "format")
    town = _clean(data.get("town"))
    if town is not None and len(town) > 100:
        raise CriteriaRefused("town", "format")
    offer = _clean(data.get("offer"))
    if offer is not None and len(offer) > 40:
        raise CriteriaRefused("offer", "format")
    return Criteria(
        activity=_choice(data, "activity", ACTIVITIES), offer=offer, postcode=postcode, town=town,
        payment_method=_choice(data, "payment_method", PAYMENT_METHODS),
        paperless=_choice(data, "paperless", YES_NO), overdue=_choice(data, "overdue", YES_NO),
        consent=_choice(data, "consent", YES_NO), language=_choice(data, "language", LOCALES),
    )
