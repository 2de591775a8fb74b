"""API keys of a tenant's other systems, the log of their calls, answers kept for idempotent retries

- `api_keys`: created by a tenant administrator; the token's secret stored as its SHA-256 only; scopes, a rate
  limit per minute, an optional expiry, revocation (who, when).
- `api_calls`: one row per call (key, method, route template, status, duration, error code), kept 90 days.
- `api_idempotent_answers`: the first answer to a call made with an `Idempotency-Key`, kept 24 hours.
Row-level security as 0030 gave its table.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 00:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("api_keys", "api_calls", "api_idempotent_answers")
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def _tenant_fk(table: str):
    return sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f(f'fk_{table}_tenant_id_tenants'),
                                   ondelete='RESTRICT')


def _key_fk(table: str):
    return sa.ForeignKeyConstraint(['tenant_id', 'api_key_id'], ['api_keys.tenant_id', 'api_keys.id'],
                                   name=op.f(f'fk_{table}_tenant_id_api_key_id_api_keys'), ondelete='RESTRICT')


def upgrade():
    op.create_table('api_keys',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('rate_limit_per_minute', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_staff_id', BIG_ID, nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_staff_id', BIG_ID, nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint('rate_limit_per_minute > 0', name=op.f('ck_api_keys_rate_limit_positive')),
    _tenant_fk('api_keys'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_api_keys_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_api_keys_tenant_id_public_id')),
    sa.UniqueConstraint('tenant_id', 'key_id', name=op.f('uq_api_keys_tenant_id_key_id')),
    )
    op.create_table('api_calls',
    sa.Column('api_key_id', BIG_ID, nullable=False),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('endpoint', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    _key_fk('api_calls'),
    _tenant_fk('api_calls'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_calls')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_api_calls_tenant_id_id')),
    )
    with op.batch_alter_table('api_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_calls_tenant_id_called_at'), ['tenant_id', 'called_at'])
        batch_op.create_index(batch_op.f('ix_api_calls_tenant_id_api_key_id_called_at'),
                              ['tenant_id', 'api_key_id', 'called_at'])
    op.create_table('api_idempotent_answers',
    sa.Column('api_key_id', BIG_ID, nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    _key_fk('api_idempotent_answers'),
    _tenant_fk('api_idempotent_answers'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotent_answers')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_api_idempotent_answers_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'api_key_id', 'idempotency_key',
                        name=op.f('uq_api_idempotent_answers_tenant_id_api_key_id_idempotency_key')),
    )
    with op.batch_alter_table('api_idempotent_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_idempotent_answers_tenant_id_created_at'),
                              ['tenant_id', 'created_at'])

    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.drop_table('api_idempotent_answers')
    op.drop_table('api_calls')
    op.drop_table('api_keys')
