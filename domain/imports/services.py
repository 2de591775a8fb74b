"""Imports of a customer base: receive the files, check them all, then write them chunk by chunk on the workers.

1. `create_import` stores the files and records the import (`checking`); the view dispatches `imports.check`.
2. `check_import` (job) reads every file and checks every row against the others and the database; with any error
   the import is `invalid` and nothing is written. Otherwise the checked rows are stored in chunks of a few
   thousand and the import is `importing`.
3. `write_chunk` (job) writes one chunk in one transaction, after locking its row: a chunk is written once, and a
   worker killed in the middle loses its transaction, leaving the chunk pending for the retry (RQ) or for
   `resume`. Files are written in order (customers, premises, meters, contracts, balances, readings): the chunks
   of one file run in parallel; the last to finish dispatches the next file's.
"""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from domain.audit.recorder import record_event
from domain.billing.settings import billing_frequencies, default_billing_frequency
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db, utcnow
from domain.imports.models import CustomerImport, CustomerImportChunk
from domain.imports.parsing import UnreadableFile, format_of, read_rows
from domain.imports.spec import KINDS, PHASES
from domain.imports.validation import ErrorSink, Known, RowError, check_file
from domain.imports.writing import ChunkContext, Counts, write_chunk as write_rows
from domain.jobs import dispatch
from domain.search import deferral as search_deferral
from domain.offers.models import Offer
from domain.sites.models import DeliveryPoint, Meter, Register
from domain.storage import storage
from tenants.context import require_tenant_id
from tenants.models import Tenant

log = logging.getLogger("imports")

# Rows per chunk: a chunk of customers writes six rows per customer, one of readings one per reading.
CHUNK_ROWS = {"readings": 10000}
DEFAULT_CHUNK_ROWS = 2000
MAX_FILE_BYTES = 200 * 1024 * 1024


class ImportRefused(ValueError):
    """The files cannot be taken (none, a format not read, another import at work); `code` says why."""

    def __init__(self, code: str, kind: str | None = None):
        super().__init__(code)
        self.code = code
        self.kind = kind


@dataclass(frozen=True)
class ImportProgress:
    total: int
    processed: int
    chunks_done: int
    chunks_total: int
    finished: bool

    @property
    def percent(self) -> int:
        if self.total == 0:
            return 100 if self.finished else 0
        return min(100, int(self.processed * 100 / self.total))


# -- receiving the files -------------------------------------------------------------------------------------------

def create_import(*, files: dict[str, tuple[str, bytes]], created_by: str, now: datetime) -> CustomerImport:
    """Store the files (kind -> (file name, content)) and record the import, to be checked by a worker."""
    files = {kind: value for kind, value in files.items() if value and value[1]}
    if not files:
        raise ImportRefused("no_file")
    for kind, (name, data) in files.items():
        if kind not in KINDS:
            raise ImportRefused("kind", kind)
        if format_of(name) is None:
            raise ImportRefused("format", kind)
        if len(data) > MAX_FILE_BYTES:
            raise ImportRefused("too_big", kind)
    if db.session.scalar(select(func.count(CustomerImport.id)).where(
            CustomerImport.status.in_(("checking", "importing")))):
        raise ImportRefused("busy")
    tenant_id = require_tenant_id()
    stored = {}
    for kind, (name, data) in files.items():
        key = storage().save(tenant_id=tenant_id, category="imports", filename=f"{kind}-{name}", data=data)
        stored[kind] = {"name": name[-200:], "key": key, "format": format_of(name)}
    imported = CustomerImport(files=stored, created_by=created_by, created_at=now, status="checking")
    db.session.add(imported)
    db.session.flush()
    record_event(db.session, tenant_id=tenant_id, action="customer_import_submitted", entity_type="CustomerImport",
                 entity_id=imported.id, occurred_at=now,
                 details={"files": {kind: f["name"] for kind, f in stored.items()}, "by": created_by})
    return imported


def _job_id(tenant_id: int, import_id: int, what: str) -> str:
    return f"import-{tenant_id}-{import_id}-{what}"


def start(imported: CustomerImport) -> None:
    """Hand the import to the workers (call once it is committed)."""
    tenant_id = require_tenant_id()
    dispatch("imports.check", tenant_id=tenant_id, job_id=_job_id(tenant_id, imported.id, "check"),
             import_id=imported.id)


def import_by_public_id(public_id: str) -> CustomerImport | None:
    return db.session.scalar(select(CustomerImport).where(CustomerImport.public_id == public_id))


def latest_imports(limit: int = 20) -> list[CustomerImport]:
    return list(db.session.scalars(select(CustomerImport).order_by(CustomerImport.created_at.desc(),
                                                                   CustomerImport.id.desc()).limit(limit)))


