"""Manual payments, refunds, write-offs, bank statements and their matching

- `manual_payments`: who recorded a payment received by cheque, cash or transfer, and the day it arrived (the money
  and its reference are the Payment row: provider "manual", unique per tenant, so a reference is recorded once).
- `credit_refunds`: credit paid back to the customer's bank account, proposed then decided by another person.
- `write_offs` and `write_off_lines`: bad debt given up on bills, proposed then decided by another person; the
  approval posts a payment of method "write_off" that settles the bills (payments' method check widened).
- `bank_statements` and `statement_entries`: camt.053 and CSV statements imported once (statement id per bank
  account; an entry once per bank account), each entry matched, returned, ignored or not ours.
A check on write-offs and refunds refuses a decision by the proposer. Row-level security on the new tables as 0025.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 21:00:00.000000
"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("manual_payments", "credit_refunds", "write_offs", "write_off_lines", "bank_statements",
                     "statement_entries")
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
OLD_METHODS = "method in ('card', 'direct_debit', 'transfer', 'cash', 'cheque')"
NEW_METHODS = "method in ('card', 'direct_debit', 'transfer', 'cash', 'cheque', 'write_off')"

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


@contextmanager
def _sqlite_foreign_keys_off():
    """SQLite alters a table by copying it and dropping the old one, which rows pointing at it would refuse while
    foreign keys are enforced; the copy keeps every id, so they are off for the copy only (as in 0022)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    if bind.connection.dbapi_connection.in_transaction:
        bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        if bind.connection.dbapi_connection.in_transaction:
            bind.exec_driver_sql("COMMIT")
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")


def _payment_methods(expression: str) -> None:
    with _sqlite_foreign_keys_off(), op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payments_method'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payments_method'), expression)


