"""The customer file's contact log: calls, letters and visits recorded by staff

- `contact_log_entries`: one row per contact staff recorded on a customer account (channel, direction, optional
  subject, note, who and when); the customer file lists them with the e-mails sent (messages) as one timeline.
Row-level security as 0025 gave its tables.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 21:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("contact_log_entries",)
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('contact_log_entries',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_user_id', BIG_ID, nullable=True),
    sa.Column('staff_name', sa.String(length=255), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("channel in ('phone', 'letter', 'visit')", name=op.f('ck_contact_log_entries_channel')),
    sa.CheckConstraint("direction in ('inbound', 'outbound')", name=op.f('ck_contact_log_entries_direction')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['customer_accounts.tenant_id', 'customer_accounts.id'], name=op.f('fk_contact_log_entries_tenant_id_account_id_customer_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_contact_log_entries_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_log_entries')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_contact_log_entries_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_contact_log_entries_tenant_id_public_id'))
    )
    with op.batch_alter_table('contact_log_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_log_entries_tenant_id_account_id_occurred_at'),
                              ['tenant_id', 'account_id', 'occurred_at'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    with op.batch_alter_table('contact_log_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_log_entries_tenant_id_account_id_occurred_at'))
    op.drop_table('contact_log_entries')
