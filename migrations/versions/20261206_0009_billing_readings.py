"""Billing runs regularise from the latest actual reading (slot of the billing engine and runs work)

Reserved so that work done side by side keeps one linear history; empty until that work needs a schema change.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:45:00.000000
"""

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
