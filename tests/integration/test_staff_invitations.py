"""Staff invitations and staff administration (domain.identity.invitations, domain.identity.staff) on the database."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain.audit.actor import Actor, acting_as
from domain.audit.models import AuditEvent
from domain.db import db, utcnow
from domain.identity import invitations
from domain.identity import services as identity
from domain.identity import staff as staff_admin
from domain.identity.models import LoginSession, StaffUser
from domain.tasks.models import WorkGroupMember
from tenants.context import tenant_scope

NEW_PASSWORD = "a-brand-new-password"


def _admin(email="admin@alpha.test") -> StaffUser:
    return db.session.scalar(select(StaffUser).where(StaffUser.email == email))


def _invite(email="new@alpha.test", roles=("agent",), groups=("billing",), now=None):
    return staff_admin.invite_staff(email=email, full_name="New Person", roles=roles, work_group_codes=groups,
                                    locale="fr", by=_admin(), now=now or utcnow())


def test_invited_member_has_no_usable_password_until_they_accept(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        sent = _invite()
        db.session.commit()

        with pytest.raises(identity.InvalidCredentials):
            identity.authenticate(user_kind="staff", email="new@alpha.test", password=sent.user.password_hash,
                                  now=utcnow())
        assert staff_admin.status_of(sent.user) == "invited"

        user = invitations.accept_invitation(token=sent.token, new_password=NEW_PASSWORD, now=utcnow())
        db.session.commit()

        assert identity.authenticate(user_kind="staff", email="new@alpha.test", password=NEW_PASSWORD,
                                     now=utcnow()).id == user.id
        assert staff_admin.status_of(user) == "active"
        assert user.roles == {"agent"} and [g.code for g in staff_admin.groups_of(user)] == ["billing"]


def test_token_is_stored_hashed(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        sent = _invite()
        db.session.commit()
        stored = invitations.latest_invitation(user=sent.user)

    assert sent.token not in stored.token_hash and len(stored.token_hash) == 64


def test_a_link_works_once(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        sent = _invite()
        invitations.accept_invitation(token=sent.token, new_password=NEW_PASSWORD, now=utcnow())
        db.session.commit()

        with pytest.raises(invitations.InvitationNotValid) as refused:
            invitations.accept_invitation(token=sent.token, new_password="another-password-here", now=utcnow())

    assert refused.value.reason == "used"


def test_a_link_expires_after_seven_days(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        sent = _invite()
        db.session.commit()
        later = utcnow() + timedelta(days=7, seconds=1)

        with pytest.raises(invitations.InvitationNotValid) as refused:
            invitations.accept_invitation(token=sent.token, new_password=NEW_PASSWORD, now=later)

        assert refused.value.reason == "expired"
        assert staff_admin.status_of(sent.user) == "invited"


def test_reinviting_after_expiry_sends_a_working_link_and_voids_the_old_one(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        first = _invite()
        db.session.commit()
        later = utcnow() + timedelta(days=10)

        second = staff_admin.reinvite_staff(user=first.user, by=_admin(), now=later)
        db.session.commit()

        with pytest.raises(invitations.InvitationNotValid) as old:
            invitations.check_invitation(token=first.token, now=later)
        user = invitations.accept_invitation(token=second.token, new_password=NEW_PASSWORD, now=later)

    assert old.value.reason == "revoked"
    assert user.id == first.user.id


def test_weak_password_leaves_the_link_usable(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        sent = _invite()
        with pytest.raises(identity.WeakPassword):
            invitations.accept_invitation(token=sent.token, new_password="short", now=utcnow())

        invitations.check_invitation(token=sent.token, now=utcnow())  # still valid


def test_a_member_who_joined_cannot_be_invited_again(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        with pytest.raises(staff_admin.StaffChangeRefused) as refused:
            staff_admin.reinvite_staff(user=_admin("agent@alpha.test"), by=_admin(), now=utcnow())

    assert refused.value.code == "not_invited"


def test_an_address_already_on_staff_is_refused(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        with pytest.raises(staff_admin.StaffChangeRefused) as refused:
            _invite(email="Agent@Alpha.test")

    assert (refused.value.field, refused.value.code) == ("email", "email_taken")


def test_another_tenants_token_is_unknown(ctx, two_tenants):
    a, b = two_tenants
    with tenant_scope(b.tenant_id):
        sent = staff_admin.invite_staff(email="x@bravo.test", full_name="X", roles=["agent"], locale=None,
                                        by=None, now=utcnow())
        db.session.commit()
    with tenant_scope(a.tenant_id):
        with pytest.raises(invitations.InvitationNotValid) as refused:
            invitations.check_invitation(token=sent.token, now=utcnow())

    assert refused.value.reason == "unknown"


def test_deactivating_ends_the_members_sessions_at_once(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        agent = _admin("agent@alpha.test")
        opened = identity.open_session(user_kind="staff", user_id=agent.id, now=utcnow(),
                                       lifetime=timedelta(hours=8))
        identity.open_session(user_kind="staff", user_id=_admin().id, now=utcnow(), lifetime=timedelta(hours=8))
        db.session.commit()

        staff_admin.deactivate_staff(user=agent, by=_admin(), now=utcnow())
        db.session.commit()

        assert identity.user_for_session(user_kind="staff", token=opened.token, now=utcnow()) is None
        sessions = db.session.scalar(select(func.count(LoginSession.id)).where(LoginSession.user_id == agent.id))
        others = db.session.scalar(select(func.count(LoginSession.id)).where(LoginSession.user_id == _admin().id))
        with pytest.raises(identity.InvalidCredentials):
            identity.authenticate(user_kind="staff", email=agent.email, password="correct-horse-battery",
                                  now=utcnow())

    assert sessions == 0 and others == 1


def test_deactivating_voids_a_pending_invitation_and_reactivating_does_not_revive_it(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        sent = _invite()
        staff_admin.deactivate_staff(user=sent.user, by=_admin(), now=utcnow())
        staff_admin.reactivate_staff(user=sent.user, by=_admin(), now=utcnow())
        db.session.commit()

        with pytest.raises(invitations.InvitationNotValid) as refused:
            invitations.check_invitation(token=sent.token, now=utcnow())
        assert staff_admin.status_of(sent.user) == "invited"

    assert refused.value.reason == "revoked"


def test_reactivated_member_signs_in_again(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        agent = _admin("agent@alpha.test")
        staff_admin.deactivate_staff(user=agent, by=_admin(), now=utcnow())
        staff_admin.reactivate_staff(user=agent, by=_admin(), now=utcnow())
        db.session.commit()

        assert identity.authenticate(user_kind="staff", email=agent.email, password="correct-horse-battery",
                                     now=utcnow()).id == agent.id


def test_an_administrator_cannot_deactivate_themselves(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        admin = _admin()
        with pytest.raises(staff_admin.StaffChangeRefused) as refused:
            staff_admin.deactivate_staff(user=admin, by=admin, now=utcnow())

        assert admin.is_active
    assert refused.value.code == "self_deactivation"


def test_the_last_administrator_is_protected(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        admin = _admin()
        supervisor = _admin("supervisor@alpha.test")
        # An invited administrator who has not joined does not count: they cannot sign in yet.
        _invite(email="pending@alpha.test", roles=["tenant_admin"])

        with pytest.raises(staff_admin.StaffChangeRefused) as deactivation:
            staff_admin.deactivate_staff(user=admin, by=supervisor, now=utcnow())
        with pytest.raises(staff_admin.StaffChangeRefused) as demotion:
            staff_admin.update_access(user=admin, roles=["agent"], work_group_codes=[], by=supervisor,
                                      now=utcnow())

        assert admin.is_active and admin.roles == {"tenant_admin"}
    assert deactivation.value.code == demotion.value.code == "last_admin"


def test_an_administrator_may_be_removed_while_another_remains(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        admin = _admin()
        supervisor = _admin("supervisor@alpha.test")
        staff_admin.update_access(user=supervisor, roles=["supervisor", "tenant_admin"], work_group_codes=[],
                                  by=admin, now=utcnow())

        staff_admin.deactivate_staff(user=admin, by=supervisor, now=utcnow())

        assert not admin.is_active


def test_roles_and_work_groups_are_replaced_and_audited_with_their_author(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        admin = _admin()
        agent = _admin("agent@alpha.test")
        staff_admin.update_access(user=agent, roles=["agent"], work_group_codes=["front_office", "metering"],
                                  by=admin, now=utcnow())
        db.session.commit()

        with acting_as(Actor("staff", admin.id, admin.email)):
            staff_admin.update_access(user=agent, roles=["billing", "collections"], work_group_codes=["metering"],
                                      by=admin, now=utcnow())
            db.session.commit()

        assert agent.roles == {"billing", "collections"}
        assert [g.code for g in staff_admin.groups_of(agent)] == ["metering"]
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.entity_type.in_(("StaffRoleGrant", "WorkGroupMember")), AuditEvent.actor_id == admin.id)).all()
        assert {(e.entity_type, e.action) for e in events} == {
            ("StaffRoleGrant", "insert"), ("StaffRoleGrant", "delete"), ("WorkGroupMember", "delete")}
        assert all(e.actor_label == admin.email for e in events)


def test_unknown_role_or_group_changes_nothing(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        agent = _admin("agent@alpha.test")
        for roles, groups, field in ((["wizard"], [], "roles"), ([], [], "roles"), (["agent"], ["nope"],
                                                                                   "work_groups")):
            with pytest.raises(staff_admin.StaffChangeRefused) as refused:
                staff_admin.update_access(user=agent, roles=roles, work_group_codes=groups, by=_admin(),
                                          now=utcnow())
            assert refused.value.field == field
        assert agent.roles == {"agent"}
        assert db.session.scalar(select(func.count(WorkGroupMember.id))) == 0


def test_staff_list_gives_roles_groups_and_status(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        _invite(email="new@alpha.test", roles=["billing", "agent"], groups=["billing"])
        staff_admin.deactivate_staff(user=_admin("collections@alpha.test"), by=_admin(), now=utcnow())
        db.session.flush()

        rows = {row.user.email: row for row in staff_admin.list_staff()}

    assert rows["new@alpha.test"].roles == ("agent", "billing")
    assert [g.code for g in rows["new@alpha.test"].work_groups] == ["billing"]
    assert rows["new@alpha.test"].status == "invited"
    assert rows["collections@alpha.test"].status == "deactivated"
    assert rows["agent@alpha.test"].status == "active"
    assert len(rows) == 6
