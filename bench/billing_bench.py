"""Billing run benchmark: a real issue-mode billing run on PostgreSQL with Redis and RQ worker processes.

    .venv/bin/python bench/billing_bench.py --accounts 10000 --workers 2 [--chunk-size 1000] [--keep]

1. recreates the database (default bench_billing) as the owner and runs `flask db upgrade`;
2. creates one tenant with the app's onboarding service (gas calorific value set, no back-billing limit);
3. bulk-loads N accounts (COPY, as the owner; not part of the timing) - see billing_setup.py;
4. starts W `python worker.py billing` processes (app role, RLS on), creates and starts the run through
   domain.billing.runs, and times it from dispatch to completion, sampling the RSS of each worker and of its
   work horses every 0.2 s;
5. measures the database floor: set-based SQL writing the same bills, lines and ledger entries into copies
   of the real tables (same indexes and constraints) - see billing_floor.py;
6. prints the figures and checks the run's consistency (exit status 1 when the run failed or is inconsistent);
7. stops the workers (SIGTERM) and drops the database unless --keep.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from billing_floor import create_due_snapshot, drop_floor_tables, measure_floor, prewarm_inputs  # noqa: E402
from billing_setup import (  # noqa: E402
    APP_ROLE,
    ROOT,
    Calendar,
    app_environ,
    create_bench_tenant,
    drop_database,
    load_accounts,
    make_app,
    migrate,
    owner_connect,
    recreate_database,
)
from proc_rss import RssSampler, own_cpu_seconds, parent_pid, system_cpu_seconds, tree_cpu_seconds  # noqa: E402

TARGETS = {"bills_per_second": 16_700, "ratio_to_floor": 1.5, "rss_mb": 150}


def _say(message: str) -> None:
    print(message, flush=True)


def code_version() -> str:
    """The commit measured, and whether the code billing runs (domain/, app/, worker.py) had local changes."""
    def git(*args):
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else "?"

    dirty = git("status", "--porcelain", "--", "domain", "app", "tenants", "worker.py")
    return f"{git('rev-parse', '--short', 'HEAD')}{' + local changes' if dirty else ''}"


def start_workers(count: int, env: dict[str, str], log_dir: str) -> list[subprocess.Popen]:
    base = {k: v for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL", "WORKER_BURST")}
    base.update(env, PYTHONUNBUFFERED="1", WORKER_DAILY_JOBS="0")  # no daily jobs beside the measured run
    procs = []
    for number in range(1, count + 1):
        log = open(Path(log_dir) / f"worker-{number}.log", "wb")  # noqa: SIM115 (closed with the process)
        procs.append(subprocess.Popen([sys.executable, "worker.py", "billing"], cwd=ROOT, env=base,
                                      stdout=log, stderr=subprocess.STDOUT))
    return procs


def wait_registered(redis_conn, procs: list[subprocess.Popen], timeout: float = 60) -> float:
    from rq import Worker

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if len(Worker.all(connection=redis_conn)) >= len(procs):
            return time.perf_counter() - started
        dead = [p.pid for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError(f"worker process(es) {dead} exited before registering")
        time.sleep(0.1)
    raise RuntimeError(f"workers not registered after {timeout} s")


def stop_workers(procs: list[subprocess.Popen], timeout: float = 30) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # RQ: warm shutdown (finishes the current job)
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class BackendSampler(threading.Thread):
    """Every 0.2 s, what the application's PostgreSQL backends are doing (pg_stat_activity): running a
    statement, waiting on a lock (e.g. the bill-number row), or idle in transaction (the worker is in Python)."""

    def __init__(self, dbname: str, role: str, interval: float = 0.2):
        super().__init__(daemon=True)
        self.dbname, self.role, self.interval = dbname, role, interval
        self.counts: Counter = Counter()
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        with owner_connect(self.dbname, autocommit=True) as conn:
            while not self._stop_event.is_set():
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = %s AND usename = %s AND backend_type = 'client backend' "
                    "AND state <> 'idle' AND query NOT LIKE '%%billing_runs.status, billing_runs.finished_at%%'",
                    (self.dbname, self.role)).fetchall()
                for state, wait_type, wait_event in rows:
                    if state == "active" and wait_type == "Lock":
                        self.counts[f"waiting on a lock ({wait_event})"] += 1
                    elif state == "active" and wait_type in ("IO", "LWLock", "IPC"):
                        self.counts[f"running, waiting on {wait_type}"] += 1
                    elif state == "active":
                        self.counts["running a statement"] += 1
                    else:
                        self.counts[f"{state} (worker in Python)"] += 1
                self.samples += 1
                self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


def job_timings(redis_conn, tenant_id: int, run_id: int, chunks: int) -> list[float]:
    """Durations of the chunk jobs as RQ recorded them (started_at -> ended_at)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.serializers import JSONSerializer

    out = []
    for number in range(1, chunks + 1):
        try:
            job = Job.fetch(f"billing-{tenant_id}-{run_id}-chunk-{number}", connection=redis_conn,
                            serializer=JSONSerializer)
        except NoSuchJobError:
            continue
        if job.started_at and job.ended_at:
            out.append((job.ended_at - job.started_at).total_seconds())
    return out


