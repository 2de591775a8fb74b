"""RQ worker: `python worker.py [queue ...]` runs jobs from the billing, mail and default queues.

Jobs are registered here by name with their queue. The worker builds the app once,
configures the mappers before forking, runs every job inside the app context, and gives
each forked work horse fresh database connections (an engine is never shared across a
fork). JSON serializer; RQ's built-in scheduler runs in the worker, and a thread dispatches
each tenant's daily jobs once a day (app/schedule.py); a worker of the mail queue sweeps the tenants' mail every
minute (retries due, messages a dead worker left). A worker of the billing queue first takes up the
billing runs a dead worker left unfinished (domain/billing/recovery.py).
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from datetime import timedelta

# name -> ("module:function", queue)
JOBS: dict[str, tuple[str, str]] = {
    "identity.purge_expired_sessions": ("domain.identity.jobs:purge_expired_sessions", "default"),
    "billing.plan_run": ("domain.billing.jobs:plan_run", "billing"),
    "billing.bill_chunk": ("domain.billing.jobs:bill_chunk", "billing"),
    "billing.issue_run": ("domain.billing.jobs:issue_run", "billing"),
    "billing.issue_chunk": ("domain.billing.jobs:issue_chunk", "billing"),
    "billing.render_bill_document": ("domain.billing.document_jobs:render_bill_document", "billing"),
    "billing.render_run_documents": ("domain.billing.document_jobs:render_run_documents", "default"),
    "billing.render_chunk_documents": ("domain.billing.document_jobs:render_chunk_documents", "default"),
    "billing.render_bill_documents": ("domain.billing.document_jobs:render_bill_documents", "default"),
    "requests.end_contracts_reached": ("domain.requests.moves:end_contracts_reached_job", "default"),
    "billing.bill_instalments": ("domain.billing.instalment_jobs:bill_instalments", "billing"),
    "payments.prepare_collection": ("domain.payments.collection_jobs:prepare_collection", "default"),
    "payments.prepare_due_collections": ("domain.payments.collection_jobs:prepare_due_collections", "default"),
    "payments.expire_checkouts": ("domain.payments.checkout_jobs:expire_checkouts", "default"),
    "payments.prenotify_collection": ("domain.payments.collection_jobs:prenotify_collection", "mail"),
    "collections.match_statement": ("domain.collections.statements.jobs:match_statement", "default"),
    "tenants.export_data": ("tenants.export:export_job", "default"),
    "imports.check": ("domain.imports.services:check_import", "default"),
    "imports.write_chunk": ("domain.imports.services:write_chunk", "default"),
    "imports.advance": ("domain.imports.services:advance", "default"),
    "campaigns.start": ("app.campaign_jobs:start", "mail"),
    "campaigns.send": ("app.campaign_jobs:send", "mail"),
    "campaigns.fire_scheduled": ("app.campaign_jobs:fire_scheduled", "mail"),
    "communications.send_queued": ("domain.communications.sending:send_queued", "mail"),
    "communications.sweep": ("domain.communications.sending:sweep", "mail"),
    "communications.bills_available": ("domain.communications.notifications:bills_available", "mail"),
    "communications.reading_reminders": ("domain.communications.reading_notices:send_reading_reminders", "mail"),
    "collections.dunning": ("domain.collections.jobs:daily_collections", "default"),
    "webhooks.deliver": ("domain.webhooks.jobs:deliver", "default"),
    "webhooks.deliver_many": ("domain.webhooks.jobs:deliver_many", "default"),
    "webhooks.daily": ("domain.webhooks.jobs:daily", "default"),
    "webhooks.sweep": ("domain.webhooks.jobs:sweep", "default"),
    "apikeys.purge": ("domain.apikeys.jobs:purge_api_records", "default"),
}

# Jobs that may take longer than RQ's default of 180 s (seconds): a whole utility's export; checking the files of a
# whole customer base, and writing one chunk of it.
JOB_TIMEOUTS = {"tenants.export_data": 4 * 3600, "imports.check": 3600, "imports.write_chunk": 900,
                "communications.reading_reminders": 3600, "collections.dunning": 3600,
                "collections.match_statement": 900,
                "webhooks.deliver": 60, "webhooks.deliver_many": 120}

# The platform operator's jobs on a tenant, which run even while it is suspended (every other job of a suspended
# tenant is skipped, app/jobs.py): exporting a suspended utility's data is what operators do before handing it over.
RUN_WHEN_SUSPENDED = frozenset({"tenants.export_data"})

# Jobs RQ runs again (up to RETRIES times) when the process running them dies (a work horse killed, out of
# memory): each is idempotent, so a second run finishes what the first began and repeats nothing.
RETRIED_ON_CRASH = frozenset({"billing.plan_run", "billing.bill_chunk", "billing.issue_run", "billing.issue_chunk",
                              "billing.render_chunk_documents", "billing.render_bill_documents",
                              "imports.check", "imports.write_chunk", "imports.advance",
                              "campaigns.start", "campaigns.send", "campaigns.fire_scheduled",
                              "communications.reading_reminders", "collections.dunning",
                              "collections.match_statement", "webhooks.deliver",
                              "webhooks.deliver_many"})
RETRIES = 3


log = logging.getLogger("worker")
REDIS_RETRY_FIRST = 0.5  # seconds; doubled after each failed attempt, up to REDIS_RETRY_MAX
REDIS_RETRY_MAX = 30.0
STOP_GRACE = 5.0  # seconds a job in progress may take to finish after SIGTERM before it is stopped


def wait_for_redis(conn, stop: threading.Event, *, first: float = REDIS_RETRY_FIRST,
                   most: float = REDIS_RETRY_MAX) -> bool:
    """Ping Redis until it answers (True), retrying with exponential back-off, or until `stop` is set (False): a
    worker started before Redis (a host boot, a Redis restart) waits for it instead of exiting."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    delay = first
    while not stop.is_set():
        try:
            conn.ping()
            return True
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("Redis is unreachable (%s): trying again in %.1f s", exc, delay)
            if stop.wait(delay):
                break
            delay = min(delay * 2, most)
    return False


