"""The customer file's contact log: calls, letters and visits recorded by staff (slot reserved: filled by the issue 15 work)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 21:00:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
