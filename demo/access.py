"""Demo data for getting in: every demo account gets an activation code, printed on its bills."""
from __future__ import annotations

from domain.identity.activation import assign_missing_activation_codes


def give_activation_codes() -> int:
    """Codes for the current tenant's accounts that have none (run before the billing history is issued)."""
    return assign_missing_activation_codes()
