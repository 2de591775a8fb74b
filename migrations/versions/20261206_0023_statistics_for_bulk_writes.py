"""PostgreSQL only: `refresh_statistics(tables)`, for bulk writes into tables their statistics still call empty

An import writes thousands of rows per transaction into tables that were empty a moment before. Until they are
analysed (autovacuum comes a minute or more later) the planner sees them as empty and checks each foreign key
into them through any index that starts with `tenant_id`, reading the tenant's every row per row inserted: a
chunk's cost grows with the table. The application role owns no table and may not ANALYZE; this function,
owned by the schema owner, analyses those of the named tables (a fixed list: the import's parents) whose
statistics count fewer than 10,000 rows, and returns the ones it analysed. On a table already analysed as
large it does nothing, so calling it once per chunk costs a catalogue read.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 17:20:00.000000
"""
import os
import re

from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

TABLES = ("parties", "customer_accounts", "premises", "delivery_points", "meters", "registers", "contracts")


def _role() -> str:
    role = os.environ.get("APP_DB_ROLE", "utility_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"APP_DB_ROLE {role!r} is not a plain lower-case identifier")
    return role


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    allowed = ", ".join(f"'{name}'" for name in TABLES)
    op.execute(f"""
        CREATE OR REPLACE FUNCTION refresh_statistics(tables text[])
        RETURNS text[]
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER
        SET search_path = public, pg_temp
        AS $$
        DECLARE
          name text;
          analysed text[] := ARRAY[]::text[];
        BEGIN
          FOREACH name IN ARRAY tables LOOP
            IF name IN ({allowed}) AND (SELECT reltuples FROM pg_class
                                        WHERE oid = to_regclass('public.' || quote_ident(name))) < 10000 THEN
              EXECUTE format('ANALYZE public.%I', name);
              analysed := analysed || name;
            END IF;
          END LOOP;
          RETURN analysed;
        END
        $$
    """)
    op.execute("REVOKE ALL ON FUNCTION refresh_statistics(text[]) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION refresh_statistics(text[]) TO {_role()}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS refresh_statistics(text[])")
