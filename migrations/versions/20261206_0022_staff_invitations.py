"""Staff invitations: a single-use link to set a password (and enrol the second factor)

(Slot reserved for this change; it changes nothing until filled.)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 13:30:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
