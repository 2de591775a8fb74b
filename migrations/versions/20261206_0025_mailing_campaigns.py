"""Mailing campaigns: segments, templates per locale, recipients recorded once, unsubscribes

- `campaigns`: a mailing (marketing or service information) to a segment (criteria as JSON), its status and counts.
- `campaign_templates`: what it says per locale (subject, text, optional HTML), written by staff.
- `campaign_recipients`: one row per (campaign, customer account), written before anything is sent; the unique key
  is what makes a second message to the same recipient impossible. Workers claim pending rows in order.
- `marketing_opt_outs`: accounts that unsubscribed in one click (with or without an online access).
Row-level security on the four tables as 0022 gave the others.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 17:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("campaigns", "campaign_templates", "campaign_recipients", "marketing_opt_outs")
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaigns',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recipient_count', sa.Integer(), nullable=False),
    sa.Column('skipped_count', sa.Integer(), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("purpose in ('marketing', 'service')", name=op.f('ck_campaigns_purpose')),
    sa.CheckConstraint("status in ('draft', 'scheduled', 'sending', 'paused', 'cancelled', 'completed')", name=op.f('ck_campaigns_status')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_campaigns_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_campaigns_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_campaigns_tenant_id_public_id'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_tenant_id_created_at'), ['tenant_id', 'created_at'], unique=False)

    op.create_table('campaign_templates',
    sa.Column('campaign_id', BIG_ID, nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_campaign_templates_tenant_id_campaign_id_campaigns'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_campaign_templates_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_templates')),
    sa.UniqueConstraint('tenant_id', 'campaign_id', 'locale', name=op.f('uq_campaign_templates_tenant_id_campaign_id_locale')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_campaign_templates_tenant_id_id'))
    )
    op.create_table('campaign_recipients',
    sa.Column('campaign_id', BIG_ID, nullable=False),
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('account_number', sa.String(length=20), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("status in ('pending', 'sending', 'sent', 'failed', 'skipped')", name=op.f('ck_campaign_recipients_status')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['customer_accounts.tenant_id', 'customer_accounts.id'], name=op.f('fk_campaign_recipients_tenant_id_account_id_customer_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_campaign_recipients_tenant_id_campaign_id_campaigns'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_campaign_recipients_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_recipients')),
    sa.UniqueConstraint('tenant_id', 'campaign_id', 'account_id', name=op.f('uq_campaign_recipients_tenant_id_campaign_id_account_id')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_campaign_recipients_tenant_id_id'))
    )
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_recipients_tenant_id_account_id'), ['tenant_id', 'account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_recipients_tenant_id_campaign_id_status_id'), ['tenant_id', 'campaign_id', 'status', 'id'], unique=False)

    op.create_table('marketing_opt_outs',
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('campaign_id', BIG_ID, nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['customer_accounts.tenant_id', 'customer_accounts.id'], name=op.f('fk_marketing_opt_outs_tenant_id_account_id_customer_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_marketing_opt_outs_tenant_id_campaign_id_campaigns'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_marketing_opt_outs_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marketing_opt_outs')),
    sa.UniqueConstraint('tenant_id', 'account_id', name=op.f('uq_marketing_opt_outs_tenant_id_account_id')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_marketing_opt_outs_tenant_id_id'))
    )
    with op.batch_alter_table('marketing_opt_outs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_marketing_opt_outs_tenant_id_campaign_id'), ['tenant_id', 'campaign_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    with op.batch_alter_table('marketing_opt_outs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_marketing_opt_outs_tenant_id_campaign_id'))

    op.drop_table('marketing_opt_outs')
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_recipients_tenant_id_campaign_id_status_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_recipients_tenant_id_account_id'))

    op.drop_table('campaign_recipients')
    op.drop_table('campaign_templates')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_tenant_id_created_at'))

    op.drop_table('campaigns')
