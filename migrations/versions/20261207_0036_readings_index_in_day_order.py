"""Readings in bulk: the readings index orders a register's readings of one day by id too.

A batch weighs each register on its actual readings in (read_on, id) order, the order the billing engine reads
them in. With id a key column of the index on (tenant_id, register_id, read_on) instead of a carried one, that is
the index's own order: PostgreSQL reads them presorted instead of sorting every register's readings (a tenth of a
batch's database time). Every query using the index before still does (same leading columns, same covered columns
on PostgreSQL).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 05:00:00.000000
"""
from alembic import op

revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None

INDEX = "ix_meter_readings_tenant_id_register_id_read_on"


def _create(columns, include):
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(INDEX, "meter_readings", columns, postgresql_include=include)
    else:
        op.create_index(INDEX, "meter_readings", columns)


def upgrade():
    op.drop_index(INDEX, table_name="meter_readings")
    _create(["tenant_id", "register_id", "read_on", "id"], ["value", "status", "source"])


def downgrade():
    op.drop_index(INDEX, table_name="meter_readings")
    if op.get_bind().dialect.name == "postgresql":
        _create(["tenant_id", "register_id", "read_on"], ["value", "status", "source", "id"])
    else:
        op.create_index(INDEX, "meter_readings", ["tenant_id", "register_id", "read_on"])
