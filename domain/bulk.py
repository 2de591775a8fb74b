"""Bulk reads and writes in one statement per table, whatever the number of rows.

On PostgreSQL rows go in as one `INSERT ... SELECT FROM unnest(<one array per column>)`:
a single short statement with one parameter per column, which works under row-level
security (COPY does not). Each array travels as the text form of a PostgreSQL array
(`{1,2,NULL}`), built here with `str.join`: psycopg's own dumping (text or binary) walks
every element through a dumper and cost more than PostgreSQL's insert itself. Ids come
from the table's sequence, reserved for the whole batch in one statement. Elsewhere
(SQLite) it falls back to a multi-row INSERT.

`fetch` runs a hand-written SELECT on the session's own connection and transaction (so
the tenant's row-level security setting applies) and returns plain tuples: no statement
compilation and no Row objects in the hot loops of a billing chunk. Statements given to
it must filter `tenant_id` themselves, like any Core statement on tenant tables.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Table, insert

_PLAIN = (int, Decimal, date, float)  # str() of these is already valid array-element text


def _is_postgresql(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def is_postgresql(session) -> bool:
    return _is_postgresql(session)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _element(value) -> str:
    if value is None:
        return "NULL"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware datetime (UTC)")
        return _quoted(value.isoformat())
    return str(value)


def array_literal(values: Sequence) -> str:
    """The text form of a one-dimensional PostgreSQL array of `values` (None is NULL)."""
    kinds = {type(v) for v in values}
    has_null = type(None) in kinds
    kinds.discard(type(None))
    if kinds and all(issubclass(k, _PLAIN) and not issubclass(k, (bool, datetime)) for k in kinds):
        if has_null:
            return "{" + ",".join(["NULL" if v is None else str(v) for v in values]) + "}"
        return "{" + ",".join(map(str, values)) + "}"
    if kinds == {str}:
        distinct = set(values)
        if len(distinct) * 8 <= len(values):
            # A column of a few values repeated (a bill line's component, description, unit): quote each once.
            quoted = {value: "NULL" if value is None else _quoted(value) for value in distinct}
            return "{" + ",".join(map(quoted.__getitem__, values)) + "}"
        if has_null:
            return "{" + ",".join(["NULL" if v is None else _quoted(v) for v in values]) + "}"
        return "{" + ",".join(map(_quoted, values)) + "}"
    return "{" + ",".join(map(_element, values)) + "}"


def driver_connection(session):
    """The psycopg connection of the session's current transaction (begun, with the tenant set, if needed)."""
    return session.connection().connection.driver_connection


def fetch(session, sql: str, params: Sequence = ()) -> list[tuple]:
    """Rows of a hand-written PostgreSQL SELECT (`%s` placeholders) as plain tuples."""
    with driver_connection(session).cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(session, sql: str, params: Sequence = ()) -> int:
    """Run a hand-written PostgreSQL statement (`%s` placeholders); returns its row count."""
    with driver_connection(session).cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def reserve_ids(session, table: Table, count: int) -> list[int] | None:
    """`count` new ids of `table` on PostgreSQL (None elsewhere: the database assigns them on insert)."""
    if not _is_postgresql(session) or count == 0:
        return None
    return [row[0] for row in fetch(session, f"SELECT nextval('{table.name}_id_seq') FROM generate_series(1, %s)",
                                    (count,))]


def _array_types(session, table: Table, names: Iterable[str]) -> list[str]:
    dialect = session.get_bind().dialect
    return [f"{table.c[name].type.compile(dialect=dialect)}[]" for name in names]


