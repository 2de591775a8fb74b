"""Onboarding, listing and suspending tenants (platform operations)."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_name
from sqlalchemy import func, select

from domain.billing.models import Bill
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import StaffRoleGrant, StaffUser
from domain.identity.passwords import hash_password, password_problems
from domain.identity.services import normalise_email
from domain.tasks.models import WorkGroup
from tenants.context import platform_scope, tenant_scope
from tenants.guard import TENANT_FILTERED
from tenants.models import ACTIVITIES, Tenant
from tenants.resolution import is_valid_slug
from tenants.secrets import reseal

log = logging.getLogger("tenants")

DEFAULT_WORK_GROUPS = (
    ("front_office", "Front office"),
    ("billing", "Billing"),
    ("collections", "Collections"),
    ("metering", "Metering"),
)


class TenantError(ValueError):
    """Invalid onboarding data; the message says which field and why."""


@dataclass(frozen=True)
class TenantUsage:
    tenant: Tenant
    accounts: int
    staff: int  # active staff members
    bills_this_month: int = 0  # issued since the first of this month, in the tenant's time zone

    @property
    def state(self) -> str:
        """What the console shows: "suspended", "live", or "coming_soon" (the portal has not opened yet)."""
        if self.tenant.status == "suspended":
            return "suspended"
        return "live" if self.tenant.is_live else "coming_soon"


def _validate(*, slug, name, activities, default_locale, currency, timezone, admin_email, admin_password):
    if not is_valid_slug(slug):
        raise TenantError("slug: use 1-40 lower-case letters, digits or hyphens (not www, console, api, admin)")
    if not name.strip():
        raise TenantError("name: required")
    unknown = [a for a in activities if a not in ACTIVITIES]
    if not activities or unknown:
        raise TenantError(f"activities: choose among {', '.join(ACTIVITIES)}")
    try:
        Locale.parse(default_locale)
    except (UnknownLocaleError, ValueError) as exc:
        raise TenantError(f"default locale: unknown locale {default_locale!r}") from exc
    if not re.fullmatch(r"[A-Z]{3}", currency) or get_currency_name(currency, locale="en") == currency:
        raise TenantError(f"currency: unknown ISO 4217 code {currency!r}")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TenantError(f"time zone: unknown zone {timezone!r}") from exc
    if "@" not in admin_email:
        raise TenantError("administrator e-mail: not an e-mail address")
    problems = password_problems(admin_password)
    if problems:
        raise TenantError(f"administrator password: {', '.join(problems)}")


def create_tenant(*, slug: str, name: str, activities: list[str], default_locale: str, currency: str,
                  timezone: str, admin_email: str, admin_name: str, admin_password: str,
                  custom_domain: str | None = None, primary_colour: str | None = None,
                  now: datetime) -> Tenant:
    """Create a tenant, its default work groups and its first administrator. Commits."""
    slug = slug.strip().lower()
    currency = currency.strip().upper()
    _validate(slug=slug, name=name, activities=activities, default_locale=default_locale, currency=currency,
              timezone=timezone, admin_email=admin_email, admin_password=admin_password)
    with platform_scope("create tenant"):
        if db.session.scalar(select(Tenant).where(Tenant.slug == slug)) is not None:
            raise TenantError(f"slug: {slug!r} is taken")
        if custom_domain and db.session.scalar(select(Tenant).where(Tenant.custom_domain == custom_domain)):
            raise TenantError(f"custom domain: {custom_domain!r} is taken")
        tenant = Tenant(slug=slug, name=name.strip(), activities=list(activities), default_locale=default_locale,
                        currency=currency, timezone=timezone, custom_domain=custom_domain or None,
                        created_at=now)
        if primary_colour:
            tenant.primary_colour = primary_colour
        db.session.add(tenant)
        db.session.commit()
    with tenant_scope(tenant.id):
        for code, label in DEFAULT_WORK_GROUPS:
            db.session.add(WorkGroup(code=code, name=label))
        admin = StaffUser(email=normalise_email(admin_email), full_name=admin_name,
                          password_hash=hash_password(admin_password), created_at=now)
        admin.role_grants.append(StaffRoleGrant(role="tenant_admin"))
        db.session.add(admin)
        db.session.commit()
    return tenant


def month_bounds(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """`[first of this month, first of next month)` at midnight in `timezone`, as aware UTC datetimes."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    start = datetime(local.year, local.month, 1, tzinfo=zone)
    end = datetime(local.year + (local.month == 12), local.month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _usage(tenant: Tenant, now: datetime) -> TenantUsage:
    """The tenant's size in one statement, inside its own scope (row-level security stays on): every count reads
    an index that starts with tenant_id."""
    start, end = month_bounds(now, tenant.timezone)
    tid = tenant.id
    with tenant_scope(tid):
        # count(*): index-only scans of (tenant_id, id) and (tenant_id, issued_at) on PostgreSQL.
        accounts = select(func.count()).select_from(CustomerAccount).where(
            CustomerAccount.tenant_id == tid).scalar_subquery()
        staff = select(func.count()).select_from(StaffUser).where(
            StaffUser.tenant_id == tid, StaffUser.is_active.is_(True)).scalar_subquery()
        bills = select(func.count()).select_from(Bill).where(
            Bill.tenant_id == tid, Bill.issued_at >= start, Bill.issued_at < end).scalar_subquery()
        row = db.session.execute(select(accounts, staff, bills),
                                 execution_options={TENANT_FILTERED: True}).one()
        db.session.commit()
    return TenantUsage(tenant, int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))


