"""The utility's billing and readings settings: frequencies offered and the default for new contracts, reading
window, plausibility factor, back-billing limit, payment terms, and the down-payment plans offered.

`check_*` functions are pure rules; `update_billing_settings` applies them all before changing anything and
records one audit event with what changed. Reading the settings with their defaults: tenants/operation_settings.py.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select

from domain.audit.recorder import record_event
from domain.contracts.models import Contract
from domain.db import db
from tenants.operation_settings import (
    BILLING_FREQUENCIES,
    PLAN_FREQUENCY_MONTHS,
    PLAUSIBILITY_FACTOR_RANGE,
    billing_frequencies,
    default_billing_frequency,
    plan_options,
)

log = logging.getLogger("billing.settings")

READING_WINDOW_DAYS = (1, 28)
BACK_BILLING_MONTHS = (1, 72)
PAYMENT_TERMS_DAYS = (1, 90)
# The rule the engine applies, shown read-only: no rounding choice is offered (see the administration page).
ROUNDING_RULE = "half-up to the cent per line, tax per rate"


class SettingsRefused(ValueError):
    """A setting breaks a rule; `field` names it, `code` says why, `details` the figures. Nothing was changed."""

    def __init__(self, field: str, code: str, message: str, **details):
        super().__init__(message)
        self.field, self.code, self.details = field, code, details


@dataclass(frozen=True)
class BillingSettings:
    frequencies: tuple[str, ...]
    default_frequency: str
    reading_window_days: int
    plausibility_factor: Decimal | None  # None: the platform's
    back_billing_months: int | None  # None: no limit
    payment_terms_days: int
    plan_options: Mapping[str, tuple[int, ...]]


def current_settings(tenant) -> BillingSettings:
    return BillingSettings(billing_frequencies(tenant), default_billing_frequency(tenant), tenant.reading_window_days,
                           tenant.plausibility_factor, tenant.back_billing_months, tenant.payment_terms_days,
                           plan_options(tenant))


# --- pure rules -----------------------------------------------------------------------------------------------------

def check_frequencies(frequencies: Iterable[str], default: str) -> tuple[str, ...]:
    chosen = set(frequencies)
    unknown = chosen - set(BILLING_FREQUENCIES)
    if unknown:
        raise SettingsRefused("frequencies", "unknown", f"unknown frequencies {sorted(unknown)}")
    if not chosen:
        raise SettingsRefused("frequencies", "empty", "at least one billing frequency is needed")
    if default not in chosen:
        raise SettingsRefused("default_frequency", "not_offered", "the default frequency must be one offered")
    return tuple(f for f in BILLING_FREQUENCIES if f in chosen)


def check_plan_options(options: Mapping[str, Iterable[int]]) -> dict[str, tuple[int, ...]]:
    """{frequency: counts}: at least one plan; counts from 1 and all instalments within the plan's year."""
    checked: dict[str, tuple[int, ...]] = {}
    for frequency, counts in options.items():
        months = PLAN_FREQUENCY_MONTHS.get(frequency)
        if months is None:
            raise SettingsRefused("plans", "unknown", f"no plan frequency {frequency!r}")
        counts = sorted({int(n) for n in counts}, reverse=True)
        for count in counts:
            if count < 1 or count * months > 12:
                raise SettingsRefused(f"plans_{frequency}", "not_in_year", f"{count} instalments every {months} "
                                      "months do not fit in a year", count=count, most=12 // months)
        if counts:
            checked[frequency] = tuple(counts)
    if not checked:
        raise SettingsRefused("plans", "empty", "at least one down-payment plan is needed")
    return {f: checked[f] for f in PLAN_FREQUENCY_MONTHS if f in checked}


def check_plausibility_factor(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        factor = Decimal(str(value))
    except InvalidOperation as exc:
        raise SettingsRefused("plausibility_factor", "range", "not a number") from exc
    low, high = PLAUSIBILITY_FACTOR_RANGE
    if not factor.is_finite() or not low <= factor <= high or factor != factor.quantize(Decimal("0.1")):
        raise SettingsRefused("plausibility_factor", "range", f"between {low} and {high}, one decimal at most",
                              low=low, high=high)
    return factor.quantize(Decimal("0.1"))


def _within(field: str, value: int | None, bounds: tuple[int, int], *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    low, high = bounds
    if value is None or not low <= int(value) <= high:
        raise SettingsRefused(field, "range", f"{field} between {low} and {high}", low=low, high=high)
    return int(value)


# --- the service ----------------------------------------------------------------------------------------------------

def frequencies_in_use() -> dict[str, int]:
    """{billing frequency: contracts not ended that bill at it} for the current tenant."""
    rows = db.session.execute(select(Contract.billing_frequency, func.count()).where(Contract.status != "ended")
                              .group_by(Contract.billing_frequency))
    return {frequency: count for frequency, count in rows}


def update_billing_settings(*, tenant, frequencies: Iterable[str], default_frequency: str, reading_window_days: int,
                            plausibility_factor, back_billing_months: int | None, payment_terms_days: int,
                            plan_options_offered: Mapping[str, Iterable[int]], now: datetime) -> dict:
    """Check every setting, then store them; returns {column: {before, after}} (empty: nothing changed).

    A frequency that contracts still bill at cannot be withdrawn (they would be billed at a frequency the utility
    no longer offers): their count is in the refusal. Plans already running keep their schedule whatever the
    plans now offered; a new plan is one of those offered."""
    chosen = check_frequencies(frequencies, default_frequency)
    withdrawn = {f: n for f, n in frequencies_in_use().items() if f not in chosen and n}
    if withdrawn:
        raise SettingsRefused("frequencies", "in_use", f"contracts bill at {sorted(withdrawn)}", in_use=withdrawn)
    values = {
        "billing_frequencies": list(chosen),
        "default_billing_frequency": default_frequency,
        "reading_window_days": _within("reading_window_days", reading_window_days, READING_WINDOW_DAYS),
        "plausibility_factor": check_plausibility_factor(plausibility_factor),
        "back_billing_months": _within("back_billing_months", back_billing_months, BACK_BILLING_MONTHS,
                                       optional=True),
        "payment_terms_days": _within("payment_terms_days", payment_terms_days, PAYMENT_TERMS_DAYS),
        "down_payment_options": {f: list(c) for f, c in check_plan_options(plan_options_offered).items()},
    }
    before = {"billing_frequencies": list(billing_frequencies(tenant)),
              "default_billing_frequency": default_billing_frequency(tenant),
              "down_payment_options": {f: list(c) for f, c in plan_options(tenant).items()}}
    changes = {}
    for key, value in values.items():
        old = before.get(key, getattr(tenant, key))
        if old != value:
            changes[key] = {"before": old, "after": value}
            setattr(tenant, key, value)
    if changes:
        record_event(db.session, tenant_id=tenant.id, action="billing_settings", entity_type="Tenant",
                     entity_id=tenant.id, details=changes, occurred_at=now)
        db.session.flush()
    log.info("billing settings tenant=%s changed=%s", tenant.id, sorted(changes))
    return changes


def frequency_for_new_contract(tenant, requested: str | None = None) -> str:
    """The billing frequency of a contract being created: the one asked for if the utility offers it, else
    (nothing asked) the utility's default. Data entry and imports call this."""
    if requested is None or requested == "":
        return default_billing_frequency(tenant)
    if requested not in billing_frequencies(tenant):
        raise SettingsRefused("billing_frequency", "not_offered", f"the utility does not bill {requested}")
    return requested
