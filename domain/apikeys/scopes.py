"""What an API key may do: each endpoint names the one scope it needs (wording in api/scope_texts.py)."""
from __future__ import annotations

SCOPES = ("customers:read", "bills:read", "payments:read", "payments:write", "readings:write", "requests:read",
          "requests:write", "events:read")
ALL_SCOPES = frozenset(SCOPES)
