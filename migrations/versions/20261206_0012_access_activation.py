"""Online access that cannot be taken over: activation codes, lock-outs (slot)

Reserved so that work done side by side keeps one linear history; empty until that work needs a schema change.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 10:45:00.000000
"""

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
