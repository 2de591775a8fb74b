"""Staff administration pages (/backoffice/admin/staff) and an invited member joining through their link."""
from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import func, select

from domain.audit.models import AuditEvent
from domain.db import db, utcnow
from domain.identity.models import StaffUser
from tenants.context import tenant_scope

LINK = re.compile(r"https?://[^\s\"<>]+/backoffice/invitation/[A-Za-z0-9_\-]+")


def _office(browser, a, role="tenant_admin"):
    office = browser(a.slug)
    office.client.delete_cookie("session", domain=office.host)  # whoever was signed in on this browser
    office.login(a.staff_emails[role], area="/backoffice")
    return office


def _member(app, a, email) -> SimpleNamespace | None:
    """What the database holds of a staff member, read afresh."""
    with app.app_context(), tenant_scope(a.tenant_id):
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        if user is None:
            return None
        return SimpleNamespace(id=user.id, public_id=user.public_id, roles=set(user.roles),
                               is_active=user.is_active, locale=user.locale)


def _invite(office, **overrides):
    data = {"full_name": "Nadia Haddad", "email": "nadia@alpha.test", "locale": "fr",
            "roles": ["agent", "billing"], "work_groups": ["metering"], **overrides}
    return office.submit("/backoffice/admin/staff/invite", data)


def _link(mail) -> str:
    return LINK.search(mail.get_body(("plain",)).get_content()).group(0)


def test_staff_list_shows_roles_groups_status_and_last_sign_in(browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)

    page = office.get("/backoffice/admin/staff")

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Supervisor" in text and "supervisor@alpha.test" in text and "Customer service agent" in text
    assert "Active" in text and "Never" in text
    assert "bravo" not in text
    assert 'href="/backoffice/admin/staff"' in office.get("/backoffice/admin/").get_data(as_text=True)


def test_other_staff_cannot_open_staff_administration(browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a, "supervisor")

    assert office.get("/backoffice/admin/staff").status_code == 403
    assert office.get("/backoffice/admin/staff/invite").status_code == 403


def test_invitation_is_mailed_in_the_invitees_language_and_lets_them_join(app, browser, two_tenants, outbox):
    a, _b = two_tenants
    office = _office(browser, a)

    response = _invite(office)

    assert response.status_code == 302
    listed = office.get("/backoffice/admin/staff").get_data(as_text=True)
    assert "Nadia Haddad" in listed and "Invited" in listed
    [mail] = outbox()
    assert mail["To"] == "nadia@alpha.test" and "Alpha Utility" in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert "Bonjour Nadia Haddad" in body  # French, as chosen for her
    member = _member(app, a, "nadia@alpha.test")
    assert member.roles == {"agent", "billing"} and member.locale == "fr"

    newcomer = browser(a.slug)
    newcomer.client.delete_cookie("session", domain=newcomer.host)
    link = _link(mail)
    assert link.startswith("http://alpha.localhost/")
    path = link.split("alpha.localhost", 1)[1]
    form = newcomer.get(path)
    assert form.status_code == 200 and "nadia@alpha.test" in form.get_data(as_text=True)
    joined = newcomer.submit(path, {"password": "nadia-password-1", "confirm": "nadia-password-1"})

    assert joined.status_code == 302 and joined.headers["Location"].endswith("/backoffice/")
    assert newcomer.get("/backoffice/").status_code == 200  # signed in
    used = newcomer.get(path)
    assert used.status_code == 410 and 'name="password"' not in used.get_data(as_text=True)


def test_invitation_form_errors_per_field_and_nothing_is_created(app, browser, two_tenants, outbox):
    a, _b = two_tenants
    office = _office(browser, a)

    response = _invite(office, full_name="", email="not-an-address", roles=[])
    taken = _invite(office, email="agent@alpha.test")

    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter the person&#39;s full name." in text or "Enter the person's full name." in text
    assert "Enter a valid e-mail address." in text and "Choose at least one role." in text
    assert taken.status_code == 422 and "A staff member already has this e-mail address." in taken.get_data(
        as_text=True)
    assert outbox() == []
    assert _member(app, a, "not-an-address") is None


