"""Getting in: activation codes, proving an account with a fact from a bill, and the e-mail links that
activate online access, add another account to a login or change a login's e-mail address.

Online access cannot be taken over with facts anyone can find (a sequential customer number, a postcode):
- with the activation code printed on bills and letters (about 50 bits, single use, renewed by staff), the link
  goes to the address the customer types: the code proves they hold the paper;
- with the postcode, the link goes only to the e-mail address already on file for the holder, never to a typed
  one; the answer names that address masked, and a miss gets a made-up masked address, so the answer is the
  same whether or not the account exists or has an address.
Failed attempts are counted per customer number (ActivationGuard); after MAX_FAILED_ATTEMPTS the number is
locked until staff lift it, whatever the facts given.

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
from sqlalchemy.exc import IntegrityError

from domain.audit.recorder import record_event
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity import notices
from domain.identity.models import ActivationGuard, CustomerAccess, CustomerUser, EmailVerification
from domain.identity.passwords import burn_time, hash_password, password_problems
from domain.identity.services import WeakPassword, normalise_email
from domain.parties.models import ContactPoint, PartyRole

# No 0/O, 1/I: a code read off paper and typed in must not be ambiguous.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 10
CODE_BITS = 50  # 10 characters of a 32-character alphabet, drawn with `secrets`
MAX_FAILED_ATTEMPTS = 5
FAILURE_WINDOW = timedelta(hours=24)  # failures further apart than this start the count again; a lock stays
# Made-up answers for a miss look like real addresses on file (see `decoy_hint`).
_DECOY_DOMAINS = ("gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "orange.fr", "free.fr",
                  "gmx.de", "web.de", "t-online.de", "hotmail.fr", "yahoo.fr", "gmx.net", "live.com", "yahoo.es")
VERIFICATION_LIFETIME = timedelta(hours=24)
PURPOSES = ("activation", "link_account", "email_change")


class InvalidVerification(Exception):
    """The link is unknown, already used, expired, or meant for someone else."""


class AlreadyRegistered(Exception):
    """The e-mail address of an activation link already belongs to a login of this tenant."""


class NothingToProve(ValueError):
    """Neither a postcode nor an activation code was given."""


class ActivationLocked(Exception):
    """Too many failed attempts for this customer number: refused, whatever the facts, until staff lift the lock."""


@dataclass(frozen=True)
class StartedVerification:
    """A link to send: `token` goes in the URL only, never in the database or a log line."""

    token: str
    email: str
    account: CustomerAccount
    existing_user: CustomerUser | None = None


@dataclass(frozen=True)
class ActivationAnswer:
    """What to tell the visitor, and the link to send if any. `sent_to` is the masked address on file (or a
    made-up one for a miss) when the proof was a postcode; None when the proof was a code."""

    started: StartedVerification | None
    sent_to: str | None

    @property
    def token(self) -> str | None:
        return self.started.token if self.started is not None else None


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


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


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


# Attempts and lock-out


def guard_of(account_number: str) -> ActivationGuard | None:
    number = normalise_account_number(account_number)
    return db.session.scalar(select(ActivationGuard).where(ActivationGuard.account_number == number))


def is_locked(account_number: str) -> bool:
    guard = guard_of(account_number)
    return guard is not None and guard.locked_at is not None


def _account_numbered(number: str) -> CustomerAccount | None:
    return db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == number))


def _record_lock_event(*, account: CustomerAccount, locked: bool, failures: int, now: datetime) -> None:
    record_event(db.session, tenant_id=account.tenant_id, action="update", entity_type="CustomerAccount",
                 entity_id=account.id, occurred_at=now,
                 details={"activation_locked": {"before": not locked, "after": locked},
                          "failed_activation_attempts": {"before": failures - 1 if locked else failures,
                                                         "after": failures if locked else 0}})


def record_failure(*, account_number: str, now: datetime) -> bool:
    """Count a failed attempt for this number (known or not); True when it is now locked."""
    number = normalise_account_number(account_number)[:20] or "-"
    guard = guard_of(number)
    if guard is None:
        try:
            with db.session.begin_nested():  # two first failures at once: the unique key lets one insert
                guard = ActivationGuard(account_number=number, failures=0)
                db.session.add(guard)
        except IntegrityError:
            guard = guard_of(number)
    if (guard.locked_at is None and guard.latest_failure_at is not None
            and now - guard.latest_failure_at >= FAILURE_WINDOW):
        guard.failures = 0  # a customer mistyping now and then over months is not an attack
        db.session.flush()
    db.session.execute(
        update(ActivationGuard).where(ActivationGuard.id == guard.id)
        .values(failures=ActivationGuard.failures + 1, latest_failure_at=now)
        .execution_options(synchronize_session=False))
    db.session.refresh(guard)
    if guard.failures >= MAX_FAILED_ATTEMPTS and guard.locked_at is None:
        guard.locked_at = now
        account = _account_numbered(number)
        if account is not None:
            _record_lock_event(account=account, locked=True, failures=guard.failures, now=now)
    db.session.flush()
    return guard.locked_at is not None


def lift_lock(*, account: CustomerAccount, now: datetime) -> bool:
    """Staff lift the lock-out of an account's number (from the customer file); False when it was not locked.

    The failed attempts start again from zero; the lift is recorded in the account's history with the staff
    member who did it."""
    guard = guard_of(account.account_number)
    if guard is None or guard.locked_at is None:
        return False
    failures = guard.failures
    guard.locked_at, guard.failures = None, 0
    _record_lock_event(account=account, locked=False, failures=failures, now=now)
    db.session.flush()
    return True


def _forget_failures(number: str) -> None:
    """The holder proved possession (followed a link): earlier failures no longer count."""
    guard = guard_of(number)
    if guard is not None and guard.locked_at is None:
        guard.failures = 0


# What the answer names


def hint_email(address: str) -> str:
    return notices.mask_email(address)


def decoy_hint(*, secret: bytes, tenant_id: int, account_number: str, postcode: str) -> str:
    """A masked address for an answer that sent nothing: fixed for these facts, so asking again shows the same,
    and drawn like a real one, so it does not tell that the facts missed."""
    message = f"{tenant_id}|{normalise_account_number(account_number)}|{normalise_postcode(postcode)}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    letter = "abcdefghijklmnoprstvw"[digest[0] % 21]
    return f"{letter}•••@{_DECOY_DOMAINS[digest[1] % len(_DECOY_DOMAINS)]}"


# Links


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_link(*, purpose: str, email: str, account: CustomerAccount, now: datetime,
              customer_user_id: int | None = None, code: str | None = None) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(EmailVerification(
        token_hash=token_hash(token), purpose=purpose, email=email, party_id=account.holder_party_id,
        account_id=account.id, customer_user_id=customer_user_id, created_at=now,
        expires_at=now + VERIFICATION_LIFETIME, code_hash=code_hash(code) if code else None,
    ))
    db.session.flush()
    return token


def login_with_email(email: str) -> CustomerUser | None:
    """The login of the current tenant using this address, if any."""
    return db.session.scalar(select(CustomerUser).where(CustomerUser.email == normalise_email(email)))


def _prove(*, account_number: str, postcode: str | None, activation_code: str | None,
           now: datetime) -> CustomerAccount | None:
    """The account the facts prove, or None (counted as a failure). ActivationLocked when the number is locked."""
    if is_locked(account_number):
        matching_account(account_number=account_number, postcode=postcode, activation_code=activation_code)
        raise ActivationLocked()  # the same work as an attempt, then nothing more
    account = matching_account(account_number=account_number, postcode=postcode, activation_code=activation_code)
    if account is None:
        record_failure(account_number=account_number, now=now)
    return account


def start_activation(*, account_number: str, postcode: str | None, activation_code: str | None,
                     email: str | None, now: datetime, secret: bytes) -> ActivationAnswer:
    """The link to send, if the facts prove an account, and what to tell the visitor.

    With the activation code the link goes to `email` (the code proves the visitor holds a bill). With the
    postcode alone `email` is ignored: the link goes to the holder's address on file, if there is one.
    """
    code = normalise_code(activation_code)
    account = _prove(account_number=account_number, postcode=postcode, activation_code=activation_code, now=now)
    if code:
        email = normalise_email(email or "")
        existing = login_with_email(email) if email else None
        if account is None or not email:
            secrets.token_urlsafe(32)  # the same work as a hit
            return ActivationAnswer(started=None, sent_to=None)
        token = _new_link(purpose="activation", email=email, account=account, now=now, code=code)
        return ActivationAnswer(StartedVerification(token=token, email=email, account=account,
                                                    existing_user=existing), sent_to=None)
    on_file = notices.on_file_email(party_id=account.holder_party_id) if account is not None else None
    existing = login_with_email(on_file or "")
    if on_file is None:
        secrets.token_urlsafe(32)
        tenant_id = account.tenant_id if account is not None else 0
        return ActivationAnswer(started=None, sent_to=decoy_hint(
            secret=secret, tenant_id=tenant_id, account_number=account_number, postcode=postcode or ""))
    token = _new_link(purpose="activation", email=on_file, account=account, now=now)
    return ActivationAnswer(StartedVerification(token=token, email=on_file, account=account, existing_user=existing),
                            sent_to=hint_email(on_file))


def start_link_account(*, user: CustomerUser, account_number: str, postcode: str | None,
                       activation_code: str | None, now: datetime, secret: bytes) -> ActivationAnswer:
    """A link that adds another account to the login, when the facts prove it.

    With the code it goes to the login's own address; with the postcode alone, to the holder's address on file
    (which may be the login's own): a login cannot gather accounts of others by their postcodes."""
    code = normalise_code(activation_code)
    account = _prove(account_number=account_number, postcode=postcode, activation_code=activation_code, now=now)
    if code:
        if account is None:
            secrets.token_urlsafe(32)
            return ActivationAnswer(started=None, sent_to=None)
        token = _new_link(purpose="link_account", email=user.email, account=account, now=now,
                          customer_user_id=user.id, code=code)
        return ActivationAnswer(StartedVerification(token=token, email=user.email, account=account,
                                                    existing_user=user), sent_to=None)
    on_file = notices.on_file_email(party_id=account.holder_party_id) if account is not None else None
    if on_file is None:
        secrets.token_urlsafe(32)
        return ActivationAnswer(started=None, sent_to=decoy_hint(
            secret=secret, tenant_id=user.tenant_id, account_number=account_number, postcode=postcode or ""))
    token = _new_link(purpose="link_account", email=on_file, account=account, now=now, customer_user_id=user.id)
    return ActivationAnswer(StartedVerification(token=token, email=on_file, account=account, existing_user=user),
                            sent_to=hint_email(on_file))


def pending_link(*, token: str, purposes: tuple[str, ...], now: datetime) -> EmailVerification | None:
    """The unused, unexpired link of the current tenant behind `token`, or None."""
    row = db.session.scalar(select(EmailVerification).where(EmailVerification.token_hash == token_hash(token)))
    if row is None or row.purpose not in purposes or row.used_at is not None or row.expires_at <= now:
        return None
    return row


def _use_up_code(row: EmailVerification) -> None:
    """A link asked with the activation code works while that code is the account's: following it gives the
    account a new code (the one on paper is used up); a code already used or renewed by staff voids the link."""
    if row.code_hash is None:
        return
    account = db.session.get(CustomerAccount, row.account_id) if row.account_id is not None else None
    current = account.activation_code if account is not None else None
    if not current or not hmac.compare_digest(code_hash(current), row.code_hash):
        raise InvalidVerification()
    regenerate_activation_code(account=account)


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
    _use_up_code(row)
    user = CustomerUser(email=row.email, party_id=row.party_id, password_hash=hash_password(password),
                        email_verified_at=now, password_changed_at=now, created_at=now, locale=locale)
    db.session.add(user)
    db.session.flush()
    ids = holder_account_ids(party_id=row.party_id, today=today)
    if row.account_id not in ids and _active(row.account_id):
        ids.append(row.account_id)
    grant_access(user=user, account_ids=ids)
    account = account_of_link(row)
    if account is not None:
        _forget_failures(account.account_number)
    return user


def tell_holders(*, user: CustomerUser, account_ids: list[int], now: datetime) -> list[tuple[str, str, str | None]]:
    """A new online access to these accounts: notices for the other logins, and the addresses on file to e-mail."""
    return notices.access_created(user=user, account_ids=account_ids, now=now)


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
    _use_up_code(row)
    grant_access(user=user, account_ids=[row.account_id])
    if user.email_verified_at is None and row.email == user.email:
        user.email_verified_at = now  # the link reached this address
    account = db.session.get(CustomerAccount, row.account_id)
    _forget_failures(account.account_number)
    return account


def account_of_link(row: EmailVerification) -> CustomerAccount | None:
    return db.session.get(CustomerAccount, row.account_id) if row.account_id is not None else None