# -- checking ------------------------------------------------------------------------------------------------------

def load_known() -> Known:
    """What the files may refer to in the database: the tenant's offers and every row with a reference."""
    tenant = db.session.get(Tenant, require_tenant_id())
    known = Known(activities=tuple(tenant.activities or ()), frequencies=tuple(billing_frequencies(tenant)),
                  default_frequency=default_billing_frequency(tenant))
    known.offers = dict(db.session.execute(select(Offer.code, Offer.activity).where(Offer.is_active.is_(True))).all())
    for number, ref in db.session.execute(select(CustomerAccount.account_number, CustomerAccount.external_ref)):
        known.account_numbers[number] = ref
        if ref is not None:
            known.customers.add(ref)
    for identifier, ref, activity in db.session.execute(
            select(DeliveryPoint.identifier, DeliveryPoint.external_ref, DeliveryPoint.activity)):
        known.pod_identifiers[identifier] = ref
        if ref is not None:
            known.pods[ref] = activity
    registers: dict[int, set[str]] = {}
    for meter_id, code in db.session.execute(select(Register.meter_id, Register.code)):
        registers.setdefault(meter_id, set()).add(code)
    for meter_id, serial, ref, activity, digits in db.session.execute(
            select(Meter.id, Meter.serial_number, Meter.external_ref, Meter.activity, Meter.digits)):
        known.serials[serial] = ref
        if ref is not None:
            known.meters[ref] = (activity, digits, frozenset(registers.get(meter_id, ())))
    for number, ref in db.session.execute(select(Contract.contract_number, Contract.external_ref)):
        known.contract_numbers[number] = ref
    return known


class _Chunker:
    """Checked rows into chunk files of normalised CSV, a premise's rows kept in one chunk."""

    def __init__(self, imported: CustomerImport, tenant_id: int):
        self.imported = imported
        self.tenant_id = tenant_id
        self.specs: list[dict] = []
        self.kind: str | None = None
        self.rows: list[list[str]] = []
        self.group: str | None = None
        self.size = DEFAULT_CHUNK_ROWS

    def start(self, kind: str) -> Callable[[list[str], str | None], None]:
        self.kind = kind
        self.size = CHUNK_ROWS.get(kind, DEFAULT_CHUNK_ROWS)
        rows = self.rows

        def emit(row: list[str], group: str | None) -> None:
            if len(rows) >= self.size and (group is None or group != self.group):
                self.flush()
            self.group = group
            rows.append(row)
        return emit

    def flush(self) -> None:
        if not self.rows:
            return
        buffer = io.StringIO()
        csv.writer(buffer).writerows(self.rows)
        number = len(self.specs) + 1
        key = storage().save(tenant_id=self.tenant_id, category=f"imports/{self.imported.public_id}",
                             filename=f"{number:05d}-{self.kind}.csv", data=buffer.getvalue().encode())
        self.specs.append({"number": number, "kind": self.kind, "phase": PHASES[self.kind], "rows": len(self.rows),
                           "key": key})
        self.rows.clear()
        self.group = None

    def discard(self) -> None:
        for spec in self.specs:
            storage().delete(tenant_id=self.tenant_id, key=spec["key"])
        self.specs.clear()


def tenant_today(tenant: Tenant, now: datetime) -> date:
    return now.astimezone(ZoneInfo(tenant.timezone or "UTC")).date()


def check_import(*, import_id: int) -> dict:
    """Job: check every file of the import; store its rows in chunks and start writing, or record the errors."""
    imported = db.session.scalar(select(CustomerImport).where(CustomerImport.id == import_id))
    if imported is None or imported.status != "checking":
        return {"skipped": True}
    tenant_id = require_tenant_id()
    tenant = db.session.get(Tenant, tenant_id)
    today = tenant_today(tenant, utcnow())
    known = load_known()
    db.session.rollback()  # no transaction held open while the files are read
    errors = ErrorSink()
    chunker = _Chunker(imported, tenant_id)
    total = 0
    for kind in KINDS:
        if kind not in imported.files:
            continue
        described = imported.files[kind]
        emit = chunker.start(kind)

        def emit_while_right(row, group, emit=emit):
            if not errors.count:  # once wrong, nothing will be written: stop storing rows
                emit(row, group)
        try:
            header, rows = read_rows(storage().read(tenant_id=tenant_id, key=described["key"]), described["format"])
            total += check_file(kind, header, rows, known=known, today=today, errors=errors, emit=emit_while_right)
        except UnreadableFile as exc:
            errors.add(RowError(kind, 0, "", f"file_{exc.code}"))
        if not errors.count:
            chunker.flush()
    imported = db.session.scalar(select(CustomerImport).where(CustomerImport.id == import_id))
    imported.total_rows = total
    imported.checked_at = utcnow()
    if errors.count:
        chunker.discard()
        imported.status = "invalid"
        imported.error_count = errors.count
        imported.errors = [error.as_dict() for error in errors.kept]
        imported.finished_at = imported.checked_at
    else:
        imported.status = "importing"
        for spec in chunker.specs:
            db.session.add(CustomerImportChunk(import_id=import_id, **spec))
    record_event(db.session, tenant_id=tenant_id, action="customer_import_checked", entity_type="CustomerImport",
                 entity_id=import_id, occurred_at=imported.checked_at,
                 details={"rows": total, "errors": errors.count, "chunks": len(chunker.specs)})
    db.session.commit()
    log.info("customer import checked tenant=%s import=%s rows=%s errors=%s", tenant_id, import_id, total,
             errors.count)
    if imported.status == "importing":
        advance(import_id=import_id)
    return {"rows": total, "errors": errors.count}


