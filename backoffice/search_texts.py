"""Words for what a back-office search matched (the search service names facts by kind)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

MATCH_NAMES = {
    "account": _l("Customer number"),
    "name": _l("Name"),
    "email": _l("E-mail"),
    "phone": _l("Phone"),
    "postcode": _l("Postcode"),
    "town": _l("Town"),
    "pod": _l("Point of delivery"),
    "meter": _l("Meter"),
    "bill": _l("Bill"),
}
MATCH_HOW = {"exact": None, "prefix": _l("beginning"), "close": _l("close spelling")}
