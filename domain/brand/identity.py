"""The utility's identity as its administrators set it, one group of fields at a time: checked, saved, audited
with its author, and kept as it stood from each change so a bill prints the identity in force when it was issued.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

from sqlalchemy import select

from domain.audit.recorder import record_event
from domain.brand import checks
from domain.brand.logo import LogoRefused, check_logo
from domain.brand.models import IdentityVersion
from domain.db import db
from domain.storage import storage
from tenants.context import require_tenant_id
from tenants.models import Tenant

log = logging.getLogger("brand.identity")

GROUPS: dict[str, tuple[str, ...]] = {
    "legal": ("legal_name", "company_registration", "vat_number", "registered_office", "website"),
    "service": ("postal_address", "support_email", "support_phone", "support_hours", "emergency_phones"),
    "ombudsman": ("dispute_contact", "ombudsman", "ombudsman_contact"),
    "colours": ("primary_colour", "accent_colour"),
    "logo": ("logo_path",),
}
IDENTITY_FIELDS = tuple(field for fields in GROUPS.values() for field in fields)
# The identity before the first change made here applies to everything issued before it.
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
LOGO_CATEGORY = "branding"


class IdentityRefused(ValueError):
    """Nothing was saved. `problems`: {field: code}, e.g. {"vat_number": "format"}; `shortfall`: a primary colour
    white text does not read on."""

    def __init__(self, problems: dict[str, str], shortfall: checks.ContrastShortfall | None = None):
        super().__init__(", ".join(f"{field}: {code}" for field, code in problems.items()))
        self.problems = problems
        self.shortfall = shortfall


def current_tenant() -> Tenant:
    return db.session.get(Tenant, require_tenant_id())


def _text(value) -> str | None:
    value = (value or "").strip() if isinstance(value, str) else value
    return value or None


def _check(tenant: Tenant, group: str, values: dict) -> tuple[dict, dict, checks.ContrastShortfall | None]:
    """The values to save (normalised), the problems found, and a contrast shortfall."""
    clean = {field: _text(values.get(field)) for field in GROUPS[group] if field != "emergency_phones"}
    problems: dict[str, str] = {}
    shortfall = None
    if group == "legal":
        if not clean["legal_name"]:
            problems["legal_name"] = "required"
        if clean["vat_number"]:
            clean["vat_number"] = checks.normalise_vat(clean["vat_number"])
            problem = checks.vat_problem(clean["vat_number"])
            if problem:
                problems["vat_number"] = f"vat_{problem}"
        website = clean["website"]
        if website and not website.lower().startswith(("https://", "http://")):
            problems["website"] = "website"
    elif group == "service":
        if clean["support_phone"] and not checks.is_phone(clean["support_phone"]):
            problems["support_phone"] = "phone"
        if clean["support_email"] and "@" not in clean["support_email"].strip("@"):
            problems["support_email"] = "email"
        phones = {}
        for activity, phone in (values.get("emergency_phones") or {}).items():
            phone = _text(phone)
            if activity not in (tenant.activities or ()):
                problems[f"emergency_{activity}"] = "activity"
            elif phone and not checks.is_phone(phone):
                problems[f"emergency_{activity}"] = "phone"
            elif phone:
                phones[activity] = phone
        clean["emergency_phones"] = phones or None
    elif group == "colours":
        for field in ("primary_colour", "accent_colour"):
            if not clean[field] or not checks.COLOUR.match(clean[field]):
                problems[field] = "colour"
            else:
                clean[field] = clean[field].lower()
        if "primary_colour" not in problems:
            shortfall = checks.white_text_shortfall(clean["primary_colour"])
            if shortfall:
                problems["primary_colour"] = "contrast"
    return clean, problems, shortfall


def snapshot(tenant: Tenant) -> dict:
    return {field: getattr(tenant, field) for field in IDENTITY_FIELDS}


def save_group(*, group: str, values: dict, author: str, now: datetime) -> dict:
    """Check and save one group of identity fields; returns the changes ({field: {before, after}}), empty when
    nothing changed. Raises IdentityRefused (nothing saved) when a value is not acceptable."""
    if group not in GROUPS or group == "logo":
        raise KeyError(group)
    tenant = current_tenant()
    clean, problems, shortfall = _check(tenant, group, values)
    if problems:
        raise IdentityRefused(problems, shortfall)
    return _apply(tenant, group, clean, author=author, now=now)


def _apply(tenant: Tenant, group: str, clean: dict, *, author: str, now: datetime) -> dict:
    before = snapshot(tenant)
    for field, value in clean.items():
        setattr(tenant, field, value)
    after = snapshot(tenant)
    changes = {field: {"before": before[field], "after": after[field]}
               for field in IDENTITY_FIELDS if before[field] != after[field]}
    if not changes:
        return {}
    first = db.session.scalar(select(IdentityVersion.id).limit(1)) is None
    if first:
        db.session.add(IdentityVersion(effective_at=BEGINNING, identity=before, recorded_by="before the first change"))
    db.session.add(IdentityVersion(effective_at=now, identity=after, recorded_by=author))
    db.session.flush()
    record_event(db.session, tenant_id=tenant.id, action="identity_update", entity_type="Tenant",
                 entity_id=tenant.id, details={"group": group, "changes": changes}, occurred_at=now)
    log.info("identity changed tenant=%s group=%s fields=%s by=%s", tenant.id, group, sorted(changes), author)
    return changes


def save_logo(*, filename: str, data: bytes, author: str, now: datetime, files=None) -> dict:
    """Check (and for SVG, sanitise) an uploaded logo and make it the utility's. Files are kept by their content:
    a bill issued with an earlier logo still finds it. `files`: the storage the logo is served from (the app's;
    the process-wide one by default)."""
    kind, cleaned = check_logo(filename=filename, data=data)
    tenant = current_tenant()
    files = files or storage()
    name = f"logo-{hashlib.sha256(cleaned).hexdigest()[:16]}.{kind}"
    key = files.save(tenant_id=tenant.id, category=LOGO_CATEGORY, filename=name, data=cleaned)
    return _apply(tenant, "logo", {"logo_path": key}, author=author, now=now)


def remove_logo(*, author: str, now: datetime) -> dict:
    """Back to the generated badge (the utility's initials on its colour)."""
    return _apply(current_tenant(), "logo", {"logo_path": None}, author=author, now=now)


class IdentityAt:
    """The tenant as a bill issued at a moment shows it: identity fields as they stood then, the rest as now."""

    def __init__(self, tenant: Tenant, identity: dict | None):
        self._tenant = tenant
        self._identity = identity

    def __getattr__(self, name: str):
        if self._identity is not None and name in IDENTITY_FIELDS:
            return self._identity.get(name)
        return getattr(self._tenant, name)


def identity_at(*, tenant: Tenant, at: datetime) -> IdentityAt:
    """The identity in force at `at` (a bill's issue). When nothing changed here since `at`, the tenant's columns as
    they are (they may also be set by the platform's commands, which keep no versions); else the version that was
    in force then, whatever changed after."""
    changed_since = db.session.scalar(select(IdentityVersion.id).where(IdentityVersion.effective_at > at).limit(1))
    if changed_since is None:
        return IdentityAt(tenant, None)
    version = db.session.scalar(
        select(IdentityVersion).where(IdentityVersion.effective_at <= at)
        .order_by(IdentityVersion.effective_at.desc(), IdentityVersion.id.desc()).limit(1))
    return IdentityAt(tenant, version.identity if version is not None else None)


__all__ = ["GROUPS", "IDENTITY_FIELDS", "IdentityRefused", "LogoRefused", "identity_at", "remove_logo",
           "save_group", "save_logo", "snapshot"]
