"""Customer base import benchmark: files for N customers imported on PostgreSQL under row-level security.

    .venv/bin/python bench/import_bench.py --customers 100000 --db bench_import   # [--workers 0] [--twice] [--keep]

1. recreates the database (dropped and created again: give a database of your own) as the owner and migrates it;
2. creates one tenant (electricity, gas, water) with an offer per activity, through the app's own services;
3. generates the files (CSV): customers and contacts, premises and points of delivery, meters, contracts, opening
   balances and 24 monthly readings per meter (2.4 million readings for 100,000 customers);
4. imports them through domain/imports as the import page does, the app connected as `utility_app` (row-level
   security on): files stored, every row checked, then written chunk by chunk - in this process, as the embedded
   default runs jobs (`--workers 0`), or by W `python worker.py default` processes on Redis (`--workers W`);
5. prints the time of each phase (from the chunks' finish times), the rows per second and the rows written, and
   checks the counts (exit status 1 when the import failed, took longer than the target or wrote other counts);
6. with --twice, imports the same files again and checks that nothing changed; drops the database unless --keep.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from billing_setup import (  # noqa: E402
    ROOT,
    app_environ,
    drop_database,
    make_app,
    migrate,
    owner_connect,
    recreate_database,
)
from proc_rss import own_cpu_seconds, tree_cpu_seconds  # noqa: E402

TARGET_SECONDS = 120
READINGS_PER_METER = 24
OFFERS = {"electricity": "ELEC-BASE", "gas": "GAS-REF", "water": "WATER-STD"}
STEP = {"electricity": 280, "gas": 95, "water": 9}


def _say(message: str) -> None:
    print(message, flush=True)


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def generate(folder: Path, customers: int, today: date, seed: int = 7) -> dict[str, Path]:
    """The six files, as a utility's former system would export them (CSV, comma-separated)."""
    rng = random.Random(seed)
    start = _months_before(today, READINGS_PER_METER + 1)
    days = [_months_before(today, READINGS_PER_METER - i).isoformat() for i in range(READINGS_PER_METER)]
    paths = {kind: folder / f"{kind}.csv" for kind in ("customers", "premises", "meters", "contracts", "balances",
                                                        "readings")}
    files = {kind: path.open("w", encoding="utf-8", newline="") for kind, path in paths.items()}
    try:
        files["customers"].write("customer_ref,kind,first_name,last_name,email,phone,address_line1,postcode,city,"
                                 "country,account_number,locale,opened_on\n")
        files["premises"].write("premise_ref,address_line1,postcode,city,country,pod_ref,activity,pod_identifier\n")
        files["meters"].write("meter_ref,serial_number,activity,digits,registers,pod_ref,installed_on\n")
        files["contracts"].write("contract_ref,customer_ref,pod_ref,offer_code,start_date,billing_frequency,"
                                 "estimated_annual_consumption\n")
        files["balances"].write("customer_ref,amount,as_of\n")
        files["readings"].write("meter_ref,register,read_on,value,source\n")
        opened = start.isoformat()
        as_of = _months_before(today, 0).isoformat()
        write = {kind: f.write for kind, f in files.items()}
        for i in range(1, customers + 1):
            activity = "electricity" if i % 20 < 12 else "gas" if i % 20 < 17 else "water"
            street = f"{i % 200 + 1} rue {rng.choice(('Haute', 'Basse', 'Neuve', 'du Port', 'des Lilas'))}"
            postcode = f"{69001 + i % 9}"
            write["customers"](f"C{i:07d},person,Prenom{i},Nom{i},c{i}@example.com,+3360000{i:04d},{street},"
                               f"{postcode},Lyon,FR,A{i:07d},fr,{opened}\n")
            write["premises"](f"P{i:07d},{street},{postcode},Lyon,FR,D{i:07d},{activity},{activity[:2].upper()}{i:012d}\n")
            write["meters"](f"M{i:07d},S{i:09d},{activity},6,TOTAL,D{i:07d},{opened}\n")
            write["contracts"](f"K{i:07d},C{i:07d},D{i:07d},{OFFERS[activity]},{opened},monthly,"
                               f"{STEP[activity] * 12}\n")
            if i % 4 == 0:
                write["balances"](f"C{i:07d},{rng.randint(-5000, 20000) / 100:.2f},{as_of}\n")
            value = rng.randint(100, 50000)
            step = STEP[activity]
            meter = f"M{i:07d}"
            write["readings"]("".join(f"{meter},TOTAL,{day},{(value := value + step + (i + n) % 7)},agent\n"
                                      for n, day in enumerate(days)))
    finally:
        for f in files.values():
            f.close()
    return paths


