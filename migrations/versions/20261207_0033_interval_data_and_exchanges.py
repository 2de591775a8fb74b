"""Interval (half-hourly) data of smart meters, one row per register and day

- `interval_days`: a register's values over one day in the tenant's time zone, packed as thousandths in a binary
  column (4 or 8 bytes each, exact; domain/readings/interval_checks.py), with the day's total, the number and
  length of the intervals, the source and when it was received. Unique per (tenant, register, day): sending a day
  again replaces it.
Meter exchanges through the API reuse the existing tables (meter installations, meters, registers, readings).
Row-level security as 0030 gave its tables.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 00:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("interval_days",)
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('interval_days',
    sa.Column('register_id', BIG_ID, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('interval_minutes', sa.Integer(), nullable=False),
    sa.Column('interval_count', sa.Integer(), nullable=False),
    sa.Column('packed_values', sa.LargeBinary(), nullable=False),
    sa.Column('total', sa.Numeric(precision=16, scale=3), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("interval_minutes in (15, 30, 60)", name=op.f('ck_interval_days_interval_minutes')),
    sa.CheckConstraint("interval_count > 0", name=op.f('ck_interval_days_interval_count')),
    sa.CheckConstraint("total >= 0", name=op.f('ck_interval_days_total_positive')),
    sa.CheckConstraint("source in ('smart_meter', 'estimated')", name=op.f('ck_interval_days_source')),
    sa.ForeignKeyConstraint(['tenant_id', 'register_id'], ['registers.tenant_id', 'registers.id'], name=op.f('fk_interval_days_tenant_id_register_id_registers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_interval_days_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interval_days')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_interval_days_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'register_id', 'day', name=op.f('uq_interval_days_tenant_id_register_id_day'))
    )

    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.drop_table('interval_days')
