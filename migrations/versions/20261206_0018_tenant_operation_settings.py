"""Tenant billing, readings, payment and mail settings (the administration area, issue 13 §2)

- `tenants`: billing frequencies offered and the default for new contracts, the readings' plausibility factor,
  the down-payment plans offered (frequencies and instalment counts), the payment methods offered, when the
  Stripe keys were set, the mail sender, the tenant's own SMTP server (password sealed like the Stripe keys) and
  when a test mail last went through. Every one is nullable: empty means the behaviour before this revision.
- `down_payment_plans.instalment_months`: months between two instalments (1, 2, 3 or 6), 1 for existing plans;
  the instalment count is 1 to 12 within the plan's year instead of 10 to 12 monthly.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 13:30:00.000000
"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

TENANT_COLUMNS = (
    ("billing_frequencies", sa.JSON()),
    ("default_billing_frequency", sa.String(16)),
    ("plausibility_factor", sa.Numeric(4, 1)),
    ("down_payment_options", sa.JSON()),
    ("payment_methods", sa.JSON()),
    ("stripe_keys_set_at", sa.DateTime(timezone=True)),
    ("mail_sender_name", sa.String(120)),
    ("mail_sender_address", sa.String(254)),
    ("smtp_host", sa.String(253)),
    ("smtp_port", sa.Integer()),
    ("smtp_security", sa.String(8)),
    ("smtp_username", sa.String(254)),
    ("smtp_password", sa.Text()),
    ("mail_tested_at", sa.DateTime(timezone=True)),
)


@contextmanager
def _sqlite_table_rebuild():
    """SQLite changes a CHECK constraint by rebuilding the table (batch mode: copy, drop, rename); with foreign keys
    enforced, dropping a table that other rows point at fails. They are off for the rebuild, as SQLite's own
    procedure for schema changes says, and checked afterwards (`PRAGMA foreign_key_check`)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        yield
        problems = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"foreign keys broken by the table rebuild: {problems[:5]}")
    finally:
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")


def upgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        for name, type_ in TENANT_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    with _sqlite_table_rebuild(), op.batch_alter_table('down_payment_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instalment_months', sa.Integer(), server_default='1', nullable=False))
        batch_op.drop_constraint(batch_op.f('ck_down_payment_plans_instalment_count'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_down_payment_plans_instalment_count'),
                                         'instalment_count between 1 and 12')
        batch_op.create_check_constraint(batch_op.f('ck_down_payment_plans_instalment_months'),
                                         'instalment_months in (1, 2, 3, 6)')
        batch_op.create_check_constraint(batch_op.f('ck_down_payment_plans_instalments_in_year'),
                                         'instalment_count * instalment_months <= 12')


def _plans_the_older_schema_cannot_hold() -> bool:
    """Whether any tenant has a plan other than 10 to 12 monthly instalments (tenant by tenant on PostgreSQL, where
    row-level security also applies to the tables' owner, as in 0014)."""
    bind = op.get_bind()
    query = sa.text("SELECT count(*) FROM down_payment_plans WHERE instalment_months <> 1 OR instalment_count < 10")
    if bind.dialect.name != "postgresql":
        return bool(bind.execute(query).scalar())
    bind.execute(sa.text("SELECT set_config('app.platform', 'on', true)"))
    tenant_ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM tenants ORDER BY id"))]
    bind.execute(sa.text("SELECT set_config('app.platform', '', true)"))
    found = False
    for tenant_id in tenant_ids:
        bind.execute(sa.text("SELECT set_config('app.tenant_id', :id, true)"), {"id": str(tenant_id)})
        found = found or bool(bind.execute(query).scalar())
    bind.execute(sa.text("SELECT set_config('app.tenant_id', '', true)"))
    return found


def downgrade():
    # The older schema holds only plans of 10 to 12 monthly instalments: refuse rather than lose the others.
    if _plans_the_older_schema_cannot_hold():
        raise RuntimeError("some down-payment plans are not 10 to 12 monthly instalments: "
                           "the schema before revision 0018 cannot hold them")
    with _sqlite_table_rebuild(), op.batch_alter_table('down_payment_plans', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_down_payment_plans_instalments_in_year'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_down_payment_plans_instalment_months'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_down_payment_plans_instalment_count'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_down_payment_plans_instalment_count'),
                                         'instalment_count between 10 and 12')
        batch_op.drop_column('instalment_months')
    if op.get_bind().dialect.name == "sqlite":  # SQLite drops a plain column in place: no rebuild of `tenants`
        for name, _type in reversed(TENANT_COLUMNS):
            op.execute(f"ALTER TABLE tenants DROP COLUMN {name}")
        return
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        for name, _type in reversed(TENANT_COLUMNS):
            batch_op.drop_column(name)
