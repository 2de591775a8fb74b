"""Platform console: suspension of jobs, data export

(Slot reserved for this change; it changes nothing until filled.)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 13:30:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
