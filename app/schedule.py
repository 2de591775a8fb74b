"""The workers' scheduling: the billing sweep every few seconds, and the daily jobs per tenant.

Billing sweep: every SWEEP_SECONDS one worker (claimed in Redis) takes up the billing runs a dead worker left
behind or that stalled (domain/billing/recovery.py): a run completes within a minute of its last chunk whatever
was killed. Without Redis, `flask jobs sweep` does the same (cron, every minute).

Daily jobs per tenant: ending contracts whose move-out date is reached, billing due instalments and
true-ups, preparing the SEPA collection batch N days ahead (tenants that chose so), purging expired sign-in
sessions and old API records (calls after 90 days, idempotent answers after a day).

Each tenant's day starts at `DAILY_HOUR` in its own time zone. Workers run `daily_scheduler_loop` in a
thread: every minute it claims, in Redis (`SET … NX`), each tenant day that has started and not been claimed
yet, and enqueues that day's jobs; with several workers each tenant day is dispatched once. Without Redis
(the embedded default), `flask jobs daily` does the same in-process, for cron or by hand.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.jobs import enqueue_now
from domain.db import db, utcnow
from tenants.context import platform_scope
from tenants.models import Tenant

log = logging.getLogger("schedule")
DAILY_HOUR = 2  # local time: after the day's last readings, before staff start
CLAIM_TTL = timedelta(days=3)


@dataclass(frozen=True)
class TenantDay:
    tenant_id: int
    day: date  # the tenant's local date


def daily_jobs(day: date, now: datetime) -> list[tuple[str, dict]]:
    """The jobs of one tenant day, by registered name (worker.JOBS) with their arguments."""
    return [
        ("requests.end_contracts_reached", {"today_iso": day.isoformat()}),
        ("billing.bill_instalments", {"billing_date": day.isoformat()}),
        ("payments.prepare_due_collections", {"today_iso": day.isoformat()}),
        ("payments.expire_checkouts", {"now_iso": now.isoformat()}),
        ("identity.purge_expired_sessions", {"now_iso": now.isoformat()}),
        ("communications.reading_reminders", {"today_iso": day.isoformat()}),
        ("collections.dunning", {"today_iso": day.isoformat(), "now_iso": now.isoformat()}),
        ("apikeys.purge", {"now_iso": now.isoformat()}),
        ("webhooks.daily", {"now_iso": now.isoformat()}),
    ]


def started_days(tenants: Iterable[tuple[int, str]], now: datetime) -> list[TenantDay]:
    """For each (tenant id, time zone), the local day whose daily run is due at `now` (aware UTC).

    Before DAILY_HOUR local time, that is still the previous day (its run may not have happened yet).
    """
    due = []
    for tenant_id, zone in tenants:
        local = now.astimezone(ZoneInfo(zone))
        day = local.date() if local.hour >= DAILY_HOUR else local.date() - timedelta(days=1)
        due.append(TenantDay(tenant_id, day))
    return due


def _active_tenants() -> list[tuple[int, str]]:
    """(id, time zone) of the tenants whose daily jobs run: a suspended tenant's jobs stop (logged, once a tick)."""
    with platform_scope("daily schedule: list the active tenants"):
        rows = db.session.execute(select(Tenant.id, Tenant.timezone, Tenant.status).order_by(Tenant.id)).all()
        db.session.rollback()
    for tenant_id, _zone, status in rows:
        if status != "active":
            log.info("daily jobs skipped: tenant suspended tenant=%s", tenant_id)
    return [(tenant_id, zone) for tenant_id, zone, status in rows if status == "active"]


def dispatch_day(tenant_day: TenantDay, now: datetime) -> list[str]:
    """Enqueue (or, without Redis, run) one tenant day's jobs; returns their names."""
    names = []
    for name, kwargs in daily_jobs(tenant_day.day, now):
        enqueue_now(name, tenant_id=tenant_day.tenant_id,
                    job_id=f"daily-{tenant_day.tenant_id}-{tenant_day.day.isoformat()}-{name}", **kwargs)
        names.append(name)
    return names


def claim(redis, tenant_day: TenantDay) -> bool:
    """True for exactly one caller per tenant day, across workers."""
    key = f"schedule:daily:{tenant_day.tenant_id}:{tenant_day.day.isoformat()}"
    return bool(redis.set(key, "1", nx=True, ex=int(CLAIM_TTL.total_seconds())))


def run_due(app: Flask, redis, now: datetime | None = None) -> list[TenantDay]:
    """One tick of the worker's scheduler: dispatch every started tenant day not claimed yet."""
    now = now or utcnow()
    dispatched = []
    with app.app_context():
        for tenant_day in started_days(_active_tenants(), now):
            if claim(redis, tenant_day):
                dispatch_day(tenant_day, now)
                dispatched.append(tenant_day)
                log.info("daily jobs dispatched tenant=%s day=%s", tenant_day.tenant_id, tenant_day.day)
    return dispatched


def daily_scheduler_loop(app: Flask, redis, stop: threading.Event, interval: float = 60.0) -> None:
    """The worker's scheduler thread: a tick a minute until `stop` is set; a failed tick is logged, not fatal."""
    while not stop.is_set():
        try:
            run_due(app, redis)
        except Exception:  # a database or Redis hiccup must not kill the worker's scheduler
            log.exception("daily scheduler tick failed")
        stop.wait(interval)


SWEEP_SECONDS = 10.0  # a run stalled by a dead worker is taken up within about this long (plus RQ's pick-up)
SWEEP_KEY = "schedule:billing-sweep"


