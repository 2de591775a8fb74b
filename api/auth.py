"""Who calls: the API key in `Authorization: Bearer`, its tenant, its rate limit; every call logged.

The tenant is the key's (the slug in the token), never the host's nor a header's: a key of one utility used on
another utility's host still reads only its own utility. Unknown key and wrong secret answer alike.
"""
from __future__ import annotations

import logging
import math
import time

from flask import current_app, g, request
from flask_babel import gettext as _

from api.errors import ApiError
from app.i18n import LOCALES
from domain.apikeys import services as keys
from domain.apikeys.models import ApiKey
from domain.audit.actor import Actor, set_actor
from domain.db import db, utcnow
from tenants.context import set_tenant
from tenants.resolution import resolve_host, HostKind

log = logging.getLogger("api")

# Endpoints anyone may read without a key: the description of the API and its reference page.
PUBLIC_ENDPOINTS = {"api.openapi", "api.reference"}


def current_key() -> ApiKey:
    key = g.get("api_key")
    if key is None:  # pragma: no cover - every operation is behind authenticate()
        raise RuntimeError("no API key in this request")
    return key


def _invalid(code: str = "invalid") -> ApiError:
    messages = {
        "invalid": _("This API key is not valid."),
        "revoked": _("This API key was revoked."),
        "expired": _("This API key has expired."),
    }
    return ApiError(401, f"{code}_key", messages[code],
                    headers={"WWW-Authenticate": 'Bearer realm="api"'})


def authenticate() -> None:
    """Before every API request: the locale, the key, its tenant, the audit actor, the rate limit."""
    g.api_started = time.perf_counter()
    g.page_locale = request.accept_languages.best_match(LOCALES) or "en"
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing_key", _("Send your API key as `Authorization: Bearer <key>`."),
                       headers={"WWW-Authenticate": 'Bearer realm="api"'})
    parts = keys.parse_token(token)
    if parts is None:
        raise _invalid()
    domain = current_app.config["PLATFORM_DOMAIN"]
    kind, tenant = resolve_host(f"{parts.slug}.{domain}", domain)
    if kind is not HostKind.TENANT or tenant is None:
        raise _invalid()
    g.tenant = tenant
    g.tenant_token = set_tenant(tenant.id)
    key, refusal = keys.find_key(parts, now=utcnow())
    if key is None:
        raise _invalid(refusal)
    if not tenant.is_active:
        raise ApiError(403, "tenant_suspended", _("This utility's service is suspended."))
    g.api_key = key
    g.actor_token = set_actor(Actor("api", key.id, _actor_label(key)))
    _rate_limit(key)


def _actor_label(key: ApiKey) -> str:
    return f"API: {key.name}"


def _rate_limit(key: ApiKey) -> None:
    from limits import RateLimitItemPerMinute

    from app.extensions import limiter

    item = RateLimitItemPerMinute(key.rate_limit_per_minute)
    identity = ("api", f"t{key.tenant_id}", key.key_id)
    strategy = limiter.limiter
    if strategy.hit(item, *identity):
        return
    reset_at, _remaining = strategy.get_window_stats(item, *identity)
    wait = max(1, math.ceil(reset_at - time.time()))
    raise ApiError(429, "rate_limited", _("Too many calls with this key: at most %(limit)s a minute. "
                                          "Try again in %(seconds)s seconds.", limit=key.rate_limit_per_minute,
                                          seconds=wait),
                   details={"limit_per_minute": key.rate_limit_per_minute, "retry_after_seconds": wait},
                   headers={"Retry-After": str(wait)})


def log_call(response):
    """After the request's own commit or rollback: one row per call of an identified key, in its own transaction."""
    key = g.get("api_key")
    if key is None or not request.path.startswith("/api/"):
        return response
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    endpoint = rule.replace("<", "{").replace(">", "}")
    error_code = g.get("api_error_code")
    try:
        keys.record_call(key_id=key.id, called_at=utcnow(), method=request.method, endpoint=endpoint,
                         status=response.status_code,
                         duration_ms=round((time.perf_counter() - g.get("api_started", time.perf_counter())) * 1000),
                         error_code=error_code)
        db.session.commit()
    except Exception:  # the log must never turn an answer into a failure
        db.session.rollback()
        log.exception("API call of key %s could not be logged", key.public_id)
    return response
