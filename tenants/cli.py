"""`flask tenants ...`: onboard, list and suspend utilities, set (and re-seal) their Stripe keys; create platform
operators."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from app.invitation_mail import send_invitation
from app.messages import commit_and_send
from domain.db import db, utcnow
from domain.identity import services as identity
from tenants import services
from tenants.context import platform_scope
from tenants.models import ACTIVITIES


@click.group("tenants", help="Manage the utilities served by this platform.")
def tenants_cli():
    pass


@tenants_cli.command("create")
@click.option("--slug", required=True, help="Host name label: <slug>.<PLATFORM_DOMAIN>")
@click.option("--name", required=True)
@click.option("--activity", "activities", multiple=True, required=True, type=click.Choice(ACTIVITIES))
@click.option("--country", default=None, help="ISO 3166 code (FR, DE, GB…): currency, time zone and language follow "
                                              "from it unless given")
@click.option("--locale", "default_locale", default=None, help="Default language (en, fr, de, es) [country's, else en]")
@click.option("--currency", default=None, help="ISO 4217 code [country's, else EUR]")
@click.option("--timezone", default=None, help="IANA zone [country's main zone, else Europe/Paris]")
@click.option("--custom-domain", default=None)
@click.option("--admin-email", required=True)
@click.option("--admin-name", default="Administrator", show_default=True)
@click.option("--admin-locale", default=None, help="The administrator's language (invitation and back office)")
@click.option("--admin-password", default=None,
              help="Give the administrator this password instead of inviting them (scripts and tests)")
@with_appcontext
def create(slug, name, activities, country, default_locale, currency, timezone, custom_domain, admin_email,
           admin_name, admin_locale, admin_password):
    """Onboard a new utility; its first administrator is invited by e-mail (a single-use link to choose a
    password), unless --admin-password is given."""
    defaults = _country_defaults(country)
    try:
        onboarded = services.onboard_tenant(
            slug=slug, name=name, activities=list(activities), country=country,
            default_locale=default_locale or (defaults.locale if defaults else "en"),
            currency=currency or (defaults.currency if defaults and defaults.currency else "EUR"),
            timezone=timezone or (defaults.timezone if defaults and defaults.timezone else "Europe/Paris"),
            admin_email=admin_email, admin_name=admin_name, admin_password=admin_password,
            admin_locale=admin_locale, custom_domain=custom_domain, now=utcnow(),
        )
    except services.TenantError as exc:
        raise click.ClickException(str(exc)) from exc
    tenant = onboarded.tenant
    click.echo(f"created tenant {tenant.slug} (id {tenant.id}): {tenant.currency}, {tenant.timezone}, "
               f"{tenant.default_locale}")
    if onboarded.invitation is not None:
        send_invitation(tenant=tenant, sent=onboarded.invitation, inviter=None)
        commit_and_send()
        click.echo(f"invited administrator {onboarded.admin_email}: the link works once, for 7 days")
    else:
        click.echo(f"administrator {onboarded.admin_email} signs in with the password given")


def _country_defaults(country):
    from tenants.countries import country_defaults

    if not country:
        return None
    try:
        return country_defaults(country, on=utcnow().date())
    except ValueError as exc:
        raise click.ClickException(f"country: unknown ISO 3166 country code {country!r}") from exc


@tenants_cli.command("invite-admin")
@click.argument("slug")
@click.option("--email", required=True, help="An administrator who has not joined yet, or a new one")
@click.option("--name", default=None, help="The new administrator's name")
@with_appcontext
def invite_admin(slug, email, name):
    """Send a tenant administrator a new invitation (the first one expired or was lost)."""
    try:
        tenant, sent = services.invite_administrator(slug=slug, email=email, name=name, now=utcnow())
    except services.TenantError as exc:
        raise click.ClickException(str(exc)) from exc
    send_invitation(tenant=tenant, sent=sent, inviter=None)
    commit_and_send()
    click.echo(f"invited administrator {sent.user.email} of {slug}: the link works once, for 7 days")


@tenants_cli.command("list")
@with_appcontext
def list_():
    """List tenants with their status and size."""
    rows = services.list_tenants_with_usage(now=utcnow())
    click.echo(f"{'slug':<20} {'status':<10} {'portal':<12} {'accounts':>9} {'staff':>6} {'bills/month':>11}  name")
    for usage in rows:
        t = usage.tenant
        portal = "live" if t.is_live else "coming soon"
        click.echo(f"{t.slug:<20} {t.status:<10} {portal:<12} {usage.accounts:>9} {usage.staff:>6} "
                   f"{usage.bills_this_month:>11}  {t.name}")


def _set_status(slug: str, status: str, done: str) -> None:
    from app.jobs import job_waiting_check

    try:
        services.set_tenant_status(slug=slug, status=status, now=utcnow(), job_waiting=job_waiting_check())
    except services.TenantError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{done} {slug}")


@tenants_cli.command("suspend")
@click.argument("slug")
@with_appcontext
def suspend(slug):
    """Suspend a tenant: its hosts answer with a 'service suspended' page."""
    _set_status(slug, "suspended", "suspended")


@tenants_cli.command("resume")
@click.argument("slug")
@with_appcontext
def resume(slug):
    """Reactivate a suspended tenant."""
    _set_status(slug, "active", "resumed")


@tenants_cli.command("export")
@click.argument("slug")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--render-documents/--stored-documents-only", default=True, show_default=True,
              help="Render first the PDFs of issued bills no worker has stored yet (as opening them would)")
@with_appcontext
def export(slug, path, render_documents):
    """Export a utility's whole data to a ZIP: every table as JSON and CSV, its documents, a manifest."""
    from tenants.export import write_export

    tenant = services.tenant_by_slug(slug)
    if tenant is None:
        raise click.ClickException(f"no tenant {slug!r}")
    partial = path.with_name(path.name + ".part")
    try:
        summary = write_export(tenant_id=tenant.id, target=partial, now=utcnow(),
                               render_missing_documents=render_documents)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)  # a reader never finds half an archive under the name asked for
    click.echo(f"exported {slug} to {path}: {summary.tables} tables, {summary.rows} rows, "
               f"{summary.documents} documents ({path.stat().st_size} bytes)")
    not_rendered = summary.manifest.get("documents_not_rendered")
    if not_rendered:
        click.echo(f"warning: {len(not_rendered)} bill document(s) could not be rendered: "
                   f"{', '.join(map(str, not_rendered[:10]))}", err=True)


