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

EXPORT_LIMIT = 5000  # a search exported: its matches best first, as many as a spreadsheet is useful for


def search_csv(query: str):
    """The customers a search finds, as CSV (the page's columns, best first, without paging)."""
    from flask_babel import gettext as _

    from app.csv_export import csv_response
    from app.i18n import STATUS_NAMES
    from domain.search import services as search

    def rows():
        for hit in search.search_accounts(query=query, limit=EXPORT_LIMIT):
            found_by = "; ".join(f"{MATCH_NAMES.get(m.kind, m.kind)} {m.value}"
                                 + (f" ({MATCH_HOW[m.how]})" if MATCH_HOW.get(m.how) else "") for m in hit.matched)
            yield (hit.account_number, hit.name, hit.address or "", found_by, STATUS_NAMES.get(hit.status, hit.status),
                   hit.opened_on)

    # Read now, inside the request's tenant (the response streams after the view returns); at most EXPORT_LIMIT.
    return csv_response("customers", [_("Customer number"), _("Holder"), _("Address"), _("Found by"), _("Status"),
                                      _("Customer since")], list(rows()))
