"""Search at a million accounts: trigram and full-text indexes (pg_trgm, unaccent) and SQLite FTS5 (slot reserved: filled by the issue 15 work)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 21:00:00.000000
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
