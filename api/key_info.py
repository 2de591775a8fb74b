"""`GET /key`: which key a system is using, for which utility, with which scopes (to check a set-up)."""
from __future__ import annotations

from flask import g

from api.auth import current_key
from api.registry import operation
from api.schemas.keys import KeyOut


@operation("GET", "/key", scope=None, response=KeyOut, tags=["Keys"], summary="The key you are using",
           description="Its utility, scopes, rate limit and expiry: call it to check your set-up.")
def key_info() -> KeyOut:
    key = current_key()
    return KeyOut(name=key.name, utility=g.tenant.name, scopes=sorted(key.scope_set),
                  rate_limit_per_minute=key.rate_limit_per_minute, expires_at=key.expires_at,
                  created_at=key.created_at)
