"""What each scope lets a key do, in words (the back office's key form, the API reference)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

SCOPE_TEXTS = {
    "customers:read": _l("Read customers, accounts, points of delivery and contracts"),
    "bills:read": _l("Read bills, their lines and documents"),
    "payments:read": _l("Read payments, ledger entries and balances"),
    "payments:write": _l("Record payments received elsewhere"),
    "readings:write": _l("Send meter readings, interval data and meter exchanges"),
    "requests:read": _l("Read service requests"),
    "requests:write": _l("Create service requests"),
    "events:read": _l("Read the events sent to webhooks"),
}