# -- writing -------------------------------------------------------------------------------------------------------

def advance(*, import_id: int) -> dict:
    """Job (and step): dispatch the pending chunks of the first file not written yet, or close the import."""
    imported = db.session.scalar(select(CustomerImport).where(CustomerImport.id == import_id))
    if imported is None or imported.status != "importing":
        db.session.rollback()
        return {"skipped": True}
    c = CustomerImportChunk
    pending = db.session.execute(select(c.phase, c.number).where(c.import_id == import_id, c.status != "done")
                                 .order_by(c.phase, c.number)).all()
    tenant_id = require_tenant_id()
    if not pending:
        search_deferral.refresh_deferred()  # the imported customers' search documents, each built once
        now = utcnow()
        closed = db.session.execute(update(CustomerImport).where(
            CustomerImport.id == import_id, CustomerImport.status == "importing")
            .values(status="completed", finished_at=now)).rowcount
        if closed:
            record_event(db.session, tenant_id=tenant_id, action="customer_import_completed",
                         entity_type="CustomerImport", entity_id=import_id, occurred_at=now,
                         details=summary_counts(import_id))
        db.session.commit()
        return {"completed": bool(closed)}
    db.session.commit()
    phase = pending[0][0]
    numbers = [number for row_phase, number in pending if row_phase == phase]
    for number in numbers:
        dispatch("imports.write_chunk", tenant_id=tenant_id, job_id=_job_id(tenant_id, import_id, f"chunk-{number}"),
                 import_id=import_id, chunk_number=number)
    return {"dispatched": len(numbers)}


