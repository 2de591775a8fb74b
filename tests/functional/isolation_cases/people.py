"""Isolation cases of staff administration, staff invitations and the console's wizard: tenant A's administrator
never reaches tenant B's staff; B's invitation link is unknown on A's host; the wizard is not on tenants' hosts."""
from __future__ import annotations

from sqlalchemy import select

from domain.db import db, utcnow
from domain.identity import staff as staff_admin
from domain.identity.models import StaffUser
from tenants.context import tenant_scope
from tests.isolation import MISSING, _same_as_missing


def _public_id(app, data, role="agent") -> str:
    with app.app_context(), tenant_scope(data.tenant_id):
        return db.session.scalar(select(StaffUser.public_id).where(StaffUser.email == data.staff_emails[role]))


def _admin_office(browser, a):
    office = browser(a.slug)
    office.login(a.staff_emails["tenant_admin"], area="/backoffice")
    return office


def _unchanged(app, b, role="agent"):
    with app.app_context(), tenant_scope(b.tenant_id):
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == b.staff_emails[role]))
        return user.is_active, set(user.roles)


def case_admin_staff(app, browser, a, b):
    page = _admin_office(browser, a).get("/backoffice/admin/staff")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert a.staff_emails["agent"] in text and b.staff_emails["agent"] not in text


def case_admin_invite_staff(app, browser, a, b):
    office = _admin_office(browser, a)
    response = office.submit("/backoffice/admin/staff/invite", {
        "full_name": "Someone", "email": b.staff_emails["agent"], "roles": ["agent"]})
    # B's agent's address is free on A: the invitation is A's alone, B's member is untouched.
    assert response.status_code == 302
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(StaffUser.id).where(StaffUser.email == b.staff_emails["agent"]))
    assert _unchanged(app, b) == (True, {"agent"})


def case_admin_staff_member(app, browser, a, b):
    office = _admin_office(browser, a)
    foreign = _public_id(app, b)
    _same_as_missing(office, f"/backoffice/admin/staff/{foreign}", f"/backoffice/admin/staff/{MISSING}", foreign)
    posted = office.submit("/backoffice/admin/staff", {"roles": ["tenant_admin"]},
                           action=f"/backoffice/admin/staff/{foreign}")
    assert posted.status_code == 404 and _unchanged(app, b) == (True, {"agent"})


def _foreign_post(app, browser, a, b, suffix, data=None):
    office = _admin_office(browser, a)
    foreign = _public_id(app, b)
    response = office.submit("/backoffice/admin/staff", data or {},
                             action=f"/backoffice/admin/staff/{foreign}/{suffix}")
    missing = office.submit("/backoffice/admin/staff", data or {},
                            action=f"/backoffice/admin/staff/{MISSING}/{suffix}")
    assert response.status_code == missing.status_code == 404
    return response


def case_admin_deactivate_staff(app, browser, a, b):
    _foreign_post(app, browser, a, b, "deactivate", {"confirm": "y"})
    assert _unchanged(app, b) == (True, {"agent"})


def case_admin_reactivate_staff(app, browser, a, b):
    with app.app_context(), tenant_scope(b.tenant_id):
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == b.staff_emails["agent"]))
        user.is_active = False
        db.session.commit()
    _foreign_post(app, browser, a, b, "reactivate")
    assert _unchanged(app, b)[0] is False


def case_admin_reinvite_staff(app, browser, a, b):
    with app.app_context(), tenant_scope(b.tenant_id):
        staff_admin.invite_staff(email="pending@bravo.test", full_name="Pending", roles=["agent"], locale=None,
                                 by=None, now=utcnow())
        db.session.commit()
        pending = db.session.scalar(select(StaffUser.public_id).where(StaffUser.email == "pending@bravo.test"))
    office = _admin_office(browser, a)
    response = office.submit("/backoffice/admin/staff", {}, action=f"/backoffice/admin/staff/{pending}/invitation")
    assert response.status_code == 404


def case_admin_reset_staff_second_factor(app, browser, a, b):
    _foreign_post(app, browser, a, b, "second-factor/reset")


def case_backoffice_accept_invitation(app, browser, a, b):
    with app.app_context(), tenant_scope(b.tenant_id):
        sent = staff_admin.invite_staff(email="joiner@bravo.test", full_name="Joiner", roles=["agent"], locale=None,
                                        by=None, now=utcnow())
        db.session.commit()
    _same_as_missing(browser(a.slug), f"/backoffice/invitation/{sent.token}", f"/backoffice/invitation/{MISSING}",
                     sent.token)
    assert browser(b.slug).get(f"/backoffice/invitation/{sent.token}").status_code == 200


def case_console_new_tenant(app, browser, a, b):
    assert browser(a.slug).get("/console/tenants/new").status_code == 404
