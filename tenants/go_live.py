"""The go-live checklist: what a new utility still lacks before its portal opens, and the switch that opens it.

Each check is a small function registered with `@go_live_check`: given the tenant and its local date, it returns a
`Check` (done or not, what is missing, in the administrator's language, and the endpoint of the page that fixes
it). The administration home lists them all; "Go live" is allowed only when every one is done.

Extension point: a part of the administration area that adds a setting the portal needs registers its own check
(in its module, imported by the app factory) with `@go_live_check("key", _l("Title"), endpoint="admin.…")`.
The checks run inside the tenant's scope (the administrator's request), in registration order.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.i18n import ACTIVITY_NAMES, ROLE_NAMES
from domain.audit.recorder import record_event
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import STAFF_ROLES, StaffRoleGrant, StaffUser
from domain.offers.models import Offer, TariffVersion
from tenants.context import require_tenant_id
from tenants.models import ACTIVITIES, Tenant

log = logging.getLogger("tenants")



@dataclass(frozen=True)
class Check:
    """One line of the checklist. `missing`: what is still to do (empty when done), each a sentence."""

    key: str
    title: object
    done: bool
    missing: tuple = ()
    endpoint: str | None = None


CheckFunction = Callable[[Tenant, date], tuple[bool, list, str | None]]
_REGISTRY: list[tuple[str, object, CheckFunction]] = []


def go_live_check(key: str, title) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check: the function returns (done, what is missing, endpoint of the page that fixes it)."""
    def register(func: CheckFunction) -> CheckFunction:
        if any(existing == key for existing, _title, _func in _REGISTRY):
            raise ValueError(f"go-live check {key!r} is registered twice")
        _REGISTRY.append((key, title, func))
        return func
    return register


def registered_checks() -> list[str]:
    return [key for key, _title, _func in _REGISTRY]


def checklist(tenant: Tenant, *, today: date) -> list[Check]:
    """Every registered check for the tenant (call inside its scope), `today` being its local date."""
    out = []
    for key, title, func in _REGISTRY:
        done, missing, endpoint = func(tenant, today)
        out.append(Check(key=key, title=title, done=bool(done), missing=() if done else tuple(missing),
                         endpoint=endpoint))
    return out


class NotReady(RuntimeError):
    """Go-live refused: some checks are not done (`missing` lists them)."""

    def __init__(self, missing: list[Check]):
        super().__init__("not ready to go live: " + ", ".join(check.key for check in missing))
        self.missing = missing


class AlreadyLive(RuntimeError):
    """The portal is open already."""


def go_live(*, tenant: Tenant, today: date, now: datetime) -> Tenant:
    """Open the portal: every check must pass. Audit-trailed with its author; the caller commits."""
    if tenant.id != require_tenant_id():
        raise PermissionError("a tenant goes live only in its own scope")
    if tenant.is_live:
        raise AlreadyLive(tenant.slug)
    missing = [check for check in checklist(tenant, today=today) if not check.done]
    if missing:
        raise NotReady(missing)
    tenant.live_at = now
    db.session.flush()
    record_event(db.session, tenant_id=tenant.id, action="tenant_went_live", entity_type="Tenant",
                 entity_id=tenant.id, occurred_at=now, details={"live_at": now, "checks": registered_checks()})
    log.info("tenant went live tenant=%s slug=%s", tenant.id, tenant.slug)
    return tenant


# --- the checks that today's data can answer -------------------------------------------------------------------


@go_live_check("offers", _l("An offer with a tariff in force for each activity"))
def _offers(tenant: Tenant, today: date):
    in_force = select(Offer.activity).join(TariffVersion, TariffVersion.offer_id == Offer.id).where(
        Offer.is_active.is_(True), TariffVersion.effective_from <= today,
        (TariffVersion.effective_to.is_(None)) | (TariffVersion.effective_to > today)).distinct()
    covered = set(db.session.scalars(in_force))
    wanted = [a for a in ACTIVITIES if a in (tenant.activities or ())]
    missing = [_l("%(activity)s: no offer with a tariff in force today.", activity=ACTIVITY_NAMES[a])
               for a in wanted if a not in covered]
    return not missing, missing, "admin.offers"


