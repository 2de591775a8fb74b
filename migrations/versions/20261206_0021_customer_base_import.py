"""Import of a customer base: external references, import jobs

(Slot reserved for this change; it changes nothing until filled.)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 13:30:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