def sweep_seconds() -> float:
    return float(os.environ.get("BILLING_SWEEP_SECONDS") or SWEEP_SECONDS)


def sweep_runs(app: Flask, redis, interval: float | None = None) -> list[tuple[int, int, str]] | None:
    """One sweep of the stalled billing runs, by one worker per interval across hosts (None: another took it)."""
    from app.jobs import job_waiting
    from domain.billing.recovery import sweep_stalled_runs

    interval = interval or sweep_seconds()
    # Held a little less than the interval: the next tick of any worker may sweep again.
    if not redis.set(SWEEP_KEY, "1", nx=True, px=max(int(interval * 900), 100)):
        return None
    with app.app_context():
        try:
            return sweep_stalled_runs(now=utcnow(), job_waiting=lambda job_id: job_waiting(redis, job_id))
        finally:
            db.session.remove()


def sweep_loop(app: Flask, redis, stop: threading.Event, interval: float | None = None) -> None:
    """The worker's billing-sweep thread: a sweep every `interval` seconds until `stop` is set."""
    interval = interval or sweep_seconds()
    while not stop.wait(interval):
        try:
            sweep_runs(app, redis, interval)
        except Exception:  # Redis or the database away for a moment: the next tick tries again
            log.exception("billing sweep tick failed")


MAIL_SWEEP_SECONDS = 60.0  # a retry is sent within about a minute of its time; a dead worker's messages after 15
MAIL_SWEEP_KEY = "schedule:mail-sweep"


def _ask_each_tenant(app: Flask, job: str, now: datetime, **kwargs) -> list[int]:
    """Ask for `job` in each active tenant, once per minute (its job id names the minute). Returns the tenant ids."""
    with app.app_context():
        tenants = [tenant_id for tenant_id, _zone in _active_tenants()]
        for tenant_id in tenants:
            enqueue_now(job, tenant_id=tenant_id, job_id=f"{job}-{tenant_id}-{now.strftime('%Y%m%d%H%M')}", **kwargs)
    return tenants


def sweep_mail(app: Flask, now: datetime | None = None) -> list[int]:
    """Ask each active tenant's mail sweep (domain/communications/sending.sweep): retries whose time has come,
    messages a dead worker left `sending`, messages whose sending was never asked for. Returns the tenant ids."""
    return _ask_each_tenant(app, "communications.sweep", now or utcnow())


def sweep_webhooks(app: Flask, now: datetime | None = None) -> list[int]:
    """Ask each active tenant's webhook sweep (domain/webhooks/jobs.sweep): the retries whose time has come.
    Returns the tenant ids."""
    now = now or utcnow()
    return _ask_each_tenant(app, "webhooks.sweep", now, now_iso=now.isoformat())


def mail_sweep_loop(app: Flask, redis, stop: threading.Event, interval: float = MAIL_SWEEP_SECONDS) -> None:
    """The mail workers' sweep thread: one worker per interval (claimed in Redis) asks for the tenants' sweeps."""
    while not stop.wait(interval):
        try:
            if redis.set(MAIL_SWEEP_KEY, "1", nx=True, px=max(int(interval * 900), 100)):
                sweep_mail(app)
        except Exception:  # Redis or the database away for a moment: the next tick tries again
            log.exception("mail sweep tick failed")


jobs_cli = AppGroup("jobs", help="Background jobs.")


@jobs_cli.command("daily")
@click.option("--tenant", "slug", default=None, help="Only this tenant (slug); default: every active tenant.")
@click.option("--date", "day", default=None, help="The local day to run (YYYY-MM-DD); default: today's.")
def daily_command(slug: str | None, day: str | None) -> None:
    """Run the daily jobs now (in-process without REDIS_URL, else enqueued for the workers)."""
    now = utcnow()
    tenants = _active_tenants()
    if slug:
        with platform_scope("daily schedule: find a tenant by slug"):
            tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == slug))
            db.session.rollback()
        if tenant_id is None:
            raise click.ClickException(f"no tenant {slug!r}")
        tenants = [t for t in tenants if t[0] == tenant_id]
        if not tenants:
            click.echo(f"tenant {slug} is suspended: its daily jobs do not run")
    for tenant_day in started_days(tenants, now):
        if day:
            tenant_day = TenantDay(tenant_day.tenant_id, date.fromisoformat(day))
        names = dispatch_day(tenant_day, now)
        click.echo(f"tenant {tenant_day.tenant_id} {tenant_day.day}: {', '.join(names)}")


@jobs_cli.command("sweep")
def sweep_command() -> None:
    """Take up the billing runs that stalled (a dead worker, an interrupted command), the mail waiting for a retry
    or left by a dead worker, the webhook deliveries whose retry is due, and start the campaigns whose scheduled time
    has come: for cron (every minute) without workers (the embedded default cannot wait for a moment by itself)."""
    from app.campaign_jobs import take_up_campaigns
    from domain.billing.recovery import sweep_stalled_runs

    for tenant_id, run_id, what in sweep_stalled_runs(now=utcnow()):
        click.echo(f"tenant {tenant_id} run {run_id}: {what}")
    tenants = sweep_mail(current_app._get_current_object())
    click.echo(f"mail: swept {len(tenants)} tenants")
    click.echo(f"webhooks: swept {len(sweep_webhooks(current_app._get_current_object()))} tenants")
    for tenant_id, campaign_id, what in take_up_campaigns(utcnow(), scheduled_only=True):
        click.echo(f"tenant {tenant_id} campaign {campaign_id}: {what}")
