"""The mail pipeline: messages and their delivery, failing addresses, notification preferences (slot reserved: filled by the communications pipeline work)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 17:30:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