def _locked_chunk(import_id: int, number: int) -> CustomerImportChunk | None:
    """The chunk's row, locked until the job commits (PostgreSQL): a second job for the same chunk waits, then
    finds it done."""
    stmt = select(CustomerImportChunk).where(CustomerImportChunk.import_id == import_id,
                                             CustomerImportChunk.number == number)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def write_chunk(*, import_id: int, chunk_number: int, attempts: int = 3) -> dict:
    """Job: write one chunk in one transaction; the last chunk of a file starts the next file."""
    tenant_id = require_tenant_id()
    for attempt in range(attempts):
        imported = db.session.scalar(select(CustomerImport).where(CustomerImport.id == import_id))
        chunk = _locked_chunk(import_id, chunk_number)
        if imported is None or chunk is None or chunk.status != "pending" or imported.status != "importing":
            db.session.rollback()
            return {"skipped": True}
        tenant = db.session.get(Tenant, tenant_id)
        now = utcnow()
        context = ChunkContext(tenant_id=tenant_id, now=now, today=tenant_today(tenant, now),
                               currency=tenant.currency)
        try:
            text = storage().read(tenant_id=tenant_id, key=chunk.key).decode()
            search_deferral.defer_documents()  # built once when the import closes (advance)
            counts = write_rows(chunk.kind, list(csv.reader(io.StringIO(text))), context)
            chunk.created, chunk.updated, chunk.unchanged = counts.created, counts.updated, counts.unchanged
            chunk.status = "done"
            chunk.finished_at = utcnow()
            record_event(db.session, tenant_id=tenant_id, action="customer_import_chunk_written",
                         entity_type="CustomerImport", entity_id=import_id, occurred_at=chunk.finished_at,
                         details={"chunk": chunk_number, "file": chunk.kind, "created": counts.created,
                                  "updated": counts.updated, "unchanged": counts.unchanged,
                                  "by": imported.created_by})
            kind_phase = chunk.phase
            db.session.commit()
        except IntegrityError:
            # Another chunk of the file wrote the same premise at the same moment: it is there now; again.
            db.session.rollback()
            if attempt + 1 < attempts:
                continue
            return _fail(import_id, chunk_number, "integrity error")
        except Exception as exc:  # a broken chunk fails the import visibly; the administrator resumes it
            db.session.rollback()
            log.exception("customer import chunk failed tenant=%s import=%s chunk=%s", tenant_id, import_id,
                          chunk_number)
            return _fail(import_id, chunk_number, f"{type(exc).__name__}: {exc}")
        break
    c = CustomerImportChunk
    left_in_file = db.session.scalar(select(c.id).where(c.import_id == import_id, c.phase == kind_phase,
                                                        c.status != "done").limit(1)) is not None
    db.session.commit()
    if not left_in_file:
        advance(import_id=import_id)
    return {"created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged}


def _fail(import_id: int, chunk_number: int, error: str) -> dict:
    db.session.execute(update(CustomerImportChunk).where(
        CustomerImportChunk.import_id == import_id, CustomerImportChunk.number == chunk_number,
        CustomerImportChunk.status == "pending").values(status="failed", error=error[:2000]))
    db.session.execute(update(CustomerImport).where(CustomerImport.id == import_id,
                                                    CustomerImport.status == "importing")
                       .values(status="failed", failure=error[:2000]))
    search_deferral.refresh_deferred()  # the customers written so far are found while the import waits
    db.session.commit()
    return {"failed": True}


def resume(imported: CustomerImport) -> None:
    """Put a failed or stalled import back to work (its chunks done stay done); dispatch `resume_job` after commit."""
    if imported.status == "failed":
        db.session.execute(update(CustomerImportChunk).where(CustomerImportChunk.import_id == imported.id,
                                                             CustomerImportChunk.status == "failed")
                           .values(status="pending", error=None))
        imported.status = "importing"
        imported.failure = None
    elif imported.status not in ("importing", "checking"):
        raise ImportRefused("state")
    record_event(db.session, tenant_id=imported.tenant_id, action="customer_import_resumed",
                 entity_type="CustomerImport", entity_id=imported.id, occurred_at=utcnow(), details={})
    db.session.flush()


def dispatch_resume(imported: CustomerImport) -> None:
    tenant_id = require_tenant_id()
    if imported.status == "checking":
        dispatch("imports.check", tenant_id=tenant_id, job_id=_job_id(tenant_id, imported.id, "check-again"),
                 import_id=imported.id)
    else:
        dispatch("imports.advance", tenant_id=tenant_id, job_id=_job_id(tenant_id, imported.id, "resume"),
                 import_id=imported.id)


# -- following ------------------------------------------------------------------------------------------------------

def progress(imported: CustomerImport) -> ImportProgress:
    c = CustomerImportChunk
    chunks_total, chunks_done, processed = db.session.execute(select(
        func.count(c.id), func.count(c.id).filter(c.status == "done"),
        func.coalesce(func.sum(c.rows).filter(c.status == "done"), 0)).where(c.import_id == imported.id)).one()
    total = imported.total_rows if imported.status != "checking" else 0
    return ImportProgress(total=total, processed=int(processed), chunks_done=int(chunks_done),
                          chunks_total=int(chunks_total), finished=imported.status == "completed")


def summary_counts(import_id: int) -> dict[str, dict[str, int]]:
    """Per file: rows created, updated and left unchanged so far."""
    c = CustomerImportChunk
    out = {}
    for kind, created, updated, unchanged, rows in db.session.execute(
            select(c.kind, func.sum(c.created), func.sum(c.updated), func.sum(c.unchanged), func.sum(c.rows))
            .where(c.import_id == import_id).group_by(c.kind)):
        out[kind] = {"created": int(created or 0), "updated": int(updated or 0), "unchanged": int(unchanged or 0),
                     "rows": int(rows or 0)}
    return {kind: out[kind] for kind in KINDS if kind in out}


__all__ = ["Counts", "ImportRefused", "create_import", "check_import", "write_chunk", "advance", "resume"]


def example_offers() -> dict[str, str]:
    """The offer the example files use per activity the utility supplies: its first active offer, by code."""
    tenant = db.session.get(Tenant, require_tenant_id())
    activities = set(tenant.activities or ())
    chosen: dict[str, str] = {}
    for code, activity in db.session.execute(select(Offer.code, Offer.activity).where(Offer.is_active.is_(True))
                                             .order_by(Offer.code)):
        if activity in activities:
            chosen.setdefault(activity, code)
    return chosen
