"""Change times for sync: `updated_at` on what the integration API lists, kept by the database on every write path

A utility's CRM or accounting tool syncs with `updated_since`; that only works if `updated_at` moves on every change,
whoever writes: the ORM, the billing run's and the import's bulk SQL, the search refresh. So the database keeps it:

- `updated_at` (timestamptz, NOT NULL, default the database's now) on parties, customer_accounts, delivery_points,
  contracts, bills, payments and service_requests, backfilled with the migration's time, with an index
  (tenant_id, updated_at, id): the API's stable order and its cursor.
- An UPDATE that changes a row and does not set `updated_at` itself sets it to now (an explicit value wins: a
  parent touched by its child, a test rewinding a row).
- A change to a child that the parent's API answer shows touches the parent: contact points -> their party, a
  party -> the accounts it holds, a contract's number, status, dates or point -> its account, meter installations
  and the premise's address -> the points of delivery (so do a meter's serial, digits or multiplier and its
  registers, through the installations; a point's identifier -> the accounts it supplies), customer-visible
  messages -> their request, allocations -> their payment.
  A contract's `billed_until` (every billing run) does not touch the account.
- PostgreSQL: a BEFORE UPDATE row trigger (`sync_set_updated_at`) per table; parents are touched by statement-level
  AFTER triggers with transition tables, in one set-based UPDATE per statement (an import's 10,000 contact points
  are one UPDATE of their parties), skipping parents already at this transaction's time.
- SQLite: no ALTER TABLE can add a column whose default is an expression, and rebuilding these tables would drop
  the search triggers of 0029 and their partial indexes; so the column is added with a constant default, every row
  is backfilled, then the default is changed in the schema text as SQLite documents for default values ("Making
  Other Kinds Of Table Schema Changes": writable_schema, schema_version bumped). Row triggers do the rest. Times
  are written as SQLAlchemy writes them ('YYYY-MM-DD HH:MM:SS.ffffff'), so they compare as text.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 00:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None

TABLES = ("parties", "customer_accounts", "delivery_points", "contracts", "bills", "payments", "service_requests")
SQLITE_NOW = "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"
SQLITE_EPOCH = "'1970-01-01 00:00:00.000000'"

# (child, parent, child's column naming the parent, parent's column it matches, events, columns whose change
#  matters on UPDATE (None: any), condition on the child row (alias r) or None[, via]); `via` = (table, its column
#  matching the child's, its column naming the parent) when the parent is reached through a link table.
METERS_TO_POINTS = ("meter_installations", "meter_id", "delivery_point_id")
TOUCHES = [
    ("contact_points", "parties", "party_id", "id", ("INSERT", "UPDATE", "DELETE"), None, None),
    ("parties", "customer_accounts", "id", "holder_party_id", ("UPDATE",), None, None),
    ("contracts", "customer_accounts", "account_id", "id", ("INSERT", "UPDATE", "DELETE"),
     ("contract_number", "account_id", "delivery_point_id", "offer_id", "status", "start_date", "end_date",
      "billing_frequency"), None),
    ("meter_installations", "delivery_points", "delivery_point_id", "id", ("INSERT", "UPDATE", "DELETE"), None, None),
    ("premises", "delivery_points", "id", "premise_id", ("UPDATE",), None, None),
    ("request_messages", "service_requests", "request_id", "id", ("INSERT", "UPDATE", "DELETE"), None,
     "NOT r.internal"),
    ("payment_allocations", "payments", "payment_id", "id", ("INSERT", "UPDATE", "DELETE"), None, None),
    ("meters", "delivery_points", "id", "id", ("UPDATE",),
     ("serial_number", "model", "digits", "multiplier", "unit", "is_smart"), None, METERS_TO_POINTS),
    ("registers", "delivery_points", "meter_id", "id", ("INSERT", "UPDATE", "DELETE"), None, None, METERS_TO_POINTS),
    ("delivery_points", "customer_accounts", "id", "id", ("UPDATE",), ("identifier",), None,
     ("contracts", "delivery_point_id", "account_id")),
]


def _touch(entry):
    """The entry with `via` filled (None when the child names its parent itself)."""
    return (*entry, None) if len(entry) == 7 else entry


def _index_name(table: str) -> str:
    return f"ix_{table}_tenant_id_updated_at_id"


# --- PostgreSQL -------------------------------------------------------------------------------------------------

PG_SET_FUNCTION = """
CREATE OR REPLACE FUNCTION sync_set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
    NEW.updated_at := now();
  END IF;
  RETURN NEW;
END $$;
"""


def _pg_touch_function(child: str, parent: str, child_col: str, parent_col: str, columns, condition, via) -> str:
    where = f" WHERE {condition}" if condition else ""

    def keys(rows: str) -> str:
        if via:
            table, via_child, via_parent = via
            return (f"SELECT v.tenant_id, v.{via_parent} FROM {rows} r JOIN {table} v"
                    f" ON v.tenant_id = r.tenant_id AND v.{via_child} = r.{child_col}{where}")
        return f"SELECT r.tenant_id, r.{child_col} FROM {rows} r{where}"

    if columns is None:
        changed = "ROW(n.*) IS DISTINCT FROM ROW(o.*)"
    else:
        changed = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in columns)
    new_changed = f"(SELECT n.* FROM sync_new n JOIN sync_old o ON o.id = n.id WHERE {changed})"
    old_changed = f"(SELECT o.* FROM sync_new n JOIN sync_old o ON o.id = n.id WHERE {changed})"

    def touch(source: str) -> str:
        return (f"UPDATE {parent} p SET updated_at = now() FROM (SELECT DISTINCT * FROM ({source}) AS k) AS x(t, v)"
                f" WHERE p.tenant_id = x.t AND p.{parent_col} = x.v AND p.updated_at IS DISTINCT FROM now();")

    return f"""
