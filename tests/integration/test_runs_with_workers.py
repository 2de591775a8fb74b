"""Billing runs finish by themselves on real `worker.py` processes (PostgreSQL + Redis), whatever was killed or left
empty; a worker waits for Redis instead of exiting, and stops within seconds when told to.

The workers sweep every second here (BILLING_SWEEP_SECONDS=1; 10 s by default). The same logic in-process and on
SQLite: tests/integration/test_billing_runs_finish.py.
"""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

import domain.billing.jobs as jobs
from domain.billing import runs
from domain.billing.models import Bill
from domain.billing.run_models import BillingRun
from domain.db import db, utcnow
from tenants.context import tenant_scope
from tests.clock import pinned_command, pinned_env
from tests.integration.test_worker_crash import CHUNK_SIZE, CONTRACTS, _contracts, _kill_with_its_children, _wait

ROOT = Path(__file__).resolve().parents[2]
LOCKED_CHUNK = 4

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL") or not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="needs PostgreSQL and Redis: real RQ workers (CI runs it)",
)


@pytest.fixture(autouse=True)
def _empty_redis():
    from redis import Redis

    Redis.from_url(os.environ["REDIS_URL"]).flushdb()


@pytest.fixture
def workers(app, tmp_path):
    """Start `worker.py` processes (own process groups); every one still alive is killed at the end."""
    started: list[subprocess.Popen] = []
    log = tmp_path / "workers.log"

    def start(*queues: str, redis_url: str | None = None, burst: bool = False) -> subprocess.Popen:
        env = {
            **os.environ,
            "APP_ENV": "test",
            "SECRET_KEY": app.config["SECRET_KEY"],
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "INSTANCE_DIR": str(app.instance_path),
            "FILES_DIR": str(app.config["FILES_DIR"]),
            "REDIS_URL": redis_url or os.environ["REDIS_URL"],
            "WORKER_DAILY_JOBS": "0",
            "WORKER_BURST": "1" if burst else "0",
            "BILLING_SWEEP_SECONDS": "1",
        }
        with log.open("a") as out:
            process = subprocess.Popen(pinned_command("worker.py", *(queues or ("billing",))), cwd=ROOT,
                                       env=pinned_env(env), stdout=out, stderr=subprocess.STDOUT)
        started.append(process)
        return process

    start.log = log
    yield start
    for process in started:
        if process.poll() is None:
            _kill_with_its_children(process.pid)
            process.wait(timeout=10)


def _listening(workers, count: int = 1) -> None:
    _wait(lambda: workers.log.exists() and workers.log.read_text().count("Listening on") >= count,
          "the worker to listen", timeout=60)


def _status(app, tenant_id: int, run_id: int) -> str:
    with app.app_context(), tenant_scope(tenant_id):
        status = db.session.get(BillingRun, run_id).status
        db.session.rollback()
        return status


def _create(app, tenant_id: int, *, billing_date: date = date(2024, 3, 1), start: bool = True,
            chunk_size: int = CHUNK_SIZE) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        run = runs.create_run(billing_date=billing_date, mode="issue", scope_activity=None, scope_cycle=None,
                              created_by="test", now=utcnow(), chunk_size=chunk_size)
        db.session.commit()
        if start:
            runs.start(run)
        return run.id


def _completed(app, tenant_id: int, run_id: int, workers, timeout: float = 60.0) -> float:
    """Seconds it took the run to complete; fails with the workers' log otherwise."""
    began = time.monotonic()
    try:
        _wait(lambda: _status(app, tenant_id, run_id) == "completed", f"run {run_id} to complete", timeout=timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: status {_status(app, tenant_id, run_id)}\n"
                             f"{workers.log.read_text()[-4000:]}") from None
    return time.monotonic() - began