def upgrade():
    op.create_table('bank_statements',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('statement_ref', sa.String(length=35), nullable=False),
    sa.Column('message_ref', sa.String(length=35), nullable=True),
    sa.Column('account_iban', sa.String(length=34), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('from_date', sa.Date(), nullable=True),
    sa.Column('to_date', sa.Date(), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('imported_by_id', BIG_ID, nullable=False),
    sa.Column('imported_by', sa.String(length=255), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('matched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entry_count', sa.Integer(), nullable=False),
    sa.Column('credit_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('debit_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("format in ('camt.053.001.02', 'camt.053.001.08', 'csv')", name=op.f('ck_bank_statements_format')),
    sa.ForeignKeyConstraint(['tenant_id', 'imported_by_id'], ['staff_users.tenant_id', 'staff_users.id'], name=op.f('fk_bank_statements_tenant_id_imported_by_id_staff_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_bank_statements_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statements')),
    sa.UniqueConstraint('tenant_id', 'account_iban', 'statement_ref', name=op.f('uq_bank_statements_tenant_id_account_iban_statement_ref')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_bank_statements_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_bank_statements_tenant_id_public_id'))
    )
    with op.batch_alter_table('bank_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_statements_tenant_id_imported_at'), ['tenant_id', 'imported_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_statements_tenant_id_imported_by_id'), ['tenant_id', 'imported_by_id'], unique=False)

    op.create_table('credit_refunds',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=False),
    sa.Column('holder_name', sa.String(length=140), nullable=False),
    sa.Column('iban_source', sa.String(length=8), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('proposed_by_id', BIG_ID, nullable=False),
    sa.Column('proposed_by', sa.String(length=255), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', BIG_ID, nullable=True),
    sa.Column('decided_by', sa.String(length=255), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.String(length=255), nullable=True),
    sa.Column('booked_on', sa.Date(), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("iban_source in ('mandate', 'typed')", name=op.f('ck_credit_refunds_iban_source')),
    sa.CheckConstraint("status in ('proposed', 'approved', 'refused')", name=op.f('ck_credit_refunds_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_credit_refunds_amount_positive')),
    sa.CheckConstraint('decided_by_id is null or decided_by_id <> proposed_by_id', name=op.f('ck_credit_refunds_four_eyes')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['customer_accounts.tenant_id', 'customer_accounts.id'], name=op.f('fk_credit_refunds_tenant_id_account_id_customer_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'decided_by_id'], ['staff_users.tenant_id', 'staff_users.id'], name=op.f('fk_credit_refunds_tenant_id_decided_by_id_staff_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'proposed_by_id'], ['staff_users.tenant_id', 'staff_users.id'], name=op.f('fk_credit_refunds_tenant_id_proposed_by_id_staff_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_credit_refunds_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_refunds')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_credit_refunds_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_credit_refunds_tenant_id_public_id'))
    )
    with op.batch_alter_table('credit_refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_refunds_tenant_id_account_id'), ['tenant_id', 'account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_refunds_tenant_id_decided_by_id'), ['tenant_id', 'decided_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_refunds_tenant_id_proposed_by_id'), ['tenant_id', 'proposed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_refunds_tenant_id_status_proposed_at'), ['tenant_id', 'status', 'proposed_at'], unique=False)

    op.create_table('manual_payments',
    sa.Column('payment_id', BIG_ID, nullable=False),
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('recorded_by_id', BIG_ID, nullable=False),
    sa.Column('recorded_by', sa.String(length=255), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['customer_accounts.tenant_id', 'customer_accounts.id'], name=op.f('fk_manual_payments_tenant_id_account_id_customer_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'payment_id'], ['payments.tenant_id', 'payments.id'], name=op.f('fk_manual_payments_tenant_id_payment_id_payments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'recorded_by_id'], ['staff_users.tenant_id', 'staff_users.id'], name=op.f('fk_manual_payments_tenant_id_recorded_by_id_staff_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_manual_payments_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manual_payments')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_manual_payments_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'payment_id', name=op.f('uq_manual_payments_tenant_id_payment_id'))
    )
    with op.batch_alter_table('manual_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manual_payments_tenant_id_account_id_received_on'), ['tenant_id', 'account_id', 'received_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_manual_payments_tenant_id_recorded_by_id'), ['tenant_id', 'recorded_by_id'], unique=False)

    op.create_table('write_offs',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('proposed_by_id', BIG_ID, nullable=False),
    sa.Column('proposed_by', sa.String(length=255), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', BIG_ID, nullable=True),
    sa.Column('decided_by', sa.String(length=255), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.String(length=255), nullable=True),
    sa.Column('payment_id', BIG_ID, nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("status in ('proposed', 'approved', 'refused')", name=op.f('ck_write_offs_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_write_offs_amount_positive')),
    sa.CheckConstraint('decided_by_id is null or decided_by_id <> proposed_by_id', name=op.f('ck_write_offs_four_eyes')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['customer_accounts.tenant_id', 'customer_accounts.id'], name=op.f('fk_write_offs_tenant_id_account_id_customer_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'decided_by_id'], ['staff_users.tenant_id', 'staff_users.id'], name=op.f('fk_write_offs_tenant_id_decided_by_id_staff_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'payment_id'], ['payments.tenant_id', 'payments.id'], name=op.f('fk_write_offs_tenant_id_payment_id_payments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'proposed_by_id'], ['staff_users.tenant_id', 'staff_users.id'], name=op.f('fk_write_offs_tenant_id_proposed_by_id_staff_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_write_offs_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_write_offs')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_write_offs_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_write_offs_tenant_id_public_id'))
    )
    with op.batch_alter_table('write_offs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_write_offs_tenant_id_account_id'), ['tenant_id', 'account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_write_offs_tenant_id_decided_by_id'), ['tenant_id', 'decided_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_write_offs_tenant_id_payment_id'), ['tenant_id', 'payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_write_offs_tenant_id_proposed_by_id'), ['tenant_id', 'proposed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_write_offs_tenant_id_status_proposed_at'), ['tenant_id', 'status', 'proposed_at'], unique=False)

    op.create_table('write_off_lines',
    sa.Column('write_off_id', BIG_ID, nullable=False),
    sa.Column('bill_id', BIG_ID, nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_write_off_lines_amount_positive')),
    sa.ForeignKeyConstraint(['tenant_id', 'bill_id'], ['bills.tenant_id', 'bills.id'], name=op.f('fk_write_off_lines_tenant_id_bill_id_bills'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'write_off_id'], ['write_offs.tenant_id', 'write_offs.id'], name=op.f('fk_write_off_lines_tenant_id_write_off_id_write_offs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_write_off_lines_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_write_off_lines')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_write_off_lines_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'write_off_id', 'bill_id', name=op.f('uq_write_off_lines_tenant_id_write_off_id_bill_id'))
    )
    with op.batch_alter_table('write_off_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_write_off_lines_tenant_id_bill_id'), ['tenant_id', 'bill_id'], unique=False)

    op.create_table('statement_entries',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('statement_id', BIG_ID, nullable=False),
    sa.Column('account_iban', sa.String(length=34), nullable=False),
    sa.Column('entry_key', sa.String(length=80), nullable=False),
    sa.Column('booked_on', sa.Date(), nullable=False),
    sa.Column('value_on', sa.Date(), nullable=True),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reversal', sa.Boolean(), nullable=False),
    sa.Column('return_reason', sa.String(length=4), nullable=True),
    sa.Column('end_to_end_id', sa.String(length=35), nullable=True),
    sa.Column('reference', sa.String(length=140), nullable=True),
    sa.Column('remittance', sa.String(length=255), nullable=True),
    sa.Column('counterparty_name', sa.String(length=140), nullable=True),
    sa.Column('counterparty_iban', sa.String(length=34), nullable=True),
    sa.Column('bank_ref', sa.String(length=35), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('match_rule', sa.String(length=20), nullable=True),
    sa.Column('note', sa.String(length=255), nullable=True),
    sa.Column('account_id', BIG_ID, nullable=True),
    sa.Column('bill_id', BIG_ID, nullable=True),
    sa.Column('payment_id', BIG_ID, nullable=True),
    sa.Column('collection_item_id', BIG_ID, nullable=True),
    sa.Column('decided_by_id', BIG_ID, nullable=True),
    sa.Column('decided_by', sa.String(length=255), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("direction in ('credit', 'debit')", name=op.f('ck_statement_entries_direction')),
    sa.CheckConstraint("status in ('to_match', 'matched', 'returned', 'ignored', 'not_ours')", name=op.f('ck_statement_entries_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_statement_entries_amount_positive')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['customer_accounts.tenant_id', 'customer_accounts.id'], name=op.f('fk_statement_entries_tenant_id_account_id_customer_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'bill_id'], ['bills.tenant_id', 'bills.id'], name=op.f('fk_statement_entries_tenant_id_bill_id_bills'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'collection_item_id'], ['collection_items.tenant_id', 'collection_items.id'], name=op.f('fk_statement_entries_tenant_id_collection_item_id_collection_items'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'decided_by_id'], ['staff_users.tenant_id', 'staff_users.id'], name=op.f('fk_statement_entries_tenant_id_decided_by_id_staff_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'payment_id'], ['payments.tenant_id', 'payments.id'], name=op.f('fk_statement_entries_tenant_id_payment_id_payments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'statement_id'], ['bank_statements.tenant_id', 'bank_statements.id'], name=op.f('fk_statement_entries_tenant_id_statement_id_bank_statements'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_statement_entries_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_entries')),
    sa.UniqueConstraint('tenant_id', 'account_iban', 'entry_key', name=op.f('uq_statement_entries_tenant_id_account_iban_entry_key')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_statement_entries_tenant_id_id'))
    )
    with op.batch_alter_table('statement_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_entries_tenant_id_account_id'), ['tenant_id', 'account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_entries_tenant_id_bill_id'), ['tenant_id', 'bill_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_entries_tenant_id_collection_item_id'), ['tenant_id', 'collection_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_entries_tenant_id_decided_by_id'), ['tenant_id', 'decided_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_entries_tenant_id_payment_id'), ['tenant_id', 'payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_entries_tenant_id_statement_id_id'), ['tenant_id', 'statement_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_entries_tenant_id_status_booked_on'), ['tenant_id', 'status', 'booked_on'], unique=False)
    _payment_methods(NEW_METHODS)

    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    with op.batch_alter_table('statement_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_entries_tenant_id_status_booked_on'))
        batch_op.drop_index(batch_op.f('ix_statement_entries_tenant_id_statement_id_id'))
        batch_op.drop_index(batch_op.f('ix_statement_entries_tenant_id_payment_id'))
        batch_op.drop_index(batch_op.f('ix_statement_entries_tenant_id_decided_by_id'))
        batch_op.drop_index(batch_op.f('ix_statement_entries_tenant_id_collection_item_id'))
        batch_op.drop_index(batch_op.f('ix_statement_entries_tenant_id_bill_id'))
        batch_op.drop_index(batch_op.f('ix_statement_entries_tenant_id_account_id'))

    op.drop_table('statement_entries')
    with op.batch_alter_table('write_off_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_write_off_lines_tenant_id_bill_id'))

    op.drop_table('write_off_lines')
    with op.batch_alter_table('write_offs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_write_offs_tenant_id_status_proposed_at'))
        batch_op.drop_index(batch_op.f('ix_write_offs_tenant_id_proposed_by_id'))
        batch_op.drop_index(batch_op.f('ix_write_offs_tenant_id_payment_id'))
        batch_op.drop_index(batch_op.f('ix_write_offs_tenant_id_decided_by_id'))
        batch_op.drop_index(batch_op.f('ix_write_offs_tenant_id_account_id'))

    op.drop_table('write_offs')
    with op.batch_alter_table('manual_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manual_payments_tenant_id_recorded_by_id'))
        batch_op.drop_index(batch_op.f('ix_manual_payments_tenant_id_account_id_received_on'))

    op.drop_table('manual_payments')
    with op.batch_alter_table('credit_refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_refunds_tenant_id_status_proposed_at'))
        batch_op.drop_index(batch_op.f('ix_credit_refunds_tenant_id_proposed_by_id'))
        batch_op.drop_index(batch_op.f('ix_credit_refunds_tenant_id_decided_by_id'))
        batch_op.drop_index(batch_op.f('ix_credit_refunds_tenant_id_account_id'))

    op.drop_table('credit_refunds')
    with op.batch_alter_table('bank_statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_statements_tenant_id_imported_by_id'))
        batch_op.drop_index(batch_op.f('ix_bank_statements_tenant_id_imported_at'))

    op.drop_table('bank_statements')
    # Write-offs go back to being unpaid bills: their settlements leave with the method that allowed them.
    written_off = "SELECT id FROM payments WHERE method = 'write_off'"
    op.execute(f"DELETE FROM payment_allocations WHERE payment_id IN ({written_off})")
    op.execute(f"DELETE FROM ledger_entries WHERE payment_id IN ({written_off})")
    op.execute("DELETE FROM payments WHERE method = 'write_off'")
    _payment_methods(OLD_METHODS)