def _stop_on_signals(stop: threading.Event):
    """Until the RQ worker installs its own handlers: SIGTERM/SIGINT end the wait for Redis at once."""
    import signal

    def handler(signum, frame):
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    return lambda: [signal.signal(sig, old) for sig, old in previous.items()]


def _bounded_warm_shutdown(worker, grace: float) -> None:
    """SIGTERM lets RQ finish the job in progress (warm shutdown); a job still running after `grace` seconds is
    stopped (cold shutdown: its work horse is killed; an idempotent job is taken up again, see
    domain/billing/recovery.py), so a worker given SIGTERM exits within a few seconds."""
    import signal

    warm = worker.request_stop

    def last_resort() -> None:  # the cold shutdown itself hung (a stuck scheduler process, Redis away)
        log.warning("worker still running %.0f s after SIGTERM: exiting now", grace + 5)
        if worker.horse_pid:
            try:
                os.killpg(os.getpgid(worker.horse_pid), signal.SIGKILL)
            except OSError:
                pass
        os._exit(1)

    def request_stop(signum, frame):
        for delay, action in ((grace, lambda: os.kill(os.getpid(), signal.SIGTERM)), (grace + 5, last_resort)):
            timer = threading.Timer(delay, action)
            timer.daemon = True
            timer.start()
        warm(signum, frame)

    worker.request_stop = request_stop


def _campaign_sweep_loop(app, stop: threading.Event) -> None:
    """Scheduled campaigns start within CAMPAIGN_SWEEP_SECONDS of their time even if RQ's scheduled job was lost."""
    interval = float(os.environ.get("CAMPAIGN_SWEEP_SECONDS") or 60)
    while not stop.wait(interval):
        try:
            with app.app_context():
                from app.campaign_jobs import take_up_campaigns
                from domain.db import db

                take_up_campaigns(scheduled_only=True)
                db.session.remove()
        except Exception:
            log.exception("campaign sweep tick failed")


