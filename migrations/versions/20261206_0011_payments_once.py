"""Paying once: a card checkout's expiry, and the operator's demo flag that alone allows the sandbox in production

- `payments.expires_at`: when the provider's checkout session expires (Stripe's `expires_at`, the sandbox's own).
  A pending payment past it is shown as not completed and swept to cancelled, instead of "being confirmed" forever.
  The index serves the sweep (pending payments past expiry).
- `tenants.payments_demo`: set only by the platform operator (`flask tenants set-demo`); in production a tenant
  without Stripe keys may use the sandbox checkout only when this is true (a demo utility). False by default.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:45:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_payments_tenant_id_status_expires_at'),
                              ['tenant_id', 'status', 'expires_at'], unique=False)
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payments_demo', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('payments_demo')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_tenant_id_status_expires_at'))
        batch_op.drop_column('expires_at')
