"""Second factor (TOTP) of staff and platform operators: enrolment, the sign-in step, recovery codes, reset.

Who must have one: every platform operator and every staff member holding the role tenant_admin (they are taken to
enrolment right after their password until they have one). Other staff may enrol from their account page. Codes are
checked by the pure rules of `domain.identity.totp`; this module keeps the state: the secret sealed at rest
(tenants/secrets.py), the latest time step used (no code accepted twice) and the recovery codes, each used once.

For the staff-administration pages: `reset_second_factor(staff_user, by=…, now=…)` and `StaffUser.has_second_factor`.
Customers have no second factor: `sign_in_step` answers None for them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update

from domain.audit.actor import Actor, acting_as
from domain.audit.recorder import record_event
from domain.db import db
from domain.identity import totp
from domain.identity.models import (
    OperatorRecoveryCode,
    OperatorSecondFactor,
    PlatformOperator,
    StaffRecoveryCode,
    StaffSecondFactor,
    StaffUser,
)
from tenants.context import platform_scope, tenant_scope
from tenants.secrets import open_sealed, reseal, seal

log = logging.getLogger("identity.second_factor")

REQUIRED_ROLE = "tenant_admin"

# Business events of the audit trail (staff; operators' are logged, they belong to no tenant).
ENROLLED = "second_factor_enrolled"
RECOVERY_CODE_USED = "recovery_code_used"
RECOVERY_CODES_RENEWED = "recovery_codes_renewed"
RESET = "second_factor_reset"


class SecondFactorError(Exception):
    """Base of what the second factor refuses."""


class WrongCode(SecondFactorError):
    """Neither a code of the user's app for now nor one of their unused recovery codes."""


class CodeAlreadyUsed(SecondFactorError):
    """The right code, but of a time step already used: wait for the app's next code."""


class AlreadyEnrolled(SecondFactorError):
    """Enrolment asked for by a user who has a second factor already (reset it first)."""


class NotEnrolled(SecondFactorError):
    """A code asked of a user who has no second factor (or whose enrolment is not confirmed)."""


class CannotResetOwnSecondFactor(SecondFactorError):
    """Another administrator resets a staff member's second factor, never the staff member alone."""


@dataclass(frozen=True)
class _Kind:
    factor: type
    code: type
    owner: str  # the column naming the user


_KINDS = {
    "staff": _Kind(StaffSecondFactor, StaffRecoveryCode, "staff_user_id"),
    "operator": _Kind(OperatorSecondFactor, OperatorRecoveryCode, "operator_id"),
}


@dataclass(frozen=True)
class Verified:
    """A second step passed; with a recovery code, how many unused ones the user has left."""

    by_recovery_code: bool = False
    recovery_codes_left: int | None = None


def _spec(kind: str) -> _Kind:
    try:
        return _KINDS[kind]
    except KeyError as exc:
        raise ValueError(f"no second factor for {kind!r} users") from exc


def _owner_column(kind: str, model):
    return getattr(model, _spec(kind).owner)


def _factor(kind: str, user):
    model = _spec(kind).factor
    return db.session.scalar(select(model).where(_owner_column(kind, model) == user.id))


def _forget_cached(user) -> None:
    """The user's `second_factor` relationship is read-only: read it afresh after a change."""
    if user in db.session:
        db.session.expire(user, ["second_factor"])


def required_for(*, kind: str, user) -> bool:
    """Whether this user may not sign in without a second factor."""
    if kind == "operator":
        return True
    return kind == "staff" and REQUIRED_ROLE in user.roles


def has_second_factor(*, kind: str, user) -> bool:
    factor = _factor(kind, user) if kind in _KINDS else None
    return factor is not None and factor.confirmed_at is not None


def sign_in_step(*, kind: str, user) -> str | None:
    """What follows a right password: "code" (the user has a second factor), "enrol" (they must have one and have
    none yet) or None (signed in at once)."""
    if kind not in _KINDS:
        return None
    if has_second_factor(kind=kind, user=user):
        return "code"
    return "enrol" if required_for(kind=kind, user=user) else None


def start_enrolment(*, kind: str, user, now: datetime) -> str:
    """The secret to show (QR code and text) for the user to add to their app. Asked again before the user
    confirmed, it is the same secret: a page reloaded keeps the QR code already scanned valid."""
    spec = _spec(kind)
    factor = _factor(kind, user)
    if factor is not None and factor.confirmed_at is not None:
        raise AlreadyEnrolled()
    if factor is None:
        factor = spec.factor(secret_sealed=seal(totp.new_secret()), created_at=now, **{spec.owner: user.id})
        db.session.add(factor)
        db.session.flush()
        _forget_cached(user)
    return open_sealed(factor.secret_sealed)


def confirm_enrolment(*, kind: str, user, code: str, now: datetime) -> list[str]:
    """Turn the second factor on once the user typed a right code from their app; returns the recovery codes, in
    clear this once (only their digests are kept)."""
    factor = _factor(kind, user)
    if factor is None:
        raise NotEnrolled()
    if factor.confirmed_at is not None:
        raise AlreadyEnrolled()
    check = totp.check_code(open_sealed(factor.secret_sealed), code, at=now, latest_used_step=None)
    if not check.accepted:
        raise WrongCode()
    factor.confirmed_at = now
    factor.latest_used_step = check.step
    codes = _replace_recovery_codes(kind, user, now)
    _forget_cached(user)
    _record(kind, user, ENROLLED, now, {"recovery_codes": len(codes)})
    return codes


