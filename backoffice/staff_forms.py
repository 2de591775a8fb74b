"""Forms of the staff administration pages (invite, roles and work groups)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, SelectMultipleField, StringField, ValidationError
from wtforms.validators import DataRequired, Length, Regexp

from app.auth_forms import EMAIL_SHAPE
from app.i18n import LOCALE_NAMES, LOCALES, ROLE_NAMES
from app.permissions import ROLE_PERMISSIONS

# What each role is for, in words a tenant administrator reads (the codes are app/permissions.py's).
ROLE_DESCRIPTIONS = {
    "agent": _l("Customers, their readings and requests; works task queues."),
    "billing": _l("Billing runs and readings to check."),
    "collections": _l("Payments, direct debits and dunning."),
    "supervisor": _l("Everything customer service does, plus collections and the audit history."),
    "tenant_admin": _l("Everything, including this administration area."),
}


class _AccessFields(FlaskForm):
    roles = SelectMultipleField(_l("Roles"), choices=[], validate_choice=False,
                                validators=[DataRequired(_l("Choose at least one role."))])
    work_groups = SelectMultipleField(_l("Work groups"), choices=[], validate_choice=False)

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.roles.choices = [(role, ROLE_NAMES[role]) for role in ROLE_PERMISSIONS]
        self.work_groups.choices = [(group.code, label) for group, label in groups]

    def validate_roles(self, field):
        if any(role not in ROLE_PERMISSIONS for role in field.data or ()):
            raise ValidationError(_l("Choose roles from the list."))

    def validate_work_groups(self, field):
        known = {code for code, _label in self.work_groups.choices}
        if any(code not in known for code in field.data or ()):
            raise ValidationError(_l("Choose work groups from the list."))


class InviteStaffForm(_AccessFields):
    # Declared in the page's order: the error summary lists problems in field order.
    full_name = StringField(_l("Full name"), validators=[
        DataRequired(_l("Enter the person's full name.")), Length(max=120, message=_l("Use at most 120 characters."))])
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter the person's e-mail address.")),
        Regexp(EMAIL_SHAPE, message=_l("Enter a valid e-mail address.")),
        Length(max=254, message=_l("Use at most 254 characters."))])
    locale = SelectField(_l("Language of the invitation and the back office"), choices=[], default="")

    def __init__(self, *args, default_locale: str = "en", **kwargs):
        super().__init__(*args, **kwargs)
        default_name = LOCALE_NAMES.get(default_locale, default_locale)
        self.locale.choices = [("", _l("The utility's language (%(name)s)", name=default_name))] + [
            (code, LOCALE_NAMES[code]) for code in LOCALES]

    # The access fields come after name and e-mail on the page.
    _order = ("full_name", "email", "locale", "roles", "work_groups")

    def __iter__(self):
        return iter([self._fields[name] for name in self._order] + [
            f for name, f in self._fields.items() if name not in self._order])


class StaffAccessForm(_AccessFields):
    """Roles and work groups of a staff member."""
