"""The customer's own profile: contact details, e-mail change, language, paperless billing, marketing
consent and the request to close the online access."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from domain.audit.recorder import record_event
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity import notices
from domain.identity.activation import VERIFICATION_LIFETIME, InvalidVerification, claim_link, token_hash
from domain.identity.models import CustomerAccess, CustomerUser, EmailVerification
from domain.identity.services import close_all_sessions, normalise_email
from domain.parties.models import ContactPoint, Party
from domain.tasks.models import Task, WorkGroup
from domain.tasks.services import create_task

CLOSURE_GROUP = "front_office"
# The audit action of a change the customer made to their own details in the portal (staff read it in the customer
# file's history, with the customer as the one who made it).
PORTAL_CHANGE = "portal_update"


class SameEmail(ValueError):
    """The new address is the one the login already uses."""


class EmailTaken(Exception):
    """Another login of this tenant uses the address."""


class EmailNotVerified(Exception):
    """Paperless billing needs an e-mail address the customer has proved."""


@dataclass(frozen=True)
class PostalAddress:
    address_line1: str
    address_line2: str | None
    postcode: str
    city: str
    country: str


def party_of(user: CustomerUser) -> Party:
    return db.session.get(Party, user.party_id)


def _record_portal_change(*, user: CustomerUser, changes: dict, now: datetime) -> None:
    """One history entry on the customer's details for what they changed themselves: {field: (before, after)};
    fields left as they were are not recorded, and nothing at all when nothing changed."""
    changed = {field: {"before": before, "after": after} for field, (before, after) in changes.items()
               if before != after}
    if changed:
        record_event(db.session, tenant_id=user.tenant_id, action=PORTAL_CHANGE, entity_type="Party",
                     entity_id=user.party_id, details=changed, occurred_at=now)


def _address(point: ContactPoint | None) -> dict | None:
    if point is None:
        return None
    return {"address_line1": point.address_line1, "address_line2": point.address_line2,
            "postcode": point.postcode, "city": point.city, "country": point.country}


def update_contact_details(*, user: CustomerUser, phone: str | None, address: PostalAddress, now: datetime) -> None:
    """Replace the party's primary phone number and postal address (an empty phone removes it)."""
    party = party_of(user)
    phone_point = party.primary("phone")
    phone_before = phone_point.value if phone_point is not None else None
    if phone:
        if phone_point is None:
            phone_point = ContactPoint(party_id=party.id, kind="phone", is_primary=True)
            db.session.add(phone_point)
        phone_point.value = phone
    elif phone_point is not None:
        db.session.delete(phone_point)
    postal = party.primary("postal")
    address_before = _address(postal)
    if postal is None:
        postal = ContactPoint(party_id=party.id, kind="postal", is_primary=True)
        db.session.add(postal)
    postal.address_line1 = address.address_line1
    postal.address_line2 = address.address_line2 or None
    postal.postcode = address.postcode
    postal.city = address.city
    postal.country = address.country
    db.session.flush()
    _record_portal_change(user=user, now=now, changes={"phone": (phone_before, phone or None),
                                                       "postal_address": (address_before, _address(postal))})
    _publish_customer_updated(party, now)


def _publish_customer_updated(party: Party, now: datetime) -> None:
    from domain.contracts.customer_events import publish_customer_updated

    publish_customer_updated(party, now=now)


def start_email_change(*, user: CustomerUser, new_email: str, now: datetime) -> tuple[str, str]:
    """(token, address) of a link sent to the new address; the login keeps its e-mail until it is followed."""
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise SameEmail()
    token = secrets.token_urlsafe(32)
    db.session.add(EmailVerification(
        token_hash=token_hash(token), purpose="email_change", email=new_email, party_id=user.party_id,
        customer_user_id=user.id, created_at=now, expires_at=now + VERIFICATION_LIFETIME,
    ))
    db.session.flush()
    return token, new_email


def pending_email_change(*, user: CustomerUser, now: datetime) -> EmailVerification | None:
    """The latest e-mail change waiting for its link to be followed, if any."""
    return db.session.scalar(
        select(EmailVerification)
        .where(EmailVerification.purpose == "email_change", EmailVerification.customer_user_id == user.id,
               EmailVerification.used_at.is_(None), EmailVerification.expires_at > now)
        .order_by(EmailVerification.created_at.desc(), EmailVerification.id.desc())
        .limit(1)
    )


