"""Words for down-payment plans that both faces show (portal and back office): frequencies and plan choices."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from domain.billing import down_payments as plans

PLAN_FREQUENCY_NAMES = {"monthly": _l("monthly"), "bimonthly": _l("every two months"),
                        "quarterly": _l("quarterly"), "biannual": _l("half-yearly")}
_PLAN_LABELS = {
    "monthly": _l("%(count)s monthly instalments"),
    "bimonthly": _l("%(count)s instalments every two months"),
    "quarterly": _l("%(count)s quarterly instalments"),
    "biannual": _l("%(count)s half-yearly instalments"),
}
_ONE_PLAN_LABELS = {
    "monthly": _l("1 monthly instalment"), "bimonthly": _l("1 instalment every two months"),
    "quarterly": _l("1 quarterly instalment"), "biannual": _l("1 half-yearly instalment"),
}
INSTALMENT_NAMES = {"monthly": _l("Monthly instalment"), "bimonthly": _l("Instalment every two months"),
                    "quarterly": _l("Quarterly instalment"), "biannual": _l("Half-yearly instalment")}


def plan_label(frequency: str, count: int) -> str:
    if count == 1:
        return str(_ONE_PLAN_LABELS[frequency])
    return str(_PLAN_LABELS[frequency]) % {"count": count}


def plan_choices(tenant) -> list[tuple[str, str]]:
    """(code, label) of each plan the utility offers, for a select or radio buttons."""
    return [(code, plan_label(frequency, count)) for code, frequency, count in plans.offered_plan_options(tenant)]


def count_refusal(tenant) -> str:
    """What a customer or staff member reads when the plan chosen is not one the utility offers."""
    from tenants.operation_settings import DEFAULT_PLAN_OPTIONS, plan_options

    offered = {frequency: set(counts) for frequency, counts in plan_options(tenant).items()}
    if offered == {frequency: set(counts) for frequency, counts in DEFAULT_PLAN_OPTIONS.items()}:
        return str(_l("Choose 10, 11 or 12 instalments."))
    return str(_l("Choose one of the instalment plans offered."))
