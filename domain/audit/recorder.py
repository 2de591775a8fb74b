"""Records every change to an audited model after each flush, so services need not remember to.

Tenant-owned models are audited unless they set `__audited__ = False`; columns listed in
`__audit_exclude__` (password hashes, tokens) are recorded as changed but never with
their value. Bulk writes that bypass the ORM (billing runs) record one business event
with `record_event` instead.
"""
from __future__ import annotations

from datetime import date, datetime, UTC
from decimal import Decimal

from sqlalchemy import event, insert, inspect

from domain.audit.actor import current_actor
from domain.audit.models import AuditEvent
from domain.db import TenantScoped

_REDACTED = "[redacted]"


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def _audited(obj) -> bool:
    return isinstance(obj, TenantScoped) and getattr(type(obj), "__audited__", True)


def _column_attrs(obj):
    mapper = inspect(obj).mapper
    return [attr for attr in mapper.column_attrs if attr.key not in ("id", "tenant_id")]


def _snapshot(obj) -> dict:
    excluded = getattr(type(obj), "__audit_exclude__", ())
    state = inspect(obj)
    out = {}
    for attr in _column_attrs(obj):
        value = state.attrs[attr.key].loaded_value
        out[attr.key] = _REDACTED if attr.key in excluded else _plain(value)
    return out


def _diff(obj) -> dict:
    excluded = getattr(type(obj), "__audit_exclude__", ())
    state = inspect(obj)
    changes = {}
    for attr in _column_attrs(obj):
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if before == after:
            continue
        if attr.key in excluded:
            changes[attr.key] = {"before": _REDACTED, "after": _REDACTED}
        else:
            changes[attr.key] = {"before": _plain(before), "after": _plain(after)}
    return changes


def _row(obj, action: str, changes: dict, actor, at) -> dict:
    return {
        "tenant_id": obj.tenant_id,
        "occurred_at": at,
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "actor_label": actor.label[:255],
        "action": action,
        "entity_type": type(obj).__name__,
        "entity_id": obj.id,
        "changes": changes,
    }


def _on_after_flush(session, flush_context) -> None:
    actor = current_actor()
    at = datetime.now(UTC)
    rows = []
    for obj in session.new:
        if _audited(obj):
            rows.append(_row(obj, "insert", {"after": _snapshot(obj)}, actor, at))
    for obj in session.dirty:
        if _audited(obj) and session.is_modified(obj, include_collections=False):
            changes = _diff(obj)
            if changes:
                rows.append(_row(obj, "update", changes, actor, at))
    for obj in session.deleted:
        if _audited(obj):
            rows.append(_row(obj, "delete", {"before": _snapshot(obj)}, actor, at))
    if rows:
        session.connection().execute(insert(AuditEvent.__table__), rows)


def record_event(session, *, tenant_id: int, action: str, entity_type: str, entity_id: int | None,
                 details: dict, occurred_at: datetime) -> None:
    """Record a business event that did not go through per-object ORM writes (bulk work)."""
    actor = current_actor()
    session.execute(
        insert(AuditEvent.__table__),
        [{
            "tenant_id": tenant_id,
            "occurred_at": occurred_at,
            "actor_kind": actor.kind,
            "actor_id": actor.id,
            "actor_label": actor.label[:255],
            "action": action,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "changes": _plain(details),
        }],
    )


_installed: set[type] = set()


def install_audit_recorder(session_class) -> None:
    if session_class in _installed:
        return
    event.listen(session_class, "after_flush", _on_after_flush)
    _installed.add(session_class)