def list_tenants_with_usage(*, now: datetime) -> list[TenantUsage]:
    """Every tenant with its size: one statement per tenant, counted inside it (row-level security stays on)."""
    with platform_scope("list tenants"):
        tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.slug)))
        db.session.commit()
    return [_usage(tenant, now) for tenant in tenants]


def tenant_by_slug(slug: str) -> Tenant | None:
    with platform_scope("find a tenant by slug"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        db.session.commit()
    return tenant


def tenant_usage(*, slug: str, now: datetime) -> TenantUsage | None:
    """One tenant's size, or None for an unknown slug."""
    tenant = tenant_by_slug(slug)
    return None if tenant is None else _usage(tenant, now)


def set_tenant_status(*, slug: str, status: str, now: datetime,
                      job_waiting: Callable[[str], bool] | None = None) -> Tenant:
    """Suspend or reactivate a tenant. Suspended, its hosts answer a "service suspended" page and its jobs are not
    run (app/jobs.py, app/schedule.py); a billing run in progress stops after the chunk at work. Reactivated, its
    interrupted billing runs are taken up at once where they stopped (`job_waiting`: whether a job of that id is
    still queued, so it is not dispatched twice)."""
    if status not in ("active", "suspended"):
        raise TenantError("status: active or suspended")
    with platform_scope(f"set tenant status {status}"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is None:
            raise TenantError(f"no tenant {slug!r}")
        previous = tenant.status
        tenant.status = status
        tenant.suspended_at = now if status == "suspended" else None
        db.session.commit()
    log.info("tenant status tenant=%s slug=%s from=%s to=%s", tenant.id, slug, previous, status)
    if previous == "suspended" and status == "active":
        from domain.billing.recovery import take_up_runs

        taken = take_up_runs(tenant_id=tenant.id, now=now, job_waiting=job_waiting)
        if taken:
            log.info("billing runs taken up after reactivation tenant=%s actions=%s", tenant.id, taken)
    return tenant


def set_payments_demo(*, slug: str, demo: bool) -> Tenant:
    """Mark a tenant as a demo (or not): only a demo may use the sandbox checkout in production, where no money
    moves. The platform operator's decision alone (CLI), never the tenant's admin."""
    with platform_scope("mark a tenant as a payments demo"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is None:
            raise TenantError(f"no tenant {slug!r}")
        tenant.payments_demo = demo
        db.session.commit()
    log.info("payments demo tenant=%s demo=%s", tenant.id, demo)
    return tenant


def set_stripe_keys(*, slug: str, secret_key: str | None, webhook_secret: str | None) -> Tenant:
    """Give a tenant its own Stripe account (card payments by Stripe Checkout), or remove it (sandbox)."""
    if bool(secret_key) != bool(webhook_secret):
        raise TenantError("give both the secret key and the webhook signing secret, or neither")
    if secret_key and not secret_key.startswith(("sk_live_", "sk_test_", "rk_live_", "rk_test_")):
        raise TenantError("the secret key starts with sk_live_, sk_test_, rk_live_ or rk_test_")
    if webhook_secret and not webhook_secret.startswith("whsec_"):
        raise TenantError("the webhook signing secret starts with whsec_")
    with platform_scope("set a tenant's Stripe keys"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is None:
            raise TenantError(f"no tenant {slug!r}")
        tenant.stripe_secret_key = secret_key or None
        tenant.stripe_webhook_secret = webhook_secret or None
        db.session.commit()
    return tenant


def reseal_secrets() -> int:
    """Key rotation: every tenant's secrets sealed again with the first key of SECRETS_KEY, and the second factors'
    TOTP secrets of its staff and of the operators. Commits."""
    from domain.identity import second_factor

    with platform_scope("re-seal tenants' secrets with the first key"):
        tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.id)))
        for tenant in tenants:
            tenant.stripe_secret_key_sealed = reseal(tenant.stripe_secret_key_sealed)
            tenant.stripe_webhook_secret_sealed = reseal(tenant.stripe_webhook_secret_sealed)
        db.session.commit()
    second_factor.reseal_secrets(tenant_ids=[tenant.id for tenant in tenants])
    return len(tenants)
