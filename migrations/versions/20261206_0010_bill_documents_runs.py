"""Bill documents fixed at issue; billing runs that finish by themselves (slot)

Reserved so that work done side by side keeps one linear history; empty until that work needs a schema change.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 10:45:00.000000
"""

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
