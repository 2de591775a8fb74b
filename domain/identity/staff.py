"""Staff administration by a tenant administrator: invite, roles and work groups, deactivate and reactivate.

Every change goes through the ORM, so the audit trail records it with its author (the signed-in administrator).
Two rules keep the utility administrable: nobody deactivates themselves, and the last administrator who can sign in
is neither deactivated nor stripped of the role.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from domain.audit.models import AuditEvent
from domain.audit.recorder import record_event
from domain.db import db
from domain.identity import invitations
from domain.identity.models import STAFF_ROLES, StaffRoleGrant, StaffUser
from domain.identity.passwords import has_usable_password, unusable_password
from domain.identity.services import close_all_sessions, normalise_email
from domain.tasks.models import WorkGroup, WorkGroupMember

log = logging.getLogger("identity")

ADMIN_ROLE = "tenant_admin"
STATUSES = ("invited", "active", "deactivated")


class StaffChangeRefused(Exception):
    """A change the rules refuse; `field` is the form field it is about (None: the whole change), `code` what is
    wrong (the interface words it): email_taken, no_role, unknown_role, unknown_group, self_deactivation,
    own_admin_role, last_admin, not_invited."""

    def __init__(self, code: str, field: str | None = None):
        super().__init__(code)
        self.code = code
        self.field = field


@dataclass(frozen=True)
class StaffRow:
    user: StaffUser
    roles: tuple[str, ...]
    work_groups: tuple[WorkGroup, ...]
    status: str


def _record(user: StaffUser, action: str, details: dict, now: datetime) -> None:
    """One line of the member's own history (the grants and memberships are audited row by row as well)."""
    record_event(db.session, tenant_id=user.tenant_id, action=action, entity_type="StaffUser", entity_id=user.id,
                 details=details, occurred_at=now)


HISTORY_ACTIONS = ("staff_invited", "staff_reinvited", "staff_joined", "staff_access_changed", "staff_deactivated",
                   "staff_reactivated")


def history_of(user: StaffUser, *, limit: int = 50) -> list[AuditEvent]:
    """What was done to the member's access, newest first, with who did it (sign-ins, which only move
    `last_login_at`, are left out)."""
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "StaffUser", AuditEvent.entity_id == user.id,
                                 AuditEvent.action.in_(HISTORY_ACTIONS))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(limit)))


def status_of(user: StaffUser) -> str:
    if not user.is_active:
        return "deactivated"
    return "active" if has_usable_password(user.password_hash) else "invited"


def staff_by_public_id(public_id: str) -> StaffUser | None:
    return db.session.scalar(select(StaffUser).where(StaffUser.public_id == public_id))


def work_groups() -> list[WorkGroup]:
    return list(db.session.scalars(select(WorkGroup).order_by(WorkGroup.name)))


def groups_of(user: StaffUser) -> list[WorkGroup]:
    return list(db.session.scalars(
        select(WorkGroup).join(WorkGroupMember, WorkGroupMember.work_group_id == WorkGroup.id)
        .where(WorkGroupMember.staff_user_id == user.id).order_by(WorkGroup.name)))


def list_staff() -> list[StaffRow]:
    """Every staff member of the tenant with roles, groups and status, by name (three queries in all)."""
    users = list(db.session.scalars(select(StaffUser).order_by(func.lower(StaffUser.full_name), StaffUser.id)))
    grants: dict[int, list[str]] = {}
    for staff_user_id, role in db.session.execute(select(StaffRoleGrant.staff_user_id, StaffRoleGrant.role)):
        grants.setdefault(staff_user_id, []).append(role)
    memberships: dict[int, list[WorkGroup]] = {}
    for staff_user_id, group in db.session.execute(
            select(WorkGroupMember.staff_user_id, WorkGroup)
            .join(WorkGroup, WorkGroup.id == WorkGroupMember.work_group_id).order_by(WorkGroup.name)):
        memberships.setdefault(staff_user_id, []).append(group)
    return [StaffRow(user, tuple(sorted(grants.get(user.id, ()), key=STAFF_ROLES.index)),
                     tuple(memberships.get(user.id, ())), status_of(user)) for user in users]


def _check_roles(roles) -> list[str]:
    roles = list(dict.fromkeys(roles))
    if not roles:
        raise StaffChangeRefused("no_role", "roles")
    if any(role not in STAFF_ROLES for role in roles):
        raise StaffChangeRefused("unknown_role", "roles")
    return roles


def _groups(codes) -> list[WorkGroup]:
    codes = list(dict.fromkeys(codes))
    if not codes:
        return []
    found = list(db.session.scalars(select(WorkGroup).where(WorkGroup.code.in_(codes))))
    if len(found) != len(codes):
        raise StaffChangeRefused("unknown_group", "work_groups")
    return found


