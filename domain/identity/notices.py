"""Telling the holder: who must hear that an online access was created or its sign-in address changed, and the
notices a login is shown once at its next sign-in."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import AccessNotice, CustomerAccess, CustomerUser
from domain.parties.models import ContactPoint


def mask_email(address: str | None) -> str:
    """j•••@example.org: enough for the owner to recognise the address, not enough to read it off a page."""
    local, _at, domain = (address or "").partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def on_file_email(*, party_id: int) -> str | None:
    """The address we already have for a party (its main e-mail contact point), lower-cased; None without one."""
    points = list(db.session.scalars(
        select(ContactPoint).where(ContactPoint.party_id == party_id, ContactPoint.kind == "email",
                                   ContactPoint.value.is_not(None))
        .order_by(ContactPoint.is_primary.desc(), ContactPoint.id)))
    for point in points:
        value = (point.value or "").strip().lower()
        if "@" in value:
            return value
    return None


def access_created(*, user: CustomerUser, account_ids: list[int], now: datetime) -> list[tuple[str, str, str | None]]:
    """Record that `user` was given online access to these accounts.

    Every other login that already sees one of them gets a notice for its next sign-in; returns the
    (address on file, account number, account's language) to e-mail, one per holder address.
    """
    if not account_ids:
        return []
    accounts = list(db.session.scalars(
        select(CustomerAccount).where(CustomerAccount.id.in_(account_ids)).order_by(CustomerAccount.id)))
    masked = mask_email(user.email)
    others = db.session.execute(
        select(CustomerAccess.customer_user_id, CustomerAccess.account_id)
        .where(CustomerAccess.account_id.in_(account_ids), CustomerAccess.customer_user_id != user.id)
        .order_by(CustomerAccess.customer_user_id, CustomerAccess.account_id)).all()
    numbers = {a.id: a.account_number for a in accounts}
    for other_user_id, account_id in others:
        db.session.add(AccessNotice(customer_user_id=other_user_id, kind="access_created",
                                    account_number=numbers[account_id], email_masked=masked, occurred_at=now))
    db.session.flush()
    return _holder_mails(accounts)


def _holder_mails(accounts) -> list[tuple[str, str, str | None]]:
    """(address on file, account number, account's language) of these accounts' holders, one per address."""
    mails: dict[str, tuple[str, str | None]] = {}
    for account in accounts:
        address = on_file_email(party_id=account.holder_party_id)
        if address is not None and address not in mails:
            mails[address] = (account.account_number, account.locale)
    return [(address, number, locale) for address, (number, locale) in mails.items()]


def holder_addresses(*, user: CustomerUser) -> list[tuple[str, str, str | None]]:
    """The same for the accounts this login sees: read before a change of the login's address may change the
    holder's own."""
    return _holder_mails(db.session.scalars(
        select(CustomerAccount).join(CustomerAccess, CustomerAccess.account_id == CustomerAccount.id)
        .where(CustomerAccess.customer_user_id == user.id).order_by(CustomerAccount.id)))


def email_changed(*, user: CustomerUser, new_email: str, now: datetime) -> None:
    """The login's owner sees at its next sign-in that its address changed (the old address is e-mailed too), and
    every other login to one of its accounts that this login's address changed."""
    masked = mask_email(new_email)
    db.session.add(AccessNotice(customer_user_id=user.id, kind="email_changed", email_masked=masked,
                                occurred_at=now))
    account_ids = select(CustomerAccess.account_id).where(CustomerAccess.customer_user_id == user.id)
    others = db.session.execute(
        select(CustomerAccess.customer_user_id, func.min(CustomerAccount.account_number))
        .join(CustomerAccount, CustomerAccount.id == CustomerAccess.account_id)
        .where(CustomerAccess.account_id.in_(account_ids), CustomerAccess.customer_user_id != user.id)
        .group_by(CustomerAccess.customer_user_id).order_by(CustomerAccess.customer_user_id)).all()
    for other_user_id, number in others:
        db.session.add(AccessNotice(customer_user_id=other_user_id, kind="address_changed", account_number=number,
                                    email_masked=masked, occurred_at=now))
    db.session.flush()


def take_unshown(*, user: CustomerUser, now: datetime) -> list[AccessNotice]:
    """The notices the login has not been shown yet, oldest first; they count as shown from now on."""
    notices = list(db.session.scalars(
        select(AccessNotice).where(AccessNotice.customer_user_id == user.id, AccessNotice.shown_at.is_(None))
        .order_by(AccessNotice.occurred_at, AccessNotice.id)))
    for notice in notices:
        notice.shown_at = now
    db.session.flush()
    return notices