class CpuProbe:
    """CPU used between two readings by the workers (with their work horses), by PostgreSQL (postmaster, its
    backends and background processes), and by the whole host."""

    def __init__(self, worker_pids: list[int], postmaster_pid: int | None):
        self.worker_pids, self.postmaster_pid = worker_pids, postmaster_pid
        self.start: tuple | None = None
        self.used: dict[str, float] = {}

    def _read(self) -> tuple:
        busy, total = system_cpu_seconds()
        workers = sum(tree_cpu_seconds(pid) for pid in self.worker_pids)
        parents = sum(own_cpu_seconds(pid) for pid in self.worker_pids)
        pg = tree_cpu_seconds(self.postmaster_pid) if self.postmaster_pid else 0.0
        return workers, parents, pg, busy, total

    def begin(self) -> None:
        self.start = self._read()

    def end(self) -> None:
        if self.start is None:
            return
        workers, parents, pg, busy, total = (b - a for a, b in zip(self.start, self._read(), strict=True))
        self.used = {"workers": workers, "worker parents": parents, "postgresql": pg, "host busy": busy,
                     "host total": total}


def run_billing(app, *, tenant_id: int, billing_date: date, chunk_size: int, procs, sampler: RssSampler,
                timeout: float, cpu: CpuProbe | None = None) -> dict:
    """Create and start the run in the app, poll until it is over; returns what happened."""
    from sqlalchemy import select

    from domain.billing import runs
    from domain.billing.run_models import BillingRun
    from domain.db import db, utcnow
    from tenants.context import tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        run = runs.create_run(billing_date=billing_date, mode="issue", scope_activity=None, scope_cycle=None,
                              created_by="bench", now=utcnow(), chunk_size=chunk_size)
        db.session.commit()
        run_id = run.id
        sampler.start()
        dispatched_at = datetime.now(UTC)
        t0 = time.perf_counter()
        if cpu is not None:
            cpu.begin()
        runs.start(run)
        status, observed = "pending", None
        next_report = t0 + 5
        while True:
            status, finished_at = db.session.execute(
                select(BillingRun.status, BillingRun.finished_at).where(BillingRun.id == run_id)).one()
            db.session.commit()
            if status in ("completed", "failed", "cancelled", "simulated"):
                observed = time.perf_counter() - t0
                if cpu is not None:
                    cpu.end()
                break
            now = time.perf_counter()
            if now - t0 > timeout:
                status = "timeout"
                observed = now - t0
                break
            dead = [p.pid for p in procs if p.poll() is not None]
            if dead:
                status = f"worker(s) {dead} died"
                observed = now - t0
                break
            if now >= next_report:
                run = db.session.get(BillingRun, run_id)
                db.session.refresh(run)
                p = runs.progress(run, now=utcnow())
                db.session.commit()
                _say(f"  ... {now - t0:6.1f} s  {status:<9} chunks {p.chunks_done}/{p.chunks_total}  "
                     f"processed {p.processed}/{p.total}  billed {p.billed}")
                next_report = now + 5
            time.sleep(0.1)
        sampler.stop()
        run = db.session.get(BillingRun, run_id)
        db.session.refresh(run)
        progress = runs.progress(run, now=utcnow())
        wall = observed
        if run.finished_at is not None:
            wall = (run.finished_at - dispatched_at).total_seconds()
        planning = (run.started_at - dispatched_at).total_seconds() if run.started_at else None
        out = {"run_id": run_id, "status": status, "error": run.error, "wall": wall, "observed": observed,
               "planning": planning, "progress": progress}
        db.session.commit()
        db.session.remove()
    return out


WRITE_TABLES = ("bills", "bill_lines", "ledger_entries")