IMPORTED_TABLES = ("parties", "contact_points", "party_roles", "customer_accounts", "premises", "delivery_points",
                   "meters", "registers", "meter_installations", "contracts", "ledger_entries", "meter_readings",
                   "customer_imports", "customer_import_chunks", "audit_events")


class Analyzer(threading.Thread):
    """What autovacuum does on a production server (it is off on this machine's PostgreSQL): ANALYZE, as the owner,
    every few seconds, the tables the import fills. On tables never analysed the planner cannot tell an index on
    (tenant_id, id) from one on (tenant_id, last_name), and each foreign-key check may read every row."""

    def __init__(self, dbname: str, every: float):
        super().__init__(daemon=True)
        self.dbname, self.every = dbname, every
        self.stopped = threading.Event()
        self.runs = 0

    def run(self) -> None:
        with owner_connect(self.dbname, autocommit=True) as conn:
            while not self.stopped.wait(self.every):
                conn.execute(f"ANALYZE {', '.join(IMPORTED_TABLES)}")
                self.runs += 1

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=30)


def autovacuum_on(dbname: str) -> bool:
    with owner_connect(dbname) as conn:
        return conn.execute("SHOW autovacuum").fetchone()[0] == "on"


def create_tenant_with_offers(app) -> int:
    from domain.db import db, utcnow
    from domain.offers.models import Offer
    from tenants.context import tenant_scope
    from tenants.services import create_tenant

    with app.app_context():
        tenant = create_tenant(slug="bench", name="Bench Utility", activities=["electricity", "gas", "water"],
                               default_locale="en", currency="EUR", timezone="Europe/Paris",
                               admin_email="admin@bench.example.com", admin_name="Bench Admin",
                               admin_password="bench-admin-password", now=utcnow())
        with tenant_scope(tenant.id):
            for activity, code in OFFERS.items():
                db.session.add(Offer(code=code, name=code.title(), activity=activity, kind="regulated"))
            db.session.commit()
        db.session.remove()
        return tenant.id


def start_workers(count: int, env: dict[str, str], log_dir: str) -> list[subprocess.Popen]:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL")}
    base.update(env, PYTHONUNBUFFERED="1", WORKER_DAILY_JOBS="0")
    procs = []
    for number in range(1, count + 1):
        log = open(Path(log_dir) / f"worker-{number}.log", "wb")  # noqa: SIM115 (closed with the process)
        procs.append(subprocess.Popen([sys.executable, "worker.py", "default"], cwd=ROOT, env=base, stdout=log,
                                      stderr=subprocess.STDOUT))
    return procs


