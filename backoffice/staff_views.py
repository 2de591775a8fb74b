"""Staff administration (tenant administrators, `admin.configure`): the list, invitations, roles and work groups,
deactivation and reactivation, resetting a second factor. Members are named in URLs by their public reference."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from app.auth import staff_permission
from app.csv_export import wants_csv
from backoffice import exports
from app.confirmation import confirm_form, confirmed
from app.invitation_mail import send_invitation
from backoffice import texts
from backoffice.admin_views import bp
from app.i18n import ROLE_NAMES
from backoffice.staff_forms import ROLE_DESCRIPTIONS, InviteStaffForm, StaffAccessForm
from domain.db import db, utcnow
from domain.identity.second_factor import reset_second_factor
from domain.identity import invitations
from domain.identity import staff as staff_admin

STATUS_NAMES = {"invited": _l("Invited"), "active": _l("Active"), "deactivated": _l("Deactivated")}
REFUSALS = {
    "email_taken": _l("A staff member already has this e-mail address."),
    "no_role": _l("Choose at least one role."),
    "unknown_role": _l("Choose roles from the list."),
    "unknown_group": _l("Choose work groups from the list."),
    "self_deactivation": _l("You cannot deactivate yourself: ask another administrator."),
    "own_admin_role": _l("You cannot remove your own administrator role: ask another administrator."),
    "last_admin": _l("This is the last administrator who can sign in: make someone else an administrator first."),
    "not_invited": _l("This person has already joined: there is nothing to invite them to."),
}
# The member's history (domain.identity.staff.history_of), line by line.
HISTORY_ACTIONS = {"staff_reinvited": _l("New invitation sent"), "staff_joined": _l("Joined: password chosen"),
                   "staff_deactivated": _l("Deactivated, signed out everywhere"),
                   "staff_reactivated": _l("Reactivated")}
DeactivateForm = confirm_form(_l("Tick the box to confirm that this person is to be deactivated."))


def _history_line(event, group_names: dict[str, str]) -> str:
    details = event.changes or {}
    roles = ", ".join(str(ROLE_NAMES.get(role, role)) for role in details.get("roles", ()))
    groups = ", ".join(group_names.get(code, code) for code in details.get("work_groups", ())) or "—"
    if event.action == "staff_invited":
        return _("Invited as %(roles)s; work groups: %(groups)s", roles=roles, groups=groups)
    if event.action == "staff_access_changed":
        return _("Roles: %(roles)s; work groups: %(groups)s", roles=roles, groups=groups)
    return str(HISTORY_ACTIONS.get(event.action, event.action))


def _member_or_404(public_id: str):
    user = staff_admin.staff_by_public_id(public_id)
    if user is None:
        abort(404)
    return user


def _groups():
    return [(group, texts.work_group_name(group)) for group in staff_admin.work_groups()]


def _by():
    return current_user.user


def _refusal(exc: staff_admin.StaffChangeRefused) -> str:
    return str(REFUSALS.get(exc.code, exc.code))


@bp.get("/staff")
@staff_permission("admin.configure")
def staff():
    if wants_csv():
        return exports.staff(staff_admin.list_staff(), status_names=STATUS_NAMES, work_group_name=texts.work_group_name)
    return render_template("backoffice/admin/staff.html", rows=staff_admin.list_staff(), role_names=ROLE_NAMES,
                           status_names=STATUS_NAMES)


@bp.route("/staff/invite", methods=["GET", "POST"])
@staff_permission("admin.configure")
def invite_staff():
    form = InviteStaffForm(groups=_groups(), default_locale=g.tenant.default_locale)
    if form.validate_on_submit():
        try:
            sent = staff_admin.invite_staff(email=form.email.data, full_name=form.full_name.data,
                                            roles=form.roles.data, work_group_codes=form.work_groups.data,
                                            locale=form.locale.data or None, by=_by(), now=utcnow())
        except staff_admin.StaffChangeRefused as exc:
            getattr(form, exc.field).errors.append(_refusal(exc))
        else:
            db.session.flush()
            send_invitation(tenant=g.tenant, sent=sent, inviter=_by().full_name)
            flash(_("%(name)s is invited: we have e-mailed %(email)s a link to choose a password.",
                    name=sent.user.full_name, email=sent.user.email), "success")
            return redirect(url_for("admin.staff"))
    return render_template("backoffice/admin/staff_invite.html", form=form, role_names=ROLE_NAMES,
                           role_descriptions=ROLE_DESCRIPTIONS), 422 if form.errors else 200


def _member_page(user, form, *, deactivate_form=None, status: int = 200, problem: str | None = None):
    latest = invitations.latest_invitation(user=user)
    group_names = {group.code: label for group, label in _groups()}
    history = [(event, _history_line(event, group_names)) for event in staff_admin.history_of(user)]
    return render_template(
        "backoffice/admin/staff_member.html", member=user, form=form, status=staff_admin.status_of(user),
        status_names=STATUS_NAMES, role_descriptions=ROLE_DESCRIPTIONS, latest_invitation=latest,
        now=utcnow(), is_self=user.id == _by().id, problem=problem,
        deactivate_form=deactivate_form or DeactivateForm(formdata=None), action_form=FlaskForm(),
        can_reset_second_factor=user.has_second_factor and user.id != _by().id, history=history,
    ), status


@bp.route("/staff/<public_id>", methods=["GET", "POST"])
@staff_permission("admin.configure")
def staff_member(public_id: str):
    user = _member_or_404(public_id)
    form = StaffAccessForm(groups=_groups(), data=_access_data(user))  # what is posted, when it is, wins
    if form.validate_on_submit():
        try:
            staff_admin.update_access(user=user, roles=form.roles.data, work_group_codes=form.work_groups.data,
                                      by=_by(), now=utcnow())
        except staff_admin.StaffChangeRefused as exc:
            getattr(form, exc.field).errors.append(_refusal(exc))
        else:
            flash(_("The roles and work groups of %(name)s are saved.", name=user.full_name), "success")
            return redirect(url_for("admin.staff_member", public_id=user.public_id))
    return _member_page(user, form, status=422 if form.errors else 200)


def _access_data(user) -> dict:
    return {"roles": sorted(user.roles), "work_groups": [group.code for group in staff_admin.groups_of(user)]}


def _access_form(user):
    return StaffAccessForm(groups=_groups(), formdata=None, data=_access_data(user))


@bp.post("/staff/<public_id>/deactivate")
@staff_permission("admin.configure")
def deactivate_staff(public_id: str):
    user = _member_or_404(public_id)
    form = DeactivateForm()
    if not confirmed(form):
        return _member_page(user, _access_form(user), deactivate_form=form, status=422)
    try:
        staff_admin.deactivate_staff(user=user, by=_by(), now=utcnow())
    except staff_admin.StaffChangeRefused as exc:
        return _member_page(user, _access_form(user), status=422, problem=_refusal(exc))
    flash(_("%(name)s is deactivated and has been signed out everywhere.", name=user.full_name), "success")
    return redirect(url_for("admin.staff_member", public_id=user.public_id))


@bp.post("/staff/<public_id>/reactivate")
@staff_permission("admin.configure")
def reactivate_staff(public_id: str):
    user = _member_or_404(public_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    staff_admin.reactivate_staff(user=user, by=_by(), now=utcnow())
    flash(_("%(name)s is active again.", name=user.full_name), "success")
    return redirect(url_for("admin.staff_member", public_id=user.public_id))


@bp.post("/staff/<public_id>/invitation")
@staff_permission("admin.configure")
def reinvite_staff(public_id: str):
    user = _member_or_404(public_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        sent = staff_admin.reinvite_staff(user=user, by=_by(), now=utcnow())
    except staff_admin.StaffChangeRefused as exc:
        return _member_page(user, _access_form(user), status=422, problem=_refusal(exc))
    send_invitation(tenant=g.tenant, sent=sent, inviter=_by().full_name)
    flash(_("A new invitation is on its way to %(email)s; earlier links no longer work.", email=user.email),
          "success")
    return redirect(url_for("admin.staff_member", public_id=user.public_id))


@bp.post("/staff/<public_id>/second-factor/reset")
@staff_permission("admin.configure")
def reset_staff_second_factor(public_id: str):
    user = _member_or_404(public_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if user.id == _by().id:  # one's own factor is changed from one's own account page, not reset here
        abort(403)
    reset_second_factor(user, by=_by(), now=utcnow())
    flash(_("The second factor of %(name)s is reset: they will set up a new one at their next sign-in.",
            name=user.full_name), "success")
    return redirect(url_for("admin.staff_member", public_id=user.public_id))
