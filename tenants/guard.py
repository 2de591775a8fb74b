"""The ORM guard: every query on tenant data is filtered by the current tenant, fail closed.

Three listeners on the session class:
- `do_orm_execute` adds `tenant_id = :current` to every entity of every SELECT, UPDATE
  and DELETE that touches a tenant-owned model, lazy loads included; with no tenant set
  it raises, unless the block runs in the named `platform_scope` escape hatch.
- `before_flush` stamps `tenant_id` on new rows and refuses rows of another tenant, or a
  change of `tenant_id`.
- on PostgreSQL, the tenant is also set transaction-locally (`app.tenant_id`) for the
  row-level security policies, whenever a transaction begins or the tenant changes; inside
  `platform_scope`, `app.platform` too, which only the `tenants` table's policy reads.
"""
from __future__ import annotations

from sqlalchemy import Table, event, inspect
from sqlalchemy.orm import with_loader_criteria
from sqlalchemy.sql import visitors

from domain.db import TenantScoped
from tenants.context import NoTenantContext, TenantMismatch, current_tenant_id, platform_reason

_DB_TENANT_KEY = "db_tenant_id"
TENANTS_TABLE = "tenants"
# A Core statement whose author filtered tenant_id by hand says so with this execution option.
TENANT_FILTERED = "tenant_filtered"


class UnguardedTenantQuery(RuntimeError):
    """A statement reads tenant tables in a way the guard cannot filter (no ORM entity at its top)."""


def _tenant_tables() -> frozenset[str]:
    return frozenset(m.local_table.name for m in TenantScoped.registry.mappers
                     if issubclass(m.class_, TenantScoped) and m.local_table is not None)


def _reads_tenant_tables(statement) -> bool:
    names = _tenant_tables()
    for element in visitors.iterate(statement):
        if isinstance(element, Table) and element.name in names:
            return True
    return False


def _wanted_db_context() -> tuple[int | None, bool]:
    return current_tenant_id(), bool(platform_reason())


def _sync_db_tenant(session, connection=None) -> None:
    """Make PostgreSQL's `app.tenant_id` (and `app.platform`, the escape hatch the `tenants` table's policy
    knows) match the current tenant for this transaction."""
    bind = connection if connection is not None else session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    wanted = _wanted_db_context()
    if connection is None and session.info.get(_DB_TENANT_KEY, "unset") == wanted:
        return
    if connection is None:
        conn = session.connection()  # may begin the transaction, whose after_begin has just synced it
        if session.info.get(_DB_TENANT_KEY, "unset") == wanted:
            return
    else:
        conn = connection
    # Through the driver: this runs at the start of every transaction, and SQLAlchemy's statement
    # machinery would cost more than the round trip itself.
    tenant_id, platform = wanted
    conn.exec_driver_sql("SELECT set_config('app.tenant_id', %(tenant_id)s, true), "
                         "set_config('app.platform', %(platform)s, true)",
                         {"tenant_id": "" if tenant_id is None else str(tenant_id),
                          "platform": "on" if platform else ""})
    session.info[_DB_TENANT_KEY] = wanted


def sync_db_tenant(session) -> None:
    """For statements that bypass the ORM (domain.readsql): make `app.tenant_id` current first."""
    _sync_db_tenant(session)


def _on_after_begin(session, transaction, connection) -> None:
    _sync_db_tenant(session, connection)


def _on_after_transaction_end(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_DB_TENANT_KEY, None)


def _on_do_orm_execute(state) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    mappers = state.all_mappers
    if not any(issubclass(m.class_, TenantScoped) for m in mappers) and not _reads_tenant_tables(state.statement):
        if any(m.local_table is not None and m.local_table.name == TENANTS_TABLE for m in mappers):
            # The `tenants` table has its own policy (its own row, or the platform's escape hatch): keep the
            # database's view of the context current. No tenant filter here: the platform console lists them all.
            _sync_db_tenant(state.session)
        return
    tenant_id = current_tenant_id()
    if tenant_id is None:
        if platform_reason():
            return
        raise NoTenantContext("query on tenant data with no tenant set")
    _sync_db_tenant(state.session)
    if not mappers:
        # Core statement (or a Core wrapper around ORM subqueries): the ORM criteria cannot reach it.
        if not state.execution_options.get(TENANT_FILTERED):
            raise UnguardedTenantQuery(
                "a Core statement on tenant tables must filter tenant_id itself and say so with "
                f"execution_options({TENANT_FILTERED}=True), or select an ORM entity")
        return
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
