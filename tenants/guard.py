"""The ORM guard: every query on tenant data is filtered by the current tenant, fail closed.

Three listeners on the session class:
- `do_orm_execute` adds `tenant_id = :current` to every entity of every SELECT, UPDATE
  and DELETE that touches a tenant-owned model, lazy loads included; with no tenant set
  it raises, unless the block runs in the named `platform_scope` escape hatch.
- `before_flush` stamps `tenant_id` on new rows and refuses rows of another tenant, or a
  change of `tenant_id`.
- on PostgreSQL, the tenant is also set transaction-locally (`app.tenant_id`) for the
  row-level security policies, whenever a transaction begins or the tenant changes.
"""
from __future__ import annotations

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import with_loader_criteria

from domain.db import TenantScoped
from tenants.context import NoTenantContext, TenantMismatch, current_tenant_id, platform_reason

_DB_TENANT_KEY = "db_tenant_id"


def _touches_tenant_data(state) -> bool:
    for mapper in state.all_mappers:
        if issubclass(mapper.class_, TenantScoped):
            return True
    return False


def _sync_db_tenant(session, connection=None) -> None:
    """Make PostgreSQL's `app.tenant_id` match the current tenant for this transaction."""
    bind = connection if connection is not None else session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    wanted = current_tenant_id()
    if connection is None and session.info.get(_DB_TENANT_KEY, "unset") == wanted:
        return
    conn = connection if connection is not None else session.connection()
    conn.execute(
        text("SELECT set_config('app.tenant_id', :tenant_id, true)"),
        {"tenant_id": "" if wanted is None else str(wanted)},
    )
    session.info[_DB_TENANT_KEY] = wanted


def _on_after_begin(session, transaction, connection) -> None:
    _sync_db_tenant(session, connection)


def _on_after_transaction_end(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_DB_TENANT_KEY, None)


def _on_do_orm_execute(state) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if not _touches_tenant_data(state):
        return
    tenant_id = current_tenant_id()
    if tenant_id is None:
        if platform_reason():
            return
        raise NoTenantContext("query on tenant data with no tenant set")
    _sync_db_tenant(state.session)
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )


def _on_before_flush(session, flush_context, instances) -> None:
    tenant_id = current_tenant_id()
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if tenant_id is None:
                raise NoTenantContext(f"new {type(obj).__name__} with no tenant set")
            obj.tenant_id = tenant_id
        elif tenant_id is None:
            if not platform_reason():
                raise NoTenantContext(f"new {type(obj).__name__} with no tenant set")
        elif obj.tenant_id != tenant_id:
            raise TenantMismatch(
                f"new {type(obj).__name__} belongs to tenant {obj.tenant_id}, current is {tenant_id}"
            )
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, TenantScoped):
            continue
        history = inspect(obj).attrs.tenant_id.history
        if history.has_changes() and history.deleted:
            raise TenantMismatch(f"tenant_id of {type(obj).__name__} cannot change")
        if tenant_id is not None and obj.tenant_id != tenant_id:
            raise TenantMismatch(f"{type(obj).__name__} of tenant {obj.tenant_id} written as tenant {tenant_id}")
    if session.new or session.dirty or session.deleted:
        _sync_db_tenant(session)


_installed: set[type] = set()


def install_tenant_guard(session_class) -> None:
    if session_class in _installed:
        return
    event.listen(session_class, "do_orm_execute", _on_do_orm_execute)
    event.listen(session_class, "before_flush", _on_before_flush)
    event.listen(session_class, "after_begin", _on_after_begin)
    event.listen(session_class, "after_transaction_end", _on_after_transaction_end)
    _installed.add(session_class)
