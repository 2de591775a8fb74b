"""Row-level security on every tenant table, and the application role (PostgreSQL only)

The application connects as a role that owns no table and lacks BYPASSRLS; migrations
run as the owner. Every table with a tenant_id column gets RLS enabled and forced, with
one policy whose USING and WITH CHECK compare tenant_id with the transaction-local
setting app.tenant_id (empty when no tenant is set: then no row is visible or writable).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
import os
import re

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"


def _role() -> str:
    role = os.environ.get("APP_DB_ROLE", "utility_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"APP_DB_ROLE {role!r} is not a plain lower-case identifier")
    return role


def _tenant_tables(bind) -> list[str]:
    rows = bind.exec_driver_sql(
        "SELECT c.table_name FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE' "
        "ORDER BY c.table_name"
    )
    return [r[0] for r in rows]


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    role = _role()
    password = os.environ.get("APP_DB_PASSWORD")
    op.execute(f"""
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
          END IF;
        END $$;
    """)
    if password:
        bind.exec_driver_sql(f"ALTER ROLE {role} PASSWORD %s", (password,))
    op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    op.execute(f"REVOKE ALL ON alembic_version FROM {role}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}")
    for table in _tenant_tables(bind):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    role = _role()
    for table in _tenant_tables(bind):
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {role}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {role}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {role}")
    # The role itself is cluster-wide and may serve other databases: it is left in place.
