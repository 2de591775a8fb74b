"""Readings in bulk through the API (issue 16 §2): batches of 10,000 posted to `POST /api/v1/readings/batch`.

    .venv/bin/python bench/readings_api_bench.py --registers 300000 --db bench_readings   # [--batch 10000] [--keep]
                                                                      # [--server 2] [--reuse] [--profile]
                                                                      # [--floor 2]

1. recreates the database `--db` (dropped and created again: give one of your own) as the owner and migrates it;
2. creates one tenant through the onboarding service and bulk-loads accounts (bench/billing_setup.py: point of
   delivery, meter, contract with an annual estimate, 14 monthly actual readings per register) until it has at
   least N registers, then an API key with the `readings:write` scope;
3. builds one reading per register, dated today, its index the latest one plus the register's usual consumption
   (so nearly all are plausible; every 97th is lower than the previous one, every 89th far too high), half sent
   by point of delivery and half by meter serial and register;
4. posts them in batches of `--batch` (JSON bodies encoded beforehand) through the real endpoint, the app
   connected as `utility_app` (row-level security on), one transaction per batch as in production: with the Flask
   test client in this process (`--server 0`, the default), or to gunicorn with W sync workers over HTTP from W
   client threads (`--server W`: batches in parallel, as several systems or one sending in parallel would);
   prints the readings per second of each batch and overall, and the outcome totals.

Exit status 1 below TARGET readings per second overall, or when a batch does not answer 200. Also printed: the CPU
seconds per 10,000 readings of the app (this process, or gunicorn's workers) and of the database's backends, a
figure that holds when other work shares the machine (wall-clock rates do not).

With --floor S, the app is not run: S sessions at once run the batch's own SQL statements (lookups, meter locks,
history spans, the insert; one transaction per batch under row-level security) with parameters built beforehand,
and the readings per second of PostgreSQL alone are printed: the floor the endpoint is compared with.
With --profile, the last batch runs under cProfile and the top functions are printed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu import database_cpu, proc_table, tree_cpu  # noqa: E402
from billing_setup import (  # noqa: E402
    Calendar,
    create_bench_tenant,
    drop_database,
    load_accounts,
    make_app,
    migrate,
    owner_connect,
    recreate_database,
)

TARGET = 30_000  # readings per second, 2 cores


def _say(message: str) -> None:
    print(message, flush=True)


def setup(dbname: str, registers: int, instance: str) -> int:
    today = date.today()
    recreate_database(dbname)
    migrate(dbname, instance)
    app = make_app(dbname, None, instance)
    tenant_id, _currency = create_bench_tenant(app)
    # The latest monthly reading is the 1st of the month before `billing_date`'s: 15 to 45 days before today.
    cal = Calendar(billing_date=today - timedelta(days=15))
    started = time.perf_counter()
    loaded = load_accounts(dbname, tenant_id=tenant_id, accounts=int(registers / 1.04) + 1, cal=cal, log=_say)
    _say(f"loaded {loaded.accounts:,} accounts, {loaded.registers:,} registers, {loaded.readings:,} readings in "
         f"{time.perf_counter() - started:.1f} s")
    return tenant_id


def make_key(app, tenant_id: int) -> str:
    from sqlalchemy import select

    from domain.apikeys import services as keys
    from domain.db import db, utcnow
    from tenants.context import platform_scope, tenant_scope
    from tenants.models import Tenant

    with app.app_context():
        with platform_scope("bench: key"):
            slug = db.session.scalar(select(Tenant.slug).where(Tenant.id == tenant_id))
        with tenant_scope(tenant_id):
            _key, token = keys.create_key(tenant_slug=slug, name="Bench meter data platform",
                                          scopes={"readings:write"}, now=utcnow(), rate_limit_per_minute=100_000)
            db.session.commit()
        db.session.remove()
    return token


def build_readings(dbname: str, registers: int, today: date) -> tuple[list[dict], list[tuple[int, int]]]:
    """One reading per register (the first N), dated today, read from the owner's side of the database; and the
    (register id, meter id) of each, for the SQL floor."""
    with owner_connect(dbname) as conn:
        rows = conn.execute("""
            SELECT r.id, m.id, r.code, m.serial_number, dp.identifier, l.d[1], l.v[1], l.d[2], l.v[2],
                   (SELECT count(*) FROM registers o WHERE o.tenant_id = m.tenant_id AND o.meter_id = m.id)
            FROM (SELECT * FROM registers ORDER BY id LIMIT %s) r JOIN meters m ON m.id = r.meter_id
            JOIN meter_installations i ON i.meter_id = m.id JOIN delivery_points dp ON dp.id = i.delivery_point_id
            CROSS JOIN LATERAL (
                SELECT array_agg(read_on ORDER BY read_on DESC) AS d, array_agg(value ORDER BY read_on DESC) AS v
                FROM (SELECT read_on, value FROM meter_readings mr
                      WHERE mr.tenant_id = r.tenant_id AND mr.register_id = r.id AND mr.status = 'valid'
                      ORDER BY read_on DESC LIMIT 2) last_two) l
            ORDER BY r.id""", (registers,)).fetchall()
    readings, ids = [], []
    for n, row in enumerate(rows):
        register_id, meter_id, code, serial, identifier, last_on, last, before_on, before, count = row
        ids.append((register_id, meter_id))
        rate = (last - before) / (last_on - before_on).days
        value = last + rate * (today - last_on).days
        if n % 97 == 0:
            value = last / 2
        elif n % 89 == 0:
            value = last + rate * (today - last_on).days * 10
        reading = {"read_on": today.isoformat(), "value": f"{value:.3f}", "external_id": f"b-{n}"}
        if n % 2 and count == 1:
            reading["point"] = identifier
        else:
            reading.update(meter=serial, register=code)
        readings.append(reading)
    return readings, ids


def sql_floor(dbname: str, tenant_id: int, readings: list[dict], ids: list[tuple[int, int]], size: int,
              sessions: int) -> tuple[float, int, dict]:
    """The batch's own statements alone (the points and meters looked up, the meters locked, the registers'
    history spans read, every reading inserted valid), each batch one transaction under row-level security, from
    `sessions` connections at once: what PostgreSQL costs whatever the app does. Returns (seconds, readings, CPU)."""
    import queue
    import threading

    import psycopg

    from billing_setup import app_url
    from domain.bulk import array_literal, id_array
    from domain.readings.batch import _METERS_SQL, _POINTS_SQL, _SUMMARY_SQL

    work: queue.Queue = queue.Queue()
    for start in range(0, len(readings), size):
        chunk, chunk_ids = readings[start:start + size], ids[start:start + size]
        registers = sorted(register_id for register_id, _meter_id in chunk_ids)
        value_of = {register_id: r["value"] for r, (register_id, _m) in zip(chunk, chunk_ids, strict=True)}
        work.put({
            "points": array_literal(sorted({r["point"] for r in chunk if "point" in r})),
            "serials": array_literal(sorted({r["meter"] for r in chunk if "meter" in r})),
            "meters": id_array(sorted({meter_id for _r, meter_id in chunk_ids})),
            "registers": id_array(registers),
            "days": "{" + ",".join(r["read_on"] for r in chunk) + "}",
            "values": "{" + ",".join(value_of[register_id] for register_id in registers) + "}",
            "day": chunk[0]["read_on"],
        })
    connections = [psycopg.connect(app_url(dbname)) for _ in range(sessions)]
    spent: dict[str, float] = {}
    lock = threading.Lock()

    def run(conn, name: str, sql: str, params, fetch: bool = True) -> None:
        began = time.perf_counter()
        cursor = conn.execute(sql, params)
        if fetch:
            cursor.fetchall()
        with lock:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - began

    def session(conn) -> None:
        while True:
            try:
                batch = work.get_nowait()
            except queue.Empty:
                return
            with conn.transaction():
                conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
                conn.execute("SET LOCAL jit = off")
                run(conn, "points", _POINTS_SQL.format(key="identifier", type="text"), (batch["points"], tenant_id))
                run(conn, "meters", _METERS_SQL, (batch["serials"], tenant_id))
                run(conn, "lock", "SELECT id FROM meters WHERE tenant_id = %s AND id = ANY(CAST(%s AS bigint[])) "
                                  "ORDER BY id FOR UPDATE", (tenant_id, batch["meters"]))
                run(conn, "spans", _SUMMARY_SQL, (batch["registers"], batch["days"], tenant_id, tenant_id))
                run(conn, "insert", "INSERT INTO meter_readings (tenant_id, received_at, imported, "
                                    "implausible_confirmed, status, read_on, source, rollover_confirmed, register_id, "
                                    "value) SELECT %s, now(), false, false, 'valid', %s, 'smart_meter', false, u.* "
                                    "FROM unnest(CAST(%s AS bigint[]), CAST(%s AS numeric[])) AS u",
                    (tenant_id, batch["day"], batch["registers"], batch["values"]), fetch=False)

    threads = [threading.Thread(target=session, args=(conn,)) for conn in connections]
    cpu_before = database_cpu(dbname)
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cpu = {"postgres": database_cpu(dbname) - cpu_before}
    for conn in connections:
        conn.close()
    batches = -(-len(readings) // size)
    _say("statements, ms per batch of " + f"{size:,}: " + ", ".join(f"{name} {seconds * 1000 / batches:.0f}"
                                                                   for name, seconds in spent.items() if seconds))
    return elapsed, len(readings), cpu


def post_batches(app, dbname: str, token: str, readings: list[dict], size: int, profile: bool
                 ) -> tuple[list, dict, dict, float]:
    bodies = [json.dumps({"readings": readings[i:i + size]}).encode() for i in range(0, len(readings), size)]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    timings, totals = [], {"received": 0, "accepted": 0, "to_check": 0, "rejected": 0}
    client.get("/api/v1/key", headers=headers, base_url="http://api.localhost")  # connected before the measure
    cpu_before = (time.process_time(), database_cpu(dbname))
    began_all = time.perf_counter()
    for number, body in enumerate(bodies, start=1):
        profiler = None
        if profile and number == len(bodies):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        began = time.perf_counter()
        response = client.post("/api/v1/readings/batch", data=body, headers=headers, base_url="http://api.localhost")
        took = time.perf_counter() - began
        if profiler is not None:
            profiler.disable()
        if response.status_code != 200:
            raise SystemExit(f"batch {number}: {response.status_code} {response.get_data(as_text=True)[:500]}")
        answer = response.get_json()
        for key, value in answer["totals"].items():
            totals[key] += value
        timings.append((answer["totals"]["received"], took))
        _report(number, answer, took)
        if profiler is not None:
            import pstats

            pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(35)
    elapsed = time.perf_counter() - began_all
    cpu = {"app": time.process_time() - cpu_before[0], "postgres": database_cpu(dbname) - cpu_before[1]}
    return timings, totals, cpu, elapsed


def _report(number: int, answer: dict, took: float) -> None:
    totals = answer["totals"]
    _say(f"batch {number:>3}: {totals['received']:,} readings in {took * 1000:.0f} ms: "
         f"{totals['received'] / took:,.0f} readings/s ({totals['accepted']:,} accepted, {totals['to_check']:,} "
         f"to check, {totals['rejected']:,} rejected)")


def post_over_http(dbname: str, instance: str, token: str, readings: list[dict], size: int, workers: int
                   ) -> tuple[list, dict, dict, float]:
    """The same batches to gunicorn (W sync workers) from W client threads at once."""
    import http.client
    import queue
    import signal
    import socket
    import subprocess
    import threading

    from billing_setup import ROOT, app_environ

    bodies = [json.dumps({"readings": readings[i:i + size]}).encode() for i in range(0, len(readings), size)]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL")}
    env.update(app_environ(dbname, None, instance))
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = Path(instance) / "gunicorn.log"
    server = subprocess.Popen([str(gunicorn), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "300",
                               "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env, stdout=log.open("w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise SystemExit(f"gunicorn did not start: see {log}") from None
                time.sleep(0.2)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Host": "api.localhost"}
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(workers * 2):  # each worker imports and connects before the clock starts
            warm.request("GET", "/api/v1/key", headers=headers)
            warm.getresponse().read()
        todo: queue.Queue = queue.Queue()
        for number in range(len(bodies)):
            todo.put(number)
        answers: list = [None] * len(bodies)

        def client() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            while True:
                try:
                    number = todo.get_nowait()
                except queue.Empty:
                    return
                began = time.perf_counter()
                conn.request("POST", "/api/v1/readings/batch", body=bodies[number], headers=headers)
                response = conn.getresponse()
                data = response.read()
                answers[number] = (response.status, data, time.perf_counter() - began)

        threads = [threading.Thread(target=client) for _ in range(workers)]
        table = proc_table()
        cpu_before = (tree_cpu(server.pid, table), database_cpu(dbname, table), time.process_time())
        began = time.perf_counter()  # the server started and warm: only the batches are timed
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        table = proc_table()
        cpu = {"app": tree_cpu(server.pid, table) - cpu_before[0],
               "postgres": database_cpu(dbname, table) - cpu_before[1],
               "client": time.process_time() - cpu_before[2]}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    timings, totals = [], {"received": 0, "accepted": 0, "to_check": 0, "rejected": 0}
    for number, (status, data, took) in enumerate(answers, start=1):
        if status != 200:
            raise SystemExit(f"batch {number}: {status} {data[:500]!r}")
        answer = json.loads(data)
        for key, value in answer["totals"].items():
            totals[key] += value
        timings.append((answer["totals"]["received"], took))
        _report(number, answer, took)
    return timings, totals, cpu, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # 300,000: 30 batches, 15 per worker with --server 2, so the workers' first batches (slower while caches warm)
    # and the odd slow batch weigh on the overall rate as in a long feed.
    parser.add_argument("--registers", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--db", default="bench_readings")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="post to a database kept before (readings dated "
                                                                "today must not be there yet)")
    parser.add_argument("--profile", action="store_true", help="cProfile the last batch (test client only)")
    parser.add_argument("--floor", type=int, default=0, metavar="S",
                        help="run only the batch's SQL statements from S sessions at once (the floor), not the app")
    parser.add_argument("--server", type=int, default=0, metavar="W",
                        help="post to gunicorn with W workers from W threads (0: the Flask test client)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        tenant_id = 1 if args.reuse else setup(args.db, args.registers, instance)
        today = date.today()  # the app's is the tenant's (Paris), never behind the machine's (UTC)
        with owner_connect(args.db, autocommit=True) as conn:
            if args.reuse:  # the readings of an earlier run, gone before the vacuum (no dead index entries)
                conn.execute("DELETE FROM meter_readings WHERE read_on = %s", (today,))
            conn.execute("VACUUM (ANALYZE)")
        app = make_app(args.db, None, instance)
        token = make_key(app, tenant_id)
        readings, ids = build_readings(args.db, args.registers, today)
        _say(f"{len(readings):,} readings to send in batches of {args.batch:,}, dated {today}")
        load_before = os.getloadavg()[0]
        if args.floor:
            elapsed, count, cpu = sql_floor(args.db, tenant_id, readings, ids, args.batch, args.floor)
            _say(f"SQL floor, {args.floor} sessions: {count:,} readings in {elapsed:.2f} s: {count / elapsed:,.0f} "
                 f"readings/s; PostgreSQL CPU per 10,000 readings {cpu['postgres'] * 10_000 / count:.3f} s; load "
                 f"average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
            if not args.keep and not args.reuse:
                drop_database(args.db)
            return 0
        if args.server:
            timings, totals, cpu, elapsed = post_over_http(args.db, instance, token, readings, args.batch,
                                                           args.server)
        else:
            timings, totals, cpu, elapsed = post_batches(app, args.db, token, readings, args.batch, args.profile)
        rate = totals["received"] / elapsed
        per_batch = sorted(count / took for count, took in timings)
        _say(f"\n{totals['received']:,} readings in {elapsed:.2f} s: {rate:,.0f} readings/s overall "
             f"(per batch: min {per_batch[0]:,.0f}, median {per_batch[len(per_batch) // 2]:,.0f}, "
             f"max {per_batch[-1]:,.0f}); target {TARGET:,}; load average {load_before:.1f} -> "
             f"{os.getloadavg()[0]:.1f}")
        spent = sum(cpu.values())
        _say("CPU per 10,000 readings: " + ", ".join(f"{name} {seconds * 10_000 / totals['received']:.3f} s"
                                                      for name, seconds in cpu.items())
             + f"; in all {spent * 10_000 / totals['received']:.3f} s: {totals['received'] / spent:,.0f} readings "
               f"per CPU-second, {os.cpu_count()} cores busy with nothing else would take "
               f"{os.cpu_count() * totals['received'] / spent:,.0f} readings/s")
        _say(f"outcomes: {totals['accepted']:,} accepted, {totals['to_check']:,} to check, "
             f"{totals['rejected']:,} rejected")
        with owner_connect(args.db) as conn:
            stored = conn.execute("SELECT count(*) FROM meter_readings WHERE read_on = %s", (today,)).fetchone()[0]
        _say(f"stored today: {stored:,} (expected {totals['accepted'] + totals['to_check']:,})")
        ok = rate >= TARGET and stored == totals["accepted"] + totals["to_check"]
    if not args.keep and not args.reuse:
        drop_database(args.db)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
