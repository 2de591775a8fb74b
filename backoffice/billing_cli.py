"""`flask billing run`: start a billing run from the command line and follow it with a progress bar."""
from __future__ import annotations

import time
from datetime import date

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from domain.billing import runs
from domain.offers import services as offers
from domain.db import db, utcnow
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant


@click.group("billing", help="Billing runs.")
def billing_cli():
    pass


def _bar(percent: int, width: int = 40) -> str:
    filled = int(width * percent / 100)
    return "[" + "#" * filled + "-" * (width - filled) + f"] {percent:3d}%"


@billing_cli.command("run")
@click.option("--tenant", "slug", required=True, help="The utility's slug.")
@click.option("--date", "billing_date", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Billing date, YYYY-MM-DD.")
@click.option("--activity", type=click.Choice(runs.ACTIVITIES), default=None)
@click.option("--cycle", default=None, help="Only accounts of this billing cycle.")
@click.option("--simulate", is_flag=True, help="Draft bills only; issue later from the back office.")
@click.option("--chunk-size", default=runs.DEFAULT_CHUNK_SIZE, show_default=True)
@click.option("--timeout", default=3600, show_default=True, help="Seconds to wait for the workers.")
@with_appcontext
def run(slug: str, billing_date, activity, cycle, simulate: bool, chunk_size: int, timeout: int):
    """Start a billing run and show its progress until it ends."""
    with platform_scope("billing cli: find tenant"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        db.session.commit()
    if tenant is None:
        raise click.ClickException(f"no tenant {slug!r}")
    day: date = billing_date.date()
    with tenant_scope(tenant.id):
        try:
            billing_run = runs.create_run(billing_date=day, mode="simulate" if simulate else "issue",
                                          scope_activity=activity, scope_cycle=cycle, created_by="cli",
                                          now=utcnow(), chunk_size=chunk_size)
        except runs.RunError as exc:
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        run_id = billing_run.id
        click.echo(f"billing run {billing_run.public_id} for {tenant.slug} on {day}")
        started = time.monotonic()
        runs.start(billing_run)
        while True:
            current = db.session.get(runs.BillingRun, run_id)
            db.session.refresh(current)
            progress = runs.progress(current, now=utcnow())
            rate = f"{progress.rate_per_second:,.0f}/s" if progress.rate_per_second else "-"
            click.echo(f"\r{_bar(progress.percent)} {progress.processed}/{progress.total} {rate}   ", nl=False)
            db.session.commit()
            if not current.is_active:
                break
            if time.monotonic() - started > timeout:
                click.echo("")
                raise click.ClickException("timed out waiting for the workers (is `python worker.py` running?)")
            time.sleep(0.5)
        click.echo("")
        click.echo(f"status {current.status}: {progress.billed} bills, {progress.exceptions} exceptions, "
                   f"total {progress.total_incl_tax} {tenant.currency} incl. tax, "
                   f"{time.monotonic() - started:.1f} s")
        if current.status == "failed":
            raise click.ClickException(current.error or "the run failed")


def _tenant(slug: str) -> Tenant:
    with platform_scope("billing cli: find tenant"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        db.session.commit()
    if tenant is None:
        raise click.ClickException(f"no tenant {slug!r}")
    return tenant


@billing_cli.command("calorific-value")
@click.option("--tenant", "slug", required=True, help="The utility's slug.")
@click.option("--from", "effective_from", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="First day the value is in force, YYYY-MM-DD.")
@click.option("--value", required=True, help="Gas calorific value in MJ/m3, e.g. 39.2.")
@click.option("--by", "recorded_by", default="cli", show_default=True, help="Who records it (for the audit).")
@click.option("--zone", default="", help="The calorific zone it is for (default: points of delivery without one).")
@with_appcontext
def calorific_value(slug: str, effective_from, value: str, recorded_by: str, zone: str):
    """Record the gas calorific value in force from a date (until the next recorded one)."""
    tenant = _tenant(slug)
    day: date = effective_from.date()
    with tenant_scope(tenant.id):
        try:
            row = offers.record_calorific_value(effective_from=day, value=value, recorded_by=recorded_by,
                                                now=utcnow(), zone=zone)
        except offers.CalorificValueRefused as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        click.echo(f"{tenant.slug}: gas calorific value {row.value} MJ/m3 from {row.effective_from}")


@billing_cli.command("calorific-values")
@click.option("--tenant", "slug", required=True, help="The utility's slug.")
@with_appcontext
def calorific_values(slug: str):
    """List the gas calorific values and the days they are in force from."""
    tenant = _tenant(slug)
    with tenant_scope(tenant.id):
        click.echo(f"before any dated value: {tenant.gas_calorific_value or '-'} MJ/m3 (the utility's setting)")
        for row in offers.calorific_values():
            where = f"zone {row.zone}, " if row.zone else ""
            click.echo(f"{where}from {row.effective_from}: {row.value} MJ/m3 (recorded by {row.recorded_by})")
        db.session.commit()
