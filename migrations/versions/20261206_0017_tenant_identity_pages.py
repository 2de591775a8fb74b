"""Tenant identity, legal details and portal pages per locale

- `tenants`: company registration and VAT numbers, registered office, website, customer-service phone and
  hours, emergency numbers per activity ({activity: phone}), the ombudsman's contact (its name is `ombudsman`).
- `portal_pages`: what the utility wrote for its privacy notice, cookie notice, legal notice, accessibility
  statement, contact and help pages, one row per page and locale (Markdown); no row: the generated default.
- `identity_versions`: the identity fields as they stood from each change, so a bill's document, rendered when
  first asked for, prints the identity in force when the bill was issued. Row-level security as 0002.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 13:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("portal_pages", "identity_versions")
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company_registration', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('vat_number', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('registered_office', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('website', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('support_phone', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('support_hours', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('emergency_phones', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('ombudsman_contact', sa.String(length=500), nullable=True))

    op.create_table('portal_pages',
    sa.Column('page', sa.String(length=20), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=255), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.CheckConstraint("page in ('legal-notice', 'privacy', 'cookies', 'accessibility', 'contact', 'help')",
                       name=op.f('ck_portal_pages_page')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_portal_pages_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_pages')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_portal_pages_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'page', 'locale', name=op.f('uq_portal_pages_tenant_id_page_locale'))
    )
    op.create_table('identity_versions',
    sa.Column('effective_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('identity', sa.JSON(), nullable=False),
    sa.Column('recorded_by', sa.String(length=255), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_identity_versions_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_versions')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_identity_versions_tenant_id_id'))
    )
    op.create_index(op.f('ix_identity_versions_tenant_id_effective_at'), 'identity_versions',
                    ['tenant_id', 'effective_at'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.drop_index(op.f('ix_identity_versions_tenant_id_effective_at'), table_name='identity_versions')
    op.drop_table('identity_versions')
    op.drop_table('portal_pages')
    # Not a batch (which copies the table on SQLite, and cannot drop `tenants` while rows point at it): both
    # databases drop a plain column in place.
    for column in ('ombudsman_contact', 'emergency_phones', 'support_hours', 'support_phone', 'website',
                   'registered_office', 'vat_number', 'company_registration'):
        op.drop_column('tenants', column)
