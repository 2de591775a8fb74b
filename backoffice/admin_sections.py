"""The tenant administrator's settings sections, as the administration home lists them.

Each section is one line: (endpoint, title, what it sets). A part of the administration area adds its line here
and registers its views on the `admin` blueprint (backoffice/admin_views.py) in a module of its own.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

SECTIONS: list[tuple[str, object, object]] = [
    ("admin.imports", _l("Import of customers"),
     _l("Load your existing customers, premises, meters, contracts, balances and readings from CSV or XLSX files.")),
]


def sections():
    """The sections whose endpoint exists in this app (a part not yet built is not listed)."""
    from flask import current_app

    endpoints = set(current_app.view_functions)
    return [(endpoint, title, about) for endpoint, title, about in SECTIONS if endpoint in endpoints]


__all__ = ["SECTIONS", "sections", "_l"]
