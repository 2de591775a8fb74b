"""Platform hardening: tenant secrets encrypted at rest (slot)

Reserved so that work done side by side keeps one linear history; empty until that work needs a schema change.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:45:00.000000
"""

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
