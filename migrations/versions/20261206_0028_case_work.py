"""Case work: tasks claimed, assigned and handed between work groups with their history, service levels per task
kind and request category, request categories, reply templates per language

- `tasks.public_id`: the task's reference in URLs (existing tasks get one).
- `task_events`: a task's history (who claimed, released, assigned, transferred, closed it, from where to where, note).
- `service_levels`: a tenant's own service level per task kind or request category (defaults are in the code).
- `service_requests.category`: what a request is about within its kind; its service level sets the answer date.
- `reply_templates`: ready answers per name and language, with placeholders.
Row-level security on the three new tables as 0025 gave its own.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 21:00:00.000000
"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("reply_templates", "service_levels", "task_events")
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0028'
down_revision = '0027'
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


def upgrade():
    op.create_table('reply_templates',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', BIG_ID, nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_reply_templates_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_templates')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_reply_templates_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'name', 'locale', name=op.f('uq_reply_templates_tenant_id_name_locale')),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_reply_templates_tenant_id_public_id'))
    )
    op.create_table('service_levels',
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("scope in ('task', 'request')", name=op.f('ck_service_levels_scope')),
    sa.CheckConstraint("unit in ('hours', 'days', 'working_days')", name=op.f('ck_service_levels_unit')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_service_levels_amount_positive')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_service_levels_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_levels')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_service_levels_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'scope', 'code', name=op.f('uq_service_levels_tenant_id_scope_code'))
    )
    op.create_table('task_events',
    sa.Column('task_id', BIG_ID, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_user_id', BIG_ID, nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_group_id', BIG_ID, nullable=True),
    sa.Column('to_group_id', BIG_ID, nullable=True),
    sa.Column('from_assignee_id', BIG_ID, nullable=True),
    sa.Column('to_assignee_id', BIG_ID, nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("action in ('claimed', 'released', 'assigned', 'transferred', 'done', 'cancelled', 'reopened')", name=op.f('ck_task_events_action')),
    sa.ForeignKeyConstraint(['tenant_id', 'from_assignee_id'], ['staff_users.tenant_id', 'staff_users.id'], name=op.f('fk_task_events_tenant_id_from_assignee_id_staff_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'from_group_id'], ['work_groups.tenant_id', 'work_groups.id'], name=op.f('fk_task_events_tenant_id_from_group_id_work_groups'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'staff_user_id'], ['staff_users.tenant_id', 'staff_users.id'], name=op.f('fk_task_events_tenant_id_staff_user_id_staff_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'task_id'], ['tasks.tenant_id', 'tasks.id'], name=op.f('fk_task_events_tenant_id_task_id_tasks'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'to_assignee_id'], ['staff_users.tenant_id', 'staff_users.id'], name=op.f('fk_task_events_tenant_id_to_assignee_id_staff_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'to_group_id'], ['work_groups.tenant_id', 'work_groups.id'], name=op.f('fk_task_events_tenant_id_to_group_id_work_groups'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_task_events_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_events')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_task_events_tenant_id_id'))
    )
    with op.batch_alter_table('task_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_events_tenant_id_from_assignee_id'), ['tenant_id', 'from_assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_events_tenant_id_from_group_id'), ['tenant_id', 'from_group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_events_tenant_id_staff_user_id'), ['tenant_id', 'staff_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_events_tenant_id_task_id_at'), ['tenant_id', 'task_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_events_tenant_id_to_assignee_id'), ['tenant_id', 'to_assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_events_tenant_id_to_group_id'), ['tenant_id', 'to_group_id'], unique=False)

    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_service_requests_tenant_id_kind_category'), ['tenant_id', 'kind', 'category'], unique=False)

    # Existing tasks get a public id each before the column becomes required.
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_id', sa.String(length=36), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE tasks SET public_id = gen_random_uuid()::text WHERE public_id IS NULL")
    else:
        op.execute("UPDATE tasks SET public_id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || "
                   "substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(2)) || '-' || hex(randomblob(6))) "
                   "WHERE public_id IS NULL")
    with _sqlite_foreign_keys_off(), op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.alter_column('public_id', existing_type=sa.String(length=36), nullable=False)
        batch_op.drop_index(batch_op.f('ix_tasks_tenant_id_assignee_id'))
        batch_op.create_index(batch_op.f('ix_tasks_tenant_id_assignee_id_status'), ['tenant_id', 'assignee_id', 'status'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_tasks_tenant_id_public_id'), ['tenant_id', 'public_id'])

    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    with _sqlite_foreign_keys_off(), op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_tasks_tenant_id_public_id'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_tasks_tenant_id_assignee_id_status'))
        batch_op.create_index(batch_op.f('ix_tasks_tenant_id_assignee_id'), ['tenant_id', 'assignee_id'], unique=False)
        batch_op.drop_column('public_id')

    with _sqlite_foreign_keys_off(), op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_requests_tenant_id_kind_category'))
        batch_op.drop_column('category')

    with op.batch_alter_table('task_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_events_tenant_id_to_group_id'))
        batch_op.drop_index(batch_op.f('ix_task_events_tenant_id_to_assignee_id'))
        batch_op.drop_index(batch_op.f('ix_task_events_tenant_id_task_id_at'))
        batch_op.drop_index(batch_op.f('ix_task_events_tenant_id_staff_user_id'))
        batch_op.drop_index(batch_op.f('ix_task_events_tenant_id_from_group_id'))
        batch_op.drop_index(batch_op.f('ix_task_events_tenant_id_from_assignee_id'))

    op.drop_table('task_events')
    op.drop_table('service_levels')
    op.drop_table('reply_templates')
