"""Pages in the customer's locale, confirmations (slot)

Reserved so that work done side by side keeps one linear history; empty until that work needs a schema change.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 10:45:00.000000
"""

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
