"""The values task titles and billing-exception details are made of (params, JSON), so the back office words them
in the staff member's language instead of showing the English text stored with them

Both columns are nullable: rows made before keep their English title or message, which stays the fallback.
No new table, so row-level security is unchanged.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 04:20:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))

    with op.batch_alter_table('billing_exceptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('billing_exceptions', schema=None) as batch_op:
        batch_op.drop_column('params')

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('params')
