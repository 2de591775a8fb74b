"""The customer base import on the database: checked whole before anything is written, idempotent, resumable."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.accounting.models import LedgerEntry
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db, utcnow
from domain.imports import examples, services, writing
from domain.imports.models import CustomerImport, CustomerImportChunk
from domain.parties.models import ContactPoint, Party, PartyRole
from domain.readings.models import MeterReading
from domain.storage import storage
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation, Premise, Register
from tenants.context import tenant_scope
from tests.clock import pinned_command, pinned_env

ROOT = Path(__file__).resolve().parents[2]
COUNTED = (Party, ContactPoint, PartyRole, CustomerAccount, Premise, DeliveryPoint, Meter, Register,
           MeterInstallation, Contract, LedgerEntry, MeterReading)


@pytest.fixture(autouse=True)
def _jobs_in_process(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)


def _offer(app, tenant_id: int) -> str:
    with app.app_context(), tenant_scope(tenant_id):
        return services.example_offers()["electricity"]


def _table(kind: str, rows: list[dict]) -> list[list[str]]:
    return examples.as_table(kind, rows)


def _customer_files(offer: str, count: int, *, city: str = "Lyon") -> dict[str, list[list[str]]]:
    """`count` customers, each with a premise, a point of delivery, a meter, a contract, a balance, 3 readings."""
    rows = {kind: [] for kind in ("customers", "premises", "meters", "contracts", "balances", "readings")}
    for i in range(1, count + 1):
        rows["customers"].append({"customer_ref": f"C{i}", "last_name": f"Name{i}", "email": f"c{i}@example.com",
                                  "address_line1": f"{i} rue Haute", "postcode": "69001", "city": city,
                                  "opened_on": "2024-01-01"})
        rows["premises"].append({"premise_ref": f"P{i}", "address_line1": f"{i} rue Haute", "postcode": "69001",
                                 "city": city, "pod_ref": f"POD{i}", "activity": "electricity"})
        rows["meters"].append({"meter_ref": f"M{i}", "activity": "electricity", "pod_ref": f"POD{i}",
                               "installed_on": "2024-01-01"})
        rows["contracts"].append({"contract_ref": f"K{i}", "customer_ref": f"C{i}", "pod_ref": f"POD{i}",
                                  "offer_code": offer, "start_date": "2024-01-01"})
        rows["balances"].append({"customer_ref": f"C{i}", "amount": f"{i}.50", "as_of": "2026-11-01"})
        for month, value in ((8, 100 * i), (9, 100 * i + 50), (10, 100 * i + 90)):
            rows["readings"].append({"meter_ref": f"M{i}", "read_on": f"2026-{month:02d}-01", "value": str(value)})
    return {kind: _table(kind, kind_rows) for kind, kind_rows in rows.items()}


def _encode(tables: dict[str, list[list[str]]], fmt: str = "csv") -> dict[str, tuple[str, bytes]]:
    encode = examples.to_csv if fmt == "csv" else examples.to_xlsx
    return {kind: (f"{kind}.{fmt}", encode(table)) for kind, table in tables.items()}


def _example_files(app, tenant_id: int, fmt: str = "csv") -> dict[str, tuple[str, bytes]]:
    with app.app_context(), tenant_scope(tenant_id):
        rows = examples.example_rows(offers=services.example_offers(), today=utcnow().date())
    return _encode({kind: _table(kind, kind_rows) for kind, kind_rows in rows.items()}, fmt)


def _create(app, tenant_id: int, files) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        imported = services.create_import(files=files, created_by="admin@alpha.test", now=utcnow())
        db.session.commit()
        return imported.id


def _import(app, tenant_id: int, files) -> CustomerImport:
    import_id = _create(app, tenant_id, files)
    with app.app_context(), tenant_scope(tenant_id):
        services.start(db.session.get(CustomerImport, import_id))
    return _get(app, tenant_id, import_id)


def _get(app, tenant_id: int, import_id: int) -> CustomerImport:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(CustomerImport).where(CustomerImport.id == import_id))


def _counts(app, tenant_id: int) -> dict[str, int]:
    with app.app_context(), tenant_scope(tenant_id):
        return {model.__name__: db.session.scalar(select(func.count(model.id))) for model in COUNTED}


def _added(before: dict, after: dict) -> dict:
    return {name: after[name] - before[name] for name in before}


def _per_customer(count: int) -> dict[str, int]:
    return {"Party": count, "ContactPoint": 2 * count, "PartyRole": count, "CustomerAccount": count,
            "Premise": count, "DeliveryPoint": count, "Meter": count, "Register": count, "MeterInstallation": count,
            "Contract": count, "LedgerEntry": count, "MeterReading": 3 * count}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_example_files_import_then_a_second_import_changes_nothing(app, two_tenants, fmt):
    a, b = two_tenants
    before, before_b = _counts(app, a.tenant_id), _counts(app, b.tenant_id)
    files = _example_files(app, a.tenant_id, fmt)

    first = _import(app, a.tenant_id, files)
    after_first = _counts(app, a.tenant_id)
    second = _import(app, a.tenant_id, files)

    assert first.status == "completed", first.errors
    assert second.status == "completed"
    assert _added(before, after_first) == {**_per_customer(1), "ContactPoint": 3}
    assert _counts(app, a.tenant_id) == after_first
    assert _counts(app, b.tenant_id) == before_b
    with app.app_context(), tenant_scope(a.tenant_id):
        summary = services.summary_counts(second.id)
        assert set(summary) == {"customers", "premises", "meters", "contracts", "balances", "readings"}
        assert all(counts["created"] == counts["updated"] == 0 for counts in summary.values())
        entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.opening_balance.is_(True)))
        assert (entry.direction, entry.amount, entry.currency) == ("debit", Decimal("45.20"), "EUR")


def _errors(imported: CustomerImport) -> set[tuple]:
    return {(e["kind"], e["row"], e["column"], e["code"]) for e in imported.errors}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_file_with_errors_writes_nothing_and_says_where_each_error_is(app, two_tenants, fmt):
    a, _b = two_tenants
    tables = _customer_files(_offer(app, a.tenant_id), 3)
    tables["customers"][2][tables["customers"][0].index("last_name")] = ""  # row 3: customer C2
    tables["customers"][3][tables["customers"][0].index("email")] = "not-an-address"  # row 4: C3
    tables["contracts"][1][tables["contracts"][0].index("offer_code")] = "NO-SUCH-OFFER"  # row 2
    tables["contracts"][2][tables["contracts"][0].index("customer_ref")] = "C99"  # row 3
    tables["readings"][4][tables["readings"][0].index("read_on")] = "01/10/2026"  # row 5
    tables["readings"][5][tables["readings"][0].index("value")] = "12,5x"  # row 6
    before = _counts(app, a.tenant_id)

    imported = _import(app, a.tenant_id, _encode(tables, fmt))

    assert imported.status == "invalid"
    assert imported.error_count == 6
    assert _errors(imported) == {
        ("customers", 3, "last_name", "required"),
        ("customers", 4, "email", "bad_email"),
        ("contracts", 2, "offer_code", "unknown_offer"),
        ("contracts", 3, "customer_ref", "unknown_customer"),
        ("readings", 5, "read_on", "bad_date"),
        ("readings", 6, "value", "bad_number"),
    }
    assert _counts(app, a.tenant_id) == before
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(func.count(CustomerImportChunk.id))) == 0


def test_the_corrected_file_imports_and_a_changed_file_updates_what_changed(app, two_tenants):
    a, _b = two_tenants
    offer = _offer(app, a.tenant_id)
    before = _counts(app, a.tenant_id)
    wrong = _customer_files(offer, 3)
    wrong["contracts"][1][wrong["contracts"][0].index("offer_code")] = "NO-SUCH-OFFER"
    assert _import(app, a.tenant_id, _encode(wrong)).status == "invalid"

    corrected = _import(app, a.tenant_id, _encode(_customer_files(offer, 3)))
    after_corrected = _counts(app, a.tenant_id)
    changed = _customer_files(offer, 4, city="Villeurbanne")  # a new customer; every address moved
    third = _import(app, a.tenant_id, _encode(changed))

    assert corrected.status == "completed"
    assert _added(before, after_corrected) == _per_customer(3)
    assert third.status == "completed"
    assert _added(after_corrected, _counts(app, a.tenant_id)) == _per_customer(1)
    with app.app_context(), tenant_scope(a.tenant_id):
        summary = services.summary_counts(third.id)
        assert summary["customers"] == {"created": 1, "updated": 3, "unchanged": 0, "rows": 4}
        assert summary["premises"] == {"created": 1, "updated": 3, "unchanged": 0, "rows": 4}
        assert summary["contracts"] == {"created": 1, "updated": 0, "unchanged": 3, "rows": 4}
        assert summary["readings"] == {"created": 3, "updated": 0, "unchanged": 9, "rows": 12}
        cities = set(db.session.scalars(select(Premise.city).where(Premise.external_ref.is_not(None))))
        assert cities == {"Villeurbanne"}


def test_a_chunk_that_fails_writes_nothing_of_itself_and_the_import_resumes_without_duplicates(
        app, two_tenants, monkeypatch):
    a, _b = two_tenants
    monkeypatch.setattr(services, "DEFAULT_CHUNK_ROWS", 2)
    monkeypatch.setitem(services.CHUNK_ROWS, "readings", 4)
    files = _encode(_customer_files(_offer(app, a.tenant_id), 5))
    before = _counts(app, a.tenant_id)
    real = writing._WRITERS["meters"]
    calls = []

    def breaks_on_second_chunk(records, ctx):
        counts = real(records, ctx)  # written in the chunk's transaction...
        calls.append(len(records))
        if len(calls) == 2:
            raise RuntimeError("worker lost")  # ...and rolled back with it
        return counts
    monkeypatch.setitem(writing._WRITERS, "meters", breaks_on_second_chunk)

    imported = _import(app, a.tenant_id, files)

    assert imported.status == "failed" and "worker lost" in imported.failure
    partial = _added(before, _counts(app, a.tenant_id))
    assert partial["Party"] == 5 and partial["Meter"] == 2  # the first chunk of meters only
    assert partial["Contract"] == partial["MeterReading"] == 0

    monkeypatch.setitem(writing._WRITERS, "meters", real)
    with app.app_context(), tenant_scope(a.tenant_id):
        services.resume(db.session.get(CustomerImport, imported.id))
        db.session.commit()
        services.dispatch_resume(db.session.get(CustomerImport, imported.id))

    assert _get(app, a.tenant_id, imported.id).status == "completed"
    assert _added(before, _counts(app, a.tenant_id)) == _per_customer(5)


def test_a_process_killed_in_the_middle_of_a_chunk_loses_and_doubles_nothing(app, two_tenants, monkeypatch,
                                                                              tmp_path):
    a, _b = two_tenants
    monkeypatch.setattr(services, "DEFAULT_CHUNK_ROWS", 2)
    monkeypatch.setitem(services.CHUNK_ROWS, "readings", 4)
    files = _encode(_customer_files(_offer(app, a.tenant_id), 5))
    before = _counts(app, a.tenant_id)
    import_id = _create(app, a.tenant_id, files)
    ready = tmp_path / "ready"
    env = {**os.environ, "APP_ENV": "test", "SECRET_KEY": app.config["SECRET_KEY"],
           "DATABASE_URL": str(app.config["SQLALCHEMY_DATABASE_URI"]), "INSTANCE_DIR": str(app.instance_path),
           "FILES_DIR": str(storage().root)}  # where this process stored the files (the storage is process-wide)
    env.pop("REDIS_URL", None)
    stop_at = 8  # chunks of 2 rows: customers 1-3, premises 4-6, meters 7-9: in the middle of the meters
    log = (tmp_path / "child.log").open("w")
    child = subprocess.Popen(pinned_command("tests/integration/import_crash_child.py", str(a.tenant_id),
                                            str(import_id), str(stop_at), str(ready)),
                             cwd=ROOT, env=pinned_env(env), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert child.poll() is None, (tmp_path / "child.log").read_text()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.1)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(10)

    interrupted = _get(app, a.tenant_id, import_id)
    partial = _added(before, _counts(app, a.tenant_id))
    assert interrupted.status == "importing"
    assert partial["Party"] == 5 and partial["Premise"] == 5 and partial["Meter"] == 2
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(func.count(CustomerImportChunk.id)).where(
            CustomerImportChunk.status == "done")) == stop_at - 1
        services.resume(db.session.get(CustomerImport, import_id))
        db.session.commit()
        services.dispatch_resume(db.session.get(CustomerImport, import_id))

    assert _get(app, a.tenant_id, import_id).status == "completed"
    assert _added(before, _counts(app, a.tenant_id)) == _per_customer(5)


@pytest.mark.skipif("postgresql" not in os.environ.get("TEST_DATABASE_URL", ""),
                    reason="statistics and ANALYZE are PostgreSQL's; SQLite has no planner statistics to refresh")
def test_the_application_role_refreshes_the_statistics_of_an_import_parent_only_while_they_call_it_empty(
        app, two_tenants, owner_engine):
    from sqlalchemy import text

    tenant_id = two_tenants[0].tenant_id
    assert _import(app, tenant_id, _example_files(app, tenant_id)).status == "completed"
    with app.app_context(), tenant_scope(tenant_id):
        with owner_engine.begin() as conn:  # as if never analysed since the rows came
            conn.execute(text("UPDATE pg_class SET reltuples = -1 WHERE relname IN ('parties', 'meter_readings')"))
        analysed = db.session.execute(text("SELECT refresh_statistics(:t)"),
                                      {"t": ["parties", "meter_readings", "tenants; DROP TABLE parties"]}).scalar()
        db.session.commit()
    assert analysed == ["parties"]  # meter_readings and anything else are not on the function's list
    with owner_engine.begin() as conn:
        reltuples = conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'parties'")).scalar()
        assert reltuples >= 1
        conn.execute(text("UPDATE pg_class SET reltuples = 50000 WHERE relname = 'parties'"))
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.execute(text("SELECT refresh_statistics(:t)"), {"t": ["parties"]}).scalar() == []
        db.session.rollback()


def test_contracts_bill_at_the_utilitys_default_frequency_unless_the_file_names_one_it_offers(app, two_tenants):
    from tenants.models import Tenant

    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        tenant = db.session.get(Tenant, a.tenant_id)
        tenant.billing_frequencies, tenant.default_billing_frequency = ["bimonthly", "quarterly"], "bimonthly"
        db.session.commit()
    tables = _customer_files(_offer(app, a.tenant_id), 3)
    column = tables["contracts"][0].index("billing_frequency")
    tables["contracts"][2][column] = "quarterly"  # C2; C1 and C3 say nothing
    tables["contracts"][3][column] = "monthly"  # C3: not offered
    before = _counts(app, a.tenant_id)

    refused = _import(app, a.tenant_id, _encode(tables))

    assert refused.status == "invalid" and _counts(app, a.tenant_id) == before
    assert _errors(refused) == {("contracts", 4, "billing_frequency", "frequency_not_offered")}
    assert refused.errors[0]["params"] == {"offered": "bimonthly, quarterly"}
    tables["contracts"][3][column] = ""
    assert _import(app, a.tenant_id, _encode(tables)).status == "completed"
    with app.app_context(), tenant_scope(a.tenant_id):
        frequencies = dict(db.session.execute(select(Contract.external_ref, Contract.billing_frequency)
                                              .where(Contract.external_ref.is_not(None))).all())
    assert frequencies == {"K1": "bimonthly", "K2": "quarterly", "K3": "bimonthly"}
