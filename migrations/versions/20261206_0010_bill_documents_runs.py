"""Bill documents fixed at issue: the SHA-256 of each bill's stored document

An issued bill's PDF is rendered once (by a worker, right after its issuing transaction commits), stored, and
served byte-identical afterwards. `bills.document_sha256` records the checksum of the stored bytes next to
`document_path`: serving verifies it, and a stored file found missing is replaced only by a rendering with the
same checksum, never by a different document. Null until the document is rendered (and for documents stored
before this revision, until they are first served: their checksum is recorded then).

Billing runs that finish by themselves need no schema change: the sweep reads the chunks' row locks.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 10:45:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bills', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_sha256', sa.String(length=64), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_bills_document_sha256'), "document_sha256 IS NULL OR (document_path IS NOT NULL AND length(document_sha256) = 64)")


def downgrade():
    with op.batch_alter_table('bills', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_bills_document_sha256'), type_='check')
        batch_op.drop_column('document_sha256')
