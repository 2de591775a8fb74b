"""(reserved slot for issue 16: webhooks; filled by its part)

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 00:00:00.000000
"""

revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
