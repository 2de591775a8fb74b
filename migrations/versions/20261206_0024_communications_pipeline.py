"""The mail pipeline: messages and their delivery, failing addresses, notification preferences

- `messages`: every e-mail, recorded when queued in the transaction that caused it (kind, category, recipient,
  account / party, rendered subject and bodies, headers, attachment references), then its delivery: status queued /
  sending / sent / failed / skipped, attempts and next attempt (back-off), failure reason, Message-ID.
- `failing_addresses`: addresses a mail server refused for good (5xx), shown in the customer file until a mail to
  the address goes through.
- `notification_opt_outs`: the optional notification kinds a customer's online access switched off.
Row-level security on the three new tables as 0002 gave the others.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 17:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("messages", "failing_addresses", "notification_opt_outs")
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('failing_addresses',
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('failing_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failure_reason', sa.String(length=400), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_failing_addresses_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_failing_addresses')),
    sa.UniqueConstraint('tenant_id', 'address', name=op.f('uq_failing_addresses_tenant_id_address')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_failing_addresses_tenant_id_id'))
    )
    op.create_table('messages',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=80), nullable=True),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('account_id', BIG_ID, nullable=True),
    sa.Column('party_id', BIG_ID, nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('sender_name', sa.String(length=200), nullable=False),
    sa.Column('sender_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=400), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=True),
    sa.Column('headers', sa.JSON(), nullable=True),
    sa.Column('attachments', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failure_code', sa.String(length=16), nullable=True),
    sa.Column('failure_reason', sa.String(length=400), nullable=True),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.String(length=250), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("category in ('transactional', 'service', 'marketing')", name=op.f('ck_messages_category')),
    sa.CheckConstraint("status in ('queued', 'sending', 'sent', 'failed', 'skipped')", name=op.f('ck_messages_status')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['customer_accounts.tenant_id', 'customer_accounts.id'], name=op.f('fk_messages_tenant_id_account_id_customer_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'party_id'], ['parties.tenant_id', 'parties.id'], name=op.f('fk_messages_tenant_id_party_id_parties'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_messages_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_messages_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_messages_tenant_id_public_id')),
    sa.UniqueConstraint('tenant_id', 'kind', 'reference', name=op.f('uq_messages_tenant_id_kind_reference'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_tenant_id_account_id_queued_at'), ['tenant_id', 'account_id', 'queued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_tenant_id_party_id'), ['tenant_id', 'party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_tenant_id_status_next_attempt_at'), ['tenant_id', 'status', 'next_attempt_at'], unique=False)

    op.create_table('notification_opt_outs',
    sa.Column('customer_user_id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_user_id'], ['customer_users.tenant_id', 'customer_users.id'], name=op.f('fk_notification_opt_outs_tenant_id_customer_user_id_customer_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_notification_opt_outs_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_opt_outs')),
    sa.UniqueConstraint('tenant_id', 'customer_user_id', 'kind', name=op.f('uq_notification_opt_outs_tenant_id_customer_user_id_kind')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_notification_opt_outs_tenant_id_id'))
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
    op.drop_table('notification_opt_outs')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_tenant_id_status_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_messages_tenant_id_party_id'))
        batch_op.drop_index(batch_op.f('ix_messages_tenant_id_account_id_queued_at'))

    op.drop_table('messages')
    op.drop_table('failing_addresses')