def _bills(app, tenant_id: int, run_id: int) -> list:
    with app.app_context(), tenant_scope(tenant_id):
        rows = db.session.execute(select(Bill.contract_id, Bill.number, Bill.document_path, Bill.document_sha256)
                                  .where(Bill.billing_run_id == run_id).order_by(Bill.number)).all()
        db.session.rollback()
        return rows


def test_a_live_worker_takes_up_the_chunk_of_a_worker_killed_beside_it(app, make_tenant, workers):
    tenant = make_tenant("sweepco")
    contract_ids = _contracts(app, tenant.id)
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    holder = engine.connect()
    watcher = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    lock = holder.begin()
    try:
        holder.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)})
        holder.execute(text("SELECT id FROM contracts WHERE id = :id FOR UPDATE"),
                       {"id": contract_ids[(LOCKED_CHUNK - 1) * CHUNK_SIZE]})
        first = workers("billing")
        _listening(workers)
        run_id = _create(app, tenant.id)
        blocked = _wait(lambda: watcher.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )).scalar(), "a work horse blocked on the held contract")
        workers("billing")  # a second worker, alive all along: it bills the chunks after the blocked one
        _listening(workers, 2)
        _wait(lambda: _bills(app, tenant.id, run_id).__len__() == CONTRACTS - CHUNK_SIZE, "the other chunks")
        _kill_with_its_children(first.pid)
        first.wait(timeout=10)
    finally:
        lock.rollback()
    _wait(lambda: not watcher.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"),
                                      {"pid": blocked}).scalar(), "the killed horse's backend to end")
    holder.close()
    watcher.close()
    engine.dispose()

    took = _completed(app, tenant.id, run_id, workers, timeout=60)

    bills = _bills(app, tenant.id, run_id)
    assert took < 30  # not RQ's maintenance pass (minutes): the live worker's sweep
    assert sorted(b.contract_id for b in bills) == contract_ids
    assert [b.number for b in bills] == [f"2024-{n:07d}" for n in range(1, CONTRACTS + 1)]
    assert "taken up by the sweep" in workers.log.read_text()


def test_a_run_left_running_after_its_last_chunk_is_closed_by_a_live_worker(app, two_tenants, workers,
                                                                             monkeypatch):
    a, _ = two_tenants
    workers("billing")
    _listening(workers)
    # The chunk is billed here, in-process, by a "worker" that dies before closing the run.
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    monkeypatch.setattr(jobs, "_finish_if_done", lambda run_id: False)
    run_id = _create(app, a.tenant_id)

    took = _completed(app, a.tenant_id, run_id, workers, timeout=30)

    assert took < 15
    assert len(_bills(app, a.tenant_id, run_id)) == 1


def test_a_run_whose_planner_died_is_planned_by_a_live_worker_and_reads_0_percent_meanwhile(app, two_tenants,
                                                                                           workers):
    a, _ = two_tenants
    workers("billing")
    _listening(workers)
    run_id = _create(app, a.tenant_id, start=False)  # pending, no chunk, no job: its planner was lost
    with app.app_context(), tenant_scope(a.tenant_id):
        pending = runs.progress(db.session.get(BillingRun, run_id), now=utcnow()).percent
        db.session.rollback()

    took = _completed(app, a.tenant_id, run_id, workers, timeout=30)

    assert pending == 0
    assert took < 15
    assert len(_bills(app, a.tenant_id, run_id)) == 1


def test_runs_with_nothing_due_complete_and_documents_are_stored_once_issued(app, two_tenants, workers):
    a, _ = two_tenants
    workers("billing", "default")
    _listening(workers)
    first = _create(app, a.tenant_id, billing_date=date(2024, 2, 1))
    _completed(app, a.tenant_id, first, workers, timeout=30)

    again = _create(app, a.tenant_id, billing_date=date(2024, 2, 1))  # the same date twice: nothing is due

    _completed(app, a.tenant_id, again, workers, timeout=30)
    assert _bills(app, a.tenant_id, again) == []
    # The first run's bill has its document, rendered by a worker after the run committed, with its checksum.
    _wait(lambda: all(b.document_path for b in _bills(app, a.tenant_id, first)), "the bill's document")
    [bill] = _bills(app, a.tenant_id, first)
    stored = (Path(app.config["FILES_DIR"]) / bill.document_path).read_bytes()
    assert stored.startswith(b"%PDF") and hashlib.sha256(stored).hexdigest() == bill.document_sha256