CREATE OR REPLACE FUNCTION sync_touch_from_{child}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {touch(keys("sync_new"))}
  ELSIF TG_OP = 'DELETE' THEN
    {touch(keys("sync_old"))}
  ELSE
    {touch(keys(new_changed) + " UNION " + keys(old_changed))}
  END IF;
  RETURN NULL;
END $$;
"""


def _pg_upgrade() -> None:
    op.execute(PG_SET_FUNCTION)
    for table in TABLES:
        op.execute(f"CREATE TRIGGER sync_updated_at BEFORE UPDATE ON {table} FOR EACH ROW"
                   " WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION sync_set_updated_at()")
    for child, parent, child_col, parent_col, events, columns, condition, via in map(_touch, TOUCHES):
        op.execute(_pg_touch_function(child, parent, child_col, parent_col, columns, condition, via))
        for event in events:
            referencing = {"INSERT": "NEW TABLE AS sync_new", "DELETE": "OLD TABLE AS sync_old",
                           "UPDATE": "OLD TABLE AS sync_old NEW TABLE AS sync_new"}[event]
            op.execute(f"CREATE TRIGGER sync_touch_{event.lower()} AFTER {event} ON {child}"
                       f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION sync_touch_from_{child}()")


def _pg_downgrade() -> None:
    for child, _parent, _c, _p, events, _cols, _cond, _via in map(_touch, TOUCHES):
        for event in events:
            op.execute(f"DROP TRIGGER IF EXISTS sync_touch_{event.lower()} ON {child}")
        op.execute(f"DROP FUNCTION IF EXISTS sync_touch_from_{child}()")
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS sync_updated_at ON {table}")
    op.execute("DROP FUNCTION IF EXISTS sync_set_updated_at()")


# --- SQLite -----------------------------------------------------------------------------------------------------

def _sqlite_set_default(bind, table: str, old: str, new: str) -> None:
    """Change the default of `updated_at` in the table's schema text (no row is rewritten; every row holds its own
    value by then). SQLite documents this for changing a default; schema_version is bumped so every connection
    re-reads the schema."""
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (table,)).scalar_one()
    marker = f"updated_at DATETIME DEFAULT {old} NOT NULL"
    if marker not in sql:
        raise RuntimeError(f"{table}: cannot find {marker!r} in its schema")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                         (sql.replace(marker, f"updated_at DATETIME DEFAULT {new} NOT NULL"), table))
    bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _sqlite_target(r: str, parent_col: str, child_col: str, condition, via) -> str:
    """The parents of the child row `r` (NEW or OLD), as a condition on the parent table."""
    if via:
        table, via_child, via_parent = via
        parents = (f"(SELECT {via_parent} FROM {table} WHERE tenant_id = {r}.tenant_id"
                   f" AND {via_child} = {r}.{child_col})")
        return f"(tenant_id = {r}.tenant_id AND {parent_col} IN {parents})"
    return (f"(tenant_id = {r}.tenant_id AND {parent_col} = {r}.{child_col}"
            + (f" AND {condition.replace('r.', f'{r}.')}" if condition else "") + ")")


def _sqlite_touch_triggers():
    """(name, statement) of the row triggers touching parents."""
    for child, parent, child_col, parent_col, events, columns, condition, via in map(_touch, TOUCHES):
        for event in events:
            rows = ("NEW",) if event == "INSERT" else ("OLD",) if event == "DELETE" else ("NEW", "OLD")

            targets = " OR ".join(_sqlite_target(r, parent_col, child_col, condition, via) for r in rows)
            when = ""
            if event == "UPDATE" and columns is not None:
                when = " WHEN " + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)
            name = f"sync_touch_{child}_{event.lower()}"
            yield name, (f"CREATE TRIGGER {name} AFTER {event} ON {child}{when} BEGIN"
                         f" UPDATE {parent} SET updated_at = {SQLITE_NOW} WHERE {targets}; END")


def _sqlite_upgrade(bind) -> None:
    for table in TABLES:
        _sqlite_set_default(bind, table, SQLITE_EPOCH, SQLITE_NOW)
    for table in TABLES:
        # Only when the statement left updated_at alone (an explicit value wins, as on PostgreSQL).
        op.execute(f"CREATE TRIGGER sync_updated_at_{table} AFTER UPDATE ON {table}"
                   f" WHEN NEW.updated_at IS OLD.updated_at BEGIN"
                   f" UPDATE {table} SET updated_at = {SQLITE_NOW} WHERE id = NEW.id; END")
    for _name, statement in _sqlite_touch_triggers():
        op.execute(statement)


def _sqlite_downgrade(bind) -> None:
    for name, _statement in _sqlite_touch_triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS sync_updated_at_{table}")


# --- both -------------------------------------------------------------------------------------------------------

def upgrade():
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for table in TABLES:
        default = sa.text(SQLITE_EPOCH) if sqlite else sa.text("now()")
        op.add_column(table, sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                                       server_default=default))
        if sqlite:
            op.execute(f"UPDATE {table} SET updated_at = {SQLITE_NOW}")
        # PostgreSQL: ADD COLUMN ... DEFAULT now() fills every row with the migration's time already.
        op.create_index(_index_name(table), table, ["tenant_id", "updated_at", "id"])
    if sqlite:
        _sqlite_upgrade(bind)
    else:
        _pg_upgrade()


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite_downgrade(bind)
    else:
        _pg_downgrade()
    for table in TABLES:
        op.drop_index(_index_name(table), table_name=table)
        op.drop_column(table, "updated_at")
