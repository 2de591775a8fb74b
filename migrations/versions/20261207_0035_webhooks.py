"""Webhooks: a tenant's subscriptions, the events recorded for them, their deliveries and attempts

- `webhook_subscriptions`: URL, event types listened to, signing secret sealed at rest (tenants/secrets.py),
  active or paused.
- `webhook_events`: one row per fact published (type, moment, the object as JSON text).
- `webhook_deliveries`: one per (subscription, event): pending, delivered or failed, attempts and next attempt.
- `webhook_attempts`: every attempt (moment, status code, capped excerpt of the answer, error, duration).
Row-level security as 0030 gave its table.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 00:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("webhook_subscriptions", "webhook_events", "webhook_deliveries", "webhook_attempts")
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None


def _tenant_columns():
    return [sa.Column('id', BIG_ID, autoincrement=True, nullable=False), sa.Column('tenant_id', BIG_ID, nullable=False)]


def _tenant_keys(table):
    return [
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f(f'fk_{table}_tenant_id_tenants'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{table}')),
        sa.UniqueConstraint('tenant_id', 'id', name=op.f(f'uq_{table}_tenant_id_id')),
    ]


def upgrade():
    op.create_table('webhook_subscriptions',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('secret_sealed', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    *_tenant_columns(),
    sa.CheckConstraint("status in ('active', 'paused')", name=op.f('ck_webhook_subscriptions_status')),
    *_tenant_keys('webhook_subscriptions'),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_webhook_subscriptions_tenant_id_public_id')),
    )
    op.create_index(op.f('ix_webhook_subscriptions_tenant_id_status'), 'webhook_subscriptions',
                    ['tenant_id', 'status'], unique=False)

    op.create_table('webhook_events',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    *_tenant_columns(),
    *_tenant_keys('webhook_events'),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_webhook_events_tenant_id_public_id')),
    )
    op.create_index(op.f('ix_webhook_events_tenant_id_occurred_at'), 'webhook_events',
                    ['tenant_id', 'occurred_at'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('subscription_id', BIG_ID, nullable=False),
    sa.Column('event_id', BIG_ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    *_tenant_columns(),
    sa.CheckConstraint("status in ('pending', 'delivered', 'failed')", name=op.f('ck_webhook_deliveries_status')),
    *_tenant_keys('webhook_deliveries'),
    sa.ForeignKeyConstraint(['tenant_id', 'subscription_id'],
                            ['webhook_subscriptions.tenant_id', 'webhook_subscriptions.id'],
                            name=op.f('fk_webhook_deliveries_tenant_id_subscription_id_webhook_subscriptions'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'event_id'], ['webhook_events.tenant_id', 'webhook_events.id'],
                            name=op.f('fk_webhook_deliveries_tenant_id_event_id_webhook_events'), ondelete='RESTRICT'),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_webhook_deliveries_tenant_id_public_id')),
    sa.UniqueConstraint('tenant_id', 'subscription_id', 'event_id',
                        name=op.f('uq_webhook_deliveries_tenant_id_subscription_id_event_id')),
    )
    op.create_index(op.f('ix_webhook_deliveries_tenant_id_subscription_id_id'), 'webhook_deliveries',
                    ['tenant_id', 'subscription_id', 'id'], unique=False)
    op.create_index(op.f('ix_webhook_deliveries_tenant_id_event_id'), 'webhook_deliveries',
                    ['tenant_id', 'event_id'], unique=False)

    op.create_table('webhook_attempts',
    sa.Column('delivery_id', BIG_ID, nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_excerpt', sa.Text(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    *_tenant_columns(),
    *_tenant_keys('webhook_attempts'),
    sa.ForeignKeyConstraint(['tenant_id', 'delivery_id'], ['webhook_deliveries.tenant_id', 'webhook_deliveries.id'],
                            name=op.f('fk_webhook_attempts_tenant_id_delivery_id_webhook_deliveries'),
                            ondelete='RESTRICT'),
    sa.UniqueConstraint('tenant_id', 'delivery_id', 'number',
                        name=op.f('uq_webhook_attempts_tenant_id_delivery_id_number')),
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
    op.drop_table('webhook_attempts')
    op.drop_index(op.f('ix_webhook_deliveries_tenant_id_event_id'), table_name='webhook_deliveries')
    op.drop_index(op.f('ix_webhook_deliveries_tenant_id_subscription_id_id'), table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
    op.drop_index(op.f('ix_webhook_events_tenant_id_occurred_at'), table_name='webhook_events')
    op.drop_table('webhook_events')
    op.drop_index(op.f('ix_webhook_subscriptions_tenant_id_status'), table_name='webhook_subscriptions')
    op.drop_table('webhook_subscriptions')