def main(argv: list[str]) -> int:
    from redis import Redis
    from rq import Queue, SimpleWorker, Worker
    from rq.serializers import JSONSerializer
    from sqlalchemy.orm import configure_mappers

    from app import create_app
    from app.jobs import QUEUES, job_waiting
    from domain.db import db, utcnow

    app = create_app()
    redis_url = app.config.get("REDIS_URL")
    if not redis_url:
        print("REDIS_URL is not set: without Redis, jobs run in-process and no worker is needed.", file=sys.stderr)
        return 2
    configure_mappers()
    # Import every job's module before forking, so each work horse starts warm instead of re-importing.
    import importlib

    for path, _queue in JOBS.values():
        importlib.import_module(path.partition(":")[0])
    stop = threading.Event()
    restore_signals = _stop_on_signals(stop)
    conn = Redis.from_url(redis_url)
    if not wait_for_redis(conn, stop):
        log.info("worker stopped before Redis answered")
        return 0
    restore_signals()
    with app.app_context():
        engine = db.engine
        # Forked work horses must not reuse the parent's pooled connections.
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        engine.dispose()
        names = argv or list(QUEUES)
        burst = os.environ.get("WORKER_BURST") == "1"
        if "billing" in names:
            # Runs a dead worker left unfinished go on now (domain/billing/recovery.py), not in ten minutes.
            from domain.billing.recovery import sweep_stalled_runs

            try:
                sweep_stalled_runs(now=utcnow(), job_waiting=lambda job_id: job_waiting(conn, job_id),
                                   quiet_for=timedelta(0))
            except Exception:  # the worker still starts; the periodic sweep tries again
                logging.getLogger("billing").exception("could not take up interrupted billing runs")
            finally:
                db.session.remove()  # no session or connection of the parent's is carried into the horses
        if "mail" in names:
            # Campaigns whose lanes died with a worker go on now; scheduled ones whose time has come start.
            from app.campaign_jobs import take_up_campaigns

            try:
                take_up_campaigns()
            except Exception:  # the worker still starts; the periodic sweep tries the scheduled ones again
                logging.getLogger("campaigns").exception("could not take up campaigns")
            finally:
                db.session.remove()
        queues = [Queue(n, connection=conn, serializer=JSONSerializer) for n in names]
        # WORKER_FORK=0: run each job in this process (RQ's SimpleWorker), keeping its database connection and
        # warm caches; a forked work horse per job (the default) isolates jobs from each other's leaks and crashes.
        worker_class = SimpleWorker if os.environ.get("WORKER_FORK", "1") == "0" else Worker
        worker = worker_class(queues, connection=conn, serializer=JSONSerializer)
        _bounded_warm_shutdown(worker, float(os.environ.get("WORKER_STOP_GRACE") or STOP_GRACE))
        if not burst and os.environ.get("WORKER_DAILY_JOBS", "1") == "1":
            from app.schedule import daily_scheduler_loop
            threading.Thread(target=daily_scheduler_loop, args=(app, conn, stop), name="daily-jobs",
                             daemon=True).start()
        if not burst and "mail" in names:
            threading.Thread(target=_campaign_sweep_loop, args=(app, stop), name="campaign-sweep", daemon=True).start()
            from app.schedule import mail_sweep_loop
            threading.Thread(target=mail_sweep_loop, args=(app, conn, stop), name="mail-sweep", daemon=True).start()
        if not burst and "billing" in names:
            from app.schedule import sweep_loop
            threading.Thread(target=sweep_loop, args=(app, conn, stop), name="billing-sweep", daemon=True).start()
        try:
            worker.work(with_scheduler=True, burst=burst)
        finally:
            stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
