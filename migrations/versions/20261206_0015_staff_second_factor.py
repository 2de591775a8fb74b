"""Staff and operators' second factor (TOTP) and recovery codes

- `staff_second_factors` / `operator_second_factors`: one per user, the TOTP secret sealed at rest (Fernet,
  tenants/secrets.py), when the enrolment was confirmed, and the latest 30-second time step used (a code is never
  accepted twice).
- `staff_recovery_codes` / `operator_recovery_codes`: SHA-256 digests of the recovery codes, each used once.
The staff tables are tenant tables: composite keys with tenant_id, row-level security as 0002 gave the others.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 13:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("staff_second_factors", "staff_recovery_codes")
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_second_factors',
    sa.Column('staff_user_id', ID, nullable=False),
    sa.Column('secret_sealed', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('latest_used_step', sa.BigInteger(), nullable=True),
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'staff_user_id'], ['staff_users.tenant_id', 'staff_users.id'],
                            name=op.f('fk_staff_second_factors_tenant_id_staff_user_id_staff_users'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_staff_second_factors_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_second_factors')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_staff_second_factors_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'staff_user_id', name=op.f('uq_staff_second_factors_tenant_id_staff_user_id'))
    )
    op.create_table('staff_recovery_codes',
    sa.Column('staff_user_id', ID, nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'staff_user_id'], ['staff_users.tenant_id', 'staff_users.id'],
                            name=op.f('fk_staff_recovery_codes_tenant_id_staff_user_id_staff_users'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_staff_recovery_codes_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_recovery_codes')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_staff_recovery_codes_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'staff_user_id', 'code_hash',
                        name=op.f('uq_staff_recovery_codes_tenant_id_staff_user_id_code_hash'))
    )
    op.create_table('operator_second_factors',
    sa.Column('operator_id', ID, nullable=False),
    sa.Column('secret_sealed', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('latest_used_step', sa.BigInteger(), nullable=True),
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['platform_operators.id'],
                            name=op.f('fk_operator_second_factors_operator_id_platform_operators'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_second_factors')),
    sa.UniqueConstraint('operator_id', name=op.f('uq_operator_second_factors_operator_id'))
    )
    op.create_table('operator_recovery_codes',
    sa.Column('operator_id', ID, nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['platform_operators.id'],
                            name=op.f('fk_operator_recovery_codes_operator_id_platform_operators'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_recovery_codes')),
    sa.UniqueConstraint('operator_id', 'code_hash', name=op.f('uq_operator_recovery_codes_operator_id_code_hash'))
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
    op.drop_table('operator_recovery_codes')
    op.drop_table('operator_second_factors')
    op.drop_table('staff_recovery_codes')
    op.drop_table('staff_second_factors')
