"""Tenant billing, readings, payment and mail settings

(Slot reserved for this change; it changes nothing until filled.)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 13:30:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