def drop_foreign_keys(conn, tables: tuple[str, ...]) -> int:
    rows = conn.execute("SELECT conrelid::regclass::text, conname FROM pg_constraint "
                        "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)", (list(tables),)).fetchall()
    for table, name in rows:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return len(rows)


def collect_counts(conn, *, tenant_id: int, run_id: int) -> dict:
    q = {"t": tenant_id, "r": run_id}
    out = {}
    out["accounts"] = conn.execute("SELECT count(*) FROM customer_accounts WHERE tenant_id = %(t)s", q).fetchone()[0]
    out["contracts"] = conn.execute("SELECT count(*) FROM contracts WHERE tenant_id = %(t)s", q).fetchone()[0]
    out["due"] = conn.execute("SELECT count(*) FROM bench_due").fetchone()[0]
    (out["bills"], out["issued"], out["numbers"], out["bills_incl"], out["bills_excl"],
     out["estimated"]) = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'issued'), count(DISTINCT number), "
        "coalesce(sum(total_incl_tax), 0), coalesce(sum(total_excl_tax), 0), count(*) FILTER (WHERE estimated) "
        "FROM bills WHERE tenant_id = %(t)s AND billing_run_id = %(r)s", q).fetchone()
    out["lines"], out["lines_excl"] = conn.execute(
        "SELECT count(*), coalesce(sum(l.amount), 0) FROM bill_lines l "
        "JOIN bills b ON b.tenant_id = l.tenant_id AND b.id = l.bill_id "
        "WHERE b.tenant_id = %(t)s AND b.billing_run_id = %(r)s", q).fetchone()
    out["entries"], out["debits"], out["credits"] = conn.execute(
        "SELECT count(*), coalesce(sum(e.amount) FILTER (WHERE e.direction = 'debit'), 0), "
        "coalesce(sum(e.amount) FILTER (WHERE e.direction = 'credit'), 0) FROM ledger_entries e "
        "JOIN bills b ON b.tenant_id = e.tenant_id AND b.id = e.bill_id "
        "WHERE b.tenant_id = %(t)s AND b.billing_run_id = %(r)s", q).fetchone()
    out["zero_bills"] = conn.execute(
        "SELECT count(*) FROM bills WHERE tenant_id = %(t)s AND billing_run_id = %(r)s AND total_incl_tax = 0",
        q).fetchone()[0]
    out["advanced"] = conn.execute(
        "SELECT count(*) FROM contracts c JOIN bench_due d ON d.contract_id = c.id "
        "WHERE c.tenant_id = %(t)s AND c.billed_until = d.period_end", q).fetchone()[0]
    out["chunks_billed"], out["chunks_incl"] = conn.execute(
        "SELECT coalesce(sum(billed), 0), coalesce(sum(total_incl_tax), 0) FROM billing_run_chunks "
        "WHERE tenant_id = %(t)s AND run_id = %(r)s", q).fetchone()
    out["estimated_readings"] = conn.execute(
        "SELECT count(*) FROM meter_readings WHERE tenant_id = %(t)s AND source = 'estimated'", q).fetchone()[0]
    return out


