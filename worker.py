"""RQ worker: `python worker.py [queue ...]` runs jobs from the billing, mail and default queues.

Jobs are registered here by name with their queue. The worker builds the app once,
configures the mappers before forking, runs every job inside the app context, and gives
each forked work horse fresh database connections (an engine is never shared across a
fork). JSON serializer; RQ's built-in scheduler runs in the worker, and a thread dispatches
each tenant's daily jobs once a day (app/schedule.py). A worker of the billing queue first takes up the
billing runs a dead worker left unfinished (domain/billing/recovery.py).
"""
from __future__ import annotations

import logging
import os
import sys
import threading

# name -> ("module:function", queue)
JOBS: dict[str, tuple[str, str]] = {
    "identity.purge_expired_sessions": ("domain.identity.jobs:purge_expired_sessions", "default"),
    "billing.plan_run": ("domain.billing.jobs:plan_run", "billing"),
    "billing.bill_chunk": ("domain.billing.jobs:bill_chunk", "billing"),
    "billing.issue_run": ("domain.billing.jobs:issue_run", "billing"),
    "billing.issue_chunk": ("domain.billing.jobs:issue_chunk", "billing"),
    "billing.render_bill_document": ("domain.billing.document_jobs:render_bill_document", "billing"),
    "billing.render_run_documents": ("domain.billing.document_jobs:render_run_documents", "default"),
    "requests.end_contracts_reached": ("domain.requests.moves:end_contracts_reached_job", "default"),
    "billing.bill_instalments": ("domain.billing.instalment_jobs:bill_instalments", "billing"),
    "payments.prepare_collection": ("domain.payments.collection_jobs:prepare_collection", "default"),
    "payments.prepare_due_collections": ("domain.payments.collection_jobs:prepare_due_collections", "default"),
    "payments.expire_checkouts": ("domain.payments.checkout_jobs:expire_checkouts", "default"),
}

# Jobs RQ runs again (up to RETRIES times) when the process running them dies (a work horse killed, out of
# memory): each is idempotent, so a second run finishes what the first began and repeats nothing.
RETRIED_ON_CRASH = frozenset({"billing.plan_run", "billing.bill_chunk", "billing.issue_run", "billing.issue_chunk"})
RETRIES = 3


def main(argv: list[str]) -> int:
    from redis import Redis
    from rq import Queue, SimpleWorker, Worker
    from rq.serializers import JSONSerializer
    from sqlalchemy.orm import configure_mappers

    from app import create_app
    from app.jobs import QUEUES
    from domain.db import db

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
    with app.app_context():
        engine = db.engine
        # Forked work horses must not reuse the parent's pooled connections.
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        engine.dispose()
        conn = Redis.from_url(redis_url)
        names = argv or list(QUEUES)
        if "billing" in names:
            # Runs a dead worker left unfinished go on now (domain/billing/recovery.py), not in ten minutes.
            from domain.billing.recovery import resume_interrupted_runs

            try:
                resume_interrupted_runs()
            except Exception:  # the worker still starts; a run left behind can be resumed by staff
                logging.getLogger("billing").exception("could not take up interrupted billing runs")
            finally:
                db.session.remove()  # no session or connection of the parent's is carried into the horses
        queues = [Queue(n, connection=conn, serializer=JSONSerializer) for n in names]
        # WORKER_FORK=0: run each job in this process (RQ's SimpleWorker), keeping its database connection and
        # warm caches; a forked work horse per job (the default) isolates jobs from each other's leaks and crashes.
        worker_class = SimpleWorker if os.environ.get("WORKER_FORK", "1") == "0" else Worker
        worker = worker_class(queues, connection=conn, serializer=JSONSerializer)
        burst = os.environ.get("WORKER_BURST") == "1"
        stop = threading.Event()
        if not burst and os.environ.get("WORKER_DAILY_JOBS", "1") == "1":
            from app.schedule import daily_scheduler_loop
            threading.Thread(target=daily_scheduler_loop, args=(app, conn, stop), name="daily-jobs",
                             daemon=True).start()
        try:
            worker.work(with_scheduler=True, burst=burst)
        finally:
            stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
