"""Database session, declarative base, column types and the tenant-owned model mixin."""
from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta, UTC
from decimal import Decimal

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes in UTC and hands back aware UTC datetimes; naive ones are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware datetime (UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Money in the currency's unit to the cent; rates keep their precision until a line is rounded.
Money = Numeric(14, 2, asdecimal=True)
UnitRate = Numeric(14, 6, asdecimal=True)
Quantity = Numeric(16, 3, asdecimal=True)
Ratio = Numeric(8, 5, asdecimal=True)
BigId = BigInteger().with_variant(Integer(), "sqlite")


# Set only by `clock_from` (the demo seed replaying past months); None everywhere else.
_clock_start: ContextVar[tuple[datetime, float] | None] = ContextVar("clock_start", default=None)


def utcnow() -> datetime:
    """Now, aware, in UTC. Call at the edge (view, job, command) and pass it in."""
    start = _clock_start.get()
    if start is None:
        return datetime.now(UTC)
    moment, since = start
    return moment + timedelta(seconds=time.monotonic() - since)


@contextmanager
def clock_from(moment: datetime):
    """Inside this block, `utcnow()` starts at `moment` and runs at the real pace: for replaying history (the demo
    seed issues each past month's bills on that month's date). In this thread only, never in a request."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime refused: pass an aware datetime (UTC)")
    token = _clock_start.set((moment, time.monotonic()))
    try:
        yield
    finally:
        _clock_start.reset(token)


def new_uuid() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: Money,
        int: Integer(),
        str: String(255),
    }


class TenantSession(FlaskSession):
    """Session class the tenant guard and the audit recorder listen on."""

    def get(self, entity, ident, **kwargs):
        # `get` may answer from the identity map without a query, so the guard's filter
        # never runs: check the tenant of what it found.
        found = super().get(entity, ident, **kwargs)
        if isinstance(found, TenantScoped):
            from tenants.context import current_tenant_id

            tenant_id = current_tenant_id()
            if tenant_id is not None and found.tenant_id != tenant_id:
                return None
        return found


db = SQLAlchemy(metadata=Base.metadata, session_options={"class_": TenantSession, "expire_on_commit": False})


class PlatformModel(Base):
    """A table that belongs to the platform, not to one tenant (tenants, operators)."""

    __abstract__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)


class TenantScoped(Base):
    """A row owned by one tenant.

    The ORM guard filters every query on these models by the current tenant and stamps
    `tenant_id` on new rows; on PostgreSQL row-level security backs it up. `(tenant_id, id)`
    is unique so children reference a parent with a composite foreign key that cannot
    cross tenants.
    """

    __abstract__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(BigId, ForeignKey("tenants.id", ondelete="RESTRICT"), nullable=False)


def tenant_table_args(*items, parents: dict[str, str] | None = None):
    """`__table_args__` for a tenant table.

    Adds the `(tenant_id, id)` key that children point at, one composite foreign key
    `(tenant_id, <column>) -> <table>(tenant_id, id)` per entry of `parents`, and any
    further constraints or indexes given.
    """
    args = [UniqueConstraint("tenant_id", "id")]
    explicit = [_column_names(item) for item in items]
    for column, table in (parents or {}).items():
        # The foreign key needs an index starting (tenant_id, column) unless one given already starts so.
        if not any(cols[:2] == ["tenant_id", column] for cols in explicit):
            args.append(Index(None, "tenant_id", column))
        args.append(
            ForeignKeyConstraint(
                ["tenant_id", column],
                [f"{table}.tenant_id", f"{table}.id"],
                ondelete="RESTRICT",
            )
        )
    args.extend(items)
    return tuple(args)


def _column_names(item) -> list[str]:
    if isinstance(item, Index):
        return [str(e) for e in item.expressions]
    if isinstance(item, UniqueConstraint):
        return [str(c) for c in item._pending_colargs]
    return []


def tenant_ref(nullable: bool = False) -> Mapped[int]:
    """A column pointing at a parent in the same tenant (pair it with `parents=` above)."""
    return mapped_column(BigId, nullable=nullable)


def external_ref_index() -> Index:
    """Unique `(tenant_id, external_ref)` where a reference is set (the customer base import matches rows by it).

    Partial, so the planner never takes it for a lookup by `(tenant_id, id)` (a foreign-key check) on a table
    not analysed yet, where it would read every row of the tenant."""
    from sqlalchemy import text

    return Index(None, "tenant_id", "external_ref", unique=True, sqlite_where=text("external_ref IS NOT NULL"),
                 postgresql_where=text("external_ref IS NOT NULL"))


def updated_at_column() -> Mapped[datetime]:
    """When the row last changed, kept by the database on every write path (migration 0034 triggers): what the
    integration API's `updated_since` and cursors read. Never set by the application."""
    from sqlalchemy import FetchedValue, func

    return mapped_column(UTCDateTime(), nullable=False, server_default=func.now(), server_onupdate=FetchedValue())


def updated_at_index() -> Index:
    """The integration API's stable order per tenant: (updated_at, id)."""
    return Index(None, "tenant_id", "updated_at", "id")


def public_id_column() -> Mapped[str]:
    return mapped_column(String(36), nullable=False, default=new_uuid)


_pragmas_installed = False


def install_sqlite_pragmas() -> None:
    """SQLite enforces foreign keys only when asked, per connection; WAL lets readers run beside a writer."""
    global _pragmas_installed
    if _pragmas_installed:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        module = type(dbapi_connection).__module__
        if "sqlite" not in module:
            return
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    _pragmas_installed = True