def test_expired_link_says_so_and_a_new_invitation_works(app, browser, two_tenants, outbox, clock):
    a, _b = two_tenants
    office = _office(browser, a)
    _invite(office)
    [first] = outbox()
    first_path = _link(first).split("alpha.localhost", 1)[1]
    member = _member(app, a, "nadia@alpha.test")

    clock.move_to(utcnow() + timedelta(days=8))
    expired = browser(a.slug).get(first_path)
    office = _office(browser, a)
    page = office.get(f"/backoffice/admin/staff/{member.public_id}")
    resent = office.submit(f"/backoffice/admin/staff/{member.public_id}", {},
                           action=f"/backoffice/admin/staff/{member.public_id}/invitation")

    assert expired.status_code == 410 and "has expired" in expired.get_data(as_text=True)
    assert "expired on" in page.get_data(as_text=True)
    assert resent.status_code == 302
    second = outbox()[-1]
    second_path = _link(second).split("alpha.localhost", 1)[1]
    assert second_path != first_path
    assert browser(a.slug).get(second_path).status_code == 200
    assert "has been replaced" in browser(a.slug).get(first_path).get_data(as_text=True)


def test_unknown_link_is_not_found(browser, two_tenants):
    a, _b = two_tenants

    response = browser(a.slug).get("/backoffice/invitation/no-such-token")

    assert response.status_code == 404 and "not valid" in response.get_data(as_text=True)


def test_edit_roles_and_work_groups_is_audited(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    agent = _member(app, a, "agent@alpha.test")
    admin = _member(app, a, "admin@alpha.test")
    path = f"/backoffice/admin/staff/{agent.public_id}"
    with app.app_context(), tenant_scope(a.tenant_id):
        before = db.session.scalar(select(func.max(AuditEvent.id)))

    response = office.submit(path, {"roles": ["agent", "supervisor"], "work_groups": ["front_office"]})

    assert response.status_code == 302
    page = office.get(path).get_data(as_text=True)
    assert "are saved" in page
    # The member's history says what changed and who changed it.
    assert "Roles: Customer service agent, Supervisor; work groups: Front office" in page
    assert "admin@alpha.test" in page.split("History", 1)[1]
    assert _member(app, a, "agent@alpha.test").roles == {"agent", "supervisor"}
    with app.app_context(), tenant_scope(a.tenant_id):
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.id > before)).all()
        assert {e.entity_type for e in events} == {"StaffRoleGrant", "WorkGroupMember", "StaffUser"}
        assert {(e.actor_kind, e.actor_id) for e in events} == {("staff", admin.id)}


