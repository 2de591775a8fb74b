"""Portal benchmark: the signed-in home page (and the bills page, once it exists) served by gunicorn on PostgreSQL
under row-level security, side by side with a bare Flask hello-world on the same gunicorn settings, loaded over
loopback by wrk with many signed-in sessions.

    .venv/bin/python bench/portal_bench.py --accounts 10000          # [--duration 20] [--connections 32] [--keep]

Needs PostgreSQL at 127.0.0.1:5432 (`postgres` without password), wrk (`apt-get install -y wrk`) and gunicorn.
See bench/README.md for what it loads and how to read the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from cpu import proc_table, tree_cpu  # noqa: E402
from billing_setup import (  # noqa: E402
    PRODUCTION_EXTRAS,
    ROOT,
    SECRET_KEY,
    Calendar,
    app_url,
    check_foreign_keys,
    create_bench_tenant,
    drop_database,
    load_accounts,
    make_app,
    migrate,
    owner_connect,
    recreate_database,
)

HOST = "bench.localhost"
TARGET_RATIO = 0.25
REFERENCES = ("hello", "healthz")  # rows printed for comparison, not held to the targets
TARGET_P99_MS = 50.0
HISTORY_TABLES = ("bills", "ledger_entries", "payments", "payment_allocations")

LUA = r"""
-- Each wrk thread drives one connection with its own signed-in session cookies (one cookie per request,
-- rotating over the thread's share), and reports the figures as one JSON line at the end.
local cookies = {}
for line in io.lines(os.getenv("BENCH_COOKIES")) do cookies[#cookies + 1] = line end
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  mine = {}
  local n = tonumber(os.getenv("BENCH_THREADS"))
  for i = id, #cookies, n do mine[#mine + 1] = cookies[i] end
  if #mine == 0 then mine[1] = cookies[1] end
  k = 0
  wrk.headers["Host"] = os.getenv("BENCH_HOST")
  wrk.headers["X-Forwarded-Proto"] = "https"
end

function request()
  k = k % #mine + 1
  wrk.headers["Cookie"] = "__Host-session=" .. mine[k]
  return wrk.format("GET", os.getenv("BENCH_PATH"))
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
    + summary.errors.timeout
  io.write(string.format('BENCH {"requests": %d, "seconds": %.3f, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
    .. '"max_us": %d, "errors": %d, "non_2xx_3xx": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, errors, summary.errors.status))
end
"""


def _say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def wait_for_billing_bench(poll: float = 15.0) -> None:
    """Another benchmark on this 2-core machine would skew both: wait until no billing_bench runs."""
    while subprocess.run(["pgrep", "-f", "billing_bench"], capture_output=True).returncode == 0:
        _say("billing_bench is running; waiting")
        time.sleep(poll)


# --- data -------------------------------------------------------------------------------------------------------------

def load_history(dbname: str, *, tenant_id: int, cal: Calendar, bills: int, failed_share: float) -> dict[str, int]:
    """Monthly bills (all issued, all but the latest paid by direct debit with its allocation and ledger credit)
    and a share of accounts with a recent failed card payment, written set-based by PostgreSQL itself."""
    latest_end = cal.period_start  # contracts are billed until this date
    with owner_connect(dbname) as conn, conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # FK triggers off; checked set-based below
        cur.execute(
            """
            INSERT INTO bills (tenant_id, public_id, number, account_id, contract_id, kind, status, period_start,
                               period_end, issued_at, due_date, currency, total_excl_tax, total_tax, total_incl_tax,
                               estimated)
            SELECT c.tenant_id, gen_random_uuid()::text,
                   'B' || to_char(p.pe, 'YYYYMM') || '-' || lpad(c.id::text, 10, '0'),
                   c.account_id, c.id, 'periodic', 'issued', p.ps, p.pe, p.pe + time '06:00', p.pe + 15, 'EUR',
                   round(p.amount / 1.2, 2), p.amount - round(p.amount / 1.2, 2), p.amount, false
            FROM contracts c
            CROSS JOIN generate_series(1, %(bills)s) g(k)
            CROSS JOIN LATERAL (
                SELECT (%(latest_end)s::date - make_interval(months => g.k))::date AS ps,
                       (%(latest_end)s::date - make_interval(months => g.k - 1))::date AS pe,
                       (20 + (c.id * 37 + g.k * 11) %% 130 + ((c.id + g.k) %% 100) / 100.0)::numeric(12, 2) AS amount
            ) p
            WHERE c.tenant_id = %(t)s
            """, {"bills": bills, "latest_end": latest_end, "t": tenant_id})
        cur.execute(
            """
            INSERT INTO ledger_entries (tenant_id, account_id, booked_on, created_at, direction, amount, currency,
                                        description, bill_id)
            SELECT tenant_id, account_id, issued_at::date, issued_at, 'debit', total_incl_tax, currency,
                   'Bill ' || number, id
            FROM bills WHERE tenant_id = %(t)s
            """, {"t": tenant_id})
        cur.execute(
            """
            INSERT INTO payments (tenant_id, public_id, account_id, amount, currency, method, status, provider,
                                  provider_reference, created_at, received_at)
            SELECT tenant_id, gen_random_uuid()::text, account_id, total_incl_tax, currency, 'direct_debit',
                   'succeeded', 'bank', 'bench-' || id, due_date + time '08:00', due_date + time '08:00'
            FROM bills WHERE tenant_id = %(t)s AND period_end < %(latest_end)s
            """, {"t": tenant_id, "latest_end": latest_end})
        cur.execute(
            """
            INSERT INTO payment_allocations (tenant_id, payment_id, bill_id, amount)
            SELECT p.tenant_id, p.id, substr(p.provider_reference, 7)::bigint, p.amount
            FROM payments p WHERE p.tenant_id = %(t)s AND p.provider = 'bank'
            """, {"t": tenant_id})
        cur.execute(
            """
            INSERT INTO ledger_entries (tenant_id, account_id, booked_on, created_at, direction, amount, currency,
                                        description, payment_id)
            SELECT tenant_id, account_id, received_at::date, received_at, 'credit', amount, currency,
                   'Direct debit', id
            FROM payments WHERE tenant_id = %(t)s AND status = 'succeeded'
            """, {"t": tenant_id})
        step = max(int(round(1 / failed_share)), 1) if failed_share > 0 else 0
        if step:
            cur.execute(
                """
                INSERT INTO payments (tenant_id, public_id, account_id, amount, currency, method, status, provider,
                                      created_at, failure_reason)
                SELECT tenant_id, gen_random_uuid()::text, id, 42.50, 'EUR', 'card', 'failed', 'sandbox',
                       now() - interval '3 days', 'Card declined'
                FROM customer_accounts WHERE tenant_id = %(t)s AND id %% %(step)s = 0
                """, {"t": tenant_id, "step": step})
        for table in HISTORY_TABLES:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"greatest((SELECT max(id) FROM {table}), 1))")
        cur.execute("SET session_replication_role = origin")
        counts = {}
        for table in HISTORY_TABLES:
            cur.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
        conn.commit()
    check_foreign_keys(dbname, HISTORY_TABLES)
    with owner_connect(dbname, autocommit=True) as conn:
        conn.execute(f"VACUUM (ANALYZE) {', '.join(HISTORY_TABLES)}")
    return counts


def create_sessions(app, *, tenant_id: int, accounts: int, users: int) -> list[str]:
    """`users` customers spread over the whole account range (every fourth also holds the next account: home and
    holiday home under one login), each signed in once; returns their session tokens."""
    from domain.db import db, utcnow
    from domain.identity import services as identity
    from domain.identity.models import CustomerAccess, CustomerUser
    from domain.identity.passwords import hash_password
    from tenants.context import tenant_scope

    stride = max(accounts // users, 1)
    tokens = []
    with app.app_context(), tenant_scope(tenant_id):
        password = hash_password("bench-customer-password")
        now = utcnow()
        for j in range(users):
            account_id = 1 + (j * stride) % accounts
            user = CustomerUser(email=f"customer{j}@bench.example.com", password_hash=password,
                                party_id=account_id, email_verified_at=now)
            db.session.add(user)
            db.session.flush()
            db.session.add(CustomerAccess(customer_user_id=user.id, account_id=account_id))
            if j % 4 == 0 and account_id < accounts:
                db.session.add(CustomerAccess(customer_user_id=user.id, account_id=account_id + 1))
            opened = identity.open_session(user_kind="customer", user_id=user.id, now=now,
                                           lifetime=timedelta(hours=12))
            tokens.append(opened.token)
        db.session.commit()
        db.session.remove()
    return tokens


def signed_cookies(server_env: dict[str, str], tokens: list[str]) -> list[str]:
    """The session cookie a browser holds after signing in (Flask-Login's `_user_id` = `customer:<token>`)."""
    from app import create_app
    from app.settings import load_settings

    app = create_app(load_settings(server_env))
    serializer = app.session_interface.get_signing_serializer(app)
    return [serializer.dumps({"_user_id": f"customer:{t}", "_fresh": True, "_permanent": True}) for t in tokens]


# --- serving and loading ---------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(module: str, port: int, env: dict[str, str], cwd: Path, workers: int, log: Path):
    gunicorn = Path(sys.executable).with_name("gunicorn")
    cmd = [str(gunicorn), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--worker-class", "sync",
           "--backlog", "2048", "--log-level", "warning", module]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError as exc:
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn {module} exited: see {log}") from exc
            time.sleep(0.2)
    raise SystemExit(f"gunicorn {module} did not listen on {port}")


def stop(proc) -> None:
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def fetch(port: int, path: str, cookie: str | None) -> tuple[int, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={
        "Host": HOST, "X-Forwarded-Proto": "https", **({"Cookie": f"__Host-session={cookie}"} if cookie else {})})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=120) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def cpu_of(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the gunicorn tree rooted at `server_pid`, and of every PostgreSQL process."""
    table = proc_table()
    server = tree_cpu(server_pid, table)
    database = sum(cpu for _ppid, name, cpu in table.values() if name.startswith("postgres"))
    return {"server": server, "postgres": database}


def run_wrk(port: int, path: str, *, cookies_file: Path, lua: Path, connections: int, duration: int,
            server_pid: int | None = None) -> dict:
    env = {**os.environ, "BENCH_COOKIES": str(cookies_file), "BENCH_THREADS": str(connections),
           "BENCH_HOST": HOST, "BENCH_PATH": path}
    before = cpu_of(server_pid) if server_pid else None
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(["wrk", "-t", str(connections), "-c", str(connections), "-d", f"{duration}s",
                          "--timeout", "10s", "-s", str(lua), f"http://127.0.0.1:{port}{path}"],
                         env=env, capture_output=True, text=True, check=True)
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = cpu_of(server_pid) if server_pid else None
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no figures:\n{out.stdout}\n{out.stderr}")
    figures = json.loads(line[6:])
    figures["rps"] = figures["requests"] / figures["seconds"]
    figures["load"] = os.getloadavg()[0]  # 1-minute load average at the end: other work on the machine skews all
    # CPU milliseconds per request: the server's workers, PostgreSQL (all of it: other sessions' queries too), wrk
    per_request = 1000 / max(figures["requests"], 1)
    figures["cpu_ms"] = {
        "wrk": (wrk_after.ru_utime + wrk_after.ru_stime - wrk_before.ru_utime - wrk_before.ru_stime) * per_request,
        **({k: (after[k] - before[k]) * per_request for k in after} if after else {}),
    }
    return figures


# --- main ------------------------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--bills", type=int, default=12, help="monthly bills per account (all paid but the latest)")
    parser.add_argument("--failed-share", type=float, default=0.02, help="share of accounts with a failed payment")
    parser.add_argument("--users", type=int, default=512, help="signed-in customers (sessions) spread over accounts")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per page")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, same for both apps")
    parser.add_argument("--db", default="bench_portal")
    parser.add_argument("--reuse", action="store_true", help="reuse the database a previous --keep run left")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    wait_for_billing_bench()
    work = Path(tempfile.mkdtemp(prefix="portal_bench_"))
    instance = str(work / "instance")
    cal = Calendar(billing_date=date.today().replace(day=1))
    state_file = work.parent / f"{args.db}.state.json"
    if args.reuse and state_file.exists():
        state = json.loads(state_file.read_text())
        _say(f"reusing database {args.db}: {state['accounts']:,} accounts (migrated to the latest revision)")
        migrate(args.db, instance)
        tokens = state["tokens"]
    else:
        _say(f"database {args.db}: create and migrate")
        recreate_database(args.db)
        migrate(args.db, instance)
        app = make_app(args.db, None, instance)
        tenant_id, _ = create_bench_tenant(app)
        _say(f"loading {args.accounts:,} accounts (billing_setup.load_accounts)")
        loaded = load_accounts(args.db, tenant_id=tenant_id, accounts=args.accounts, cal=cal, log=_say)
        _say(f"  {loaded.accounts:,} accounts, {loaded.readings:,} readings in {loaded.seconds:.1f} s")
        started = time.perf_counter()
        counts = load_history(args.db, tenant_id=tenant_id, cal=cal, bills=args.bills, failed_share=args.failed_share)
        summary = ", ".join(f"{v:,} {k}" for k, v in counts.items())
        _say(f"  history in {time.perf_counter() - started:.1f} s: {summary}")
        tokens = create_sessions(app, tenant_id=tenant_id, accounts=args.accounts, users=args.users)
        _say(f"  {len(tokens)} customers signed in")
        state_file.write_text(json.dumps({"accounts": args.accounts, "tokens": tokens}))

    server_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL",
                                                                    "REDIS_URL", "FLASK_APP")}
    server_env.update(**PRODUCTION_EXTRAS, APP_ENV="production", SECRET_KEY=SECRET_KEY, DATABASE_URL=app_url(args.db),
                      INSTANCE_DIR=instance, PLATFORM_DOMAIN="localhost", PYTHONPATH=str(ROOT))
    cookies = signed_cookies(server_env, tokens)
    cookies_file = work / "cookies.txt"
    cookies_file.write_text("\n".join(cookies) + "\n")
    lua = work / "sessions.lua"
    lua.write_text(LUA)

    from app import create_app
    from app.settings import load_settings

    probe = create_app(load_settings(server_env))
    pages = [("home", "/")]
    if "portal.bills" in probe.view_functions:
        with probe.test_request_context(base_url=f"http://{HOST}"):
            from flask import url_for
            pages.append(("bills", url_for("portal.bills")))

    app_port, hello_port = free_port(), free_port()
    app_proc = hello_proc = None
    results = {}
    try:
        app_proc = start_gunicorn("wsgi:app", app_port, server_env, ROOT, args.workers, work / "app.log")
        hello_proc = start_gunicorn("portal_hello:app", hello_port, server_env, BENCH, args.workers,
                                    work / "hello.log")
        for name, path in pages:
            status, body = fetch(app_port, path, cookies[0])
            if status != 200 or "Sign in" in body.split("<main", 1)[-1][:2000]:
                raise SystemExit(f"{name} ({path}) answered {status} to a signed-in customer: see {work}/app.log")
        assert fetch(app_port, "/", None)[0] == 302, "the home page must need a session"
        wait_for_billing_bench()
        targets = [("hello", hello_proc, hello_port, "/"), ("healthz", app_proc, app_port, "/healthz"),
                   *[(n, app_proc, app_port, p) for n, p in pages]]
        for name, proc, port, path in targets:
            run_wrk(port, path, cookies_file=cookies_file, lua=lua, connections=args.connections, duration=3)  # warm
            _say(f"load: {name} {path}, {args.connections} connections, {args.duration} s")
            results[name] = run_wrk(port, path, cookies_file=cookies_file, lua=lua, connections=args.connections,
                                    duration=args.duration, server_pid=proc.pid)
    finally:
        stop(app_proc)
        stop(hello_proc)
        if not args.keep:
            drop_database(args.db)
            state_file.unlink(missing_ok=True)

    hello = results["hello"]["rps"]
    print()
    print(f"portal benchmark: {args.accounts:,} accounts, gunicorn -w {args.workers} (sync), wrk "
          f"{args.connections} connections x {args.duration} s, {len(tokens)} sessions, {os.cpu_count()} CPUs")
    print(f"{'page':<8} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs hello':>9} "
          f"{'load':>5}   CPU ms per request: {'app':>5} {'PG':>5} {'wrk':>5} {'all':>5}")
    ok = True
    for name, r in results.items():
        ratio = r["rps"] / hello
        cpu = r["cpu_ms"]
        print(f"{name:<8} {r['rps']:>9.0f} {r['p50_us'] / 1000:>8.1f} {r['p90_us'] / 1000:>8.1f} "
              f"{r['p99_us'] / 1000:>8.1f} {r['errors']:>7} {ratio:>8.0%} {r['load']:>5.1f}   {'':>19}"
              f"{cpu['server']:>5.2f} {cpu['postgres']:>5.2f} {cpu['wrk']:>5.2f} {sum(cpu.values()):>5.2f}")
        if r["errors"]:
            ok = False
        if name not in REFERENCES and (ratio < TARGET_RATIO or r["p99_us"] / 1000 > TARGET_P99_MS):
            ok = False
    print("healthz: the app's own floor on the same gunicorn (middleware, tenant, one SELECT 1, a JSON body; no "
          "session, no template): a reference, not a target")
    budget = os.cpu_count() * 1000 / (hello * TARGET_RATIO)
    print(f"CPU: a page at {TARGET_RATIO:.0%} of hello-world ({hello * TARGET_RATIO:.0f} req/s) may cost "
          f"{budget:.2f} CPU-ms in all on {os.cpu_count()} CPUs (app + PostgreSQL + wrk + kernel)")
    print(f"targets: pages >= {TARGET_RATIO:.0%} of hello-world req/s, p99 <= {TARGET_P99_MS:.0f} ms: "
          f"{'met' if ok else 'NOT met'}")
    print(f"logs: {work}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
