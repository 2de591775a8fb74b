"""Paying once: checkouts, card and direct debit (slot)

Reserved so that work done side by side keeps one linear history; empty until that work needs a schema change.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:45:00.000000
"""

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
