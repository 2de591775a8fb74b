"""Onboarding, listing and suspending tenants (platform operations)."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import get_currency_name
from sqlalchemy import func, select

from domain.billing.models import Bill
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import StaffRoleGrant, StaffUser
from domain.identity.invitations import SentInvitation, issue_invitation
from domain.identity.passwords import hash_password, password_problems, unusable_password
from domain.identity.services import normalise_email
from domain.identity.staff import StaffChangeRefused, invite_staff, reinvite_staff
from domain.tasks.models import WorkGroup
from tenants.context import platform_scope, tenant_scope
from tenants.guard import TENANT_FILTERED
from tenants.models import ACTIVITIES, Tenant
from tenants.countries import PLATFORM_LOCALES, is_country
from tenants.resolution import is_valid_host_name, is_valid_slug
from tenants.secrets import reseal

log = logging.getLogger("tenants")

DEFAULT_WORK_GROUPS = (
    ("front_office", "Front office"),
    ("billing", "Billing"),
    ("collections", "Collections"),
    ("metering", "Metering"),
)


# What can be wrong with each field of a new utility, in English for the command line; the console words the same
# codes in the operator's language (tenants/console_wizard.py PROBLEM_MESSAGES).
PROBLEM_ENGLISH = {
    "required": "required",
    "slug_invalid": "use 1-40 lower-case letters, digits or hyphens (not www, console, api, admin)",
    "slug_taken": "{value!r} is taken",
    "domain_invalid": "{value!r} is not a host name",
    "domain_taken": "{value!r} is taken",
    "activities_invalid": "choose among " + ", ".join(ACTIVITIES),
    "country_unknown": "unknown ISO 3166 country code {value!r}",
    "locale_unknown": "choose among " + ", ".join(PLATFORM_LOCALES),
    "currency_unknown": "unknown ISO 4217 code {value!r}",
    "timezone_unknown": "unknown zone {value!r}",
    "email_invalid": "not an e-mail address",
    "password_weak": "{value}",
}
FIELD_ENGLISH = {
    "slug": "slug", "name": "name", "custom_domain": "custom domain", "activities": "activities",
    "country": "country", "default_locale": "default locale", "currency": "currency", "timezone": "time zone",
    "admin_name": "administrator name", "admin_email": "administrator e-mail",
    "admin_password": "administrator password",
}
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class FieldProblem:
    code: str
    value: str = ""

    def english(self) -> str:
        return PROBLEM_ENGLISH[self.code].format(value=self.value)


class TenantError(ValueError):
    """Invalid onboarding data. `problems` maps each field at fault to what is wrong with it (the console says it in
    the operator's language); `str()` says it all in English (the command line)."""

    def __init__(self, message: str | None = None, *, problems: dict[str, FieldProblem] | None = None):
        self.problems = dict(problems or {})
        super().__init__(message or "; ".join(
            f"{FIELD_ENGLISH.get(field, field)}: {problem.english()}" for field, problem in self.problems.items()))


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


@dataclass(frozen=True)
class Onboarded:
    """A new tenant; `invitation` is its first administrator's (to be mailed) unless they were given a password."""

    tenant: Tenant
    admin_email: str
    invitation: SentInvitation | None


def check_tenant_fields(*, slug, name, activities, default_locale, currency, timezone, admin_email, admin_name,
                        admin_password=None, country=None, custom_domain=None) -> dict[str, FieldProblem]:
    """Every field's problem, without looking at the database (each wizard step checks its own fields with it)."""
    problems: dict[str, FieldProblem] = {}
    if not is_valid_slug(slug):
        problems["slug"] = FieldProblem("slug_invalid", slug)
    if not (name or "").strip():
        problems["name"] = FieldProblem("required")
    if custom_domain and (not is_valid_host_name(custom_domain) or "." not in custom_domain):
        problems["custom_domain"] = FieldProblem("domain_invalid", custom_domain)
    if not activities or any(a not in ACTIVITIES for a in activities):
        problems["activities"] = FieldProblem("activities_invalid")
    if country is not None and not is_country(country):
        problems["country"] = FieldProblem("country_unknown", country)
    if default_locale not in PLATFORM_LOCALES:
        problems["default_locale"] = FieldProblem("locale_unknown", default_locale)
    if not re.fullmatch(r"[A-Z]{3}", currency or "") or get_currency_name(currency, locale="en") == currency:
        problems["currency"] = FieldProblem("currency_unknown", currency)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        problems["timezone"] = FieldProblem("timezone_unknown", timezone)
    if not (admin_name or "").strip():
        problems["admin_name"] = FieldProblem("required")
    if not EMAIL_SHAPE.match(admin_email or ""):
        problems["admin_email"] = FieldProblem("email_invalid")
    if admin_password is not None:
        weak = password_problems(admin_password)
        if weak:
            problems["admin_password"] = FieldProblem("password_weak", ", ".join(weak))
    return problems


def taken_fields(*, slug: str, custom_domain: str | None) -> dict[str, FieldProblem]:
    """The slug or custom domain another tenant has (a host name names one tenant)."""
    problems = {}
    with platform_scope("check a new tenant's host names"):
        if db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
            problems["slug"] = FieldProblem("slug_taken", slug)
        if custom_domain and db.session.scalar(select(Tenant.id).where(Tenant.custom_domain == custom_domain)):
            problems["custom_domain"] = FieldProblem("domain_taken", custom_domain)
        db.session.commit()
    return problems


def onboard_tenant(*, slug: str, name: str, activities: list[str], default_locale: str, currency: str,
                   timezone: str, admin_email: str, admin_name: str, admin_password: str | None = None,
                   admin_locale: str | None = None, country: str | None = None, custom_domain: str | None = None,
                   primary_colour: str | None = None, now: datetime) -> Onboarded:
    """Create a tenant, its default work groups and its first administrator, who is invited (a single-use link to
    choose a password, the caller mails `invitation`) unless given a password (scripts and tests). Commits."""
    slug = (slug or "").strip().lower()
    currency = (currency or "").strip().upper()
    country = country.strip().upper() if country else None
    custom_domain = (custom_domain or "").strip().lower().rstrip(".") or None
    problems = check_tenant_fields(slug=slug, name=name, activities=activities, default_locale=default_locale,
                                   currency=currency, timezone=timezone, admin_email=admin_email,
                                   admin_name=admin_name, admin_password=admin_password, country=country,
                                   custom_domain=custom_domain)
    if problems:
        raise TenantError(problems=problems)
    problems = taken_fields(slug=slug, custom_domain=custom_domain)
    if problems:
        raise TenantError(problems=problems)
    with platform_scope("create tenant"):
        tenant = Tenant(slug=slug, name=name.strip(), activities=list(activities), default_locale=default_locale,
                        currency=currency, timezone=timezone, custom_domain=custom_domain, country=country,
                        created_at=now)
        if primary_colour:
            tenant.primary_colour = primary_colour
        db.session.add(tenant)
        db.session.commit()
    with tenant_scope(tenant.id):
        for code, label in DEFAULT_WORK_GROUPS:
            db.session.add(WorkGroup(code=code, name=label))
        password_hash = hash_password(admin_password) if admin_password is not None else unusable_password()
        admin = StaffUser(email=normalise_email(admin_email), full_name=admin_name.strip(),
                          password_hash=password_hash, locale=admin_locale or None, created_at=now)
        admin.role_grants.append(StaffRoleGrant(role="tenant_admin"))
        db.session.add(admin)
        db.session.flush()
        invitation = None if admin_password is not None else issue_invitation(user=admin, by=None, now=now)
        db.session.commit()
    log.info("tenant created tenant=%s slug=%s invited=%s", tenant.id, slug, invitation is not None)
    return Onboarded(tenant, admin.email, invitation)


def create_tenant(**fields) -> Tenant:
    """`onboard_tenant` for callers that only need the tenant (scripts and tests giving the administrator a
    password)."""
    return onboard_tenant(**fields).tenant


def invite_administrator(*, slug: str, email: str, name: str | None, now: datetime) -> tuple[Tenant, SentInvitation]:
    """A (new) invitation for a tenant administrator who has not joined yet, or a new administrator: the platform's
    way back in when the first administrator's link expired. Commits; the caller mails the invitation."""
    with platform_scope("find a tenant"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        db.session.commit()
    if tenant is None:
        raise TenantError(f"no tenant {slug!r}")
    if not EMAIL_SHAPE.match(email or ""):
        raise TenantError(problems={"admin_email": FieldProblem("email_invalid")})
    with tenant_scope(tenant.id):
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))
        try:
            if user is None:
                sent = invite_staff(email=email, full_name=name or email, roles=["tenant_admin"], locale=None,
                                    by=None, now=now)
            else:
                if "tenant_admin" not in user.roles:
                    raise TenantError(f"{email} is a staff member of {slug} but not an administrator")
                sent = reinvite_staff(user=user, by=None, now=now)
        except StaffChangeRefused as exc:
            db.session.rollback()
            raise TenantError(f"{email} has already joined {slug}: they sign in with their password") from exc
        db.session.commit()
    return tenant, sent


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
    TOTP secrets of its staff and of the operators, and its webhook signing secrets (Stripe keys, SMTP password, TOTP
    secrets, webhook secrets). Commits."""
    from domain.identity import second_factor

    with platform_scope("re-seal tenants' secrets with the first key"):
        tenants = list(db.session.scalars(select(Tenant).order_by(Tenant.id)))
        for tenant in tenants:
            tenant.stripe_secret_key_sealed = reseal(tenant.stripe_secret_key_sealed)
            tenant.stripe_webhook_secret_sealed = reseal(tenant.stripe_webhook_secret_sealed)
            tenant.smtp_password_sealed = reseal(tenant.smtp_password_sealed)
        db.session.commit()
    second_factor.reseal_secrets(tenant_ids=[tenant.id for tenant in tenants])
    from domain.webhooks.services import reseal_secrets as reseal_webhook_secrets

    reseal_webhook_secrets(tenant_ids=[tenant.id for tenant in tenants])
    return len(tenants)
