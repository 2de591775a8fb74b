"""Platform console: the go-live switch and exports of a utility's whole data

- `tenants.live_at`: when the administrator opened the portal (tenants/go_live.py). A tenant without it shows a
  "coming soon" page on its portal while its back office works. Every tenant that exists already serves its
  customers, so it is live from its creation here; tenants created from now on start not live.
- `bills (tenant_id, issued_at)`: the console counts each utility's bills issued this month from this index.
- `tenant_exports`: the exports an operator asked for from the console (a job writes the ZIP to the tenant's
  storage). A tenant table: row-level security enabled, forced and with its policy, as 0014 gave the others.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 13:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

NEW_TENANT_TABLES = ("tenant_exports",)
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"


def upgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('live_at', sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:  # `tenants` is under row-level security: the platform's named escape hatch
        bind.execute(sa.text("SELECT set_config('app.platform', 'on', true)"))
    bind.execute(sa.text("UPDATE tenants SET live_at = created_at WHERE live_at IS NULL"))
    if postgresql:
        bind.execute(sa.text("SELECT set_config('app.platform', '', true)"))

    op.create_table('tenant_exports',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=255), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('storage_key', sa.String(length=255), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('total_rows', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.CheckConstraint("status in ('pending', 'running', 'done', 'failed')", name=op.f('ck_tenant_exports_status')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_exports_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_exports')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_tenant_exports_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_tenant_exports_tenant_id_public_id'))
    )
    # The console counts each utility's bills issued this month: a range on issued_at within the tenant.
    op.create_index(op.f('ix_bills_tenant_id_issued_at'), 'bills', ['tenant_id', 'issued_at'], unique=False)
    if postgresql:
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.drop_table('tenant_exports')
    op.drop_index(op.f('ix_bills_tenant_id_issued_at'), table_name='bills')
    # Not a batch: on SQLite a batch rebuilds `tenants`, which every tenant table references (foreign keys on);
    # SQLite 3.35+ drops a column in place.
    op.drop_column('tenants', 'live_at')
