"""Export one utility's whole data as a ZIP: every tenant table as JSON and CSV, its stored files, a manifest.

The tables are discovered from the metadata (every `TenantScoped` model), so a table added later is exported
without a change here. Everything is read inside the tenant's scope: the ORM guard filters each statement by the
tenant and, on PostgreSQL, row-level security answers only its rows as well. Rows are read by keyset batches of
`BATCH` and written straight into the archive (a table's JSON goes through a spooled temporary file while its CSV
is written), so a utility of 100,000 customers never has a table in memory. On PostgreSQL the reads share one
REPEATABLE READ transaction: the archive is one consistent snapshot.

The tenant's own row comes without its secrets: no column whose name ends in `_sealed` or `_hash` or contains
`secret` is ever exported, in any table (sealed Stripe keys, password and token hashes).

Archive layout:
    manifest.json              format, export time, tenant, per table its columns, row count and SHA-256 per file,
                               per document its size and SHA-256, the columns left out
    tables/<table>.csv|.json   one file of each per table, `tenants` (the utility's own row) included
    documents/<key>            every file stored under the tenant's prefix (bill PDFs, attachments, photos, logo)
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import logging
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import inspect, select

from domain.audit.recorder import record_event
from domain.db import Base, TenantScoped, db, utcnow
from domain.storage import storage
from tenants.context import tenant_scope
from tenants.export_models import TenantExport
from tenants.models import Tenant

log = logging.getLogger("tenants.export")

FORMAT = "utility-platform/tenant-export/1"
BATCH = 2000
EXPORTS_CATEGORY = "exports"  # the exports themselves are stored here, and left out of the next export
_JSON_SPOOL_BYTES = 8 * 1024 * 1024
_COPY_BYTES = 1024 * 1024


class ExportError(RuntimeError):
    """The export could not be written; the message says why."""


def is_secret_column(name: str) -> bool:
    """Columns never exported: sealed secrets, password and token hashes, anything named a secret."""
    name = name.lower()
    return name.endswith(("_sealed", "_hash")) or "secret" in name or name == "password"


def tenant_models() -> list[type]:
    """Every tenant-owned model, parents before children (the metadata's dependency order)."""
    mapped = {m.local_table.name: m.class_ for m in TenantScoped.registry.mappers
              if issubclass(m.class_, TenantScoped) and m.local_table is not None and not m.inherits}
    return [mapped[table.name] for table in Base.metadata.sorted_tables if table.name in mapped]


def exported_attributes(model) -> tuple[list, list[str]]:
    """(the model's column attributes to export, the column names left out as secrets)."""
    kept, left_out = [], []
    for attr in inspect(model).column_attrs:
        column = attr.columns[0]
        if is_secret_column(attr.key) or is_secret_column(column.name):
            left_out.append(column.name)
        else:
            kept.append(attr)
    return kept, left_out


@dataclass
class ExportSummary:
    tables: int = 0
    rows: int = 0
    documents: int = 0
    documents_bytes: int = 0
    manifest: dict = field(default_factory=dict)


class _Hashing:
    """A binary sink that counts and hashes what goes through it."""

    def __init__(self, raw):
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.size += len(data)
        self.raw.write(data)


def _json_value(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return _json_value(value)


def _batches(model, attrs, tenant_id: int) -> Iterator[list]:
    """The tenant's rows of `model` by keyset batches on `id` (the guard adds the tenant filter; so does this)."""
    columns = [attr.class_attribute for attr in attrs]
    last = None
    while True:
        stmt = select(*columns).where(model.tenant_id == tenant_id).order_by(model.id).limit(BATCH)
        if last is not None:
            stmt = stmt.where(model.id > last)
        rows = db.session.execute(stmt.add_columns(model.id)).all()
        if not rows:
            return
        last = rows[-1][-1]
        yield [row[:-1] for row in rows]
        if len(rows) < BATCH:
            return


def _write_table(archive: zipfile.ZipFile, name: str, columns: list[str], batches) -> dict:
    """Write one table as CSV (straight into the archive) and JSON (spooled, then copied in)."""
    count = 0
    with tempfile.SpooledTemporaryFile(max_size=_JSON_SPOOL_BYTES) as spool:
        json_out = _Hashing(spool)
        with archive.open(f"tables/{name}.csv", "w", force_zip64=True) as csv_entry:
            csv_out = _Hashing(csv_entry)
            header = io.StringIO()
            csv.writer(header).writerow(columns)
            csv_out.write(header.getvalue().encode("utf-8"))
            json_out.write(b"[")
            for batch in batches:
                text = io.StringIO()
                writer = csv.writer(text)
                parts = []
                for row in batch:
                    writer.writerow([_csv_value(v) for v in row])
                    parts.append(json.dumps({c: _json_value(v) for c, v in zip(columns, row, strict=True)},
                                            ensure_ascii=False, default=str))
                csv_out.write(text.getvalue().encode("utf-8"))
                json_out.write((("\n" if count == 0 else ",\n") + ",\n".join(parts)).encode("utf-8"))
                count += len(batch)
            json_out.write(b"\n]\n")
        # One entry open at a time: the CSV is closed, the spooled JSON goes in now.
        spool.seek(0)
        with archive.open(f"tables/{name}.json", "w", force_zip64=True) as json_entry:
            shutil.copyfileobj(spool, json_entry, _COPY_BYTES)
    return {"name": name, "rows": count, "columns": columns,
            "files": {f"tables/{name}.csv": csv_out.sha.hexdigest(), f"tables/{name}.json": json_out.sha.hexdigest()}}


def _tenant_table(archive: zipfile.ZipFile, tenant_id: int) -> tuple[dict, list[str]]:
    attrs, left_out = exported_attributes(Tenant)
    columns = [attr.columns[0].name for attr in attrs]
    row = db.session.execute(select(*[a.class_attribute for a in attrs]).where(Tenant.id == tenant_id)).one()
    return _write_table(archive, "tenants", columns, [[tuple(row)]]), left_out


def _documents(archive: zipfile.ZipFile, tenant_id: int) -> list[dict]:
    files = storage()
    prefix = files.prefix(tenant_id)
    out = []
    for key in files.walk(tenant_id=tenant_id, skip=(EXPORTS_CATEGORY,)):
        path = f"documents/{key[len(prefix):]}"
        with files.local_path(tenant_id=tenant_id, key=key).open("rb") as source, \
                archive.open(path, "w", force_zip64=True) as entry:
            sink = _Hashing(entry)
            while chunk := source.read(_COPY_BYTES):
                sink.write(chunk)
        out.append({"path": path, "bytes": sink.size, "sha256": sink.sha.hexdigest()})
    return out


def _render_missing_documents(tenant_id: int) -> list[str]:
    """Issued bills whose document no worker has stored yet (the embedded default renders on first opening) get it
    now, exactly as opening them would; returns the numbers of those that could not be rendered."""
    from domain.billing.document_jobs import render_bill_document
    from domain.billing.models import Bill

    ids = list(db.session.scalars(select(Bill.id).where(
        Bill.tenant_id == tenant_id, Bill.status != "draft", Bill.number.is_not(None),
        Bill.document_path.is_(None)).order_by(Bill.id)))
    db.session.commit()
    failed = []
    for bill_id in ids:
        try:
            render_bill_document(bill_id=bill_id)
            db.session.commit()
        except Exception:  # one bill that cannot be rendered must not stop the export; the manifest names it
            db.session.rollback()
            number = db.session.scalar(select(Bill.number).where(Bill.id == bill_id))
            log.warning("export: bill document not rendered tenant=%s bill=%s", tenant_id, number, exc_info=True)
            failed.append(number)
    return failed


def write_export(*, tenant_id: int, target: Path | BinaryIO, now: datetime,
                 render_missing_documents: bool = True) -> ExportSummary:
    """Write the tenant's whole data to `target` (a path or a seekable binary file) as a ZIP."""
    summary = ExportSummary()
    with tenant_scope(tenant_id):
        tenant = db.session.get(Tenant, tenant_id)
        if tenant is None:
            raise ExportError(f"no tenant {tenant_id}")
        slug, name = tenant.slug, tenant.name
        not_rendered = _render_missing_documents(tenant_id) if render_missing_documents else []
        db.session.commit()
        if db.session.get_bind().dialect.name == "postgresql":
            # One snapshot for every table: rows written meanwhile are in no table or in all of them.
            db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        try:
            with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6,
                                 allowZip64=True) as archive:
                tables = []
                tenant_entry, left_out_tenant = _tenant_table(archive, tenant_id)
                tables.append(tenant_entry)
                excluded = {"tenants": left_out_tenant} if left_out_tenant else {}
                for model in tenant_models():
                    attrs, left_out = exported_attributes(model)
                    if left_out:
                        excluded[model.__tablename__] = left_out
                    columns = [attr.columns[0].name for attr in attrs]
                    tables.append(_write_table(archive, model.__tablename__, columns,
                                               _batches(model, attrs, tenant_id)))
                db.session.rollback()  # the snapshot ends; documents are files, read next
                documents = _documents(archive, tenant_id)
                manifest = {
                    "format": FORMAT,
                    "exported_at": now.isoformat(),
                    "tenant": {"id": tenant_id, "slug": slug, "name": name},
                    "tables": tables,
                    "documents": documents,
                    "documents_not_rendered": not_rendered,
                    "excluded_columns": excluded,
                }
                archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        finally:
            db.session.rollback()
    summary.tables = len(tables)
    summary.rows = sum(table["rows"] for table in tables)
    summary.documents = len(documents)
    summary.documents_bytes = sum(doc["bytes"] for doc in documents)
    summary.manifest = manifest
    log.info("tenant export written tenant=%s tables=%d rows=%d documents=%d", tenant_id, summary.tables,
             summary.rows, summary.documents)
    return summary


# --- exports asked for from the console, written by a job -------------------------------------------------------


def request_export(*, tenant_id: int, requested_by: str, now: datetime) -> TenantExport:
    """Record an export to be written by the `tenants.export_data` job (the caller dispatches it after commit)."""
    with tenant_scope(tenant_id):
        export = TenantExport(status="pending", requested_by=requested_by[:255], requested_at=now)
        db.session.add(export)
        db.session.flush()
        record_event(db.session, tenant_id=tenant_id, action="data_export_requested", entity_type="TenantExport",
                     entity_id=export.id, occurred_at=now, details={"export": export.public_id})
        db.session.commit()
    return export


def exports_of(*, tenant_id: int, limit: int = 20) -> list[TenantExport]:
    with tenant_scope(tenant_id):
        found = list(db.session.scalars(select(TenantExport).order_by(TenantExport.requested_at.desc(),
                                                                     TenantExport.id.desc()).limit(limit)))
        db.session.commit()
    return found


def export_by_public_id(*, tenant_id: int, public_id: str) -> TenantExport | None:
    with tenant_scope(tenant_id):
        found = db.session.scalar(select(TenantExport).where(TenantExport.public_id == public_id))
        db.session.commit()
    return found


def export_file(export: TenantExport) -> Path | None:
    """The local path of a finished export's ZIP, or None if it is not (or no longer) there."""
    if export.status != "done" or not export.storage_key:
        return None
    files = storage()
    if not files.exists(tenant_id=export.tenant_id, key=export.storage_key):
        return None
    return files.local_path(tenant_id=export.tenant_id, key=export.storage_key)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_COPY_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def export_job(*, export_id: int) -> dict:
    """Job (queue `default`, run in the tenant): write the export's ZIP to the tenant's storage. Idempotent: an
    export done already is left as it is; one interrupted is written again from the start."""
    from tenants.context import require_tenant_id

    tenant_id = require_tenant_id()
    export = db.session.scalar(select(TenantExport).where(TenantExport.id == export_id))
    if export is None or export.status == "done":
        db.session.rollback()
        return {"skipped": True}
    export.status, export.started_at, export.error = "running", utcnow(), None
    slug = db.session.scalar(select(Tenant.slug).where(Tenant.id == tenant_id))
    db.session.commit()
    files = storage()
    key, path = files.new_file(tenant_id=tenant_id, category=EXPORTS_CATEGORY,
                               filename=f"{slug}-{export.requested_at:%Y%m%d-%H%M%S}.zip")
    try:
        summary = write_export(tenant_id=tenant_id, target=path, now=utcnow())
    except Exception as exc:
        db.session.rollback()
        path.unlink(missing_ok=True)
        log.exception("tenant export failed tenant=%s export=%s", tenant_id, export_id)
        export = db.session.scalar(select(TenantExport).where(TenantExport.id == export_id))
        export.status, export.finished_at, export.error = "failed", utcnow(), f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()
        return {"failed": True}
    export = db.session.scalar(select(TenantExport).where(TenantExport.id == export_id))
    previous = export.storage_key
    export.status, export.finished_at = "done", utcnow()
    export.storage_key, export.size_bytes, export.sha256 = key, path.stat().st_size, _sha256_of(path)
    export.total_rows = summary.rows
    record_event(db.session, tenant_id=tenant_id, action="data_exported", entity_type="TenantExport",
                 entity_id=export.id, occurred_at=export.finished_at,
                 details={"export": export.public_id, "rows": summary.rows, "tables": summary.tables,
                          "documents": summary.documents, "bytes": export.size_bytes})
    db.session.commit()
    if previous and previous != key:
        files.delete(tenant_id=tenant_id, key=previous)
    return {"rows": summary.rows, "documents": summary.documents}