def _administrators_who_can_sign_in(*, other_than: StaffUser) -> int:
    return db.session.scalar(
        select(func.count(StaffUser.id)).join(StaffRoleGrant, StaffRoleGrant.staff_user_id == StaffUser.id)
        .where(StaffRoleGrant.role == ADMIN_ROLE, StaffUser.is_active, StaffUser.id != other_than.id,
               ~StaffUser.password_hash.startswith("!"))
    ) or 0


def _is_signing_in_administrator(user: StaffUser) -> bool:
    return user.is_active and ADMIN_ROLE in user.roles and has_usable_password(user.password_hash)


def invite_staff(*, email: str, full_name: str, roles, work_group_codes=(), locale: str | None,
                 by: StaffUser | None, now: datetime) -> invitations.SentInvitation:
    """A new staff member, with no password until they follow the link the caller mails."""
    email = normalise_email(email)
    roles = _check_roles(roles)
    groups = _groups(work_group_codes)
    if db.session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise StaffChangeRefused("email_taken", "email")
    user = StaffUser(email=email, full_name=full_name.strip(), password_hash=unusable_password(),
                     locale=locale or None, created_at=now)
    for role in roles:
        user.role_grants.append(StaffRoleGrant(role=role))
    db.session.add(user)
    db.session.flush()
    for group in groups:
        db.session.add(WorkGroupMember(work_group_id=group.id, staff_user_id=user.id))
    sent = invitations.issue_invitation(user=user, by=by, now=now)
    _record(user, "staff_invited", {"roles": roles, "work_groups": [g.code for g in groups]}, now)
    return sent


def reinvite_staff(*, user: StaffUser, by: StaffUser | None, now: datetime) -> invitations.SentInvitation:
    """A fresh link for a member who has not joined yet (the earlier one expired or was lost)."""
    try:
        sent = invitations.issue_invitation(user=user, by=by, now=now)
    except invitations.AlreadyJoined as exc:
        raise StaffChangeRefused("not_invited") from exc
    _record(user, "staff_reinvited", {}, now)
    return sent


def update_access(*, user: StaffUser, roles, work_group_codes, by: StaffUser, now: datetime) -> None:
    """Give `user` exactly these roles and work groups."""
    roles = _check_roles(roles)
    groups = _groups(work_group_codes)
    if ADMIN_ROLE in user.roles and ADMIN_ROLE not in roles:
        if user.id == by.id:
            raise StaffChangeRefused("own_admin_role", "roles")
        if _is_signing_in_administrator(user) and _administrators_who_can_sign_in(other_than=user) == 0:
            raise StaffChangeRefused("last_admin", "roles")
    for grant in [g for g in user.role_grants if g.role not in roles]:
        user.role_grants.remove(grant)
        db.session.delete(grant)  # explicitly, so the audit trail sees the deletion (an orphan's is not)
    for role in roles:
        if role not in user.roles:
            user.role_grants.append(StaffRoleGrant(role=role))
    wanted = {group.id for group in groups}
    current = {m.work_group_id: m for m in db.session.scalars(
        select(WorkGroupMember).where(WorkGroupMember.staff_user_id == user.id))}
    for group_id, membership in current.items():
        if group_id not in wanted:
            db.session.delete(membership)
    for group_id in wanted - set(current):
        db.session.add(WorkGroupMember(work_group_id=group_id, staff_user_id=user.id))
    _record(user, "staff_access_changed", {"roles": sorted(roles, key=STAFF_ROLES.index),
                                           "work_groups": sorted(g.code for g in groups)}, now)
    log.info("staff access changed staff=%s by=%s roles=%s", user.id, by.id, ",".join(sorted(roles)))


def deactivate_staff(*, user: StaffUser, by: StaffUser, now: datetime) -> None:
    """The member can no longer sign in: their sessions end at once (the next request of theirs is signed out)
    and their pending invitation stops working."""
    if user.id == by.id:
        raise StaffChangeRefused("self_deactivation")
    if _is_signing_in_administrator(user) and _administrators_who_can_sign_in(other_than=user) == 0:
        raise StaffChangeRefused("last_admin")
    if not user.is_active:
        return
    user.is_active = False
    close_all_sessions(user_kind="staff", user_id=user.id)
    invitations.revoke_invitations(user=user, now=now)
    _record(user, "staff_deactivated", {}, now)
    log.info("staff deactivated staff=%s by=%s", user.id, by.id)


def reactivate_staff(*, user: StaffUser, by: StaffUser, now: datetime) -> None:
    """The member may sign in again (with their password; one who never joined needs a new invitation)."""
    if user.is_active:
        return
    user.is_active = True
    _record(user, "staff_reactivated", {}, now)
    log.info("staff reactivated staff=%s by=%s", user.id, by.id)
