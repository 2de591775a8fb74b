"""Notices of a changed sign-in address for the other logins of an account (issue 12 §4: the holder is told).

When a login's sign-in address changes, every other login to one of its accounts is shown a notice at its next
sign-in, as for a new online access: `access_notices.kind` takes 'address_changed'.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07 05:30:00.000000
"""
from alembic import op

revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None

NAME = "ck_access_notices_kind"


def _kinds(kinds: str) -> None:
    with op.batch_alter_table("access_notices") as batch:
        batch.drop_constraint(op.f(NAME), type_="check")
        batch.create_check_constraint(op.f(NAME), f"kind in ({kinds})")


def upgrade():
    _kinds("'access_created', 'email_changed', 'address_changed'")


def downgrade():
    op.execute("DELETE FROM access_notices WHERE kind = 'address_changed'")
    _kinds("'access_created', 'email_changed'")
