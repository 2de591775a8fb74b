"""(reserved slot for issue 16: interval data and exchanges; filled by its part)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 00:00:00.000000
"""

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
