"""Mailing campaign benchmark: one campaign to N customers on PostgreSQL (row-level security) sent by RQ workers to
a local SMTP sink.

    .venv/bin/python bench/campaign_bench.py --recipients 100000 --db bench_camp --redis redis://127.0.0.1:6379/2
    # [--workers 2] [--batch 200] [--keep]

1. recreates the database (give one of your own) as the owner and migrates it; one tenant through the app's
   onboarding service; N accounts bulk-loaded (bench/billing_setup.py), each with an online access that consented
   to marketing e-mail, in en / fr / de / es;
2. starts an SMTP sink (aiosmtpd, its own process: bench/smtp_sink.py) and W `python worker.py mail` processes
   (Redis db of --redis, flushed first), the app connected as `utility_app`;
3. creates the campaign (templates in four languages) through domain/campaigns as the back office does, and sends it
   now: the `campaigns.start` job records the N recipients, two lanes send them in batches;
4. prints the time to record the recipients, the time until the last message is recorded sent and the sink has
   received N, the messages per second end to end (from "send now" to the last message), and the workers' RSS at
   the start, the middle and the end; exit status 1 when fewer or more than N messages arrived or the rate is below
   the target (800 messages per second).
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from billing_setup import (  # noqa: E402
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
from proc_rss import descendants, own_cpu_seconds, rss_kb, system_cpu_seconds, tree_cpu_seconds  # noqa: E402

TARGET_PER_SECOND = 800
LOCALES = ("en", "fr", "de", "es")
TEXTS = {
    "en": ("Winter offer for {{ customer_name }}", "Dear {{ customer_name }},\n\nOur winter offer is here. "
           "Customer number {{ account_number }}.\n\n{{ utility_name }} - {{ portal_url }}"),
    "fr": ("Offre d'hiver pour {{ customer_name }}", "Bonjour {{ customer_name }},\n\nNotre offre d'hiver est là. "
           "Numéro client {{ account_number }}.\n\n{{ utility_name }} - {{ portal_url }}"),
    "de": ("Winterangebot für {{ customer_name }}", "Guten Tag {{ customer_name }},\n\nUnser Winterangebot ist da. "
           "Kundennummer {{ account_number }}.\n\n{{ utility_name }} - {{ portal_url }}"),
    "es": ("Oferta de invierno para {{ customer_name }}", "Hola {{ customer_name }},\n\nNuestra oferta de invierno. "
           "Cliente {{ account_number }}.\n\n{{ utility_name }} - {{ portal_url }}"),
}


def _say(message: str) -> None:
    print(message, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_consenting_users(dbname: str, tenant_id: int) -> int:
    """One online access per account, consenting to marketing e-mail, its language spread over the four."""
    with owner_connect(dbname) as conn, conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute("""
            INSERT INTO customer_users (id, tenant_id, email, password_hash, party_id, locale, is_active, created_at,
                                        marketing_consent, marketing_consent_at)
            SELECT a.id, a.tenant_id, 'c' || a.id || '@bench.example.com', 'x', a.holder_party_id,
                   (ARRAY['en', 'fr', 'de', 'es'])[1 + a.id %% 4], true, now(), true, now()
            FROM customer_accounts a WHERE a.tenant_id = %s""", (tenant_id,))
        users = cur.rowcount
        cur.execute("""
            INSERT INTO customer_accesses (id, tenant_id, customer_user_id, account_id)
            SELECT a.id, a.tenant_id, a.id, a.id FROM customer_accounts a WHERE a.tenant_id = %s""", (tenant_id,))
        for table in ("customer_users", "customer_accesses"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cur.execute("SET session_replication_role = DEFAULT")
        conn.commit()
        cur.execute("ANALYZE")
        conn.commit()
    return users


def start_sink(port: int, count_file: str, log_dir: str) -> subprocess.Popen:
    log = open(Path(log_dir) / "sink.log", "wb")  # noqa: SIM115
    sink = subprocess.Popen([sys.executable, str(ROOT / "bench" / "smtp_sink.py"), str(port), count_file],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return sink
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the SMTP sink did not start")


def sink_count(count_file: str) -> int:
    try:
        return int(Path(count_file).read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def start_workers(count: int, env: dict[str, str], log_dir: str) -> list[subprocess.Popen]:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL")}
    base.update(env, PYTHONUNBUFFERED="1", WORKER_DAILY_JOBS="0")
    procs = []
    for number in range(1, count + 1):
        log = open(Path(log_dir) / f"worker-{number}.log", "wb")  # noqa: SIM115 (closed with the process)
        procs.append(subprocess.Popen([sys.executable, "worker.py", "mail"], cwd=ROOT, env=base, stdout=log,
                                      stderr=subprocess.STDOUT))
    return procs


def worker_rss_mb(procs) -> list[float]:
    """Each worker with its work horse (the process doing the sending when it forks), in MB."""
    return [round((rss_kb(p.pid) + sum(rss_kb(k) for k in descendants(p.pid))) / 1024, 1) for p in procs]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--db", default="bench_camp")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/2")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=None, help="recipients claimed per batch (default: the app's)")
    parser.add_argument("--fork", default="1", help="WORKER_FORK for the workers (0: jobs in the worker process)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    from redis import Redis

    instance = tempfile.mkdtemp(prefix="campaign-bench-")
    _say(f"database {args.db}, {args.recipients:,} recipients, {args.workers} workers, Redis {args.redis}")
    t0 = time.perf_counter()
    recreate_database(args.db)
    migrate(args.db, instance)
    app = make_app(args.db, None, instance)
    tenant_id, _currency = create_bench_tenant(app, slug="bench")
    load_accounts(args.db, tenant_id=tenant_id, accounts=args.recipients, cal=Calendar(date.today().replace(day=1)),
                  log=lambda *a: None)
    users = add_consenting_users(args.db, tenant_id)
    _say(f"set-up: {users:,} consenting customers in {time.perf_counter() - t0:.1f} s")

    Redis.from_url(args.redis).flushdb()
    port = _free_port()
    count_file = str(Path(instance) / "sink.count")
    sink = start_sink(port, count_file, instance)
    env = app_environ(args.db, args.redis, instance) | {"MAIL_URL": f"smtp://127.0.0.1:{port}",
                                                         "WORKER_FORK": args.fork}
    if args.batch:
        env["CAMPAIGN_BATCH_SIZE"] = str(args.batch)
    workers = start_workers(args.workers, env, instance)
    app = make_app(args.db, args.redis, instance)
    status = 1
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(
                (Path(instance) / f"worker-{n}.log").read_text(errors="replace").count("Listening on")
                for n in range(1, args.workers + 1)) < args.workers:
            time.sleep(0.2)
        rss_start = worker_rss_mb(workers)
        cpu_before = ([tree_cpu_seconds(p.pid) for p in workers], own_cpu_seconds(sink.pid), system_cpu_seconds())
        status = run(app, tenant_id, args, workers, count_file, rss_start)
        busy, total = (after - before for after, before in zip(system_cpu_seconds(), cpu_before[2], strict=True))
        worker_cpu = [round(tree_cpu_seconds(p.pid) - b, 1) for p, b in zip(workers, cpu_before[0], strict=True)]
        _say(f"CPU seconds while sending: workers {worker_cpu} (finished work horses not counted: see --fork 0), "
             f"SMTP sink {own_cpu_seconds(sink.pid) - cpu_before[1]:.1f}; whole machine busy {busy:.1f} of {total:.1f}")
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        sink.terminate()
        sink.wait(timeout=10)
        if not args.keep:
            drop_database(args.db)
    return status


def run(app, tenant_id: int, args, workers, count_file: str, rss_start: list[float]) -> int:
    from sqlalchemy import select

    from app.jobs import enqueue_now
    from domain.campaigns import services
    from domain.campaigns.models import Campaign
    from domain.db import db, utcnow
    from tenants.context import tenant_scope
    from tenants.models import Tenant

    with app.app_context(), tenant_scope(tenant_id):
        campaign = services.create_campaign(name="Winter offer", purpose="marketing", criteria={},
                                            created_by="bench", now=utcnow())
        for locale in LOCALES:
            subject, text = TEXTS[locale]
            services.save_template(campaign, locale=locale, subject=subject, text=text,
                                   html=f"<html><body><p>{text}</p></body></html>")
        db.session.commit()
        began = time.perf_counter()
        services.send_now(campaign, tenant=db.session.get(Tenant, tenant_id), now=utcnow())
        db.session.commit()
        campaign_id = campaign.id
        enqueue_now("campaigns.start", tenant_id=tenant_id, campaign_id=campaign_id)
        db.session.remove()

        recorded_at = None
        rss_middle = None
        last_report = time.perf_counter()
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            time.sleep(0.25)
            row = db.session.execute(select(Campaign.status, Campaign.started_at, Campaign.recipient_count)
                                     .where(Campaign.id == campaign_id)).one()
            db.session.rollback()
            received = sink_count(count_file)
            if recorded_at is None and row.started_at is not None:
                recorded_at = time.perf_counter()
                _say(f"recipients recorded: {row.recipient_count:,} in {recorded_at - began:.1f} s")
            if rss_middle is None and received >= args.recipients // 2:
                rss_middle = worker_rss_mb(workers)
            if time.perf_counter() - last_report > 10:
                elapsed = time.perf_counter() - began
                _say(f"  {elapsed:6.1f} s: {received:,} received ({received / elapsed:,.0f}/s), status {row.status}")
                last_report = time.perf_counter()
            if row.status in ("completed", "cancelled") and received >= row.recipient_count:
                break
        took = time.perf_counter() - began
        rss_end = worker_rss_mb(workers)
        progress = services.progress(db.session.get(Campaign, campaign_id))
        db.session.rollback()
    time.sleep(0.5)
    received = sink_count(count_file)
    rate = received / took if took else 0
    _say(f"campaign {row.status}: {progress.sent:,} sent, {progress.failed:,} failed, {progress.skipped:,} skipped; "
         f"sink received {received:,}")
    _say(f"end to end: {took:.1f} s from 'send now' to the last message -> {rate:,.0f} messages/s "
         f"(target {TARGET_PER_SECOND})")
    sending_time = took - ((recorded_at or began) - began)
    _say(f"sending only (after the recipients were recorded): {sending_time:.1f} s -> "
         f"{received / sending_time if sending_time else 0:,.0f} messages/s")
    _say(f"worker RSS (MB, worker + work horse): start {rss_start}, middle {rss_middle}, end {rss_end}")
    ok = received == args.recipients == progress.sent and rate >= TARGET_PER_SECOND
    _say("OK" if ok else "BELOW TARGET OR WRONG COUNT")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
