"""(reserved slot for issue 16: api keys and calls; filled by its part)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 00:00:00.000000
"""

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