def insert_columns(session, table: Table, columns: dict[str, Sequence], *, constants: dict | None = None) -> None:
    """Insert rows given column by column (every sequence as long as the others) on PostgreSQL.

    A column with one value for every row (`constants`, or found so: the tenant, the run, the issue
    date...) goes as one scalar parameter instead of an array PostgreSQL would parse element by element.
    """
    names = list(columns)
    if not names:
        return
    count = len(columns[names[0]])
    if not count:
        return
    constants = dict(constants or {})
    arrays = {}
    for name in names:
        values = columns[name]
        first = values[0]
        if count > 1 and (values.count(first) == count if first is not None else values.count(None) == count):
            constants[name] = first
        else:
            arrays[name] = values
    if not arrays:  # every column constant: still one row per item
        name = names[0]
        arrays[name] = columns[name]
        del constants[name]
    fixed = [f"CAST(%s AS {sql_type[:-2]})" for sql_type in _array_types(session, table, constants)]
    casts = ", ".join(f"CAST(%s AS {sql_type})" for sql_type in _array_types(session, table, arrays))
    execute(session, f"INSERT INTO {table.name} ({', '.join([*constants, *arrays])}) "
                     f"SELECT {', '.join([*fixed, 'u.*'])} FROM unnest({casts}) AS u",
            [*(_scalar(value) for value in constants.values()), *(array_literal(v) for v in arrays.values())])


def _scalar(value):
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("naive datetime refused: pass an aware datetime (UTC)")
    return value


def insert_rows(session, table: Table, rows: list[dict], *, return_ids: bool = False) -> list[int]:
    """Insert `rows` (dicts keyed by column name; missing keys are NULL). Returns ids when asked."""
    if not rows:
        return []
    if not _is_postgresql(session):
        if return_ids:
            stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            return list(session.execute(stmt, rows).scalars())
        session.execute(insert(table), rows)
        return []
    if return_ids and any(row.get("id") is None for row in rows):
        for row, new_id in zip(rows, reserve_ids(session, table, len(rows)), strict=True):
            row["id"] = new_id
    names = [c.name for c in table.columns if any(c.name in row for row in rows)]
    columns = {name: [row.get(name) for row in rows] for name in names}
    for column in table.columns:  # Python-side scalar defaults, as SQLAlchemy's insert() would apply them
        if column.name not in columns and column.default is not None and column.default.is_scalar:
            columns[column.name] = [column.default.arg] * len(rows)
    insert_columns(session, table, columns)
    return [row["id"] for row in rows] if return_ids else []


def among(column, ids: list, session):
    """`column IN ids` as one array parameter on PostgreSQL (a short, cacheable statement), IN (...) elsewhere."""
    if _is_postgresql(session):
        from sqlalchemy import String, Text, any_, bindparam, cast
        from sqlalchemy.dialects.postgresql import ARRAY

        # Strings go as text[], not varchar(n)[]: the length coercion of varchar(n)[] is not leakproof, so under
        # row-level security PostgreSQL would not use the column's index and would scan the table instead.
        element = Text() if isinstance(column.type, String) else column.type
        values = id_array(ids) if not isinstance(column.type, String) else array_literal(list(ids))
        # The text form of the array: psycopg would otherwise dump the list element by element.
        return column == any_(cast(bindparam(None, values, type_=String), ARRAY(element)))
    return column.in_(ids)


def id_array(ids: Iterable[int]) -> str:
    """A list of ids as one text array parameter, for `= ANY(CAST(%s AS bigint[]))` in hand-written SQL."""
    return "{" + ",".join(map(str, ids)) + "}"



def probing(session, column, values: list, *columns, where=()):
    """SELECT `columns` of the rows whose `column` is one of `values`, looked up one value at a time on PostgreSQL.

    `column = ANY(array)` leaves the plan to the table's statistics: on a table filling up faster than it is
    analysed (an import, autovacuum a minute behind) PostgreSQL reads the tenant's every row and compares each with
    the whole array, a cost growing with the table times the values. Here each value probes the index on `column`
    through a LATERAL subquery kept apart by OFFSET 0, whatever the statistics say: a cost in the values only.
    Elsewhere (SQLite) it is a plain IN. Give `where` the tenant condition, as on any Core statement."""
    from sqlalchemy import BigInteger, String, Text, bindparam, cast, func, select, true
    from sqlalchemy.dialects.postgresql import ARRAY

    if not _is_postgresql(session):
        return select(*columns).where(column.in_(values), *where)
    if isinstance(column.type, String):
        element, literal = Text(), array_literal(list(values))
    else:
        element, literal = BigInteger(), id_array(values)
    keys = (func.unnest(cast(bindparam(None, literal, type_=String), ARRAY(element))).table_valued("key")
            .render_derived(name="k"))
    inner = select(*columns).where(column == keys.c.key, *where).offset(0).lateral("probe")
    return select(*inner.c).select_from(keys.join(inner, true()))
