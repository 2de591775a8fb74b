"""A utility's whole-data export: every tenant table as JSON and CSV, only its rows, no secret, its documents, a
manifest whose counts and checksums match the files; written in batches; by the console's job to the storage."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from domain.audit.models import AuditEvent
from domain.db import db, utcnow
from domain.readings.models import MeterReading
from domain.storage import storage
from tenants import export
from tenants.context import tenant_scope
from tenants.services import set_stripe_keys
from tests.factories import MeterReadingFactory, RegisterFactory, populate_tenant

on_postgresql = pytest.mark.skipif("postgresql" not in os.environ.get("TEST_DATABASE_URL", ""),
                                   reason="row-level security exists only on PostgreSQL")


@pytest.fixture(autouse=True)
def _empty_storage(app):
    """Files stay on disk between tests, and SQLite gives the next test's tenants the same ids. (The process-wide
    storage, which another test's app may have pointed elsewhere than this app's FILES_DIR.)"""
    shutil.rmtree(storage().root / "tenants", ignore_errors=True)


@pytest.fixture
def tenants_ab(ctx, make_tenant):
    a = populate_tenant(make_tenant("alpha"))
    b = populate_tenant(make_tenant("bravo"))
    return a, b


def _export(tenant_id, **kwargs) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    export.write_export(tenant_id=tenant_id, target=buffer, now=utcnow(),
                        render_missing_documents=kwargs.pop("render_missing_documents", False), **kwargs)
    buffer.seek(0)
    return zipfile.ZipFile(buffer)


def _json(archive, name):
    return json.loads(archive.read(name))


def _csv(archive, name):
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))


def test_every_tenant_table_is_exported_with_only_the_tenants_rows(tenants_ab):
    a, b = tenants_ab

    archive = _export(a.tenant_id)
    manifest = _json(archive, "manifest.json")

    exported = {table["name"] for table in manifest["tables"]}
    assert exported == {"tenants"} | {model.__tablename__ for model in export.tenant_models()}
    assert {"customer_accounts", "bills", "meter_readings", "audit_events", "tenant_exports"} <= exported
    with tenant_scope(a.tenant_id):
        for model in export.tenant_models():
            rows = _json(archive, f"tables/{model.__tablename__}.json")
            expected = db.session.scalar(select(func.count(model.id)))
            assert len(rows) == expected, model.__tablename__
            assert all(row["tenant_id"] == a.tenant_id for row in rows), model.__tablename__
        db.session.rollback()
    accounts = _json(archive, "tables/customer_accounts.json")
    assert [row["account_number"] for row in accounts] == [a.account_number]
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b.account_number.encode() not in everything and b.bill_number.encode() not in everything


def test_each_table_is_in_json_and_csv_with_the_manifests_counts_and_checksums(tenants_ab):
    a, _b = tenants_ab

    archive = _export(a.tenant_id)
    manifest = _json(archive, "manifest.json")

    assert manifest["format"] == export.FORMAT and manifest["tenant"]["slug"] == "alpha"
    assert manifest["exported_at"].startswith(utcnow().date().isoformat()[:4])
    for table in manifest["tables"]:
        name = table["name"]
        assert len(_json(archive, f"tables/{name}.json")) == table["rows"] == len(_csv(archive, f"tables/{name}.csv"))
        for path, digest in table["files"].items():
            assert hashlib.sha256(archive.read(path)).hexdigest() == digest, path
    bills = {row["number"]: row for row in _csv(archive, "tables/bills.csv")}
    assert bills[a.bill_number]["total_incl_tax"] == "60.00"  # money as exact decimals, not floats
    assert _json(archive, "tables/bills.json")[0]["total_incl_tax"] == "60.00"


def test_the_tenant_row_is_exported_without_any_secret(tenants_ab):
    a, _b = tenants_ab
    set_stripe_keys(slug="alpha", secret_key="sk_test_CLEARSECRET123", webhook_secret="whsec_CLEARHOOK456")
    from tenants.models import Tenant
    with tenant_scope(a.tenant_id):
        sealed = db.session.get(Tenant, a.tenant_id).stripe_secret_key_sealed
        db.session.rollback()

    archive = _export(a.tenant_id)

    everything = b"".join(archive.read(name) for name in archive.namelist())
    for secret in (b"sk_test_CLEARSECRET123", b"whsec_CLEARHOOK456", sealed.encode()):
        assert secret not in everything
    tenant_row, = _json(archive, "tables/tenants.json")
    assert tenant_row["slug"] == "alpha" and tenant_row["name"] == "Alpha Utility"
    assert not [column for column in tenant_row if "stripe_secret" in column or "stripe_webhook" in column]
    staff = _json(archive, "tables/staff_users.json")
    assert staff and all("password_hash" not in row for row in staff)
    excluded = _json(archive, "manifest.json")["excluded_columns"]
    assert set(excluded["tenants"]) == {"stripe_secret_key", "stripe_webhook_secret", "smtp_password"}
    assert "password_hash" in excluded["staff_users"]


def test_rows_are_read_in_batches_without_loss_or_repeat(tenants_ab, monkeypatch):
    a, _b = tenants_ab
    with tenant_scope(a.tenant_id):
        register = RegisterFactory()
        for month in range(1, 8):
            MeterReadingFactory(register=register, read_on=date(2025, month, 1), value=Decimal(100 * month))
        db.session.commit()
        expected = sorted(db.session.scalars(select(MeterReading.id)))
        db.session.rollback()
    monkeypatch.setattr(export, "BATCH", 3)

    archive = _export(a.tenant_id)

    readings = _json(archive, "tables/meter_readings.json")
    assert [row["id"] for row in readings] == expected and len(expected) == 9


def test_the_tenants_stored_documents_are_included_and_no_other_tenants(tenants_ab):
    a, b = tenants_ab
    files = storage()
    pdf = b"%PDF-1.7 alpha bill"
    key = files.save(tenant_id=a.tenant_id, category="bills", filename="F2026-000001.pdf", data=pdf)
    files.save(tenant_id=a.tenant_id, category="exports", filename="old.zip", data=b"an earlier export")
    files.save(tenant_id=b.tenant_id, category="bills", filename="F2026-999999.pdf", data=b"%PDF bravo")

    archive = _export(a.tenant_id)
    manifest = _json(archive, "manifest.json")

    path = "documents/" + key[len(files.prefix(a.tenant_id)):]
    assert archive.read(path) == pdf
    assert {"path": path, "bytes": len(pdf), "sha256": hashlib.sha256(pdf).hexdigest()} in manifest["documents"]
    assert [name for name in archive.namelist() if name.startswith("documents/")] == [path]


def test_issued_bills_without_a_stored_document_get_it_before_the_export(tenants_ab):
    """The embedded default renders a bill's PDF when first opened: the export renders those not opened yet."""
    a, _b = tenants_ab

    archive = _export(a.tenant_id, render_missing_documents=True)

    documents = [name for name in archive.namelist() if name.startswith("documents/")]
    assert len(documents) == 1 and documents[0].startswith("documents/bills/")
    assert documents[0].endswith(f"{a.bill_number}.pdf") and archive.read(documents[0]).startswith(b"%PDF")
    bill, = [row for row in _json(archive, "tables/bills.json") if row["number"] == a.bill_number]
    assert bill["document_path"].endswith(f"{a.bill_number}.pdf")
    assert bill["document_sha256"] == hashlib.sha256(archive.read(documents[0])).hexdigest()
    assert _json(archive, "manifest.json")["documents_not_rendered"] == []


