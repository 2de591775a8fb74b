"""Locale and time-zone selection and the formatting filters templates use."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from babel.dates import format_date, format_datetime, format_time, get_datetime_format
from babel.numbers import format_currency, format_decimal, format_percent
from flask import g, has_request_context, request, session
from flask_babel import get_locale, get_timezone, get_translations, to_user_timezone
from jinja2 import pass_eval_context
from markupsafe import Markup
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user

from domain.i18n import tenant_formatting_locale

LOCALES = ("en", "fr", "de", "es")
LOCALE_NAMES = {"en": "English", "fr": "Français", "de": "Deutsch", "es": "Español"}
ACTIVITY_NAMES = {"water": _l("Water"), "gas": _l("Gas"), "electricity": _l("Electricity"),
                  "heating": _l("Urban heating")}
# A meter's registers and units as customers read them (a mail's final readings...).
REGISTER_NAMES = {"TOTAL": _l("Total"), "PEAK": _l("Peak hours"), "OFFPEAK": _l("Off-peak hours")}
UNIT_LABELS = {"m3": "m³", "kWh": "kWh"}
# Staff roles (app/permissions.py), as a tenant administrator reads them.
ROLE_NAMES = {"agent": _l("Customer service agent"), "billing": _l("Billing"), "collections": _l("Collections"),
              "supervisor": _l("Supervisor"), "tenant_admin": _l("Administrator")}
STATUS_NAMES = {"active": _l("active"), "closed": _l("closed"), "suspended": _l("suspended"),
                "ended": _l("ended"), "pending": _l("pending")}
ENTITY_NAMES = {"CustomerAccount": _l("Account"), "Party": _l("Customer details"), "Contract": _l("Contract"),
                "ContactPoint": _l("Contact details"), "CustomerUser": _l("Online access"),
                "MeterReading": _l("Meter reading"), "Bill": _l("Bill"), "Payment": _l("Payment"),
                "ServiceRequest": _l("Request"), "StaffUser": _l("Staff member"),
                "DeliveryPoint": _l("Point of delivery"), "Premise": _l("Premise"), "Meter": _l("Meter"),
                "MeterInstallation": _l("Meter installation")}
RUN_STATUS_NAMES = {"pending": _l("waiting"), "running": _l("running"), "simulated": _l("simulated"),
                    "issuing": _l("issuing"), "completed": _l("completed"), "cancelled": _l("cancelled"),
                    "failed": _l("failed")}
EXCEPTION_NAMES = {"no_tariff": _l("No tariff in force"), "missing_meter": _l("No meter"),
                   "negative_consumption": _l("Negative consumption"),
                   "implausible_consumption": _l("Implausible consumption"),
                   "missing_readings": _l("No reading to bill from"), "error": _l("Error"),
                   "overlapping_tariffs": _l("Overlapping tariffs"),
                   "period_outside_contract": _l("Period outside the contract"),
                   "missing_prior_charges": _l("Estimated bills missing"),
                   "overlapping_meters": _l("Overlapping meters"), "meter_unit_mismatch": _l("Meters in other units"),
                   "missing_conversion_factor": _l("No calorific value"),
                   "unpriced_register": _l("Register without a price"),
                   "missing_subscribed_power": _l("No subscribed power"), "invalid_reading": _l("Invalid reading")}
BILL_KIND_NAMES = {"periodic": _l("periodic"), "final": _l("final bill"), "corrective": _l("corrective bill"),
                   "credit_note": _l("credit note"), "instalment": _l("instalment"), "true_up": _l("true-up")}
# A bill's payment status (domain.billing.bills.payment_status), as customers and staff read it.
BILL_PAYMENT_STATUS_NAMES = {
    "due": _l("Due"), "paid": _l("Paid"), "partly_paid": _l("Partly paid"), "overdue": _l("Overdue"),
    "cancelled": _l("Cancelled"), "credit_note": _l("Credit note"),
}
# Status words agree with the noun they qualify in languages with genders: a context where one English word needs two
# forms (a cancelled bill, "facture annulée", but a cancelled plan or batch, "plan annulé", "lot annulé").
BILL_STATUS_NAMES = {"draft": _l("draft"), "issued": _l("issued"),
                     "cancelled": lazy_pgettext("bill status", "cancelled")}
PLAN_STATUS_NAMES = {"active": lazy_pgettext("budget plan status", "active"),
                     "completed": lazy_pgettext("budget plan status", "completed"),
                     "cancelled": lazy_pgettext("budget plan status", "cancelled")}
# What happened to a record in its history ("Bill · created"): words that need no agreement with the record's noun
# where a participle would (French "création", not "créé" beside "Facture").
ACTION_NAMES = {"insert": lazy_pgettext("history action", "created"),
                "update": lazy_pgettext("history action", "changed"),
                "delete": lazy_pgettext("history action", "deleted"),
                "portal_update": lazy_pgettext("history action", "changed in the portal")}
PAYMENT_METHOD_NAMES = {"transfer": _l("bank transfer"), "card": _l("card"), "direct_debit": _l("direct debit")}


def select_locale() -> str:
    """The user's choice (profile, then the language picked on this browser), then the browser's preference among
    the languages the platform speaks, then the tenant's default. A page about one customer reached without
    signing in (one-click unsubscribe) sets `g.page_locale` to that customer's language first."""
    if has_request_context() and g.get("page_locale") in LOCALES:
        return g.page_locale
    user = getattr(current_user, "user", None) if current_user else None
    if user is not None and getattr(user, "locale", None) in LOCALES:
        return user.locale
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    if has_request_context():
        preferred = request.accept_languages.best_match(LOCALES)
        if preferred:
            return preferred
    tenant = g.get("tenant")
    if tenant is not None and tenant.default_locale in LOCALES:
        return tenant.default_locale
    return "en"


