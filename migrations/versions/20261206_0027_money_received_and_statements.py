"""Manual payments, refunds, write-offs, bank statements and their matching (slot reserved: filled by the issue 15 work)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 21:00:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
