"""Billing write path: fewer checks and index entries per bill, bill line and ledger entry

A billing run writes about a million bills, three million lines and a million ledger
entries per million contracts; every foreign key is a lookup (and a row lock) per row,
every index an entry per row. Dropped, because something else already guarantees it:
- the `tenant_id -> tenants` foreign keys of bills, bill_lines and ledger_entries: their
  composite keys `(tenant_id, account_id) -> customer_accounts` and `(tenant_id, bill_id)
  -> bills` only match a row of the same tenant, whose own key proves the tenant exists
  (and deleting a tenant is still refused while it has accounts);
- the `(tenant_id, id)` unique keys of bill_lines and ledger_entries: they exist for
  children to point at, and no table points at these two (the primary key keeps `id` unique);
- the full index on bills `(tenant_id, corrects_bill_id)` becomes partial: only credit notes
  and corrective bills have one, and lookups by it (foreign key checks included) never
  look for NULL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 04:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

NOT_NULL = "corrects_bill_id IS NOT NULL"


def upgrade():
    with op.batch_alter_table('bills', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_bills_tenant_id_tenants'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_bills_tenant_id_corrects_bill_id'))
        batch_op.create_index('ix_bills_tenant_id_corrects_bill_id', ['tenant_id', 'corrects_bill_id'], unique=False,
                              postgresql_where=sa.text(NOT_NULL), sqlite_where=sa.text(NOT_NULL))

    with op.batch_alter_table('bill_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_bill_lines_tenant_id_tenants'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_bill_lines_tenant_id_id'), type_='unique')

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_ledger_entries_tenant_id_tenants'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_ledger_entries_tenant_id_id'), type_='unique')


def downgrade():
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_ledger_entries_tenant_id_id'), ['tenant_id', 'id'])
        batch_op.create_foreign_key(batch_op.f('fk_ledger_entries_tenant_id_tenants'), 'tenants', ['tenant_id'], ['id'],
                                    ondelete='RESTRICT')

    with op.batch_alter_table('bill_lines', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_bill_lines_tenant_id_id'), ['tenant_id', 'id'])
        batch_op.create_foreign_key(batch_op.f('fk_bill_lines_tenant_id_tenants'), 'tenants', ['tenant_id'], ['id'],
                                    ondelete='RESTRICT')

    with op.batch_alter_table('bills', schema=None) as batch_op:
        batch_op.drop_index('ix_bills_tenant_id_corrects_bill_id', postgresql_where=sa.text(NOT_NULL),
                            sqlite_where=sa.text(NOT_NULL))
        batch_op.create_index(batch_op.f('ix_bills_tenant_id_corrects_bill_id'), ['tenant_id', 'corrects_bill_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_bills_tenant_id_tenants'), 'tenants', ['tenant_id'], ['id'],
                                    ondelete='RESTRICT')
