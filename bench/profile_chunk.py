"""Where the time of one billing chunk goes: the worker's own code path (app.jobs.run_job ->
domain.billing.jobs.bill_chunk, issue mode), run in-process on PostgreSQL as the RLS role.

    .venv/bin/python bench/profile_chunk.py [--accounts 5000] [--chunk-size 1000] [--top 15] [--keep]

Loads the same data set as billing_bench.py into its own database (bench_billing_profile), creates an issue
run and plans it in-process (its chunk jobs go to a flushed Redis database that no worker reads), then runs
chunk 1 (warm-up; every chunk on fresh connections, as in a work horse), the middle chunks timed with every
SQL statement counted (the last of them listed statement by statement), the last chunk under cProfile, and
prints the top functions by cumulative and by own time, and the billing code's own steps.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from proc_rss import own_cpu_seconds  # noqa: E402
from billing_setup import (  # noqa: E402
    Calendar,
    create_bench_tenant,
    drop_database,
    load_accounts,
    make_app,
    migrate,
    recreate_database,
)


PHASES = (  # functions of the chunk's code path, in the order they run (names missing from the code are skipped)
    ("bill_chunk", "the job"),
    ("due_contracts", "read the chunk's contracts"),
    ("meters_by_delivery_point", "read meters and registers"),
    ("readings_by_register", "read 400 days of readings"),
    ("tariffs_by_offer", "read tariffs"),
    ("prepare_tariff", "prepare tariffs"),
    ("estimated_bills_by_contract", "read earlier estimated bills"),
    ("contract_input", "build engine inputs"),
    ("compute_bill", "the engine"),
    ("draft_row", "bill rows"),
    ("issue_new", "number, insert issued bills, lines, ledger, billed_until"),
    ("reserve_bill_numbers", "gapless numbers (row lock until commit)"),
    ("insert_drafts", "INSERT bills RETURNING + INSERT lines"),
    ("_ledger_rows", "ledger rows"),
    ("_advance_billed_until", "UPDATE contracts"),
    ("issue_drafts", "issue drafts (older code path)"),
    ("_finish_if_done", "close the run if no chunk is left"),
    ("commit", "commit"),
)
_TABLE = re.compile(r"\b(FROM|INTO|UPDATE)\s+(\w+)", re.IGNORECASE)


class SqlCounter:
    """Statements sent to PostgreSQL and their time, counted at the driver (psycopg's cursor), so hand-written
    statements on the raw connection count as well as SQLAlchemy's; executemany counted once."""

    def __init__(self, engine=None):
        import psycopg

        self.count = 0
        self.param_sets = 0
        self.seconds = 0.0
        self.kinds: Counter = Counter()
        self.by_statement: Counter = Counter()
        self.enabled = False
        self.log: list[tuple] = []
        counter = self
        cursor_class = psycopg.Cursor
        original_execute, original_many = cursor_class.execute, cursor_class.executemany

        def execute(cursor, query, params=None, **kwargs):
            t0 = time.perf_counter()
            try:
                return original_execute(cursor, query, params, **kwargs)
            finally:
                counter._record(cursor, query, 1, "execute", time.perf_counter() - t0)

        def executemany(cursor, query, params_seq, **kwargs):
            params_seq = list(params_seq)
            t0 = time.perf_counter()
            try:
                return original_many(cursor, query, params_seq, **kwargs)
            finally:
                counter._record(cursor, query, len(params_seq), "executemany", time.perf_counter() - t0)

        cursor_class.execute, cursor_class.executemany = execute, executemany

    def reset(self) -> None:
        self.count = self.param_sets = 0
        self.seconds = 0.0
        self.kinds.clear()
        self.by_statement.clear()
        self.log = []

    def _record(self, cursor, query, sets: int, call: str, elapsed: float) -> None:
        if not self.enabled:
            return
        statement = query if isinstance(query, str) else str(getattr(query, "as_string", lambda _c: query)(None))
        self.count += 1
        self.seconds += elapsed
        self.param_sets += sets
        words = statement.split()
        kind = words[0].upper() if words else "?"
        found = _TABLE.search(statement)
        label = f"{kind} {found.group(2)}" if found else kind
        self.kinds[kind] += 1
        self.by_statement[label] += elapsed
        rows = cursor.rowcount if cursor.rowcount is not None else -1
        self.log.append((label, call, sets, rows, elapsed))


def _forked_chunks(chunk, chunks: int) -> int:
    """Each chunk in its own forked child, as RQ runs a job in a fresh work horse."""
    from domain.db import db

    for number in range(1, chunks + 1):
        pid = os.fork()
        if pid == 0:
            try:
                db.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
                before = os.times()
                chunk(number)
                after = os.times()
                with db.engine.connect() as conn:  # the job's connection, back in the pool: its backend's CPU
                    backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
                backend_cpu = own_cpu_seconds(backend)
                print(f"  work horse CPU: {after.user - before.user + after.system - before.system:.3f} s "
                      f"(user {after.user - before.user:.3f}, system {after.system - before.system:.3f}); "
                      f"its PostgreSQL backend: {backend_cpu:.3f} s")
            finally:
                os._exit(0)
        _pid, _status, usage = os.wait4(pid, 0)
        print(f"  whole child process (fork to exit) CPU: {usage.ru_utime + usage.ru_stime:.3f} s "
              f"({usage.ru_minflt} minor page faults)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--db", default="bench_billing_profile")
    parser.add_argument("--redis-db", type=int, default=10)
    parser.add_argument("--billing-date", type=date.fromisoformat, default=date.today().replace(day=1))
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--fork", action="store_true",
                        help="run every chunk in a forked child of a process that has not billed yet, as an RQ work "
                             "horse does (cold SQLAlchemy and psycopg caches); prints its time only")
    parser.add_argument("--gc-off", action="store_true", help="experiment: Python's cyclic GC disabled")
    parser.add_argument("--dump", help="write the cProfile stats of the last chunk to this file (for snakeviz, ...)")
    args = parser.parse_args(argv)
    if args.accounts < 3 * args.chunk_size:
        parser.error("--accounts must be at least 3 x --chunk-size (warm-up, timed and profiled chunks)")
    print(f"load average before: {os.getloadavg()}")
    if args.gc_off:
        import gc

        gc.disable()

    from redis import Redis

    cal = Calendar(args.billing_date)
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    instance_dir = tempfile.mkdtemp(prefix="billing-profile-")
    redis_conn = Redis.from_url(redis_url)
    redis_conn.flushdb()
    try:
        recreate_database(args.db)
        migrate(args.db, instance_dir)
        app = make_app(args.db, redis_url, instance_dir)
        tenant_id, _currency = create_bench_tenant(app)
        load = load_accounts(args.db, tenant_id=tenant_id, accounts=args.accounts, cal=cal)
        print(f"loaded {load.accounts} accounts in {load.seconds:.1f} s; mix {load.by_offer}")

        from app.jobs import run_job
        from domain.billing import runs
        from domain.db import db, utcnow
        from tenants.context import tenant_scope

        with app.app_context():
            with tenant_scope(tenant_id):
                run = runs.create_run(billing_date=cal.billing_date, mode="issue", scope_activity=None,
                                      scope_cycle=None, created_by="profile", now=utcnow(),
                                      chunk_size=args.chunk_size)
                db.session.commit()
                run_id = run.id
                db.session.remove()
            t = time.perf_counter()
            print("plan_run:", run_job("billing.plan_run", tenant_id, None, {"run_id": run_id}),
                  f"{time.perf_counter() - t:.3f} s")

            def chunk(number: int) -> float:
                # As in an RQ work horse: fresh connections for every job (worker.py disposes the engine after
                # fork), so no server-side plan or prepared statement survives from one chunk to the next.
                db.engine.dispose()
                t = time.perf_counter()
                outcome = run_job("billing.bill_chunk", tenant_id, None, {"run_id": run_id, "chunk_number": number})
                elapsed = time.perf_counter() - t
                print(f"chunk {number}: {outcome} in {elapsed:.3f} s ({outcome.get('billed', 0) / elapsed:,.0f} "
                      f"bills/s in one process)")
                return elapsed

            chunks = -(-args.accounts // args.chunk_size)
            if args.fork:
                return _forked_chunks(chunk, chunks)
            chunk(1)
            counter = SqlCounter()
            for number in range(2, chunks):
                counter.reset()
                counter.enabled = True
                elapsed = chunk(number)
                counter.enabled = False
                print(f"  chunk {number}: {counter.count} statements ({counter.param_sets} parameter sets), "
                      f"{counter.seconds:.3f} s in statements (PostgreSQL + driver), "
                      f"{elapsed - counter.seconds:.3f} s in Python outside statements")
            print(f"  statements of chunk {chunks - 1}, in order (seconds, table, call, parameter sets, rowcount):")
            for label, call, sets, rows, seconds in counter.log:
                print(f"    {seconds:7.3f} s  {label:<28} {call:<11} params={sets:<5} rows={rows}")

            profiler = cProfile.Profile()
            profiler.enable()
            chunk(chunks)
            profiler.disable()
        if args.dump:
            profiler.dump_stats(args.dump)
        stats = pstats.Stats(profiler)
        print(f"\n=== chunk {chunks} under cProfile: the billing code's own steps (cumulative s, calls) ===")
        wanted = {name for name, _ in PHASES}
        found = {}
        for (filename, _line, func), (_cc, calls, _tt, cum, _callers) in stats.stats.items():
            if func in wanted and ("/domain/" in filename or "/app/" in filename):
                found[func] = (cum, calls, f"{Path(filename).parent.name}/{Path(filename).name}")
        for name, what in PHASES:
            if name in found:
                cum, calls, where = found[name]
                print(f"  {cum:7.3f} s {calls:6d}x  {where}:{name}  ({what})")
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order)
            stats.print_stats(args.top)
            print(f"\n=== chunk {chunks} under cProfile, top {args.top} by {order} ===")
            text = out.getvalue()
            print(text[text.index("   ncalls"):] if "   ncalls" in text else text)
    finally:
        redis_conn.flushdb()
        if not args.keep:
            drop_database(args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