def consistency_checks(c: dict, exceptions: int) -> list[tuple[str, bool]]:
    return [
        ("bills == due contracts", c["bills"] == c["due"]),
        ("no billing exception", exceptions == 0),
        ("every bill issued, numbers unique", c["issued"] == c["bills"] == c["numbers"]),
        ("total of bills == ledger debits - credits", c["bills_incl"] == c["debits"] - c["credits"]),
        ("one ledger entry per non-zero bill", c["entries"] == c["bills"] - c["zero_bills"]),
        ("sum of lines == bills' total excl. tax", c["lines_excl"] == c["bills_excl"]),
        ("billed_until advanced on every billed contract", c["advanced"] == c["bills"]),
        ("chunk totals == bills", c["chunks_billed"] == c["bills"] and c["chunks_incl"] == c["bills_incl"]),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--db", default="bench_billing")
    parser.add_argument("--redis-db", type=int, default=9, help="Redis database to flush and use (not 15: CI)")
    parser.add_argument("--billing-date", type=date.fromisoformat, default=date.today().replace(day=1))
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--drop-write-fks", action="store_true",
                        help="experiment, not how the product runs: drop the foreign keys of bills, bill_lines and "
                             "ledger_entries (the floor copies the catalogue, so it loses them too) to measure what "
                             "their per-row checks cost")
    args = parser.parse_args(argv)

    from redis import Redis

    cal = Calendar(args.billing_date)
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    instance_dir = tempfile.mkdtemp(prefix="billing-bench-")
    procs: list[subprocess.Popen] = []
    owner = None
    ok = False
    try:
        _say(f"billing bench: {args.accounts} accounts, {args.workers} workers, chunk size {args.chunk_size}, "
             f"billing date {cal.billing_date} (period {cal.period_start} to {cal.period_end}), db {args.db}, "
             f"{redis_url}, logs in {instance_dir}")
        _say(f"code {code_version()}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
        t = time.perf_counter()
        recreate_database(args.db)
        migrate(args.db, instance_dir)
        _say(f"database created and migrated in {time.perf_counter() - t:.1f} s")
        redis_conn = Redis.from_url(redis_url)
        redis_conn.flushdb()
        app = make_app(args.db, redis_url, instance_dir)
        tenant_id, currency = create_bench_tenant(app)
        load = load_accounts(args.db, tenant_id=tenant_id, accounts=args.accounts, cal=cal, seed=args.seed)
        _say(f"loaded {load.accounts} accounts/contracts, {load.registers} registers, {load.readings} readings "
             f"in {load.seconds:.1f} s (COPY; of which FK checks + VACUUM ANALYZE {load.check_seconds:.1f} s) "
             f"- not timed as billing; mix {load.by_offer}")

        owner = owner_connect(args.db, autocommit=True)
        if args.drop_write_fks:
            dropped = drop_foreign_keys(owner, WRITE_TABLES)
            _say(f"EXPERIMENT --drop-write-fks: dropped {dropped} foreign keys of {', '.join(WRITE_TABLES)}")
        due = create_due_snapshot(owner, tenant_id=tenant_id, billing_date=cal.billing_date)
        owner.execute("CHECKPOINT")
        prewarm_inputs(owner)
        _say(f"{due} contracts due on {cal.billing_date}")

        procs = start_workers(args.workers, app_environ(args.db, redis_url, instance_dir), instance_dir)
        ready = wait_registered(redis_conn, procs)
        _say(f"{len(procs)} RQ workers registered in {ready:.1f} s (pids {[p.pid for p in procs]})")
        sampler = RssSampler([p.pid for p in procs], interval=0.2)
        backends = BackendSampler(args.db, APP_ROLE)
        backends.start()
        backend_pid = owner.execute("SELECT pg_backend_pid()").fetchone()[0]
        cpu = CpuProbe([p.pid for p in procs], parent_pid(backend_pid))
        result = run_billing(app, tenant_id=tenant_id, billing_date=cal.billing_date, chunk_size=args.chunk_size,
                             procs=procs, sampler=sampler, timeout=args.timeout, cpu=cpu)
        backends.stop()
        load_after = os.getloadavg()[0]
        durations = job_timings(redis_conn, tenant_id, result["run_id"], result["progress"].chunks_total)
        stop_workers(procs)
        progress = result["progress"]
        _say(f"run {result['status']} after {result['wall']:.2f} s "
             f"(planning {result['planning'] or 0:.2f} s, {progress.chunks_done}/{progress.chunks_total} chunks)")
        if result["error"]:
            _say(f"run error: {result['error']}")
        if durations:
            busy = sum(durations) / (args.workers * result["wall"])
            _say(f"chunk jobs (RQ): {len(durations)}, mean {sum(durations) / len(durations):.2f} s, "
                 f"min {min(durations):.2f} s, max {max(durations):.2f} s; workers busy {busy:.0%} of the wall time")
        if backends.samples:
            seen = sum(backends.counts.values())
            _say(f"application backends over {backends.samples} samples (0.2 s; {seen / backends.samples:.2f} busy "
                 "on average): " + ", ".join(f"{label} {count / seen:.0%}" for label, count in
                                             backends.counts.most_common()))

        if cpu.used:
            used = cpu.used
            other = used["host busy"] - used["workers"] - used["postgresql"]
            _say(f"CPU during the run: workers and work horses {used['workers']:.2f} s (of which the worker "
                 f"processes themselves {used['worker parents']:.2f} s), PostgreSQL "
                 f"{used['postgresql']:.2f} s, other (bench, Redis, RQ...) {other:.2f} s; host busy "
                 f"{used['host busy'] / used['host total']:.0%} of {used['host total']:.2f} CPU-s")

        counts = collect_counts(owner, tenant_id=tenant_id, run_id=result["run_id"])
        floor_args = dict(dbname=args.db, tenant_id=tenant_id, billing_date=cal.billing_date,
                          period_start=cal.period_start, run_id=result["run_id"], currency=currency,
                          calorific_value=Decimal("38.9"), payment_terms_days=14)
        floor = measure_floor(owner, **floor_args)
        drop_floor_tables(owner)
        floor_w = None
        if args.workers > 1:
            floor_w = measure_floor(owner, sessions=args.workers, **floor_args)
            drop_floor_tables(owner)
        drop_floor_tables(owner, due_too=True)

        wall = result["wall"]
        bills_per_s = counts["bills"] / wall if wall else 0.0
        ratio = wall / floor.seconds if floor.seconds else float("inf")
        rss = [sampler.peak_mb(p.pid) for p in procs]
        rows = [
            ("accounts", f"{counts['accounts']}"),
            ("contracts (due)", f"{counts['contracts']} ({counts['due']})"),
            ("bills", f"{counts['bills']}"),
            ("bill lines", f"{counts['lines']}"),
            ("ledger entries", f"{counts['entries']}"),
            ("wall time, dispatch to completed (s)", f"{wall:.2f}"),
            ("bills per second", f"{bills_per_s:,.0f}"),
            ("database floor (s)", f"{floor.seconds:.2f}  ({floor.bills} bills, {floor.lines} lines, "
                                   f"{floor.ledger_entries} entries)"),
            ("ratio to floor", f"{ratio:.1f}x"),
            *([("CPU: run (workers + PostgreSQL) / floor (PostgreSQL)",
                f"{cpu.used['workers'] + cpu.used['postgresql']:.1f} s / {floor.cpu_seconds:.1f} s = "
                f"{(cpu.used['workers'] + cpu.used['postgresql']) / floor.cpu_seconds:.1f}x")]
              if cpu.used and floor.cpu_seconds else []),
            *([(f"database floor, {args.workers} sessions (s) / ratio",
                f"{floor_w.seconds:.2f} / {wall / floor_w.seconds:.1f}x")] if floor_w else []),
            ("peak RSS per worker (MB)", ", ".join(
                f"{mb:.0f} (worker {sampler.peak_worker[p.pid] / 1024:.0f}, horses "
                f"{sampler.peak_children[p.pid] / 1024:.0f})" for p, mb in zip(procs, rss, strict=True))),
            ("exceptions", f"{progress.exceptions}"),
            ("estimated bills / readings written", f"{counts['estimated']} / {counts['estimated_readings']}"),
            ("total incl. tax / ledger debits", f"{counts['bills_incl']} / {counts['debits']}"),
            ("data load, not timed (s)", f"{load.seconds:.1f}"),
            ("load average (1 min) at the end of the run", f"{load_after:.2f}"),
        ]
        width = max(len(k) for k, _ in rows)
        _say("")
        _say(f"{'figure':<{width}}  value")
        _say(f"{'-' * width}  {'-' * 40}")
        for key, value in rows:
            _say(f"{key:<{width}}  {value}")
        comparable = all((f.bills, f.lines, f.ledger_entries) == (counts["bills"], counts["lines"], counts["entries"])
                         for f in (floor, floor_w) if f is not None)
        if not comparable:
            _say("WARNING: the floor did not write the same row counts as the run; its time is not comparable")

        checks = consistency_checks(counts, progress.exceptions)
        run_ok = result["status"] == "completed"
        _say("")
        _say(f"run completed: {'yes' if run_ok else 'NO (' + result['status'] + ')'}")
        for label, passed in checks:
            _say(f"check {label}: {'ok' if passed else 'FAILED'}")
        _say("")
        _say("targets (issue, at 1,000,000 accounts with 2 workers):")
        _say(f"  bills/s >= {TARGETS['bills_per_second']:,}: {bills_per_s:,.0f} "
             f"{'met' if bills_per_s >= TARGETS['bills_per_second'] else 'NOT met'}")
        _say(f"  ratio to floor <= {TARGETS['ratio_to_floor']}: {ratio:.1f} "
             f"{'met' if ratio <= TARGETS['ratio_to_floor'] else 'NOT met'}")
        _say(f"  peak RSS per worker <= {TARGETS['rss_mb']} MB: {max(rss):.0f} "
             f"{'met' if max(rss) <= TARGETS['rss_mb'] else 'NOT met'}")
        ok = run_ok and all(passed for _, passed in checks)
        if not ok:
            _say(f"worker logs: {instance_dir}")
    finally:
        stop_workers(procs)
        if owner is not None:
            owner.close()
        if not args.keep:
            drop_database(args.db)
            Redis.from_url(redis_url).flushdb()
        else:
            _say(f"kept database {args.db}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
