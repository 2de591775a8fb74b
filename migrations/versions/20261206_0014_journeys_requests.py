"""Customer journeys: one gapless request numbering; staff corrections confirmed against the plausibility check

- `request_number_sequences`: the next request number per tenant and year (`R2026-000001`), moved on in the
  transaction that opens the request, so numbers are gapless and never given twice (the unique constraint on
  `service_requests (tenant_id, reference)` backs it up). Each counter starts after the highest number already
  given that year in either form ever used (`R2026-000001`, and the demo's `SR-2026-00001`); existing
  references keep their text, so links to them keep working. Row-level security as 0002 gave the others.
- `meter_readings.implausible_confirmed`: a staff correction outside the plausible range is saved only after
  the staff member confirmed it, and the reading says so.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 10:45:00.000000
"""
import re

from alembic import op
import sqlalchemy as sa

NEW_TENANT_TABLES = ("request_number_sequences",)
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
REFERENCE_FORMS = re.compile(r"^(?:R|SR-)(\d{4})-(\d{1,9})$")

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def _start_counters() -> None:
    """One counter per tenant and year that has requests, after the highest number given (either form)."""
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:  # should `tenants` be under row-level security too: the platform's named escape hatch
        bind.execute(sa.text("SELECT set_config('app.platform', 'on', true)"))
    tenant_ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM tenants ORDER BY id"))]
    if postgresql:
        bind.execute(sa.text("SELECT set_config('app.platform', '', true)"))
    for tenant_id in tenant_ids:
        if postgresql:  # row-level security also applies to the tables' owner (FORCE): enter the tenant
            bind.execute(sa.text("SELECT set_config('app.tenant_id', :id, true)"), {"id": str(tenant_id)})
        highest: dict[int, int] = {}
        references = bind.execute(sa.text("SELECT reference FROM service_requests WHERE tenant_id = :tenant_id"),
                                  {"tenant_id": tenant_id})
        for (reference,) in references:
            found = REFERENCE_FORMS.match(reference or "")
            if found:
                year, number = int(found.group(1)), int(found.group(2))
                highest[year] = max(highest.get(year, 0), number)
        for year, number in sorted(highest.items()):
            bind.execute(sa.text("INSERT INTO request_number_sequences (tenant_id, year, next_value)"
                                 " VALUES (:tenant_id, :year, :next_value)"),
                         {"tenant_id": tenant_id, "year": year, "next_value": number + 1})
    if postgresql:
        bind.execute(sa.text("SELECT set_config('app.tenant_id', '', true)"))


def upgrade():
    op.create_table('request_number_sequences',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('next_value', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_request_number_sequences_tenant_id_tenants'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_number_sequences')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_request_number_sequences_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'year', name=op.f('uq_request_number_sequences_tenant_id_year'))
    )
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('implausible_confirmed', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")
    _start_counters()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    with op.batch_alter_table('meter_readings', schema=None) as batch_op:
        batch_op.drop_column('implausible_confirmed')
    op.drop_table('request_number_sequences')
