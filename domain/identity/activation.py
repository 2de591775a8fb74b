"""Getting in: activation codes, proving an account with a fact from a bill, and the e-mail links that
activate online access, add another account to a login or change a login's e-mail address.

Every link is an EmailVerification row holding the SHA-256 of a random token, valid 24 hours and claimed
once with a conditional UPDATE, so two clicks racing on the same link cannot both succeed.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select, update

from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import CustomerAccess, CustomerUser, EmailVerification
from domain.identity.passwords import burn_time, hash_password, password_problems
from domain.identity.services import WeakPassword, normalise_email
from domain.parties.models import ContactPoint, PartyRole

# No 0/O, 1/I: a code read off paper and typed in must not be ambiguous.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 10
VERIFICATION_LIFETIME = timedelta(hours=24)
PURPOSES = ("activation", "link_account", "email_change")


class InvalidVerification(Exception):
    """The link is unknown, already used, expired, or meant for someone else."""


class AlreadyRegistered(Exception):
    """The e-mail address of an activation link already belongs to a login of this tenant."""


class NothingToProve(ValueError):
    """Neither a postcode nor an activation code was given."""


@dataclass(frozen=True)
class StartedVerification:
    """A link to send: `token` goes in the URL only, never in the database or a log line."""

    token: str
    email: str
    account: CustomerAccount
    existing_user: CustomerUser | None = None


# Activation codes


def generate_activation_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str | None) -> str:
    """What the customer typed, as stored: upper case, without the spaces or dashes of the printed groups."""
    return "".join(ch for ch in (text or "").upper() if ch not in " -\t")


def display_code(code: str | None) -> str:
    """Printed in two groups of five so it is easy to copy ("ABCDE-FGHJK")."""
    if not code:
        return ""
    return f"{code[:5]}-{code[5:]}" if len(code) == CODE_LENGTH else code


def regenerate_activation_code(*, account: CustomerAccount) -> str:
    """Give an account a new code (the old one stops working); bills issued from now on print it."""
    account.activation_code = generate_activation_code()
    db.session.flush()
    return account.activation_code


def assign_missing_activation_codes() -> int:
    """Give every account of the current tenant that has none an activation code; returns how many."""
    accounts = list(db.session.scalars(select(CustomerAccount).where(CustomerAccount.activation_code.is_(None))))
    for account in accounts:
        account.activation_code = generate_activation_code()
    db.session.flush()
    return len(accounts)


# Proving an account


def normalise_account_number(text: str | None) -> str:
    return (text or "").strip().upper()


def normalise_postcode(text: str | None) -> str:
    return "".join(ch for ch in (text or "").upper() if not ch.isspace() and ch != "-")


def _same(given: str, stored: str) -> bool:
    return bool(given) and bool(stored) and hmac.compare_digest(given.encode(), stored.encode())


def matching_account(*, account_number: str, postcode: str | None = None,
                     activation_code: str | None = None) -> CustomerAccount | None:
    """The active account of the current tenant with this customer number, if every fact given matches.

    The postcode is the one of a postal address of the account holder; the code the one printed on bills.
    Both queries run whether or not the number exists, so a miss costs what a hit costs.
    """
    postcode, code = normalise_postcode(postcode), normalise_code(activation_code)
    if not postcode and not code:
        raise NothingToProve()
    account = db.session.scalar(select(CustomerAccount).where(
        CustomerAccount.account_number == normalise_account_number(account_number),
        CustomerAccount.status == "active",
    ))
    holder_id = account.holder_party_id if account is not None else -1
    postcodes = [normalise_postcode(p) for p in db.session.scalars(
        select(ContactPoint.postcode).where(ContactPoint.party_id == holder_id, ContactPoint.kind == "postal"))]
    postcode_ok = any([_same(postcode, p) for p in postcodes])  # a list, not a generator: compare them all
    code_ok = _same(code, account.activation_code if account is not None else "")
    if account is None:
        return None
    if (postcode and not postcode_ok) or (code and not code_ok):
        return None
    return account


# Links


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_link(*, purpose: str, email: str, account: CustomerAccount, now: datetime,
              customer_user_id: int | None = None) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(EmailVerification(
        token_hash=token_hash(token), purpose=purpose, email=email, party_id=account.holder_party_id,
        account_id=account.id, customer_user_id=customer_user_id, created_at=now,
        expires_at=now + VERIFICATION_LIFETIME,
    ))
    db.session.flush()
    return token


def login_with_email(email: str) -> CustomerUser | None:
    """The login of the current tenant using this address, if any."""
    return db.session.scalar(select(CustomerUser).where(CustomerUser.email == normalise_email(email)))


def start_activation(*, account_number: str, postcode: str | None, activation_code: str | None, email: str,
                     now: datetime) -> StartedVerification | None:
    """A link to activate online access when the facts match, else None (the caller answers the same)."""
    email = normalise_email(email)
    account = matching_account(account_number=account_number, postcode=postcode, activation_code=activation_code)
    existing = login_with_email(email)
    if account is None:
        secrets.token_urlsafe(32)  # the same work as a hit
        return None
    token = _new_link(purpose="activation", email=email, account=account, now=now)
    return StartedVerification(token=token, email=email, account=account, existing_user=existing)


def start_link_account(*, user: CustomerUser, account_number: str, postcode: str | None,
                       activation_code: str | None, now: datetime) -> StartedVerification | None:
    """A link, sent to the login's own address, that adds another account to it; None when the facts differ."""
    account = matching_account(account_number=account_number, postcode=postcode, activation_code=activation_code)
    if account is None:
        secrets.token_urlsafe(32)
        return None
    token = _new_link(purpose="link_account", email=user.email, account=account, now=now,
                      customer_user_id=user.id)
    return StartedVerification(token=token, email=user.email, account=account, existing_user=user)


