"""Where a portal page's time goes, in one process: CPU ms per request, SQL statements and their server time.

    .venv/bin/python bench/portal_profile.py [--db bench_portal] [--path /] [--requests 400] [--cprofile 30]

Uses the database a `portal_bench.py --keep` run left (its sessions and cookies), the production settings the
benchmark serves with, and the WSGI app directly (no gunicorn, no wrk), each request a different signed-in
customer. Prints the CPU time per request of this process (PostgreSQL's own time is not in it), the wall time,
the statements per request, and with --cprofile N the N most expensive functions by cumulative time.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from billing_setup import PRODUCTION_EXTRAS, ROOT, SECRET_KEY, app_url  # noqa: E402
from portal_bench import HOST, signed_cookies  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="bench_portal")
    parser.add_argument("--path", default="/")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--cprofile", type=int, default=0, help="print the N top functions by cumulative time")
    parser.add_argument("--statements", action="store_true", help="print the statements of one request")
    args = parser.parse_args()

    state_file = Path(tempfile.gettempdir()) / f"{args.db}.state.json"
    if not state_file.exists():
        raise SystemExit(f"no {state_file}: run bench/portal_bench.py --keep first")
    tokens = json.loads(state_file.read_text())["tokens"]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL")}
    env.update(**PRODUCTION_EXTRAS, APP_ENV="production", SECRET_KEY=SECRET_KEY, DATABASE_URL=app_url(args.db),
               INSTANCE_DIR=tempfile.mkdtemp(prefix="portal_profile_"), PLATFORM_DOMAIN="localhost",
               PYTHONPATH=str(ROOT))
    os.environ.update(env)
    cookies = signed_cookies(env, tokens)

    from sqlalchemy import event


    from app import create_app
    from app.settings import load_settings
    from domain.db import db

    app = create_app(load_settings(env))
    statements: list[tuple[str, float]] = []

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, time.perf_counter() - conn.info.pop("t0", time.perf_counter())))
        if os.environ.get("STACKS") and "set_config" in statement:
            import traceback
            traceback.print_stack(limit=14)

    for name in ("begin", "commit", "rollback"):
        event.listen(engine, name, lambda conn, name=name: statements.append((name.upper(), 0.0)))

    def one(i: int) -> int:
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": args.path, "QUERY_STRING": "", "SERVER_NAME": HOST,
            "SERVER_PORT": "80", "HTTP_HOST": HOST, "HTTP_X_FORWARDED_PROTO": "https", "REMOTE_ADDR": "127.0.0.1",
            "HTTP_X_FORWARDED_FOR": "127.0.0.1",
            "HTTP_COOKIE": f"__Host-session={cookies[i % len(cookies)]}", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
            "wsgi.multiprocess": True, "wsgi.run_once": False, "SERVER_PROTOCOL": "HTTP/1.1",
        }
        status = []
        body = b"".join(app.wsgi_app(environ, lambda s, h, e=None: status.append(s)))
        code = int(status[0].split()[0])
        if code != 200:
            raise SystemExit(f"{args.path} answered {code}: {body[:300]!r}")
        return len(body)

    import flask.templating
    render_cpu = [0.0]
    original_render = flask.templating._render

    def timed_render(*a, **kw):
        t0 = time.process_time()
        try:
            return original_render(*a, **kw)
        finally:
            render_cpu[0] += time.process_time() - t0

    flask.templating._render = timed_render

    for i in range(50):  # warm: connections, templates, caches
        one(i)
    statements.clear()
    if args.statements:
        one(0)
        for sql, seconds in statements:
            print(f"{seconds * 1000:7.2f} ms  {' '.join(sql.split())[:240]}")
        statements.clear()

    render_cpu[0] = 0.0
    profiler = cProfile.Profile() if args.cprofile else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    size = 0
    for i in range(args.requests):
        size = one(i)
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    n = args.requests
    transactions = [s for s, _ in statements if s in ("BEGIN", "COMMIT", "ROLLBACK")]
    statements[:] = [(s, t) for s, t in statements if s not in ("BEGIN", "COMMIT", "ROLLBACK")]
    sql_wall = sum(s for _, s in statements)
    print(f"{args.path}: {n} requests, {size:,} bytes per page")
    print(f"  CPU of this process {cpu / n * 1000:.2f} ms/request (rendering the template "
          f"{render_cpu[0] / n * 1000:.2f}), wall {wall / n * 1000:.2f} ms/request")
    print(f"  {len(statements) / n:.1f} statements/request, {sql_wall / n * 1000:.2f} ms/request waiting on them; "
          + ", ".join(f"{transactions.count(k) / n:.1f} {k}" for k in ("BEGIN", "COMMIT", "ROLLBACK")))
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("SORT", "cumulative"))
        stats.print_stats(args.cprofile)
        if os.environ.get("CALLERS"):
            stats.print_callers(os.environ["CALLERS"])
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
