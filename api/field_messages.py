"""Pydantic's reasons for refusing a field, worded in the caller's language (its own English is the fallback)."""
from __future__ import annotations

from flask_babel import gettext as _

# Pydantic's error types that one message words alike.
_SAME = {
    "int_from_float": "int_parsing", "int_type": "int_parsing",
    "decimal_type": "decimal_parsing",
    "bool_type": "bool_parsing",
    "date_from_datetime_parsing": "date_parsing",
    "datetime_from_date_parsing": "datetime_parsing", "timezone_aware": "datetime_parsing",
    "model_type": "dict_type", "model_attributes_type": "dict_type",
}


def field_message(error: dict) -> str:
    """The message of one pydantic error (`type`, `msg`, `ctx`) in the request's language."""
    kind, context = error.get("type", ""), error.get("ctx") or {}
    words = {
        "missing": lambda: _("Required."),
        "extra_forbidden": lambda: _("Not a field of this request."),
        "string_type": lambda: _("Must be text."),
        "string_too_short": lambda: _("At least %(count)s characters.", count=context.get("min_length")),
        "string_too_long": lambda: _("At most %(count)s characters.", count=context.get("max_length")),
        "string_pattern_mismatch": lambda: _("Not in the expected form."),
        "too_short": lambda: _("At least %(count)s items.", count=context.get("min_length")),
        "too_long": lambda: _("At most %(count)s items.", count=context.get("max_length")),
        "int_parsing": lambda: _("Must be a whole number."),
        "decimal_parsing": lambda: _("Must be a number."),
        "bool_parsing": lambda: _("Must be true or false."),
        "date_parsing": lambda: _("Must be a date written YYYY-MM-DD."),
        "datetime_parsing": lambda: _("Must be a time written as RFC 3339, with its offset."),
        "literal_error": lambda: _("Must be one of: %(choices)s.", choices=context.get("expected")),
        "greater_than_equal": lambda: _("At least %(limit)s.", limit=context.get("ge")),
        "greater_than": lambda: _("More than %(limit)s.", limit=context.get("gt")),
        "less_than_equal": lambda: _("At most %(limit)s.", limit=context.get("le")),
        "less_than": lambda: _("Less than %(limit)s.", limit=context.get("lt")),
        "list_type": lambda: _("Must be a list."),
        "dict_type": lambda: _("Must be an object."),
    }
    worded = words.get(_SAME.get(kind, kind))
    return str(worded()) if worded is not None else str(error.get("msg", ""))
