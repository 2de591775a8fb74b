"""Mailing campaigns: segments, templates per locale, recipients recorded once, unsubscribes (slot reserved: filled by the campaigns work)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 17:30:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
