"""Readings in bulk through the API (issue 16 §2): the readings index covers what a batch weighs a reading on.

A batch of 10,000 readings reads, per register, its valid actual indexes over the last two years and its stored
readings of the day. With value, status and source (and id, the tie-break of a day) carried in the index on
(tenant_id, register_id, read_on), PostgreSQL answers from the index alone (an index-only scan) instead of
visiting a table row per reading. Same key, so every query using the index before still does; SQLite has no
INCLUDE and keeps the plain index.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 00:00:00.000000
"""
from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

INDEX = "ix_meter_readings_tenant_id_register_id_read_on"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(INDEX, table_name="meter_readings")
    op.create_index(INDEX, "meter_readings", ["tenant_id", "register_id", "read_on"],
                    postgresql_include=["value", "status", "source", "id"])


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(INDEX, table_name="meter_readings")
    op.create_index(INDEX, "meter_readings", ["tenant_id", "register_id", "read_on"])
