"""Import of a customer base: external references, import jobs

- `external_ref` on parties, customer accounts, premises, points of delivery, meters and contracts: the utility's
  own reference from its former system, unique per tenant when set; an import matches rows by it, so importing a
  file again changes nothing and a corrected file updates what changed.
- `meter_readings.imported`: a reading loaded from a history, one per register and day (partial unique index);
  its `tenant_id -> tenants` foreign key is dropped, as 0005 did for bill lines: `(tenant_id, register_id) ->
  registers` already proves the tenant, and a history of two years writes 24 readings per meter, each checking
  every key.
- `ledger_entries.opening_balance`: the balance carried over, one per account (partial unique index).
- `customer_imports` and `customer_import_chunks`: an import, checked as a whole, written chunk by chunk by the
  workers with its progress recorded. Row-level security as 0014 gives new tenant tables.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 13:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

NEW_TENANT_TABLES = ("customer_imports", "customer_import_chunks")
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
REFERENCED = ("parties", "customer_accounts", "premises", "delivery_points", "meters", "contracts")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    for table in REFERENCED:
        op.add_column(table, sa.Column('external_ref', sa.String(length=60), nullable=True))
        # Partial: a foreign-key check by (tenant_id, id) on a table not analysed yet must not pick it.
        op.create_index(op.f(f'ix_{table}_tenant_id_external_ref'), table, ['tenant_id', 'external_ref'],
                        unique=True, sqlite_where=sa.text('external_ref IS NOT NULL'),
                        postgresql_where=sa.text('external_ref IS NOT NULL'))
    op.add_column('meter_readings', sa.Column('imported', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_meter_readings_tenant_id_tenants'), type_='foreignkey')
    op.create_index('uq_meter_readings_imported_day', 'meter_readings', ['tenant_id', 'register_id', 'read_on'],
                    unique=True, sqlite_where=sa.text('imported'), postgresql_where=sa.text('imported'))
    op.add_column('ledger_entries', sa.Column('opening_balance', sa.Boolean(), server_default=sa.false(),
                                              nullable=False))
    op.create_index('uq_ledger_entries_opening_balance', 'ledger_entries', ['tenant_id', 'account_id'],
                    unique=True, sqlite_where=sa.text('opening_balance'),
                    postgresql_where=sa.text('opening_balance'))

    op.create_table('customer_imports',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=True),
    sa.Column('failure', sa.Text(), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("status in ('checking', 'invalid', 'importing', 'completed', 'failed')",
                       name=op.f('ck_customer_imports_status')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_customer_imports_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_imports')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_customer_imports_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_customer_imports_tenant_id_public_id')),
    )
    op.create_index(op.f('ix_customer_imports_tenant_id_created_at'), 'customer_imports',
                    ['tenant_id', 'created_at'], unique=False)
    op.create_table('customer_import_chunks',
    sa.Column('import_id', BIG_ID, nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('phase', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("status in ('pending', 'done', 'failed')", name=op.f('ck_customer_import_chunks_status')),
    sa.ForeignKeyConstraint(['tenant_id', 'import_id'], ['customer_imports.tenant_id', 'customer_imports.id'],
                            name=op.f('fk_customer_import_chunks_tenant_id_customer_imports'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_customer_import_chunks_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_import_chunks')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_customer_import_chunks_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'import_id', 'number',
                        name=op.f('uq_customer_import_chunks_tenant_id_import_id_number')),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.drop_table('customer_import_chunks')
    op.drop_index(op.f('ix_customer_imports_tenant_id_created_at'), table_name='customer_imports')
    op.drop_table('customer_imports')
    # Columns dropped in place (SQLite 3.35+ too): batch mode would copy and drop tables other tables point at.
    op.drop_index('uq_ledger_entries_opening_balance', table_name='ledger_entries')
    op.drop_column('ledger_entries', 'opening_balance')
    op.drop_index('uq_meter_readings_imported_day', table_name='meter_readings')
    op.drop_column('meter_readings', 'imported')
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_meter_readings_tenant_id_tenants'), 'tenants', ['tenant_id'],
                                    ['id'], ondelete='RESTRICT')
    for table in reversed(REFERENCED):
        op.drop_index(op.f(f'ix_{table}_tenant_id_external_ref'), table_name=table)
        op.drop_column(table, 'external_ref')