def pending_link(*, token: str, purposes: tuple[str, ...], now: datetime) -> EmailVerification | None:
    """The unused, unexpired link of the current tenant behind `token`, or None."""
    row = db.session.scalar(select(EmailVerification).where(EmailVerification.token_hash == token_hash(token)))
    if row is None or row.purpose not in purposes or row.used_at is not None or row.expires_at <= now:
        return None
    return row


def claim_link(row: EmailVerification, now: datetime) -> None:
    """Mark the link used; only one of two concurrent requests gets here first."""
    claimed = db.session.execute(
        update(EmailVerification)
        .where(EmailVerification.id == row.id, EmailVerification.used_at.is_(None),
               EmailVerification.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise InvalidVerification()
    row.used_at = now


def holder_account_ids(*, party_id: int, today: date) -> list[int]:
    """Active accounts of which the party is the holder today (by its holder role, or as the account's holder)."""
    holder_roles = select(PartyRole.account_id).where(
        PartyRole.party_id == party_id, PartyRole.role == "holder", PartyRole.account_id.is_not(None),
        PartyRole.start_date <= today, or_(PartyRole.end_date.is_(None), PartyRole.end_date > today),
    )
    return list(db.session.scalars(
        select(CustomerAccount.id)
        .where(CustomerAccount.status == "active",
               or_(CustomerAccount.id.in_(holder_roles), CustomerAccount.holder_party_id == party_id))
        .order_by(CustomerAccount.id)
    ))


def grant_access(*, user: CustomerUser, account_ids: list[int]) -> list[int]:
    """Let the login see these accounts; returns the ids that were not already linked."""
    have = set(db.session.scalars(
        select(CustomerAccess.account_id).where(CustomerAccess.customer_user_id == user.id)))
    added = [i for i in dict.fromkeys(account_ids) if i not in have]
    db.session.add_all(CustomerAccess(customer_user_id=user.id, account_id=i) for i in added)
    db.session.flush()
    return added


def complete_activation(*, token: str, password: str, now: datetime, today: date,
                        locale: str | None = None) -> CustomerUser:
    """Create the login behind an activation link, with access to every account the party holds."""
    row = pending_link(token=token, purposes=("activation",), now=now)
    if row is None:
        burn_time(password)
        raise InvalidVerification()
    if login_with_email(row.email) is not None:
        raise AlreadyRegistered()
    problems = password_problems(password)
    if problems:
        raise WeakPassword(problems)
    claim_link(row, now)
    user = CustomerUser(email=row.email, party_id=row.party_id, password_hash=hash_password(password),
                        email_verified_at=now, password_changed_at=now, created_at=now, locale=locale)
    db.session.add(user)
    db.session.flush()
    ids = holder_account_ids(party_id=row.party_id, today=today)
    if row.account_id not in ids and _active(row.account_id):
        ids.append(row.account_id)
    grant_access(user=user, account_ids=ids)
    return user


def _active(account_id: int | None) -> bool:
    account = db.session.get(CustomerAccount, account_id) if account_id is not None else None
    return account is not None and account.status == "active"


def link_is_for(row: EmailVerification, user: CustomerUser) -> bool:
    """Whether the signed-in login may follow this activation or link-account link."""
    if row.purpose == "link_account":
        return row.customer_user_id == user.id
    return row.purpose == "activation" and row.email == user.email


def add_account_by_link(*, token: str, user: CustomerUser, now: datetime) -> CustomerAccount:
    """Follow an activation link for an address that already has a login, or a link-account link."""
    row = pending_link(token=token, purposes=("activation", "link_account"), now=now)
    if row is None or not link_is_for(row, user) or not _active(row.account_id):
        raise InvalidVerification()
    claim_link(row, now)
    grant_access(user=user, account_ids=[row.account_id])
    if user.email_verified_at is None:
        user.email_verified_at = now  # the link reached this address
    return db.session.get(CustomerAccount, row.account_id)


def account_of_link(row: EmailVerification) -> CustomerAccount | None:
    return db.session.get(CustomerAccount, row.account_id) if row.account_id is not None else None