@tenants_cli.command("set-stripe")
@click.argument("slug")
@click.option("--secret-key", default=None, help="sk_live_… or sk_test_… (a restricted rk_… key works too)")
@click.option("--webhook-secret", default=None, help="whsec_…: the signing secret of the webhook endpoint")
@click.option("--remove", is_flag=True, help="Forget the keys: card payments go back to the sandbox (outside "
                                            "production, or for a demo tenant), else none")
@with_appcontext
def set_stripe(slug, secret_key, webhook_secret, remove):
    """Card payments through the tenant's own Stripe account (webhook: https://<host>/payments/webhook)."""
    if not remove and not secret_key:
        raise click.ClickException("give --secret-key and --webhook-secret, or --remove")
    try:
        services.set_stripe_keys(slug=slug, secret_key=None if remove else secret_key,
                                 webhook_secret=None if remove else webhook_secret)
    except services.TenantError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{slug}: card payments by {'the sandbox' if remove else 'Stripe Checkout'}")


@tenants_cli.command("set-demo")
@click.argument("slug")
@click.option("--on/--off", "demo", default=True, show_default=True,
              help="--on: a demo utility, whose card payments may use the sandbox (no money moves) even in "
                   "production; --off: a real one, which needs its Stripe keys to take card payments")
@with_appcontext
def set_demo(slug, demo):
    """Mark a tenant as a demo or not (production allows the sandbox checkout only for a demo)."""
    try:
        services.set_payments_demo(slug=slug, demo=demo)
    except services.TenantError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{slug}: {'a demo: card payments may use the sandbox' if demo else 'not a demo'}")


@tenants_cli.command("reseal-secrets")
@with_appcontext
def reseal_secrets():
    """Seal every tenant's secrets with the first key of SECRETS_KEY (after a new key was put first)."""
    count = services.reseal_secrets()
    click.echo(f"sealed the secrets of {count} tenant(s) with the first key of SECRETS_KEY; "
               "older keys can now be removed from SECRETS_KEY")


@tenants_cli.command("create-operator")
@click.option("--email", required=True)
@click.option("--name", "full_name", default="Platform operator")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def create_operator(email, full_name, password):
    """Create a platform operator who signs in to the console on the platform host."""
    with platform_scope("create operator"):
        try:
            identity.create_operator(email=email, full_name=full_name, password=password)
        except identity.WeakPassword as exc:
            raise click.ClickException(f"password: {exc}") from exc
        db.session.commit()
    click.echo(f"created operator {email}")


@tenants_cli.command("reset-operator-second-factor")
@click.option("--email", required=True)
@with_appcontext
def reset_operator_second_factor(email):
    """Clear an operator's second factor (lost phone and recovery codes) and end their sessions: they set it up
    again at their next sign-in to the console."""
    from sqlalchemy import select

    from domain.db import utcnow
    from domain.identity import second_factor
    from domain.identity.models import PlatformOperator

    with platform_scope("reset an operator's second factor"):
        operator = db.session.scalar(select(PlatformOperator).where(
            PlatformOperator.email == identity.normalise_email(email)))
        if operator is None:
            raise click.ClickException(f"no operator {email}")
        second_factor.reset_operator_second_factor(operator, now=utcnow())
        db.session.commit()
    click.echo(f"second factor of {operator.email} cleared: they set it up again at their next sign-in")
