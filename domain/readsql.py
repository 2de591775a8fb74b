"""Hand-written read statements for the hottest pages, run through the driver with no ORM in between.

A portal page that every customer opens every month is read far more than it is written. Through the ORM,
each statement costs a millisecond or more of Python (building, cache keys, the tenant guard's criteria,
loading entities); through `exec_driver_sql` the same index probe costs a tenth of that. So the home page
and a few others read with `ReadSQL` statements:

- written once, in SQL both PostgreSQL and SQLite understand, with `:name` parameters;
- always tenant-filtered by hand: every statement must use `:tenant_id`, which `rows` fills from the
  current tenant (fail closed: no tenant, no query). On PostgreSQL row-level security applies as well,
  since the statement runs in the session's transaction, where the guard has set `app.tenant_id`;
- returning plain tuples, with a converter per column where SQLite's driver hands back text or floats
  (dates, times, amounts); on PostgreSQL the driver's own types are kept.

Writes never go through here: they stay on the ORM and its audit trail.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import JSON as JSONType
from sqlalchemy import Boolean, Date, Numeric, event
from sqlalchemy.orm import make_transient_to_detached

from domain.db import TenantSession, UTCDateTime, db
from tenants.context import require_tenant_id
from tenants.guard import sync_db_tenant

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def _sqlite_decimal(value):
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def _sqlite_date(value):
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


def _utc(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_param(value):
    """A datetime as the ORM stores it on SQLite (naive UTC, with microseconds), so text comparisons hold."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _sqlite_bool(value):
    return None if value is None else bool(value)


def _sqlite_json(value):
    return json.loads(value) if isinstance(value, str) else value


# The accounts a signed-in customer may see, as a subquery for `account_id IN (...)`: customer pages start here.
CUSTOMER_ACCOUNT_IDS = ("SELECT x.account_id FROM customer_accesses x "
                        "WHERE x.tenant_id = :tenant_id AND x.customer_user_id = :user_id")

# Column kinds: what a column holds, so SQLite's text and floats come back as the types PostgreSQL gives.
DECIMAL, DATE, UTC_DATETIME, BOOL, JSON = "decimal", "date", "datetime", "bool", "json"
_SQLITE: dict[str, Callable] = {DECIMAL: _sqlite_decimal, DATE: _sqlite_date, UTC_DATETIME: _utc,
                                BOOL: _sqlite_bool, JSON: _sqlite_json}
_POSTGRES: dict[str, Callable] = {UTC_DATETIME: _utc}


class ReadSQL:
    """One read statement: `sql` with `:name` parameters (`:tenant_id` required), and the kind of each column
    that needs converting (`{index: DECIMAL | DATE | UTC_DATETIME | BOOL}`)."""

    def __init__(self, sql: str, columns: dict[int, str] | None = None):
        if ":tenant_id" not in sql:
            raise ValueError("a ReadSQL statement must filter on :tenant_id")
        self.sql = " ".join(sql.split())
        self.columns = dict(columns or {})
        self._texts: dict[str, str] = {}
        self._converters: dict[str, tuple[tuple[int, Callable], ...]] = {}

    def text_for(self, paramstyle: str) -> str:
        text = self._texts.get(paramstyle)
        if text is None:
            if paramstyle == "pyformat":
                text = _PARAM.sub(r"%(\1)s", self.sql.replace("%", "%%"))
            elif paramstyle in ("named", "qmark"):  # sqlite3 takes :name with a dict whatever SQLAlchemy uses
                text = self.sql
            else:
                raise NotImplementedError(f"paramstyle {paramstyle}")
            self._texts[paramstyle] = text
        return text

    def converters_for(self, dialect: str) -> tuple[tuple[int, Callable], ...]:
        found = self._converters.get(dialect)
        if found is None:
            table = _SQLITE if dialect == "sqlite" else _POSTGRES
            found = tuple((i, table[kind]) for i, kind in sorted(self.columns.items()) if kind in table)
            self._converters[dialect] = found
        return found


# This transaction's connection and the tenant it was synced for: a page runs several statements, and asking the
# session for its connection each time costs more than a statement. Forgotten when the transaction ends.
_CONNECTION = "readsql_connection"


@event.listens_for(TenantSession, "after_transaction_end")
def _forget_connection(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CONNECTION, None)


def rows(statement: ReadSQL, **params) -> list[tuple]:
    """Run `statement` for the current tenant in the session's transaction; the rows as tuples."""
    params["tenant_id"] = tenant_id = require_tenant_id()
    session = db.session()
    cached = session.info.get(_CONNECTION)
    if cached is not None and cached[0] == tenant_id:
        connection = cached[1]
    else:
        sync_db_tenant(session)  # PostgreSQL's app.tenant_id (row-level security) matches, as for the ORM
        connection = session.connection()
        session.info[_CONNECTION] = (tenant_id, connection)
    dialect = connection.dialect
    if dialect.name == "sqlite":
        params = {k: _sqlite_param(v) for k, v in params.items()}
    result = connection.exec_driver_sql(statement.text_for(dialect.paramstyle), params)
    fetched = result.fetchall()
    converters = statement.converters_for(dialect.name)
    if not converters:
        return [tuple(r) for r in fetched]
    out = []
    for r in fetched:
        r = list(r)
        for i, convert in converters:
            r[i] = convert(r[i])
        out.append(tuple(r))
    return out


def first(statement: ReadSQL, **params) -> tuple | None:
    found = rows(statement, **params)
    return found[0] if found else None



# --- whole entities --------------------------------------------------------------------------------------------------
# The signed-in user is read on every request; reading its row here and attaching it to the session as a clean,
# persistent instance costs a fraction of an ORM query, and the views still get an ORM object they can change.

def _kind_of(column_type) -> str | None:
    if isinstance(column_type, UTCDateTime):
        return UTC_DATETIME
    if isinstance(column_type, JSONType):
        return JSON
    if isinstance(column_type, Boolean):
        return BOOL
    if isinstance(column_type, Date):
        return DATE
    if isinstance(column_type, Numeric):
        return DECIMAL
    return None


def entity_columns(model, alias: str, *, start: int = 0) -> tuple[str, dict[int, str], tuple[str, ...]]:
    """For `SELECT`ing every column of `model` as `alias`: the select list, the kinds of its columns (numbered
    from `start`) and the attribute keys, in order."""
    names, kinds, keys = [], {}, []
    for i, attr in enumerate(model.__mapper__.column_attrs):
        column = attr.columns[0]
        names.append(f"{alias}.{column.name}")
        keys.append(attr.key)
        kind = _kind_of(column.type)
        if kind is not None:
            kinds[start + i] = kind
    return ", ".join(names), kinds, tuple(keys)


def attached(model, values: dict):
    """A persistent, unmodified instance of `model` in the request's session, built from `values` (every column,
    as `entity_columns` reads them) without a query."""
    detached = model(**values)
    make_transient_to_detached(detached)
    return db.session.merge(detached, load=False)
