"""(reserved slot for issue 16: readings api; filled by its part)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 00:00:00.000000
"""

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
