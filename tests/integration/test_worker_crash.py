"""A worker killed (SIGKILL) in the middle of a billing run, then restarted: the run completes with exactly one
bill per contract, gapless numbers, and ledger debits equal to the bills' totals.

Real `worker.py` processes on real Redis and PostgreSQL. To kill the worker while it is inside a chunk (not
between two), the test holds a lock on one contract of the fourth chunk: the work horse billing that chunk
blocks on it, mid-transaction, and is killed there with its worker.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from domain.accounting.models import LedgerEntry
from domain.billing import runs
from domain.billing.models import Bill
from domain.billing.run_models import BillingRun, BillingRunChunk
from domain.db import db, utcnow
from tests.clock import pinned_command, pinned_env
from tenants.context import tenant_scope
from tests import factories as f

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = 12
CHUNK_SIZE = 2
LOCKED_CHUNK = 4

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL") or not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="needs PostgreSQL and Redis: real RQ workers are killed in the middle of a chunk (CI runs it)",
)


def _contracts(app, tenant_id: int) -> list[int]:
    """CONTRACTS monthly contracts on one tariff, each with a reading at its start and one in February."""
    with app.app_context(), tenant_scope(tenant_id):
        version = f.TariffVersionFactory()
        f.UnitPriceFactory(version=version)
        ids = []
        for _ in range(CONTRACTS):
            register = f.RegisterFactory()
            dp = f.DeliveryPointFactory()
            f.MeterInstallationFactory(meter=register.meter, delivery_point=dp)
            contract = f.ContractFactory(delivery_point=dp, offer_id=version.offer_id)
            f.MeterReadingFactory(register=register, read_on=date(2024, 1, 1), value=Decimal("1000.000"),
                                  source="agent")
            f.MeterReadingFactory(register=register, read_on=date(2024, 2, 1), value=Decimal("1250.000"),
                                  source="agent")
            ids.append(contract.id)
        db.session.commit()
        return sorted(ids)


def _worker(app, *, burst: bool, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_DIR": str(app.instance_path),
        "REDIS_URL": os.environ["REDIS_URL"],
        "WORKER_DAILY_JOBS": "0",
        "WORKER_BURST": "1" if burst else "0",
    }
    # Its own process group: killing the group kills the worker and its work horse, as a crash would.
    with log.open("a") as out:
        return subprocess.Popen(pinned_command("worker.py", "billing"), cwd=ROOT, env=pinned_env(env), stdout=out,
                                stderr=subprocess.STDOUT)


def _kill_with_its_children(pid: int) -> None:
    """SIGKILL a worker and every process under it (RQ puts its work horse in a process group of its own)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    family, grew = {pid}, True
    while grew:
        children = {child for child, parent in parents.items() if parent in family} - family
        family |= children
        grew = bool(children)
    for member in family:
        try:
            os.kill(member, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _wait(condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _chunks(app, tenant_id: int, run_id: int) -> dict[int, str]:
    with app.app_context(), tenant_scope(tenant_id):
        rows = db.session.execute(select(BillingRunChunk.number, BillingRunChunk.status)
                                  .where(BillingRunChunk.run_id == run_id)).all()
        db.session.rollback()
        return dict(rows)


def test_a_worker_killed_mid_chunk_then_restarted_completes_the_run_exactly_once(app, make_tenant, tmp_path):
    from redis import Redis

    Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    tenant = make_tenant("crashco")
    contract_ids = _contracts(app, tenant.id)
    locked_contract = contract_ids[(LOCKED_CHUNK - 1) * CHUNK_SIZE]

    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    holder = engine.connect()  # holds the lock
    watcher = engine.connect().execution_options(isolation_level="AUTOCOMMIT")  # fresh pg_stat_activity each time
    log = tmp_path / "worker.log"
    lock = holder.begin()
    worker = None
    try:
        holder.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)})
        assert holder.execute(text("SELECT id FROM contracts WHERE id = :id FOR UPDATE"),
                              {"id": locked_contract}).scalar() == locked_contract
        worker = _worker(app, burst=False, log=log)
        with app.app_context(), tenant_scope(tenant.id):
            run = runs.create_run(billing_date=date(2024, 3, 1), mode="issue", scope_activity=None,
                                  scope_cycle=None, created_by="test", now=utcnow(), chunk_size=CHUNK_SIZE)
            db.session.commit()
            run_id = run.id
            runs.start(run)  # REDIS_URL is set: the planner goes to the billing queue

        # The horse billing chunk 4 waits on the held contract, inside its transaction: kill the worker there.
        blocked = _wait(lambda: watcher.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )).scalar(), "a work horse blocked on the held contract")
        chunks = _chunks(app, tenant.id, run_id)
        _kill_with_its_children(worker.pid)
        worker.wait(timeout=10)
    finally:
        if worker is not None and worker.poll() is None:
            _kill_with_its_children(worker.pid)
        lock.rollback()  # the dead horse's backend wakes up, finds its client gone and rolls its chunk back
    assert chunks == {n: "done" if n < LOCKED_CHUNK else "pending" for n in range(1, CONTRACTS // CHUNK_SIZE + 1)}
    _wait(lambda: not watcher.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"),
                                      {"pid": blocked}).scalar(), "the killed horse's backend to end")
    holder.close()
    watcher.close()
    engine.dispose()

    with app.app_context(), tenant_scope(tenant.id):
        assert db.session.get(BillingRun, run_id).status == "running"
        # Nothing of the interrupted chunk was written.
        assert db.session.scalar(select(func.count(Bill.id)).where(Bill.billing_run_id == run_id)) == (
            (LOCKED_CHUNK - 1) * CHUNK_SIZE)
        db.session.rollback()

    restarted = _worker(app, burst=True, log=log)  # takes the run up, bills what is left, exits when idle
    assert restarted.wait(timeout=120) == 0, log.read_text()[-3000:]
    output = log.read_text()

    with app.app_context(), tenant_scope(tenant.id):
        run = db.session.get(BillingRun, run_id)
        assert run.status == "completed", output[-3000:]
        bills = db.session.execute(select(Bill.contract_id, Bill.number, Bill.total_incl_tax)
                                   .where(Bill.billing_run_id == run_id).order_by(Bill.number)).all()
        debits = db.session.scalar(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.direction == "debit", LedgerEntry.bill_id.in_([b.id for b in db.session.scalars(
                select(Bill).where(Bill.billing_run_id == run_id))])))
    assert sorted(b.contract_id for b in bills) == contract_ids  # exactly one bill per contract
    assert [b.number for b in bills] == [f"2024-{n:07d}" for n in range(1, CONTRACTS + 1)]  # gapless
    assert all(b.total_incl_tax > 0 for b in bills)
    assert debits == sum(b.total_incl_tax for b in bills)
    assert set(_chunks(app, tenant.id, run_id).values()) == {"done"}
