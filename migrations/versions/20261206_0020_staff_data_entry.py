"""Staff data entry: customers, meters, contracts, readings on behalf, meter exchanges

- `meter_readings.entered_by_staff_id`: the staff member who entered a reading on the customer's behalf (given on
  the phone, or a meter reader's) or at a meter's installation or removal; empty for the customer's own readings
  in the portal, smart meters and estimates. The audit trail also records the author of every change.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 13:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entered_by_staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.drop_column('entered_by_staff_id')