def format_locale() -> str:
    """The locale of numbers, dates and money on this page: its language as written in the tenant's country
    (en_IE on an English page of a French utility: "€60.00", "1 Nov 2026"; fr_BE for a Belgian one)."""
    return tenant_formatting_locale(str(get_locale()), _formatting_tenant())


def _formatting_tenant():
    return g.get("formatting_tenant") or g.get("tenant")


@contextmanager
def tenant_formats(tenant):
    """Format as `tenant` does while rendering outside its requests (a mail composed by a job)."""
    previous = g.get("formatting_tenant")
    g.formatting_tenant = tenant
    try:
        yield
    finally:
        g.formatting_tenant = previous


def tenant_zone():
    """The current tenant's time zone (for "today" at the edge)."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(select_timezone())


def tenant_today() -> date:
    """Today in the current tenant's time zone: due dates, reading windows and plans are dates there."""
    from domain.db import utcnow

    return utcnow().astimezone(tenant_zone()).date()


def select_timezone() -> str:
    tenant = _formatting_tenant()
    return tenant.timezone if tenant is not None else "UTC"


def money(amount: Decimal | None, currency: str | None = None) -> str:
    if amount is None:
        return ""
    if currency is None:
        tenant = g.get("tenant")
        currency = tenant.currency if tenant is not None else "EUR"
    return format_currency(amount, currency, locale=format_locale())


def quantity(value: Decimal | None, unit: str = "") -> str:
    if value is None:
        return ""
    text = format_decimal(value, format="#,##0.###", locale=format_locale())
    return f"{text}\u00a0{unit}" if unit else text


def number(value, digits: int = 0) -> str:
    """A count or a rate in the locale's digits and separators (10.000 / 1 068,2), with `digits` decimals."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(Decimal(str(value)), format=pattern, locale=format_locale())


def percent(value) -> str:
    """A whole percentage (0-100) as the locale writes it: 42% in English, 42 % in French and German."""
    return format_percent(Decimal(str(value or 0)) / 100, locale=format_locale())


def signed_percent(ratio) -> str:
    """A change as a signed whole percentage (+12 %, −5 %) in the page's locale; `ratio` 0.12 is +12 %."""
    return format_percent(ratio, "+#,##0%;-#,##0%", locale=format_locale())


