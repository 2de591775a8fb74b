"""Platform console: create a utility through a short wizard (the utility, its regional settings, its first
administrator, a last check), on the console blueprint. The same service as `flask tenants create`.

Each step checks its own fields and carries the others in hidden fields, so the wizard works without JavaScript and
keeps nothing on the server until the last step; the regional settings arrive filled in from the country.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.validators import Length, Optional

from app.auth import operator_required
from app.i18n import ACTIVITY_NAMES, LOCALE_NAMES, LOCALES
from app.invitation_mail import send_invitation
from domain.db import utcnow
from tenants import services as tenants
from tenants.console import bp
from tenants.countries import country_choices, country_defaults, is_country

STEPS = ("utility", "settings", "administrator", "review")
STEP_TITLES = {"utility": _l("The utility"), "settings": _l("Regional settings"),
               "administrator": _l("First administrator"), "review": _l("Check and create")}
STEP_FIELDS = {
    "utility": ("name", "slug", "custom_domain", "activities", "country"),
    "settings": ("default_locale", "currency", "timezone"),
    "administrator": ("admin_name", "admin_email", "admin_locale"),
    "review": (),
}
# The service's problem codes (tenants.services.PROBLEM_ENGLISH) in the operator's language, per field.
PROBLEM_MESSAGES = {
    ("name", "required"): _l("Enter the utility's name."),
    ("slug", "slug_invalid"): _l("Use 1 to 40 lower-case letters, digits or hyphens, not starting or ending with a "
                                 "hyphen (www, console, api, admin and static are reserved)."),
    ("slug", "slug_taken"): _l("Another utility already has this web address."),
    ("custom_domain", "domain_invalid"): _l("Enter a host name such as customers.example.com, or leave it empty."),
    ("custom_domain", "domain_taken"): _l("Another utility already has this domain."),
    ("activities", "activities_invalid"): _l("Choose at least one activity."),
    ("country", "country_unknown"): _l("Choose the country from the list."),
    ("default_locale", "locale_unknown"): _l("Choose a language from the list."),
    ("currency", "currency_unknown"): _l("Enter a currency code of three letters, such as EUR, GBP or CHF."),
    ("timezone", "timezone_unknown"): _l("Enter a time zone such as Europe/Paris."),
    ("admin_name", "required"): _l("Enter the administrator's full name."),
    ("admin_email", "email_invalid"): _l("Enter a valid e-mail address, such as name@example.com."),
}


class WizardForm(FlaskForm):
    step = HiddenField()
    defaults_for = HiddenField()  # the country the regional settings were last filled in from
    name = StringField(_l("Name of the utility"), validators=[Length(max=120, message=_l(
        "Use at most 120 characters."))])
    slug = StringField(_l("Web address"), validators=[Length(max=40, message=_l("Use at most 40 characters."))])
    custom_domain = StringField(_l("Custom domain (optional)"), validators=[Optional(), Length(max=253, message=_l(
        "Use at most 253 characters."))])
    activities = SelectMultipleField(_l("Activities"), choices=[], validate_choice=False)
    country = SelectField(_l("Country"), choices=[], validate_choice=False)
    default_locale = SelectField(_l("Default language"), choices=[], validate_choice=False)
    currency = StringField(_l("Currency"))
    timezone = StringField(_l("Time zone"))
    admin_name = StringField(_l("Full name"), validators=[Length(max=120, message=_l("Use at most 120 characters."))])
    admin_email = EmailField(_l("E-mail address"), validators=[Length(max=254, message=_l(
        "Use at most 254 characters."))])
    admin_locale = SelectField(_l("Language of the invitation"), choices=[], validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.activities.choices = [(code, ACTIVITY_NAMES[code]) for code in tenants.ACTIVITIES]
        self.country.choices = [("", _l("Choose a country"))] + country_choices(str(get_locale() or "en"))
        self.default_locale.choices = [(code, LOCALE_NAMES[code]) for code in LOCALES]
        self.admin_locale.choices = [("", _l("The utility's default language"))] + [
            (code, LOCALE_NAMES[code]) for code in LOCALES]

    def values(self) -> dict:
        """The fields as the service takes them."""
        return dict(
            name=(self.name.data or "").strip(), slug=(self.slug.data or "").strip().lower(),
            custom_domain=(self.custom_domain.data or "").strip().lower() or None,
            activities=list(self.activities.data or []), country=self.country.data or "",
            default_locale=self.default_locale.data or "", currency=(self.currency.data or "").strip().upper(),
            timezone=(self.timezone.data or "").strip(), admin_name=(self.admin_name.data or "").strip(),
            admin_email=(self.admin_email.data or "").strip(), admin_locale=self.admin_locale.data or None,
        )


def _problems_of(form: WizardForm, fields: tuple[str, ...]) -> dict:
    values = form.values()
    problems = tenants.check_tenant_fields(**{k: v for k, v in values.items() if k != "admin_locale"})
    if not is_country(values["country"]):  # the wizard asks for the country (the command line need not)
        problems["country"] = tenants.FieldProblem("country_unknown", values["country"])
    if "slug" in fields and "slug" not in problems:
        problems.update(tenants.taken_fields(slug=values["slug"], custom_domain=values["custom_domain"]))
    return {field: problem for field, problem in problems.items() if field in fields}


def _show_problems(form: WizardForm, problems: dict) -> None:
    for field, problem in problems.items():
        message = PROBLEM_MESSAGES.get((field, problem.code), problem.english())
        getattr(form, field).errors = list(getattr(form, field).errors or []) + [message]


def _fill_from_country(form: WizardForm) -> None:
    """The regional settings as the country has them, unless already filled in from this very country."""
    country = form.country.data
    if not is_country(country) or form.defaults_for.data == country:
        return
    defaults = country_defaults(country, on=utcnow().date())
    form.default_locale.data = defaults.locale
    form.currency.data = defaults.currency or ""
    form.timezone.data = defaults.timezone or ""
    form.defaults_for.data = country


def _render(form: WizardForm, step: str, status: int = 200):
    form.step.data = step
    zones = ()
    if is_country(form.country.data):
        zones = country_defaults(form.country.data, on=utcnow().date()).timezones
    country_name = dict(form.country.choices).get(form.country.data, "")
    return render_template("console/wizard.html", form=form, step=step, steps=STEPS, step_titles=STEP_TITLES,
                           step_fields=STEP_FIELDS, zones=zones, country_name=country_name,
                           activity_names=ACTIVITY_NAMES, locale_names=LOCALE_NAMES), status


@bp.route("/tenants/new", methods=["GET", "POST"])
@operator_required
def new_tenant():
    form = WizardForm()
    if request.method == "GET":
        return _render(form, "utility")
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            return _render(form, "utility", 400)
    step = form.step.data if form.step.data in STEPS else "utility"
    go = request.form.get("go", "next")
    if go.startswith("edit:") and go[5:] in STEPS:  # "Change" on the last step
        return _render(form, go[5:])
    index = STEPS.index(step)
    if go == "back":
        return _render(form, STEPS[max(index - 1, 0)])
    problems = _problems_of(form, STEP_FIELDS[step])
    if form.errors or problems:
        _show_problems(form, problems)
        return _render(form, step, 422)
    if step == "utility":
        _fill_from_country(form)
    if step != "review":
        return _render(form, STEPS[index + 1])
    return _create(form)


def _create(form: WizardForm):
    values = form.values()
    try:
        onboarded = tenants.onboard_tenant(**values, now=utcnow())
    except tenants.TenantError as exc:
        _show_problems(form, exc.problems)
        first = next((step for step in STEPS if set(STEP_FIELDS[step]) & set(exc.problems)), "review")
        return _render(form, first, 422)
    send_invitation(tenant=onboarded.tenant, sent=onboarded.invitation, inviter=None)
    flash(_("%(name)s is created. We have e-mailed %(email)s an invitation to choose a password; the link works "
            "once, for 7 days.", name=onboarded.tenant.name, email=onboarded.admin_email), "success")
    return redirect(url_for("console.home"))
