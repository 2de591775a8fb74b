"""A tenant's operating settings read with their defaults (pure: the Tenant row in, plain values out).

The columns are nullable (migration 0018): empty means the behaviour the platform had before the administrator
chose anything, so an existing utility bills, reads and pays exactly as before. Domain rules and pages read the
settings only through these functions, never the raw columns.
"""
from __future__ import annotations

from decimal import Decimal

# Months per billing frequency, as billing runs cut periods (domain/billing/chunk_inputs.py).
BILLING_FREQUENCIES = ("monthly", "bimonthly", "quarterly", "biannual", "annual")
DEFAULT_BILLING_FREQUENCY = "monthly"

# Months between two instalments of a down-payment plan; a plan's instalments fall within its year.
PLAN_FREQUENCY_MONTHS = {"monthly": 1, "bimonthly": 2, "quarterly": 3, "biannual": 6}
DEFAULT_PLAN_OPTIONS: dict[str, tuple[int, ...]] = {"monthly": (10, 11, 12)}

# A reading more than `factor` times, or less than 1/`factor` of, the expected consumption is checked by staff.
DEFAULT_PLAUSIBILITY_FACTOR = Decimal(3)
PLAUSIBILITY_FACTOR_RANGE = (Decimal("1.5"), Decimal(10))

PAYMENT_METHODS = ("card", "direct_debit", "transfer")

SMTP_SECURITY = ("starttls", "tls", "none")


def billing_frequencies(tenant) -> tuple[str, ...]:
    """The frequencies the utility bills at, in the platform's order."""
    chosen = set(tenant.billing_frequencies or BILLING_FREQUENCIES)
    return tuple(f for f in BILLING_FREQUENCIES if f in chosen)


def default_billing_frequency(tenant) -> str:
    """The billing frequency a new contract gets unless another offered one is chosen."""
    return tenant.default_billing_frequency or DEFAULT_BILLING_FREQUENCY


def plan_options(tenant) -> dict[str, tuple[int, ...]]:
    """{plan frequency: instalment counts offered}, frequencies in the platform's order, counts descending."""
    raw = tenant.down_payment_options or DEFAULT_PLAN_OPTIONS
    return {frequency: tuple(sorted({int(n) for n in raw[frequency]}, reverse=True))
            for frequency in PLAN_FREQUENCY_MONTHS if raw.get(frequency)}


def plan_offered(tenant, *, frequency: str, count: int) -> bool:
    return count in plan_options(tenant).get(frequency, ())


def plausibility_factor(tenant, platform_default: Decimal | None = None) -> Decimal:
    """The utility's factor, else the platform's configured one, else 3."""
    if tenant is not None and tenant.plausibility_factor is not None:
        return Decimal(tenant.plausibility_factor)
    return Decimal(platform_default) if platform_default is not None else DEFAULT_PLAUSIBILITY_FACTOR


def payment_methods(tenant) -> tuple[str, ...]:
    """The methods the administrator allows (none chosen yet: all); what is actually offered also depends on the
    method being set up (domain/payments/methods.py)."""
    chosen = set(PAYMENT_METHODS if tenant.payment_methods is None else tenant.payment_methods)
    return tuple(m for m in PAYMENT_METHODS if m in chosen)


def has_own_smtp(tenant) -> bool:
    return bool(tenant.smtp_host)


def tenant_mail_tested(tenant) -> bool:
    """Mail settings that passed a test: a test mail went through with the settings as they are now (any change
    of sender or server clears it). The go-live checklist reads this."""
    return tenant.mail_tested_at is not None
