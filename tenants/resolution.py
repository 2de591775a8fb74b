"""Which tenant a host name belongs to: `<slug>.<platform domain>` or a custom domain.

Every request starts here, and tenants change rarely, so each process keeps what it found for a host for
`CACHE_SECONDS`: a request then costs no query to know its tenant. The cached values are attached to the
request's session as a clean, persistent `Tenant` (`merge(load=False)`), so code that changes `g.tenant`
still writes through the ORM. A change to a tenant made by this process forgets the cache at once; one
made by another process (another worker, the console) is seen within `CACHE_SECONDS`.
"""
from __future__ import annotations

import copy
import enum
import re
import threading
import time

from sqlalchemy import String, bindparam, event, select, text

from domain.db import db
from domain.readsql import attached
from tenants.models import Tenant

CACHE_SECONDS = 15.0
_cache: dict[str, tuple[float, dict]] = {}  # host name -> (monotonic expiry, the tenant's column values)
_cache_lock = threading.Lock()

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
# A DNS name: dot-separated labels of letters, digits and inner hyphens, 63 characters at most each.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


class HostKind(enum.Enum):
    PLATFORM = "platform"
    TENANT = "tenant"
    UNKNOWN = "unknown"


def is_valid_slug(slug: str) -> bool:
    return bool(_SLUG.match(slug or "")) and slug not in {"www", "console", "api", "admin", "static"}


def is_valid_host_name(name: str) -> bool:
    return 0 < len(name) <= 253 and bool(_HOST_NAME.match(name))


def split_host(host: str) -> str:
    host = (host or "").strip().lower().rstrip(".")
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.split(":", 1)[0]


def resolve_host(host: str, platform_domain: str) -> tuple[HostKind, Tenant | None]:
    name = split_host(host)
    if name and name == platform_domain:
        return HostKind.PLATFORM, None
    if not is_valid_host_name(name):
        return HostKind.UNKNOWN, None  # empty, `a..b`, a NUL byte, an IP literal: no tenant has such a name
    suffix = "." + platform_domain
    slug = None
    if name.endswith(suffix):
        slug = name[: -len(suffix)]
        if "." in slug or not is_valid_slug(slug):
            return HostKind.UNKNOWN, None
    cached = _cache.get(name)
    if cached is not None and cached[0] > time.monotonic():
        return HostKind.TENANT, _attached(cached[1])
    tenant = find_tenant_for_host(slug=slug, custom_domain=None if slug else name)
    if tenant is None:
        return HostKind.UNKNOWN, None  # not cached: a tenant created a moment later is found at once
    with _cache_lock:
        _cache[name] = (time.monotonic() + CACHE_SECONDS, _values(tenant))
    return HostKind.TENANT, tenant


def find_tenant_for_host(*, slug: str | None, custom_domain: str | None) -> Tenant | None:
    """The one tenant a host names, read with no tenant set.

    On PostgreSQL the application role cannot read the `tenants` table outside its own row (row-level security,
    migration 0013): it asks `tenant_for_host`, a SECURITY DEFINER function that answers one row for one host.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        statement = text("SELECT * FROM tenant_for_host(:slug, :custom_domain)").bindparams(
            bindparam("slug", slug, type_=String), bindparam("custom_domain", custom_domain, type_=String))
        return db.session.scalars(select(Tenant).from_statement(statement)).one_or_none()
    if slug is not None:
        return db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    return db.session.scalar(select(Tenant).where(Tenant.custom_domain == custom_domain))


def _values(tenant: Tenant) -> dict:
    return {attr.key: copy.deepcopy(getattr(tenant, attr.key)) for attr in Tenant.__mapper__.column_attrs}


def _attached(values: dict) -> Tenant:
    """A persistent, unmodified Tenant in the request's session, built from cached values without a query."""
    return attached(Tenant, copy.deepcopy(values))


def forget_cached_tenants() -> None:
    with _cache_lock:
        _cache.clear()


@event.listens_for(Tenant, "after_insert")
@event.listens_for(Tenant, "after_update")
@event.listens_for(Tenant, "after_delete")
def _tenant_changed(mapper, connection, target) -> None:
    forget_cached_tenants()
