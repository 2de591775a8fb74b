"""Gas calorific values with effective dates; contracts where the customer prevented readings

`gas_calorific_values`: the tenant's gas calorific value (MJ/m3) in force from a date until the next one, so the
engine converts each part of a period with the value in force then and re-billing a past period uses that
period's values (before a tenant's first dated value, its `tenants.gas_calorific_value` setting is in force).
A tenant table: composite key, unique (tenant_id, effective_from), row-level security like 0002/0006.

`contracts.readings_prevented_from` / `readings_prevented_reason`: set by billing staff when the customer
prevented readings from that day; the back-billing limit then does not hold back consumption from that day on.
Both set or both empty (check constraint).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:45:00.000000
"""
from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("gas_calorific_values",)
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'gas_calorific_values',
        sa.Column('effective_from', sa.Date(), nullable=False),
        sa.Column('value', sa.Numeric(precision=8, scale=4), nullable=False),
        sa.Column('recorded_by', sa.String(length=255), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.CheckConstraint('value > 0', name=op.f('ck_gas_calorific_values_value_positive')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_gas_calorific_values_tenant_id_tenants'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_gas_calorific_values')),
        sa.UniqueConstraint('tenant_id', 'effective_from',
                            name=op.f('uq_gas_calorific_values_tenant_id_effective_from')),
        sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_gas_calorific_values_tenant_id_id')),
    )
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('readings_prevented_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('readings_prevented_reason', sa.String(length=500), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_contracts_readings_prevented'), "(readings_prevented_from is null) = (readings_prevented_reason is null)")

    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_contracts_readings_prevented'), type_='check')
        batch_op.drop_column('readings_prevented_reason')
        batch_op.drop_column('readings_prevented_from')
    op.drop_table('gas_calorific_values')
