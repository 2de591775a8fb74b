"""Which tenant a host name belongs to: `<slug>.<platform domain>` or a custom domain."""
from __future__ import annotations

import enum
import re

from sqlalchemy import select

from domain.db import db
from tenants.models import Tenant

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


class HostKind(enum.Enum):
    PLATFORM = "platform"
    TENANT = "tenant"
    UNKNOWN = "unknown"


def is_valid_slug(slug: str) -> bool:
    return bool(_SLUG.match(slug or "")) and slug not in {"www", "console", "api", "admin", "static"}


def split_host(host: str) -> str:
    host = (host or "").strip().lower().rstrip(".")
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.split(":", 1)[0]


def resolve_host(host: str, platform_domain: str) -> tuple[HostKind, Tenant | None]:
    name = split_host(host)
    if not name:
        return HostKind.UNKNOWN, None
    if name == platform_domain:
        return HostKind.PLATFORM, None
    suffix = "." + platform_domain
    if name.endswith(suffix):
        slug = name[: -len(suffix)]
        if "." in slug or not is_valid_slug(slug):
            return HostKind.UNKNOWN, None
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    else:
        tenant = db.session.scalar(select(Tenant).where(Tenant.custom_domain == name))
    if tenant is None:
        return HostKind.UNKNOWN, None
    return HostKind.TENANT, tenant