def test_removing_every_role_is_refused(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    agent = _member(app, a, "agent@alpha.test")

    response = office.submit(f"/backoffice/admin/staff/{agent.public_id}", {"work_groups": ["front_office"]})

    assert response.status_code == 422 and "Choose at least one role." in response.get_data(as_text=True)
    assert _member(app, a, "agent@alpha.test").roles == {"agent"}


def test_deactivation_signs_the_member_out_at_once_and_reactivation_lets_them_back(app, browser, two_tenants):
    a, _b = two_tenants
    agent_office = _office(browser, a, "agent")
    agent_cookie = agent_office.cookie()
    assert agent_office.get("/backoffice/").status_code == 200
    office = _office(browser, a)  # the administrator, in the same browser: the agent's cookie is put back below
    admin_cookie = office.cookie()
    agent = _member(app, a, "agent@alpha.test")
    path = f"/backoffice/admin/staff/{agent.public_id}"

    def as_agent(path_):
        office.client.set_cookie("session", agent_cookie, domain=office.host)
        response = office.get(path_)
        office.client.set_cookie("session", admin_cookie, domain=office.host)
        return response

    unconfirmed = office.submit(path, {}, action=f"{path}/deactivate")
    still_in = as_agent("/backoffice/").status_code
    done = office.submit(path, {"confirm": "y"}, action=f"{path}/deactivate")
    signed_out = as_agent("/backoffice/")
    listed = office.get("/backoffice/admin/staff").get_data(as_text=True)
    office.client.delete_cookie("session", domain=office.host)
    refused = browser(a.slug).login(a.staff_emails["agent"], area="/backoffice")
    office = _office(browser, a)
    back = office.submit(path, {}, action=f"{path}/reactivate")
    office.client.delete_cookie("session", domain=office.host)
    again = browser(a.slug).login(a.staff_emails["agent"], area="/backoffice")

    assert unconfirmed.status_code == 422 and still_in == 200
    assert done.status_code == 302
    assert signed_out.status_code == 302 and "/backoffice/login" in signed_out.headers["Location"]
    assert "Deactivated" in listed
    assert refused.status_code == 200 and "not right" in refused.get_data(as_text=True)
    assert back.status_code == 302 and again.status_code == 302


def test_administrator_cannot_deactivate_themselves(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    admin = _member(app, a, "admin@alpha.test")
    path = f"/backoffice/admin/staff/{admin.public_id}"

    page = office.get(path).get_data(as_text=True)
    response = office.submit(path, {"confirm": "y"}, action=f"{path}/deactivate")

    assert "Deactivate…" not in page
    assert response.status_code == 422 and "You cannot deactivate yourself" in response.get_data(as_text=True)
    assert _member(app, a, "admin@alpha.test").is_active


def test_last_administrator_keeps_the_role(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    admin = _member(app, a, "admin@alpha.test")

    response = office.submit(f"/backoffice/admin/staff/{admin.public_id}", {"roles": ["agent"]})

    assert response.status_code == 422
    assert "remove your own administrator role" in response.get_data(as_text=True)
    assert _member(app, a, "admin@alpha.test").roles == {"tenant_admin"}


def test_an_administrator_resets_a_members_second_factor_and_ends_their_sessions(app, browser, two_tenants):
    from domain.identity.models import StaffSecondFactor
    from tests.factories import StaffSecondFactorFactory

    a, _b = two_tenants
    agent = _member(app, a, "agent@alpha.test")
    path = f"/backoffice/admin/staff/{agent.public_id}"
    with app.app_context(), tenant_scope(a.tenant_id):
        StaffSecondFactorFactory(user=db.session.get(StaffUser, agent.id))
        db.session.commit()
    member = browser(a.slug)
    member.login("agent@alpha.test", area="/backoffice")
    agent_session = member.cookie()  # the agent's browser, signed in
    office = _office(browser, a)
    with_it = office.get(path).get_data(as_text=True)

    done = office.submit(path, {}, action=f"{path}/second-factor/reset")
    after = office.get(path).get_data(as_text=True)

    assert "Reset the second factor" in with_it and done.status_code == 302
    assert "Reset the second factor" not in after  # nothing left to reset
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(StaffSecondFactor).where(
            StaffSecondFactor.staff_user_id == agent.id)) is None
    member.client.set_cookie("session", agent_session, domain=member.host)
    assert member.get("/backoffice/").status_code == 302  # signed out at once


def test_an_invited_administrator_enrols_a_second_factor_before_anything_else(app, browser, two_tenants, outbox):
    a, _b = two_tenants
    office = _office(browser, a)
    _invite(office, roles=["tenant_admin"])
    path = _link(outbox()[-1]).split("alpha.localhost", 1)[1]
    newcomer = browser(a.slug)
    newcomer.client.delete_cookie("session", domain=newcomer.host)

    joined = newcomer.submit(path, {"password": "nadia-password-1", "confirm": "nadia-password-1"})

    assert joined.status_code == 302 and joined.headers["Location"].endswith("/backoffice/login/second-factor")
    assert newcomer.get("/backoffice/").status_code == 302  # nothing else before the second factor
    assert newcomer.get(path).status_code == 410  # the password is set: the link is used up
