"""Dunning levels and steps, payment arrangements, disputes

- `dunning_levels` / `dunning_settings`: each utility's dunning (delay after the due date, fee, letter or e-mail per
  level) and the limits of the arrangements customers set up themselves (none: the platform's defaults).
- `dunning_steps`: one row per (bill, level) reached, the unique key that makes a second letter, e-mail or fee
  impossible; `dunning_letters`: the letters' PDFs stored once, to print.
- `payment_arrangements`, `arrangement_bills` (a bill in at most one active arrangement), `arrangement_instalments`.
- `bill_disputes`: at most one open dispute per bill.
Row-level security on the eight tables as 0022 gave the others.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 21:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("dunning_levels", "dunning_settings", "dunning_letters", "dunning_steps", "payment_arrangements",
                     "arrangement_bills", "arrangement_instalments", "bill_disputes")
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dunning_levels',
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('delay_days', sa.Integer(), nullable=False),
    sa.Column('fee', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("channel in ('letter', 'email')", name=op.f('ck_dunning_levels_channel')),
    sa.CheckConstraint('delay_days between 1 and 365', name=op.f('ck_dunning_levels_delay_days')),
    sa.CheckConstraint('fee >= 0', name=op.f('ck_dunning_levels_fee')),
    sa.CheckConstraint('position between 1 and 3', name=op.f('ck_dunning_levels_position')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dunning_levels_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dunning_levels')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_dunning_levels_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'position', name=op.f('uq_dunning_levels_tenant_id_position'))
    )
    op.create_table('dunning_settings',
    sa.Column('portal_arrangements', sa.Boolean(), nullable=False),
    sa.Column('max_instalments', sa.Integer(), nullable=False),
    sa.Column('max_days', sa.Integer(), nullable=False),
    sa.Column('min_instalment', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('grace_days', sa.Integer(), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint('grace_days between 0 and 60', name=op.f('ck_dunning_settings_grace_days')),
    sa.CheckConstraint('max_days between 7 and 730', name=op.f('ck_dunning_settings_max_days')),
    sa.CheckConstraint('max_instalments between 2 and 24', name=op.f('ck_dunning_settings_max_instalments')),
    sa.CheckConstraint('min_instalment >= 0', name=op.f('ck_dunning_settings_min_instalment')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dunning_settings_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dunning_settings')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_dunning_settings_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_dunning_settings_tenant_id'))
    )
    op.create_table('dunning_letters',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('reference', sa.String(length=80), nullable=False),
    sa.Column('subject', sa.String(length=400), nullable=False),
    sa.Column('document_path', sa.String(length=255), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_by', sa.String(length=255), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['customer_accounts.tenant_id', 'customer_accounts.id'], name=op.f('fk_dunning_letters_tenant_id_account_id_customer_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dunning_letters_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dunning_letters')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_dunning_letters_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_dunning_letters_tenant_id_public_id')),
    sa.UniqueConstraint('tenant_id', 'reference', name=op.f('uq_dunning_letters_tenant_id_reference'))
    )
    with op.batch_alter_table('dunning_letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dunning_letters_tenant_id_account_id'), ['tenant_id', 'account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dunning_letters_tenant_id_sent_at_created_at'), ['tenant_id', 'sent_at', 'created_at'], unique=False)

    op.create_table('payment_arrangements',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('paid_before', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('agreed_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('by_customer', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('ended_by', sa.String(length=255), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("status in ('active', 'completed', 'broken', 'cancelled')", name=op.f('ck_payment_arrangements_status')),
    sa.CheckConstraint('total > 0', name=op.f('ck_payment_arrangements_total')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['customer_accounts.tenant_id', 'customer_accounts.id'], name=op.f('fk_payment_arrangements_tenant_id_account_id_customer_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_payment_arrangements_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_arrangements')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_payment_arrangements_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_payment_arrangements_tenant_id_public_id'))
    )
    with op.batch_alter_table('payment_arrangements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_arrangements_tenant_id_account_id'), ['tenant_id', 'account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_arrangements_tenant_id_status'), ['tenant_id', 'status'], unique=False)

    op.create_table('arrangement_instalments',
    sa.Column('arrangement_id', BIG_ID, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_arrangement_instalments_amount')),
    sa.ForeignKeyConstraint(['tenant_id', 'arrangement_id'], ['payment_arrangements.tenant_id', 'payment_arrangements.id'], name=op.f('fk_arrangement_instalments_tenant_id_arrangement_id_payment_arrangements'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_arrangement_instalments_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arrangement_instalments')),
    sa.UniqueConstraint('tenant_id', 'arrangement_id', 'position', name=op.f('uq_arrangement_instalments_tenant_id_arrangement_id_position')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_arrangement_instalments_tenant_id_id'))
    )
    op.create_table('arrangement_bills',
    sa.Column('arrangement_id', BIG_ID, nullable=False),
    sa.Column('bill_id', BIG_ID, nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_arrangement_bills_amount')),
    sa.ForeignKeyConstraint(['tenant_id', 'arrangement_id'], ['payment_arrangements.tenant_id', 'payment_arrangements.id'], name=op.f('fk_arrangement_bills_tenant_id_arrangement_id_payment_arrangements'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'bill_id'], ['bills.tenant_id', 'bills.id'], name=op.f('fk_arrangement_bills_tenant_id_bill_id_bills'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_arrangement_bills_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arrangement_bills')),
    sa.UniqueConstraint('tenant_id', 'arrangement_id', 'bill_id', name=op.f('uq_arrangement_bills_tenant_id_arrangement_id_bill_id')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_arrangement_bills_tenant_id_id'))
    )
    with op.batch_alter_table('arrangement_bills', schema=None) as batch_op:
        batch_op.create_index('uq_arrangement_bills_active_bill', ['tenant_id', 'bill_id'], unique=True, postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))

    op.create_table('bill_disputes',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('bill_id', BIG_ID, nullable=False),
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('by_customer', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('opened_by', sa.String(length=255), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=255), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("reason in ('amount', 'reading', 'not_mine', 'service', 'other')", name=op.f('ck_bill_disputes_reason')),
    sa.CheckConstraint("status in ('open', 'upheld', 'rejected')", name=op.f('ck_bill_disputes_status')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['customer_accounts.tenant_id', 'customer_accounts.id'], name=op.f('fk_bill_disputes_tenant_id_account_id_customer_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'bill_id'], ['bills.tenant_id', 'bills.id'], name=op.f('fk_bill_disputes_tenant_id_bill_id_bills'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_bill_disputes_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bill_disputes')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_bill_disputes_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_bill_disputes_tenant_id_public_id'))
    )
    with op.batch_alter_table('bill_disputes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bill_disputes_tenant_id_account_id'), ['tenant_id', 'account_id'], unique=False)
        batch_op.create_index('uq_bill_disputes_open_bill', ['tenant_id', 'bill_id'], unique=True, postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))

    op.create_table('dunning_steps',
    sa.Column('bill_id', BIG_ID, nullable=False),
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outstanding', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('fee', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('message_id', BIG_ID, nullable=True),
    sa.Column('letter_id', BIG_ID, nullable=True),
    sa.Column('task_id', BIG_ID, nullable=True),
    sa.Column('ledger_entry_id', sa.Integer(), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("channel in ('letter', 'email')", name=op.f('ck_dunning_steps_channel')),
    sa.CheckConstraint('fee >= 0', name=op.f('ck_dunning_steps_fee')),
    sa.CheckConstraint('level between 1 and 3', name=op.f('ck_dunning_steps_level')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['customer_accounts.tenant_id', 'customer_accounts.id'], name=op.f('fk_dunning_steps_tenant_id_account_id_customer_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'bill_id'], ['bills.tenant_id', 'bills.id'], name=op.f('fk_dunning_steps_tenant_id_bill_id_bills'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'letter_id'], ['dunning_letters.tenant_id', 'dunning_letters.id'], name=op.f('fk_dunning_steps_tenant_id_letter_id_dunning_letters'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'message_id'], ['messages.tenant_id', 'messages.id'], name=op.f('fk_dunning_steps_tenant_id_message_id_messages'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'task_id'], ['tasks.tenant_id', 'tasks.id'], name=op.f('fk_dunning_steps_tenant_id_task_id_tasks'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dunning_steps_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dunning_steps')),
    sa.UniqueConstraint('tenant_id', 'bill_id', 'level', name=op.f('uq_dunning_steps_tenant_id_bill_id_level')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_dunning_steps_tenant_id_id'))
    )
    with op.batch_alter_table('dunning_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dunning_steps_tenant_id_account_id_done_on'), ['tenant_id', 'account_id', 'done_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_dunning_steps_tenant_id_letter_id'), ['tenant_id', 'letter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dunning_steps_tenant_id_message_id'), ['tenant_id', 'message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dunning_steps_tenant_id_task_id'), ['tenant_id', 'task_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    with op.batch_alter_table('dunning_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dunning_steps_tenant_id_task_id'))
        batch_op.drop_index(batch_op.f('ix_dunning_steps_tenant_id_message_id'))
        batch_op.drop_index(batch_op.f('ix_dunning_steps_tenant_id_letter_id'))
        batch_op.drop_index(batch_op.f('ix_dunning_steps_tenant_id_account_id_done_on'))

    op.drop_table('dunning_steps')
    with op.batch_alter_table('bill_disputes', schema=None) as batch_op:
        batch_op.drop_index('uq_bill_disputes_open_bill', postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
        batch_op.drop_index(batch_op.f('ix_bill_disputes_tenant_id_account_id'))

    op.drop_table('bill_disputes')
    with op.batch_alter_table('arrangement_bills', schema=None) as batch_op:
        batch_op.drop_index('uq_arrangement_bills_active_bill', postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))

    op.drop_table('arrangement_bills')
    op.drop_table('arrangement_instalments')
    with op.batch_alter_table('payment_arrangements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_arrangements_tenant_id_status'))
        batch_op.drop_index(batch_op.f('ix_payment_arrangements_tenant_id_account_id'))

    op.drop_table('payment_arrangements')
    with op.batch_alter_table('dunning_letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dunning_letters_tenant_id_sent_at_created_at'))
        batch_op.drop_index(batch_op.f('ix_dunning_letters_tenant_id_account_id'))

    op.drop_table('dunning_letters')
    op.drop_table('dunning_settings')
    op.drop_table('dunning_levels')
