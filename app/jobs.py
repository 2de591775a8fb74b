"""One code path for background jobs, on RQ workers or in-process when there is no Redis.

A job is a plain function in `domain/<area>/jobs.py` taking keyword arguments of plain
values, registered by name in `worker.JOBS` with its queue. `run_job` re-enters the
job's tenant, sets the actor, runs the function in one transaction and cleans the
session up; RQ workers and the in-process runner both call it. During a request, jobs
are collected and dispatched only after the request's transaction commits.
"""
from __future__ import annotations

import importlib
import logging
import threading
from typing import Any

from flask import current_app, g, has_request_context

from domain.audit.actor import Actor, acting_as
from domain.db import db
from tenants.context import platform_scope, tenant_scope

log = logging.getLogger("jobs")
QUEUES = ("billing", "mail", "default")
_local = threading.local()  # in-process runner: jobs waiting while another job runs


class UnknownJob(LookupError):
    pass


def _registry() -> dict[str, tuple[str, str]]:
    from worker import JOBS
    return JOBS


def _retry(name: str):
    """RQ's retry policy for a job whose process may die mid-way (worker.RETRIED_ON_CRASH), else None."""
    from rq import Retry

    from worker import RETRIED_ON_CRASH, RETRIES
    return Retry(max=RETRIES) if name in RETRIED_ON_CRASH else None


def _resolve(name: str):
    try:
        path, _queue = _registry()[name]
    except KeyError as exc:
        raise UnknownJob(name) from exc
    module_name, _, func_name = path.partition(":")
    return getattr(importlib.import_module(module_name), func_name)


def run_job(name: str, tenant_id: int | None, actor: dict | None = None, kwargs: dict | None = None) -> Any:
    """Run one job in its tenant; commit on success, roll back on error. Used by RQ and in-process."""
    func = _resolve(name)
    who = Actor(**actor) if actor else Actor("system", None, f"job:{name}")
    scope = tenant_scope(tenant_id) if tenant_id is not None else platform_scope(f"job:{name}")
    try:
        with scope, acting_as(who):
            if tenant_id is not None and _suspended(tenant_id) and name not in _run_when_suspended():
                # A suspended utility's jobs stop: this one does nothing (a billing chunk stays pending and is taken
                # up on reactivation, tenants.services.set_tenant_status; a daily job's day is simply missed).
                db.session.rollback()
                log.info("job skipped: tenant suspended name=%s tenant=%s", name, tenant_id)
                return {"skipped": "tenant suspended"}
            result = func(**(kwargs or {}))
            db.session.commit()
            _dispatch_documents()  # of bills this job issued, now that they are committed
            _dispatch_mail()  # the messages this job queued, now that they are committed
            _dispatch_webhooks()  # the deliveries of the events this job published
            log.info("job done name=%s tenant=%s", name, tenant_id)
            return result
    except Exception:
        db.session.rollback()
        log.exception("job failed name=%s tenant=%s", name, tenant_id)
        raise
    finally:
        db.session.remove()


def _suspended(tenant_id: int) -> bool:
    """Read from the database each time (a column, not the session's possibly stale Tenant): a suspension made by
    the console a moment ago stops the very next job."""
    from sqlalchemy import select

    from tenants.models import Tenant

    return db.session.scalar(select(Tenant.status).where(Tenant.id == tenant_id)) == "suspended"


def _run_when_suspended() -> frozenset[str]:
    from worker import RUN_WHEN_SUSPENDED
    return RUN_WHEN_SUSPENDED


def job_waiting_check():
    """`job_waiting` for the current app: whether RQ still holds a job of that id (None without Redis)."""
    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        return None
    redis = _queue(app, "default").connection
    return lambda job_id: job_waiting(redis, job_id)


def _queue(app, queue_name: str):
    from redis import Redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    conn = app.extensions.get("redis_conn")
    if conn is None:
        conn = Redis.from_url(app.config["REDIS_URL"])
        app.extensions["redis_conn"] = conn
    return Queue(queue_name, connection=conn, serializer=JSONSerializer)