def email_change_of_link(*, token: str, user: CustomerUser, now: datetime) -> EmailVerification | None:
    """The e-mail change behind a link, if it is this login's, unused and unexpired."""
    row = db.session.scalar(select(EmailVerification).where(EmailVerification.token_hash == token_hash(token)))
    if (row is None or row.purpose != "email_change" or row.customer_user_id != user.id
            or row.used_at is not None or row.expires_at <= now):
        return None
    return row


@dataclass(frozen=True)
class EmailChanged:
    """A login's sign-in address switched: the old address is told, in case it was not its owner."""

    old_email: str
    new_email: str
    changed_at: datetime
    # The holders' addresses on file before the change, other than the login's old and new ones: (address,
    # account number, account's language). Someone else's login changing its address is told to the holder.
    holders: tuple[tuple[str, str, str | None], ...] = ()


def mask_email(address: str) -> str:
    """j•••@example.org: enough for the owner to recognise the address, not enough to read it off a notice."""
    local, _at, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def confirm_email_change(*, token: str, user: CustomerUser, now: datetime) -> EmailChanged:
    """Switch the login to the address the link was sent to."""
    row = email_change_of_link(token=token, user=user, now=now)
    if row is None:
        raise InvalidVerification()
    taken = db.session.scalar(select(CustomerUser.id).where(CustomerUser.email == row.email,
                                                            CustomerUser.id != user.id))
    if taken is not None:
        raise EmailTaken()
    claim_link(row, now)
    old_email = user.email
    holders = tuple(found for found in notices.holder_addresses(user=user)
                    if found[0] not in {old_email.lower(), row.email.lower()})
    user.email = row.email
    user.email_verified_at = now
    party = party_of(user)
    point = party.primary("email")
    if point is None:
        point = ContactPoint(party_id=party.id, kind="email", is_primary=True)
        db.session.add(point)
    point.value = row.email
    point.verified_at = now
    notices.email_changed(user=user, new_email=row.email, now=now)  # shown once at the next sign-in
    db.session.flush()
    _record_portal_change(user=user, now=now, changes={"email": (old_email, row.email)})
    _publish_customer_updated(party, now)
    return EmailChanged(old_email=old_email, new_email=row.email, changed_at=now, holders=holders)


def set_locale(*, user: CustomerUser, locale: str, now: datetime) -> None:
    before = user.locale
    user.locale = locale
    db.session.flush()
    _record_portal_change(user=user, now=now, changes={"locale": (before, locale)})


def set_paperless(*, user: CustomerUser, account: CustomerAccount, paperless: bool) -> None:
    """Paper or e-mail bills for one of the customer's accounts; e-mail only to a proved address."""
    if paperless and user.email_verified_at is None:
        raise EmailNotVerified()
    allowed = db.session.scalar(select(CustomerAccess.id).where(
        CustomerAccess.customer_user_id == user.id, CustomerAccess.account_id == account.id))
    if allowed is None:
        raise PermissionError("not one of the customer's accounts")
    account.paperless = paperless  # the account's own audit entry records it, with the customer as actor
    db.session.flush()


def set_marketing_consent(*, user: CustomerUser, consent: bool, now: datetime) -> bool:
    """Record a change of marketing consent (the audit trail keeps every change); False when nothing changed."""
    if user.marketing_consent == consent:
        return False
    user.marketing_consent = consent
    user.marketing_consent_at = now
    db.session.flush()
    _record_portal_change(user=user, now=now, changes={"marketing_consent": (not consent, consent)})
    return True


def request_closure(*, user: CustomerUser, now: datetime) -> Task:
    """Record the request to close the online access, queue it for staff and end every session."""
    user.closure_requested_at = now
    group_id = db.session.scalar(select(WorkGroup.id).where(WorkGroup.code == CLOSURE_GROUP))
    if group_id is None:
        group = WorkGroup(code=CLOSURE_GROUP, name="Front office")
        db.session.add(group)
        db.session.flush()
        group_id = group.id
    accounts = list(db.session.scalars(
        select(CustomerAccount.account_number)
        .join(CustomerAccess, CustomerAccess.account_id == CustomerAccount.id)
        .where(CustomerAccess.customer_user_id == user.id)
        .order_by(CustomerAccount.account_number)))
    task = create_task(
        group_id=group_id, kind="access_closure", title=f"Close the online access of {user.email}",
        params={"email": user.email},
        details="The customer asked to close their online access. Accounts: " + (", ".join(accounts) or "none"),
        subject_type="customer_user", subject_id=user.id, now=now,
    )
    close_all_sessions(user_kind="customer", user_id=user.id)
    db.session.flush()
    return task
