"""Bulk writes in one statement per table, whatever the number of rows.

On PostgreSQL rows go in as one `INSERT ... SELECT FROM unnest(<one array per column>)`:
a single short statement with one parameter per column, which psycopg can cache, and
which works under row-level security (COPY does not). Ids come from the table's
sequence, reserved for the whole batch in one statement. Elsewhere (SQLite) it falls
back to a multi-row INSERT.
"""
from __future__ import annotations

from sqlalchemy import Table, insert, text


def _is_postgresql(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def reserve_ids(session, table: Table, count: int) -> list[int] | None:
    """`count` new ids of `table` on PostgreSQL (None elsewhere: the database assigns them on insert)."""
    if not _is_postgresql(session) or count == 0:
        return None
    return list(session.execute(
        text(f"SELECT nextval('{table.name}_id_seq') FROM generate_series(1, :n)"), {"n": count}).scalars())


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
    dialect = session.get_bind().dialect
    columns = [c for c in table.columns if any(c.name in row for row in rows)]
    arrays = [[row.get(c.name) for row in rows] for c in columns]
    casts = ", ".join(f"CAST(%s AS {c.type.compile(dialect=dialect)}[])" for c in columns)
    names = ", ".join(c.name for c in columns)
    # Straight to psycopg in binary format, on the session's own connection and transaction: dumping
    # arrays as text quotes every element, which cost more than the insert itself.
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({casts})", arrays, binary=True)
    return [row["id"] for row in rows] if return_ids else []


def among(column, ids: list, session):
    """`column IN ids` as one array parameter on PostgreSQL (a short, cacheable statement), IN (...) elsewhere."""
    if _is_postgresql(session):
        from sqlalchemy import any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(ids), type_=ARRAY(column.type)))
    return column.in_(ids)
