"""What a request is about within its kind, and how many working days the product promises an answer in for each
(a tenant sets its own in the service levels; a category with no default uses the tenant's general answer time).
Codes only: the faces word them (backoffice/case_texts.py)."""
from __future__ import annotations

CATEGORIES: dict[str, dict[str, int | None]] = {
    "complaint": {"bill": 10, "payment": 10, "reading": 10, "supply": 2, "service": 15},
    "meter_problem": {"damaged": 3, "display": 5, "seal": 3},
    "intervention": {"connection": 10, "disconnection": 5, "inspection": 10},
    "offer_change": {"tariff": None, "power": None},
    "move_in": {"new_supply": None, "takeover": None},
    "move_out": {"final_bill": None, "keep_supply": None},
    "other": {"information": None, "documents": 5},
}


def categories_of(kind: str) -> tuple[str, ...]:
    return tuple(CATEGORIES.get(kind, {}))


def is_category(kind: str, category: str) -> bool:
    return category in CATEGORIES.get(kind, {})


def code(kind: str, category: str) -> str:
    return f"{kind}.{category}"


def all_codes() -> list[str]:
    return [code(kind, category) for kind, categories in CATEGORIES.items() for category in categories]


def default_days(full_code: str) -> int | None:
    kind, _, category = full_code.partition(".")
    return CATEGORIES.get(kind, {}).get(category)