def test_the_console_job_writes_the_zip_to_storage_and_records_it(tenants_ab):
    a, _b = tenants_ab
    asked = export.request_export(tenant_id=a.tenant_id, requested_by="ops@platform.example.com", now=utcnow())

    with tenant_scope(a.tenant_id):
        outcome = export.export_job(export_id=asked.id)
        db.session.commit()
    done = export.export_by_public_id(tenant_id=a.tenant_id, public_id=asked.public_id)
    path = export.export_file(done)

    assert outcome["rows"] == done.total_rows > 0
    assert done.status == "done" and path is not None and path.stat().st_size == done.size_bytes
    assert hashlib.sha256(path.read_bytes()).hexdigest() == done.sha256
    assert done.storage_key.startswith(f"tenants/{a.tenant_id}/exports/")
    assert zipfile.ZipFile(path).read("manifest.json")
    with tenant_scope(a.tenant_id):
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "TenantExport")))
        db.session.rollback()
    assert sorted(actions) == ["data_export_requested", "data_exported"]


def test_a_failed_export_says_why_and_leaves_no_file(tenants_ab, monkeypatch):
    a, _b = tenants_ab
    asked = export.request_export(tenant_id=a.tenant_id, requested_by="ops@platform.example.com", now=utcnow())

    def broken(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(export, "write_export", broken)
    with tenant_scope(a.tenant_id):
        outcome = export.export_job(export_id=asked.id)
    failed = export.export_by_public_id(tenant_id=a.tenant_id, public_id=asked.public_id)

    assert outcome == {"failed": True}
    assert failed.status == "failed" and "disk full" in failed.error and export.export_file(failed) is None
    assert list(storage().walk(tenant_id=a.tenant_id)) == []


def test_another_tenants_export_is_not_found(tenants_ab):
    a, b = tenants_ab
    asked = export.request_export(tenant_id=a.tenant_id, requested_by="ops@platform.example.com", now=utcnow())

    assert export.export_by_public_id(tenant_id=b.tenant_id, public_id=asked.public_id) is None
    assert export.exports_of(tenant_id=b.tenant_id) == []


@on_postgresql
def test_on_postgresql_every_table_is_read_under_row_level_security_as_the_tenant(tenants_ab, monkeypatch):
    a, _b = tenants_ab
    seen = []
    real = export._batches

    def watching(model, attrs, tenant_id):
        seen.append(db.session.execute(text(
            "SELECT current_setting('app.tenant_id', true), current_setting('transaction_isolation'), "
            "(SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user)")).one())
        yield from real(model, attrs, tenant_id)

    monkeypatch.setattr(export, "_batches", watching)

    _export(a.tenant_id)

    assert len(seen) == len(export.tenant_models())
    assert set(seen) == {(str(a.tenant_id), "repeatable read", False)}


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)")
def test_on_the_workers_the_export_job_may_run_for_hours_not_rqs_three_minutes(app, tenants_ab):
    from redis import Redis
    from rq.job import Job
    from rq.serializers import JSONSerializer

    from app.jobs import enqueue_now

    a, _b = tenants_ab
    asked = export.request_export(tenant_id=a.tenant_id, requested_by="ops@platform.example.com", now=utcnow())

    job_id = enqueue_now("tenants.export_data", tenant_id=a.tenant_id, export_id=asked.id,
                         job_id=f"test-export-timeout-{asked.public_id}")
    connection = Redis.from_url(app.config["REDIS_URL"])
    job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
    try:
        assert job.timeout == 4 * 3600 and job.origin == "default"
    finally:
        job.delete()
