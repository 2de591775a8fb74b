"""The current tenant of a request or job, carried in a context variable."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from collections.abc import Iterator

_tenant_id: ContextVar[int | None] = ContextVar("tenant_id", default=None)
_platform_reason: ContextVar[str | None] = ContextVar("platform_reason", default=None)


class NoTenantContext(RuntimeError):
    """Tenant data was touched with no tenant set: the guard fails closed."""


class TenantMismatch(RuntimeError):
    """A row of one tenant was about to be written while another tenant is current."""


def current_tenant_id() -> int | None:
    return _tenant_id.get()


def require_tenant_id() -> int:
    tenant_id = _tenant_id.get()
    if tenant_id is None:
        raise NoTenantContext("no tenant is set for this request or job")
    return tenant_id


def platform_reason() -> str | None:
    return _platform_reason.get()


def set_tenant(tenant_id: int | None):
    """Set the tenant for the rest of this context; returns a token for reset_tenant."""
    return _tenant_id.set(tenant_id)


def reset_tenant(token) -> None:
    _tenant_id.reset(token)


@contextmanager
def tenant_scope(tenant_id: int) -> Iterator[int]:
    """Run a block as one tenant (jobs, commands, tests)."""
    if tenant_id is None:
        raise ValueError("tenant_scope needs a tenant id")
    token = _tenant_id.set(int(tenant_id))
    try:
        yield int(tenant_id)
    finally:
        _tenant_id.reset(token)


@contextmanager
def platform_scope(reason: str) -> Iterator[None]:
    """The one named escape hatch: run a block with no tenant filter.

    Used by the platform console and commands that work across tenants. The reason is
    required so every use is searchable and logged. On PostgreSQL row-level security
    still applies: with no tenant set, tenant tables read as empty.
    """
    if not reason:
        raise ValueError("platform_scope needs a reason")
    token = _platform_reason.set(reason)
    tenant_token = _tenant_id.set(None)
    try:
        yield
    finally:
        _tenant_id.reset(tenant_token)
        _platform_reason.reset(token)