@go_live_check("legal_identity", _l("Legal identity"))
def _legal_identity(tenant: Tenant, today: date):
    def filled(*names) -> bool:
        return any((getattr(tenant, name, None) or "").strip() for name in names)

    fields = ((("legal_name",), _l("The legal name of the utility.")),
              (("company_registration",), _l("The company registration number.")),
              (("registered_office", "postal_address"), _l("The registered office or the postal address.")),
              (("support_phone", "support_email"), _l("A customer-service phone number or e-mail address.")),
              (("ombudsman",), _l("The ombudsman or mediator customers can turn to.")))
    missing = [label for names, label in fields if not filled(*names)]
    emergency = tenant.emergency_phones or {}
    missing += [_l("%(activity)s: the emergency number.", activity=ACTIVITY_NAMES[a])
                for a in ACTIVITIES if a in (tenant.activities or ()) and not (emergency.get(a) or "").strip()]
    return not missing, missing, "admin.identity_page"


@go_live_check("portal_pages", _l("Portal pages"))
def _portal_pages(tenant: Tenant, today: date):
    from domain.brand.models import PortalPage

    # The generated pages stand in for any page the utility has not written; the privacy notice and the legal
    # notice are the utility's own statements, so they are reviewed and saved in its language before opening.
    written = set(db.session.scalars(select(PortalPage.page).where(
        PortalPage.locale == tenant.default_locale, PortalPage.page.in_(("privacy", "legal-notice")))))
    missing = []
    if "privacy" not in written:
        missing.append(_l("Review and save the privacy notice."))
    if "legal-notice" not in written:
        missing.append(_l("Review and save the legal notice."))
    return not missing, missing, "admin.portal_pages"


@go_live_check("payments", _l("Payment settings"))
def _payments(tenant: Tenant, today: date):
    from domain.payments.settings import offered_methods
    from tenants.operation_settings import payment_methods

    if tenant.payment_methods is None:
        return False, [_l("Choose the ways customers may pay.")], "admin.payment_settings_page"
    # A real checkout: the utility's own Stripe keys (the sandbox counts only for a demo utility).
    card_possible = tenant.has_stripe_keys or bool(tenant.payments_demo)
    offered = offered_methods(tenant, card_possible=card_possible)
    missing = []
    if "card" in payment_methods(tenant) and not card_possible:
        missing.append(_l("Card payments need the utility's Stripe keys."))
    if "transfer" in offered and not (tenant.iban or "").strip():
        missing.append(_l("Bank transfers need the utility's IBAN, printed on bills."))
    if not offered:
        missing.append(_l("No way to pay is set up for customers yet."))
    return not missing, missing, "admin.payment_settings_page"


@go_live_check("mail", _l("Mail settings that passed a test"))
def _mail(tenant: Tenant, today: date):
    from tenants.operation_settings import tenant_mail_tested

    done = tenant_mail_tested(tenant)
    return done, [_l("Send a test e-mail from the mail settings: it must go through.")], "admin.mail_settings_page"


@go_live_check("staff", _l("A staff member for each role"))
def _staff(tenant: Tenant, today: date):
    held = set(db.session.scalars(select(StaffRoleGrant.role).join(
        StaffUser, StaffUser.id == StaffRoleGrant.staff_user_id).where(StaffUser.is_active.is_(True)).distinct()))
    missing = [_l("No active staff member has the role “%(role)s”.", role=ROLE_NAMES[role])
               for role in STAFF_ROLES if role not in held]
    return not missing, missing, "admin.staff"


@go_live_check("customers", _l("Customers imported"))
def _customers(tenant: Tenant, today: date):
    any_account = db.session.scalar(select(CustomerAccount.id).limit(1))
    return any_account is not None, [_l("No customer account yet: import the customer base.")], "admin.imports"
