"""Offers and tariffs: components, levies, names per locale, calorific zones

- `tariff_components`: a tariff version's standing charges of their own (per day, month or year), levies as a
  percentage of other lines, and taxes contained in gross prices ("of which"); row-level security as 0014.
- `unit_prices.description` (the line's key, optional) and `names` / `tariff_components.names` /
  `tariff_versions.standing_charge_names`: what customers read for each line, per locale (JSON {"fr": "..."}).
- Gas calorific zones: `delivery_points.calorific_zone` and `gas_calorific_values.zone` ("" for the utility's
  single zone: every existing value), one value per zone and date.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 13:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("tariff_components",)
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tariff_components',
    sa.Column('tariff_version_id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=6), nullable=False),
    sa.Column('per', sa.String(length=8), nullable=True),
    sa.Column('base', sa.String(length=255), nullable=True),
    sa.Column('tax_rate', sa.Numeric(precision=8, scale=5), nullable=False),
    sa.Column('names', sa.JSON(), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("kind in ('standing_charge', 'percent_levy', 'included_part')",
                       name=op.f('ck_tariff_components_kind')),
    sa.CheckConstraint("per is null or per in ('day', 'month', 'year')", name=op.f('ck_tariff_components_per')),
    sa.ForeignKeyConstraint(['tenant_id', 'tariff_version_id'], ['tariff_versions.tenant_id', 'tariff_versions.id'],
                            name=op.f('fk_tariff_components_tenant_id_tariff_version_id_tariff_versions'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tariff_components_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tariff_components')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_tariff_components_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'tariff_version_id', 'code',
                        name=op.f('uq_tariff_components_tenant_id_tariff_version_id_code'))
    )
    with op.batch_alter_table('delivery_points', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calorific_zone', sa.String(length=40), nullable=True))
    with op.batch_alter_table('gas_calorific_values', schema=None) as batch_op:
        batch_op.add_column(sa.Column('zone', sa.String(length=40), server_default='', nullable=False))
        batch_op.drop_constraint(batch_op.f('uq_gas_calorific_values_tenant_id_effective_from'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_gas_calorific_values_tenant_id_zone_effective_from'),
                                          ['tenant_id', 'zone', 'effective_from'])
    with op.batch_alter_table('tariff_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('standing_charge_names', sa.JSON(), nullable=True))
    with op.batch_alter_table('unit_prices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('names', sa.JSON(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy of a table other rows point at fails under foreign keys.
    op.drop_column('unit_prices', 'names')
    op.drop_column('unit_prices', 'description')
    op.drop_column('tariff_versions', 'standing_charge_names')
    with op.batch_alter_table('gas_calorific_values', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_gas_calorific_values_tenant_id_zone_effective_from'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_gas_calorific_values_tenant_id_effective_from'),
                                          ['tenant_id', 'effective_from'])
        batch_op.drop_column('zone')
    op.drop_column('delivery_points', 'calorific_zone')
    op.drop_table('tariff_components')