def verify(*, kind: str, user, code: str, now: datetime) -> Verified:
    """The second step of a sign-in: a code of the user's app not used before, or an unused recovery code."""
    factor = _factor(kind, user)
    if factor is None or factor.confirmed_at is None:
        raise NotEnrolled()
    if totp.looks_like_totp(code):
        check = totp.check_code(open_sealed(factor.secret_sealed), code, at=now,
                                latest_used_step=factor.latest_used_step)
        if check.replayed:
            raise CodeAlreadyUsed()
        if not check.accepted:
            raise WrongCode()
        if not _take_step(kind, factor, check.step):
            raise CodeAlreadyUsed()  # the same code, accepted an instant ago in another request
        return Verified()
    if totp.looks_like_recovery_code(code) and _take_recovery_code(kind, user, code, now):
        left = recovery_codes_left(kind=kind, user=user)
        _record(kind, user, RECOVERY_CODE_USED, now, {"recovery_codes_left": left})
        return Verified(by_recovery_code=True, recovery_codes_left=left)
    raise WrongCode()


def _take_step(kind: str, factor, step: int) -> bool:
    """Record `step` as used, unless a concurrent request used it (or a later one) first: one UPDATE decides."""
    model = _spec(kind).factor
    result = db.session.execute(
        update(model)
        .where(model.id == factor.id, or_(model.latest_used_step.is_(None), model.latest_used_step < step))
        .values(latest_used_step=step)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(factor, ["latest_used_step"])
    return result.rowcount == 1


def _take_recovery_code(kind: str, user, code: str, now: datetime) -> bool:
    model = _spec(kind).code
    result = db.session.execute(
        update(model)
        .where(_owner_column(kind, model) == user.id, model.code_hash == totp.recovery_code_digest(code),
               model.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def recovery_codes_left(*, kind: str, user) -> int:
    model = _spec(kind).code
    return db.session.scalar(
        select(func.count(model.id)).where(_owner_column(kind, model) == user.id, model.used_at.is_(None))
    ) or 0


def renew_recovery_codes(*, kind: str, user, code: str, now: datetime) -> list[str]:
    """New recovery codes for a user who proves they hold the factor now (a code or a recovery code); the old
    ones stop working. Returned in clear this once."""
    verify(kind=kind, user=user, code=code, now=now)
    codes = _replace_recovery_codes(kind, user, now)
    _record(kind, user, RECOVERY_CODES_RENEWED, now, {"recovery_codes": len(codes)})
    return codes


def _replace_recovery_codes(kind: str, user, now: datetime) -> list[str]:
    spec = _spec(kind)
    db.session.execute(delete(spec.code).where(_owner_column(kind, spec.code) == user.id)
                       .execution_options(synchronize_session=False))
    codes = totp.new_recovery_codes()
    db.session.add_all(spec.code(code_hash=totp.recovery_code_digest(c), created_at=now, **{spec.owner: user.id})
                       for c in codes)
    db.session.flush()
    return codes


def enrolled_at(*, kind: str, user) -> datetime | None:
    factor = _factor(kind, user)
    return factor.confirmed_at if factor is not None else None


def _clear(kind: str, user) -> None:
    spec = _spec(kind)
    for model in (spec.code, spec.factor):
        db.session.execute(delete(model).where(_owner_column(kind, model) == user.id)
                           .execution_options(synchronize_session=False))
    _forget_cached(user)


def reset_second_factor(staff_user: StaffUser, *, by: StaffUser, now: datetime) -> None:
    """Clear a staff member's second factor and recovery codes (lost phone) and end their sessions, recorded in the
    audit trail as `by`'s doing. They sign in with their password alone next time, or, as an administrator, are
    taken to enrolment again. `by` is another staff member: one's own factor is not reset this way."""
    from domain.identity.services import close_all_sessions

    if by.id == staff_user.id:
        raise CannotResetOwnSecondFactor()
    had = has_second_factor(kind="staff", user=staff_user)
    _clear("staff", staff_user)
    close_all_sessions(user_kind="staff", user_id=staff_user.id)
    with acting_as(Actor("staff", by.id, by.email)):
        _record("staff", staff_user, RESET, now, {"had_second_factor": had})


def reset_operator_second_factor(operator: PlatformOperator, *, now: datetime) -> None:
    """The same for a platform operator (`flask tenants reset-operator-second-factor`): their sessions end and they
    enrol again at their next sign-in."""
    from domain.identity.services import close_all_operator_sessions

    _clear("operator", operator)
    close_all_operator_sessions(operator_id=operator.id)
    _record("operator", operator, RESET, now, {})


def _record(kind: str, user, action: str, now: datetime, details: dict) -> None:
    log.info("%s kind=%s user=%s tenant=%s", action, kind, user.id, getattr(user, "tenant_id", None))
    if kind == "staff":
        record_event(db.session, tenant_id=user.tenant_id, action=action, entity_type="StaffUser",
                     entity_id=user.id, details=details, occurred_at=now)


def reseal_secrets(*, tenant_ids: list[int]) -> int:
    """Key rotation (`flask tenants reseal-secrets`): every TOTP secret sealed again with the first key of
    SECRETS_KEY, staff tenant by tenant (row-level security stays on), then operators. Commits; returns how many."""
    count = 0
    for tenant_id in tenant_ids:
        with tenant_scope(tenant_id):
            for factor in db.session.scalars(select(StaffSecondFactor)):
                factor.secret_sealed = reseal(factor.secret_sealed)
                count += 1
            db.session.commit()
    with platform_scope("re-seal operators' TOTP secrets with the first key"):
        for factor in db.session.scalars(select(OperatorSecondFactor)):
            factor.secret_sealed = reseal(factor.secret_sealed)
            count += 1
        db.session.commit()
    return count
