"""Staff invitations, work-group membership, a public reference per staff member, the tenant's country

- `staff_invitations`: a single-use, expiring link (SHA-256 of the token) a staff member sets a first password
  with; a newer invitation revokes the older ones.
- `work_group_members`: which staff members work which group's queue (set by a tenant administrator).
- `staff_users.public_id`: the reference staff pages put in URLs instead of the sequential id; existing members
  get a random one here.
- `tenants.country`: ISO 3166 alpha-2, where the utility operates (nullable: utilities created before did not say).
Row-level security on the two new tables as 0002 gave the others.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 13:30:00.000000
"""
import uuid
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("staff_invitations", "work_group_members")
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def _give_staff_public_ids() -> None:
    """A random public reference for every staff member already there, tenant by tenant (row-level security
    applies to the tables' owner too: FORCE)."""
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:
        bind.execute(sa.text("SELECT set_config('app.platform', 'on', true)"))
    tenant_ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM tenants ORDER BY id"))]
    if postgresql:
        bind.execute(sa.text("SELECT set_config('app.platform', '', true)"))
    for tenant_id in tenant_ids:
        if postgresql:
            bind.execute(sa.text("SELECT set_config('app.tenant_id', :id, true)"), {"id": str(tenant_id)})
        ids = [row[0] for row in bind.execute(
            sa.text("SELECT id FROM staff_users WHERE tenant_id = :tenant_id"), {"tenant_id": tenant_id})]
        for staff_id in ids:
            bind.execute(sa.text("UPDATE staff_users SET public_id = :public_id WHERE tenant_id = :tenant_id"
                                 " AND id = :id"),
                         {"public_id": str(uuid.uuid4()), "tenant_id": tenant_id, "id": staff_id})
    if postgresql:
        bind.execute(sa.text("SELECT set_config('app.tenant_id', '', true)"))


@contextmanager
def _sqlite_foreign_keys_off():
    """SQLite alters `staff_users` by copying it to a new table and dropping the old one, which the rows pointing
    at it (role grants, tasks...) would refuse while foreign keys are enforced; the copy keeps every id, so they
    are switched off for the copy only (a pragma that works outside a transaction: the one open is committed)."""
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
    op.create_table('staff_invitations',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('staff_user_id', BIG_ID, nullable=False),
    sa.Column('invited_by_id', BIG_ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'staff_user_id'], ['staff_users.tenant_id', 'staff_users.id'],
                            name=op.f('fk_staff_invitations_tenant_id_staff_user_id_staff_users'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_staff_invitations_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_invitations')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_staff_invitations_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'token_hash', name=op.f('uq_staff_invitations_tenant_id_token_hash'))
    )
    with op.batch_alter_table('staff_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_invitations_tenant_id_staff_user_id'),
                              ['tenant_id', 'staff_user_id'], unique=False)

    op.create_table('work_group_members',
    sa.Column('work_group_id', BIG_ID, nullable=False),
    sa.Column('staff_user_id', BIG_ID, nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'staff_user_id'], ['staff_users.tenant_id', 'staff_users.id'],
                            name=op.f('fk_work_group_members_tenant_id_staff_user_id_staff_users'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id', 'work_group_id'], ['work_groups.tenant_id', 'work_groups.id'],
                            name=op.f('fk_work_group_members_tenant_id_work_group_id_work_groups'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_work_group_members_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_group_members')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_work_group_members_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'work_group_id', 'staff_user_id',
                        name=op.f('uq_work_group_members_tenant_id_work_group_id_staff_user_id'))
    )
    with op.batch_alter_table('work_group_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_group_members_tenant_id_staff_user_id'),
                              ['tenant_id', 'staff_user_id'], unique=False)

    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_id', sa.String(length=36), nullable=True))
    _give_staff_public_ids()
    with _sqlite_foreign_keys_off():
        with op.batch_alter_table('staff_users', schema=None) as batch_op:
            batch_op.alter_column('public_id', existing_type=sa.String(length=36), nullable=False)
            batch_op.create_unique_constraint(batch_op.f('uq_staff_users_tenant_id_public_id'),
                                              ['tenant_id', 'public_id'])

    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('country', sa.String(length=2), nullable=True))

    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    with _sqlite_foreign_keys_off():
        with op.batch_alter_table('tenants', schema=None) as batch_op:
            batch_op.drop_column('country')
    with _sqlite_foreign_keys_off():
        with op.batch_alter_table('staff_users', schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f('uq_staff_users_tenant_id_public_id'), type_='unique')
            batch_op.drop_column('public_id')
    with op.batch_alter_table('work_group_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_group_members_tenant_id_staff_user_id'))
    op.drop_table('work_group_members')
    with op.batch_alter_table('staff_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_invitations_tenant_id_staff_user_id'))
    op.drop_table('staff_invitations')
