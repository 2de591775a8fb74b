"""Staff data entry: customers, meters, contracts, readings on behalf, meter exchanges

(Slot reserved for this change; it changes nothing until filled.)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 13:30:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