class _Forwarder(threading.Thread):
    """A TCP port that forwards to Redis once opened: Redis 'comes up' when the test says so."""

    def __init__(self, port: int, target: tuple[str, int]):
        super().__init__(daemon=True)
        self.port, self.target = port, target
        self.server = socket.create_server(("127.0.0.1", port))

    def run(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_worker_started_before_redis_waits_for_it_then_works_and_stops_on_sigterm(app, two_tenants, workers):
    from redis import Redis

    a, _ = two_tenants
    real = Redis.from_url(os.environ["REDIS_URL"]).connection_pool.connection_kwargs
    port = _free_port()
    database = os.environ["REDIS_URL"].rsplit("/", 1)[1]
    worker = workers("billing", redis_url=f"redis://127.0.0.1:{port}/{database}")
    _wait(lambda: workers.log.exists() and workers.log.read_text().count("Redis is unreachable") >= 2,
          "the worker to retry Redis", timeout=60)
    assert worker.poll() is None  # still there, waiting
    forwarder = _Forwarder(port, (real.get("host", "127.0.0.1"), real.get("port", 6379)))
    forwarder.start()
    try:
        _listening(workers)
        run_id = _create(app, a.tenant_id)
        _completed(app, a.tenant_id, run_id, workers, timeout=30)

        asked = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=15)
        took = time.monotonic() - asked
    finally:
        forwarder.close()
    assert code == 0 and took < 8  # ~2 s on a quiet host (RQ's warm shutdown); slack for a loaded CI host


def test_sigterm_while_a_stopped_redis_is_awaited_exits_at_once(app, workers):
    worker = workers("billing", redis_url=f"redis://127.0.0.1:{_free_port()}/0")
    _wait(lambda: workers.log.exists() and "Redis is unreachable" in workers.log.read_text(),
          "the worker to retry Redis", timeout=60)

    asked = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    code = worker.wait(timeout=15)

    assert code == 0 and time.monotonic() - asked < 8  # well under a second on a quiet host


def test_sigterm_in_the_middle_of_a_chunk_exits_within_seconds_and_the_run_still_completes(app, make_tenant,
                                                                                          workers):
    tenant = make_tenant("termco")
    contract_ids = _contracts(app, tenant.id)
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    holder = engine.connect()
    watcher = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    lock = holder.begin()
    try:
        holder.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)})
        holder.execute(text("SELECT id FROM contracts WHERE id = :id FOR UPDATE"),
                       {"id": contract_ids[(LOCKED_CHUNK - 1) * CHUNK_SIZE]})
        worker = workers("billing")
        _listening(workers)
        run_id = _create(app, tenant.id)
        _wait(lambda: watcher.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )).scalar(), "a work horse blocked on the held contract")

        asked = time.monotonic()
        worker.send_signal(signal.SIGTERM)  # the job in progress cannot finish: it waits for the lock
        worker.wait(timeout=30)
        took = time.monotonic() - asked
    finally:
        lock.rollback()
        holder.close()
        watcher.close()
        engine.dispose()
    assert took < 15  # STOP_GRACE (5 s), then the horse is killed; slack for a loaded CI host

    workers("billing")  # another worker takes the run up and completes it, exactly once
    _completed(app, tenant.id, run_id, workers, timeout=60)
    with app.app_context(), tenant_scope(tenant.id):
        assert db.session.scalar(select(func.count(Bill.id)).where(Bill.billing_run_id == run_id)) == CONTRACTS
        db.session.rollback()