def run_import(app, tenant_id: int, paths: dict[str, Path], *, timeout: float, dbname: str,
               worker_pids: list[int]) -> dict:
    """Send the files as the import page does and wait for the end; returns the timings."""
    from sqlalchemy import func, select

    from domain.db import db, utcnow
    from domain.imports import services
    from domain.imports.models import CustomerImport, CustomerImportChunk
    from domain.imports.spec import KINDS
    from tenants.context import tenant_scope

    clock = CpuClock(dbname, worker_pids)
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    files = {kind: (path.name, path.read_bytes()) for kind, path in paths.items()}
    with app.app_context(), tenant_scope(tenant_id):
        imported = services.create_import(files=files, created_by="bench", now=utcnow())
        db.session.commit()
        import_id = imported.id
        stored = time.perf_counter()
        created_at = imported.created_at
        services.start(imported)  # in-process: returns once every chunk is written; on workers: at once
        db.session.remove()
    del files
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context(), tenant_scope(tenant_id):
            row = db.session.get(CustomerImport, import_id)
            status, checked_at, finished_at = row.status, row.checked_at, row.finished_at
            db.session.remove()
        if status not in ("checking", "importing") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    ended = time.perf_counter()
    cpu = clock.used()
    load = (load_before, os.getloadavg()[0])
    with app.app_context(), tenant_scope(tenant_id):
        row = db.session.get(CustomerImport, import_id)
        phases = dict(db.session.execute(
            select(CustomerImportChunk.kind, func.max(CustomerImportChunk.finished_at))
            .where(CustomerImportChunk.import_id == import_id).group_by(CustomerImportChunk.kind)).all())
        chunks = db.session.scalar(select(func.count(CustomerImportChunk.id)).where(
            CustomerImportChunk.import_id == import_id))
        summary = services.summary_counts(import_id)
        result = {"status": status, "rows": row.total_rows, "errors": row.error_count, "failure": row.failure,
                  "first_errors": (row.errors or [])[:5], "chunks": chunks, "summary": summary,
                  "store": stored - began, "total": ended - began, "cpu": cpu, "load": load}
        db.session.remove()
    timeline = []
    previous = checked_at
    if checked_at is not None:
        timeline.append(("check (read, parse, validate, store chunks)", (checked_at - created_at).total_seconds()))
    for kind in KINDS:
        if kind in phases and phases[kind] is not None:
            timeline.append((f"write {kind}", (phases[kind] - previous).total_seconds()))
            previous = phases[kind]
    if finished_at is not None and previous is not None:
        timeline.append(("close", max((finished_at - previous).total_seconds(), 0.0)))
    result["phases"] = timeline
    return result


def table_counts(app, tenant_id: int) -> dict[str, int]:
    from sqlalchemy import text

    from domain.db import db
    from tenants.context import tenant_scope

    tables = ("parties", "contact_points", "party_roles", "customer_accounts", "premises", "delivery_points",
              "meters", "registers", "meter_installations", "contracts", "ledger_entries", "meter_readings")
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(text("SELECT 1"))
        out = {t: db.session.execute(text(f"SELECT count(*) FROM {t} WHERE tenant_id = :t"), {"t": tenant_id})
               .scalar() for t in tables}
        db.session.remove()
    return out


