"""(reserved slot for issue 16: change times for sync; filled by its part)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 00:00:00.000000
"""

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
