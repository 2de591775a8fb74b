"""Online access that cannot be taken over: activation lock-outs, notices to the holder, single-use codes

- `activation_guards`: failed attempts to prove a customer number (activation, adding an account) per tenant and
  number as typed, and the lock-out staff lift from the customer file. Keyed by the typed number, not by an
  account, so an unknown number locks like a known one and the lock-out reveals no customer number.
- `access_notices`: what a login's owner is told once at their next sign-in (a new online access to one of
  their accounts, a change of their sign-in address).
- `email_verifications.code_hash`: the SHA-256 of the activation code a link was asked with, so following the
  link uses the code up (single use) and a code renewed by staff meanwhile voids the link.
New tenant tables get the same row-level security as 0002 gave the others.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 10:45:00.000000
"""
from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("activation_guards", "access_notices")
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('activation_guards',
    sa.Column('account_number', sa.String(length=20), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('latest_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', _ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_activation_guards_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activation_guards')),
    sa.UniqueConstraint('tenant_id', 'account_number', name=op.f('uq_activation_guards_tenant_id_account_number')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_activation_guards_tenant_id_id'))
    )
    op.create_table('access_notices',
    sa.Column('customer_user_id', _ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('account_number', sa.String(length=20), nullable=True),
    sa.Column('email_masked', sa.String(length=254), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shown_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', _ID, nullable=False),
    sa.CheckConstraint("kind in ('access_created', 'email_changed')", name=op.f('ck_access_notices_kind')),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_user_id'], ['customer_users.tenant_id', 'customer_users.id'], name=op.f('fk_access_notices_tenant_id_customer_user_id_customer_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_access_notices_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_notices')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_access_notices_tenant_id_id'))
    )
    with op.batch_alter_table('access_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_notices_tenant_id_customer_user_id'), ['tenant_id', 'customer_user_id'], unique=False)

    with op.batch_alter_table('email_verifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code_hash', sa.String(length=64), nullable=True))

    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    with op.batch_alter_table('email_verifications', schema=None) as batch_op:
        batch_op.drop_column('code_hash')

    with op.batch_alter_table('access_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_notices_tenant_id_customer_user_id'))

    op.drop_table('access_notices')
    op.drop_table('activation_guards')