def backend_pids(dbname: str) -> list[int]:
    """The PostgreSQL backends of the app (role utility_app) on the bench's database."""
    with owner_connect(dbname, autocommit=True) as conn:
        return [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND usename = 'utility_app'", (dbname,))]


class CpuClock:
    """CPU seconds the import used: in Python (this process, or the worker processes with their work horses) and in
    the app's PostgreSQL backends. On a machine shared with other work the wall time says little on its own.

    With workers, each work horse's backend ends with its job: PostgreSQL's CPU is then not measured (None)."""

    def __init__(self, dbname: str, worker_pids: list[int]):
        self.dbname, self.worker_pids = dbname, worker_pids
        self.start = self._read()

    def _read(self) -> tuple[float, dict[int, float]]:
        if self.worker_pids:
            python = sum(tree_cpu_seconds(pid) for pid in self.worker_pids)
        else:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            python = usage.ru_utime + usage.ru_stime
        return python, {pid: own_cpu_seconds(pid) for pid in backend_pids(self.dbname)}

    def used(self) -> tuple[float, float | None]:
        python, backends = self._read()
        start_python, start_backends = self.start
        if self.worker_pids:
            return python - start_python, None
        return python - start_python, sum(cpu - start_backends.get(pid, 0.0) for pid, cpu in backends.items())


def report(title: str, result: dict) -> None:
    _say(f"\n{title}: {result['status']} - {result['rows']:,} rows in {result['chunks']} chunks")
    _say(f"  {'store the files (upload)':<46} {result['store']:7.1f} s")
    for name, seconds in result["phases"]:
        _say(f"  {name:<46} {seconds:7.1f} s")
    _say(f"  {'end to end':<46} {result['total']:7.1f} s   ({result['rows'] / result['total']:,.0f} rows/s)")
    if "cpu" in result:
        python, database = result["cpu"]
        if database is None:
            _say(f"  CPU used: Python {python:.1f} s (workers and their work horses); PostgreSQL not measured")
        else:
            _say(f"  CPU used: Python {python:.1f} s, PostgreSQL backends {database:.1f} s, "
                 f"together {python + database:.1f} s")
        _say(f"  load average {result['load'][0]:.1f} -> {result['load'][1]:.1f} on {os.cpu_count()} cores")
    for kind, counts in result["summary"].items():
        _say(f"    {kind:<10} created {counts['created']:>9,}  updated {counts['updated']:>7,}  "
             f"unchanged {counts['unchanged']:>9,}")
    if result["failure"] or result["errors"]:
        _say(f"  failure: {result['failure']}  errors: {result['errors']} {result['first_errors']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--db", default="bench_import", help="database to drop, create and fill (your own)")
    parser.add_argument("--workers", type=int, default=0, help="RQ worker processes (0: jobs in this process)")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--twice", action="store_true", help="import the same files again: nothing may change")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--analyze-every", type=float, default=5.0,
                        help="seconds between ANALYZEs standing in for autovacuum when it is off (0: never)")
    args = parser.parse_args()

    instance = tempfile.mkdtemp(prefix="import-bench-")
    redis_url = args.redis if args.workers else None
    _say(f"database {args.db}: recreated and migrated (owner), the app as utility_app under row-level security")
    recreate_database(args.db)
    migrate(args.db, instance)
    app = make_app(args.db, redis_url, instance)
    tenant_id = create_tenant_with_offers(app)
    from domain.db import utcnow

    began = time.perf_counter()
    paths = generate(Path(instance), args.customers, utcnow().date())
    sizes = ", ".join(f"{kind} {path.stat().st_size / 1e6:.1f} MB" for kind, path in paths.items())
    _say(f"generated the files for {args.customers:,} customers in {time.perf_counter() - began:.1f} s ({sizes})")

    procs = []
    if args.workers:
        from redis import Redis
        Redis.from_url(redis_url).flushdb()
        procs = start_workers(args.workers, app_environ(args.db, redis_url, instance), instance)
        time.sleep(3)
    analyzer = None
    if args.analyze_every and not autovacuum_on(args.db):
        analyzer = Analyzer(args.db, args.analyze_every)
        analyzer.start()
        _say(f"autovacuum is off on this server: ANALYZE every {args.analyze_every:g} s instead (as the owner)")
    failed = False
    try:
        first = run_import(app, tenant_id, paths, timeout=1800, dbname=args.db,
                           worker_pids=[p.pid for p in procs])
        report(f"import ({'in this process' if not args.workers else f'{args.workers} RQ workers'})", first)
        counts = table_counts(app, tenant_id)
        _say("  rows in the tables: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        n = args.customers
        expected = {"customer_accounts": n, "premises": n, "delivery_points": n, "meters": n, "contracts": n,
                    "meter_readings": n * READINGS_PER_METER, "ledger_entries": n // 4}
        wrong = {t: counts[t] for t, want in expected.items() if counts[t] != want}
        if first["status"] != "completed" or wrong:
            _say(f"  FAILED: status {first['status']}, unexpected counts {wrong}")
            failed = True
        verdict = "within" if first["total"] <= TARGET_SECONDS else "OVER"
        _say(f"  target: {TARGET_SECONDS} s end to end - {verdict} ({first['total']:.1f} s)")
        failed = failed or first["total"] > TARGET_SECONDS
        if args.twice:
            second = run_import(app, tenant_id, paths, timeout=1800, dbname=args.db,
                           worker_pids=[p.pid for p in procs])
            report("the same files again", second)
            changed = any(c["created"] or c["updated"] for c in second["summary"].values())
            if second["status"] != "completed" or changed or table_counts(app, tenant_id) != counts:
                _say("  FAILED: the second import changed something")
                failed = True
    finally:
        if analyzer is not None:
            analyzer.stop()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        if not args.keep:
            drop_database(args.db)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
