"""Platform hardening: tenants' secrets sealed at rest; the application role reads only its own tenant's row

1. `tenants.stripe_secret_key` and `tenants.stripe_webhook_secret` hold Fernet tokens (tenants/secrets.py, key
   from SECRETS_KEY) instead of clear text: the columns become TEXT (a token is about twice the secret's length)
   and every value already stored is sealed here. Downgrade opens them again (it needs the same key).
2. PostgreSQL only: row-level security on `tenants`. The application role sees the row of the tenant set in
   `app.tenant_id`, or every row inside the platform's named escape hatch (`app.platform`, set by the guard in
   `platform_scope`); with no tenant set, `SELECT * FROM tenants` returns nothing. A request finds the tenant
   of its host through `tenant_for_host(slug, custom_domain)`, a SECURITY DEFINER function owned by the schema
   owner that returns at most the one row that host names. RLS is enabled but not forced: the owner (this
   migration, that function, the test suite's clean-up) reads the table whole, and the application role, which
   owns no table, is always subject to it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:45:00.000000
"""
import os
import re

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

POLICY = "tenant_own_row"
EXPRESSION = ("id = NULLIF(current_setting('app.tenant_id', true), '')::bigint "
              "OR current_setting('app.platform', true) = 'on'")
SECRET_COLUMNS = ("stripe_secret_key", "stripe_webhook_secret")


def _role() -> str:
    role = os.environ.get("APP_DB_ROLE", "utility_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"APP_DB_ROLE {role!r} is not a plain lower-case identifier")
    return role


def _rewrite_secrets(transform) -> None:
    bind = op.get_bind()
    columns = ", ".join(SECRET_COLUMNS)
    rows = bind.execute(sa.text(f"SELECT id, {columns} FROM tenants")).all()
    for row in rows:
        values = {name: transform(getattr(row, name)) for name in SECRET_COLUMNS}
        if any(values[name] != getattr(row, name) for name in SECRET_COLUMNS):
            assignments = ", ".join(f"{name} = :{name}" for name in SECRET_COLUMNS)
            bind.execute(sa.text(f"UPDATE tenants SET {assignments} WHERE id = :id"), {**values, "id": row.id})


def upgrade():
    from tenants.secrets import reseal

    with op.batch_alter_table('tenants', schema=None) as batch_op:
        for name in SECRET_COLUMNS:
            batch_op.alter_column(name, existing_type=sa.String(length=255), type_=sa.Text(), existing_nullable=True)
    _rewrite_secrets(reseal)  # clear text is sealed; a value sealed already is left as it is (re-sealed)

    if op.get_bind().dialect.name != "postgresql":
        return
    role = _role()
    op.execute("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
    op.execute(f"DROP POLICY IF EXISTS {POLICY} ON tenants")
    op.execute(f"CREATE POLICY {POLICY} ON tenants USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")
    op.execute("""
        CREATE OR REPLACE FUNCTION tenant_for_host(host_slug text, host_custom_domain text)
        RETURNS SETOF tenants
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = public, pg_temp
        AS $$
          SELECT * FROM tenants
          WHERE (host_slug IS NOT NULL AND slug = host_slug)
             OR (host_slug IS NULL AND host_custom_domain IS NOT NULL AND custom_domain = host_custom_domain)
          LIMIT 1
        $$
    """)
    op.execute("REVOKE ALL ON FUNCTION tenant_for_host(text, text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION tenant_for_host(text, text) TO {role}")


def downgrade():
    from tenants.secrets import is_sealed, open_sealed

    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS tenant_for_host(text, text)")
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON tenants")
        op.execute("ALTER TABLE tenants DISABLE ROW LEVEL SECURITY")
    _rewrite_secrets(lambda value: open_sealed(value) if is_sealed(value) else value)
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        for name in SECRET_COLUMNS:
            batch_op.alter_column(name, existing_type=sa.Text(), type_=sa.String(length=255), existing_nullable=True)