def _date(value: date | None, fmt: str = "medium") -> str:
    """A date (or the date of a moment, in the user's time zone) in the page's locale; `fmt` a Babel
    format name or pattern ("MMM yy")."""
    if not value:
        return ""
    if isinstance(value, datetime):
        return format_date(to_user_timezone(value), fmt, locale=format_locale())
    return _plain_date(value, fmt, format_locale())


def _datetime(value: datetime | None, fmt: str = "medium") -> str:
    """`minutes`: the date as the `date` filter writes it (four-digit year) and the time to the minute; `short`
    has a two-digit year (29.11.26) beside dates written in full on the same page."""
    if not value:
        return ""
    locale = format_locale()
    if fmt == "minutes":
        moment = to_user_timezone(value)
        pattern = str(get_datetime_format("medium", locale=locale))
        return pattern.replace("{1}", format_date(moment, "medium", locale=locale)).replace(
            "{0}", format_time(moment, "short", locale=locale))
    return format_datetime(value, fmt, tzinfo=get_timezone(), locale=locale)


# The formatting helpers views use (same output as the template filters).
format_day = _date
format_moment = _datetime


# --- fast paths for pages -------------------------------------------------------------------------------------------
# A page calls gettext dozens of times and formats a dozen amounts and dates. Flask-Babel looks the locale, domain
# and catalogue up again on every call; here each page's render looks them up once (a context processor gives the
# template gettext functions bound to this locale's catalogue) and formatted dates are remembered.

def _newstyle(translations):
    """Jinja's "newstyle" gettext callables (autoescaped, `%(name)s` variables) over one catalogue."""
    # pass_eval_context, not pass_context: in a loop, Jinja derives a new context for every pass_context call.
    @pass_eval_context
    def gettext(eval_ctx, string, **variables):
        rv = translations.ugettext(string)
        if eval_ctx.autoescape:
            rv = Markup(rv)
        return rv % variables

    @pass_eval_context
    def ngettext(eval_ctx, singular, plural, num, **variables):
        variables.setdefault("num", num)
        rv = translations.ungettext(singular, plural, num)
        if eval_ctx.autoescape:
            rv = Markup(rv)
        return rv % variables

    return {"gettext": gettext, "_": gettext, "ngettext": ngettext}


_BOUND: dict[tuple[str, int], dict] = {}


def _gettext_for_page() -> dict:
    translations = get_translations()
    key = (str(get_locale()), id(translations))
    bound = _BOUND.get(key)
    if bound is None:
        bound = _BOUND[key] = _newstyle(translations)
    return bound


@lru_cache(maxsize=4096)
def _plain_date(value: date, fmt: str, locale: str) -> str:
    return format_date(value, fmt, locale=locale)


def init_i18n(app) -> None:
    app.context_processor(_gettext_for_page)
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["quantity"] = quantity
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.filters["date"] = _date
    app.jinja_env.filters["datetime"] = _datetime

    @app.context_processor
    def _i18n_context():
        return {"current_locale": str(get_locale()), "format_locale": format_locale(),
                "locales": LOCALES, "locale_names": LOCALE_NAMES,
                "activity_names": ACTIVITY_NAMES, "status_names": STATUS_NAMES,
                "register_names": REGISTER_NAMES, "unit_labels": UNIT_LABELS,
                "payment_method_names": PAYMENT_METHOD_NAMES, "entity_names": ENTITY_NAMES,
                "action_names": ACTION_NAMES, "run_status_names": RUN_STATUS_NAMES,
                "exception_names": EXCEPTION_NAMES, "bill_kind_names": BILL_KIND_NAMES,
                "bill_status_names": BILL_STATUS_NAMES, "bill_payment_status_names": BILL_PAYMENT_STATUS_NAMES,
                "plan_status_names": PLAN_STATUS_NAMES}