def enqueue_now(name: str, *, tenant_id: int | None, actor: dict | None = None, job_id: str | None = None,
                inline: bool = False, background_only: bool = False, at=None, **kwargs) -> str | None:
    """Send a job to its RQ queue, or run it in-process when no REDIS_URL is set (or `inline` is asked).

    A `background_only` job is skipped when it would run in-process (see domain.jobs.dispatch); so is a job asked
    for `at` a later moment (RQ's scheduler runs it then).
    """
    app = current_app._get_current_object()
    _path, queue_name = _registry()[name]
    if background_only and (inline or not app.config.get("REDIS_URL")):
        log.info("job skipped without workers name=%s tenant=%s", name, tenant_id)
        return None
    if at is not None and (inline or not app.config.get("REDIS_URL")):
        log.info("job for later skipped without workers name=%s tenant=%s at=%s", name, tenant_id, at)
        return None
    if app.config.get("REDIS_URL") and not inline:
        queue = _queue(app, queue_name)
        from worker import JOB_TIMEOUTS

        options = dict(job_id=job_id, description=f"{name} tenant={tenant_id}", retry=_retry(name),
                       job_timeout=JOB_TIMEOUTS.get(name))
        if at is not None:
            job = queue.enqueue_at(at, "app.jobs.run_job", args=(name, tenant_id, actor, kwargs), **options)
        else:
            job = queue.enqueue("app.jobs.run_job", args=(name, tenant_id, actor, kwargs), **options)
        return job.id
    # In-process: the same run_job. It commits and removes the scoped session, so callers
    # dispatch only once their own work is committed (after the request, or in a command).
    # A job dispatched by a running job waits until that one has finished, as on RQ.
    pending = getattr(_local, "pending", None)
    if pending is not None:
        pending.append((name, tenant_id, actor, kwargs))
        return None
    _local.pending = [(name, tenant_id, actor, kwargs)]
    try:
        while _local.pending:
            run_job(*_local.pending.pop(0))
    finally:
        _local.pending = None
    return None


def job_waiting(redis, job_id: str) -> bool:
    """True if RQ holds a job of this id that is still to run: queued, scheduled (a retry) or deferred.

    A started job is not counted: whether it still runs is told by the rows it locks (domain/billing/recovery.py);
    a started job whose rows are free has lost its worker, or is a few milliseconds from locking them, and a second
    job for the same work is harmless. A finished, failed or missing job is not waiting either."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus
    from rq.serializers import JSONSerializer

    try:
        status = Job.fetch(job_id, connection=redis, serializer=JSONSerializer).get_status(refresh=False)
    except NoSuchJobError:
        return False
    return status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


def enqueue_after_commit(name: str, *, tenant_id: int | None, **kwargs) -> None:
    """Collect a job during a request; it is dispatched once the request has committed."""
    if not has_request_context():
        enqueue_now(name, tenant_id=tenant_id, **kwargs)
        return
    g.setdefault("pending_jobs", []).append((name, tenant_id, kwargs))


def flush_pending_jobs() -> None:
    for name, tenant_id, kwargs in g.pop("pending_jobs", []):
        enqueue_now(name, tenant_id=tenant_id, **kwargs)
    _dispatch_documents()  # of bills the request issued (a corrective bill...), once committed
    _dispatch_mail()  # the notices of those bills (the request's own messages: app.messages.flush_committed_mail)
    _dispatch_webhooks()  # the deliveries of the events the request published


def _dispatch_mail() -> None:
    """After a commit: send the messages it queued, and announce the bills it issued (domain/communications)."""
    from domain.communications.notifications import announce_committed_bills
    from domain.communications.pipeline import dispatch_committed

    try:
        dispatch_committed()
    except Exception:  # the sweep sends what stays queued
        log.exception("could not ask for the sending of queued mail")
    try:
        announce_committed_bills()
    except Exception:
        log.exception("could not ask for the notices of issued bills")


def _dispatch_webhooks() -> None:
    """After a commit: ask for the first attempt of the webhook deliveries it wrote (domain/webhooks/events.py); a
    failure to ask is logged (the deliveries stay pending, shown so in the back office, where they can be sent)."""
    from domain.webhooks.events import dispatch_committed

    try:
        dispatch_committed()
    except Exception:
        log.exception("could not ask for the webhook deliveries")


def _dispatch_documents() -> None:
    """An issued bill's document is rendered right after the issuing transaction commits (domain/billing/
    document_jobs.py); a failure to ask is logged: the document is then rendered, once, when first opened."""
    from domain.billing.document_jobs import dispatch_documents

    try:
        dispatch_documents()
    except Exception:
        log.exception("could not ask for the documents of issued bills")
