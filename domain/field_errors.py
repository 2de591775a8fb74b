"""A refusal of data entered by staff, field by field: the interface words each code in the user's language."""
from __future__ import annotations


class FieldErrors(ValueError):
    """Nothing was written. `errors` maps a field name to a code saying what is wrong with it; `details` holds
    figures a message may quote (per field)."""

    def __init__(self, errors: dict[str, str], details: dict[str, dict] | None = None):
        super().__init__(", ".join(f"{field}: {code}" for field, code in errors.items()))
        self.errors = dict(errors)
        self.details = details or {}

    def __or__(self, other: FieldErrors) -> FieldErrors:
        return FieldErrors({**self.errors, **other.errors}, {**self.details, **other.details})


class ErrorCollector:
    """Gathers every field's problem before raising once, so the form shows all of them together."""

    def __init__(self):
        self.errors: dict[str, str] = {}
        self.details: dict[str, dict] = {}

    def add(self, field: str, code: str, **details) -> None:
        self.errors.setdefault(field, code)
        if details:
            self.details.setdefault(field, details)

    def absorb(self, refused: FieldErrors, prefix: str = "") -> None:
        for field, code in refused.errors.items():
            self.add(prefix + field, code, **refused.details.get(field, {}))

    def raise_if_any(self) -> None:
        if self.errors:
            raise FieldErrors(self.errors, self.details)
