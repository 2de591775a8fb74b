"""Task claiming, assignment and SLAs, reply templates, escalation, contact log (slot reserved: filled by the issue 15 work)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 21:00:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
