"""Back-office pages: staff sign-in, home, customer search and the customer file."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, url_for
from datetime import date, datetime, timedelta
from functools import partial
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from app.auth import staff_permission
from app.confirmation import confirm_form, confirmed
from app.i18n import (LOCALE_NAMES, PAYMENT_METHOD_NAMES, STATUS_NAMES, format_day, format_moment, quantity,
                      tenant_today, tenant_zone)
from app.auth_views import register_auth_views
from app.second_factor_views import register_second_factor_views
from app.csv_export import wants_csv
from backoffice import exports, history_words, texts
from backoffice.customer_sections import loaded_sections
from backoffice.dashboard import home_figures
from backoffice.campaign_texts import RECIPIENT_STATUS_NAMES, SKIP_REASONS
from domain.campaigns import services as campaign_services
from domain.audit import services as audit
from domain.billing import bills, corrections, down_payments
from domain.billing.document_jobs import DocumentUnavailable
from domain.billing.payment_method import payment_method_at
from domain.payments import mandates
from domain.payments import services as card_payments
from domain.db import db, utcnow
from domain.contracts import services as accounts
from domain.search import services as search
from backoffice.search_texts import MATCH_HOW, MATCH_NAMES, search_csv
from domain.communications import pipeline as communications
from app.message_wording import FAILURE_NAMES as MESSAGE_FAILURE_NAMES
from app.message_wording import STATUS_NAMES as MESSAGE_STATUS_NAMES
from app.message_wording import kind_name

bp = Blueprint("backoffice", __name__)
# Stored English texts, worded in the staff member's language where templates show them.
bp.add_app_template_global(texts.work_group_name, "work_group_name")
bp.add_app_template_global(texts.task_title, "task_title")
bp.add_app_template_global(texts.exception_detail, "exception_detail")
SEARCH_LIMIT = 50

# The history of changes names the fields the audit trail records by their column; staff read these words instead.
HISTORY_FIELDS = {
    "account_number": _l("Customer number"), "status": _l("Status"), "billing_cycle": _l("Billing cycle"),
    "payment_method": _l("Payment method"), "paperless": _l("Paperless billing"),
    "activation_code": _l("Activation code"), "locale": _l("Language"), "opened_on": _l("Customer since"),
    "closed_on": _l("Closed on"), "holder_party_id": _l("Holder"), "contract_number": _l("Contract number"),
    "start_date": _l("Start date"), "end_date": _l("End date"), "billing_frequency": _l("Billing frequency"),
    "estimated_annual_consumption": _l("Estimated annual consumption"), "billed_until": _l("Billed until"),
    "offer_id": _l("Offer"), "delivery_point_id": _l("Point of delivery"), "account_id": _l("Customer account"),
    "title": _l("Title"), "first_name": _l("First name"), "last_name": _l("Last name"),
    "organisation_name": _l("Organisation name"), "registration_number": _l("Registration number"),
    "birth_date": _l("Date of birth"),
    "readings_prevented_from": _l("Readings prevented since"),
    "readings_prevented_reason": _l("How the customer prevented readings"),
    # What customers change themselves in the portal (domain.identity.profile).
    "phone": _l("Phone number"), "email": _l("E-mail address"), "postal_address": _l("Postal address"),
    "marketing_consent": _l("News and offers"),
    # What staff enter (domain.entry): contact points, points of delivery, meters and their installation.
    "value": _l("E-mail address or phone number"), "verified_at": _l("Verified on"),
    "address_line1": _l("Address"), "address_line2": _l("Address line 2 (optional)"), "postcode": _l("Postcode"),
    "city": _l("Town or city"), "country": _l("Country"), "identifier": _l("Point of delivery identifier"),
    "serial_number": _l("Meter serial number"), "installed_on": _l("Meter installed on"),
    "removed_on": _l("Removed on"), "digits": _l("Digits before the decimal point"), "multiplier": _l("Multiplier"),
    "is_smart": _l("Smart meter (sends its readings)"),
}
FREQUENCY_NAMES = {"monthly": _l("monthly"), "bimonthly": _l("every two months"), "quarterly": _l("quarterly"),
                   "biannual": _l("twice a year"), "annual": _l("yearly")}
HISTORY_CHOICES = {"status": STATUS_NAMES, "payment_method": PAYMENT_METHOD_NAMES, "locale": LOCALE_NAMES,
                   "billing_frequency": FREQUENCY_NAMES}
REDACTED = "[redacted]"
# Business events of staff data entry (domain.entry, domain.readings), as the history names them.
ENTRY_ACTIONS = {"customer_created": _l("Customer created"), "supply_added": _l("Point of delivery and contract added"),
                 "reading_entered": _l("Reading entered for the customer"), "meter_exchanged": _l("Meter exchanged")}
ENTRY_CHANNELS = {"phone": _l("given on the phone"), "meter_reader": _l("read by a meter reader")}


def _history_value(field: str, value) -> str:
    """A recorded value as staff read it: words for codes, dates and quantities in their language."""
    if value is None or value == "":
        return "—"
    if field == "postal_address" and isinstance(value, dict):
        return _postal_address(value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    names = HISTORY_CHOICES.get(field)
    if names is not None and value in names:
        return str(names[value])
    if field == "estimated_annual_consumption":
        try:
            return quantity(Decimal(str(value)))
        except ArithmeticError:
            return str(value)
    if isinstance(value, str):
        try:
            return format_day(date.fromisoformat(value)) if len(value) == 10 else \
                format_moment(datetime.fromisoformat(value), "short")
        except ValueError:
            return value
    return str(value)


def _postal_address(address: dict) -> str:
    """12 avenue Foch, 69006 Lyon, France: the country named in the staff member's language."""
    from flask_babel import get_locale

    from domain.i18n import country_name

    town = " ".join(part for part in (address.get("postcode"), address.get("city")) if part)
    country = address.get("country")
    parts = (address.get("address_line1"), address.get("address_line2"), town,
             country_name(country, str(get_locale())) if country else None)
    return ", ".join(part for part in parts if part)


def history_changes(changes: dict) -> list[tuple[str, str | None, str | None]]:
    """(field, before, after) of an update; before and after are None when the values are not for display (a
    secret or a link to another record, whose number means nothing to staff)."""
    rows = []
    for field, change in changes.items():
        label = str(HISTORY_FIELDS.get(field, field))
        before, after = change.get("before"), change.get("after")
        if REDACTED in (before, after) or field.endswith("_id"):
            rows.append((label, None, None))
        else:
            rows.append((label, _history_value(field, before), _history_value(field, after)))
    return rows

register_auth_views(bp, kind="staff", home_endpoint="backoffice.home", template_dir="backoffice",
                    protect=staff_permission("home.view"))
register_second_factor_views(bp, kind="staff", home_endpoint="backoffice.home", layout="backoffice/layout.html",
                             issuer=lambda: g.tenant.name, protect=staff_permission("home.view"))


@bp.get("/")
@staff_permission("home.view")
def home():
    return render_template("backoffice/home.html", figures=home_figures())


@bp.get("/customers")
@staff_permission("customers.view")
def customers():
    query = request.args.get("q", "")[:100]
    if wants_csv():
        return search_csv(query)
    found = search.search_accounts(query=query, limit=SEARCH_LIMIT + 1)  # one more tells whether there are more
    return render_template("backoffice/customers.html", query=query, results=found[:SEARCH_LIMIT],
                           more=len(found) > SEARCH_LIMIT, limit=SEARCH_LIMIT, match_names=MATCH_NAMES,
                           match_how=MATCH_HOW)


@bp.get("/customers/<account_number>")
@staff_permission("customers.view")
def customer(account_number: str):
    found = accounts.account_by_number(account_number=account_number)
    if found is None:
        abort(404)
    return customer_page(found)


# Cancelling and re-billing issues a credit note and a new bill, and cancelling a budget plan may issue a settlement
# bill: issued bills never change, so both ask for a ticked box first (an unticked request answers 422).
RebillForm = confirm_form(_l("Tick the box to confirm that the bill is to be cancelled and re-billed."))
PlanCancelForm = confirm_form(_l("Tick the box to confirm that the budget plan is to be cancelled."))


def customer_page(found, *, refused_form=None, refused: str | None = None, status: int = 200):
    """The customer file; `refused` names the unconfirmed action shown again open with its error
    (`rebill:<bill number>` or `plan:<public id>`)."""
    balance = accounts.balances(account_ids=[found.id])[found.id]
    bill_views = bills.bill_views(bills.bills_of_account(account_id=found.id), today=tenant_today())
    return render_template("backoffice/customer.html", account=found, balance=balance,
                           bill_views=bill_views, form=FlaskForm(), one_day=timedelta(days=1),
                           mandate=mandates.active_mandate(account_id=found.id),
                           payment_method=payment_method_at(account=found, at=utcnow()),
                           budget_plans=down_payments.plans_with_bills(account_id=found.id),
                           card_reversals=card_payments.reversals_of_account(account_id=found.id),
                           confirm_blank=RebillForm(formdata=None), refused_form=refused_form,
                           refused=refused, section_bands=_section_bands(found),
                           **_messages_of(found, size=LATEST_MESSAGES)), status


def _section_bands(account) -> dict:
    """The areas' sections of the customer file (backoffice/customer_sections.py) by where the page shows them."""
    permissions = current_user.permissions
    return {"before_bills": loaded_sections(account, permissions=permissions, before=20),
            "before_messages": loaded_sections(account, permissions=permissions, after=20, before=50),
            "after_messages": loaded_sections(account, permissions=permissions, after=50)}


LATEST_MESSAGES = 5  # in the customer file; all of them, paged, on its Messages page


def _messages_of(account, *, size: int, requested: str | None = None) -> dict:
    page, rows = communications.messages_of_account(account_id=account.id, requested_page=requested, size=size)
    return {"message_page": page, "messages": rows,
            "campaign_mail": campaign_services.campaign_mail_of_account(account_id=account.id, limit=size),
            "campaign_status_names": RECIPIENT_STATUS_NAMES, "campaign_skip_reasons": SKIP_REASONS,
            "failing_addresses": communications.failing_addresses_of_account(account),
            "message_kind_name": kind_name, "message_status_names": MESSAGE_STATUS_NAMES,
            "message_failure_names": MESSAGE_FAILURE_NAMES}


@bp.get("/customers/<account_number>/messages")
@staff_permission("customers.view")
def customer_messages(account_number: str):
    """Every message sent (or not) to the customer, newest first, paged."""
    found = accounts.account_by_number(account_number=account_number)
    if found is None:
        abort(404)
    if wants_csv():
        return exports.messages(found)
    return render_template("backoffice/customer_messages.html", account=found,
                           **_messages_of(found, size=MESSAGES_PER_PAGE, requested=request.args.get("page")))


MESSAGES_PER_PAGE = 20


@bp.post("/bills/<number>/correct")
@staff_permission("billing.run")
def bill_correct(number: str):
    bill = bills.issued_bill(number=number)
    if bill is None:
        abort(404)
    form = RebillForm()
    if not confirmed(form):  # not confirmed: no credit note, no new bill
        return customer_page(bill.account, refused_form=form, refused=f"rebill:{number}", status=422)
    account_number = bill.account.account_number
    now = utcnow()
    try:
        credit, corrective = corrections.cancel_and_rebill(number=number, issued_at=now,
                                                           issue_date=now.astimezone(tenant_zone()).date())
    except corrections.CorrectionRefused as exc:
        flash(_("This bill cannot be cancelled and re-billed: %(reason)s", reason=str(exc)), "error")
    else:
        db.session.commit()
        flash(_("Bill %(number)s is cancelled by credit note %(credit)s and replaced by bill %(corrective)s.",
                number=number, credit=credit.number, corrective=corrective.number), "success")
    return redirect(url_for("backoffice.customer", account_number=account_number))


@bp.get("/bills/<number>.pdf")
@staff_permission("customers.view")
def bill_pdf(number: str):
    bill = bills.issued_bill(number=number)
    if bill is None:
        abort(404)
    try:
        data = bills.document_of(bill)
    except DocumentUnavailable:  # never anything but the document as issued: staff restore the stored file
        db.session.rollback()
        return render_template("backoffice/document_unavailable.html", number=number), 503
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{bill.number}.pdf"'
    return response


@bp.get("/customers/<account_number>/history")
@staff_permission("customers.view", "audit.view")
def customer_history(account_number: str):
    found = accounts.account_by_number(account_number=account_number)
    if found is None:
        abort(404)
    events = audit.history_of_account(account=found, limit=200)
    contract_numbers = {c.id: c.contract_number for c in found.contracts}
    portal_words = history_words.words_for(events)
    if wants_csv():
        return exports.history(found, events, describe=partial(
            exports.describe_event, history_changes=history_changes, entry_actions=ENTRY_ACTIONS,
            contract_numbers=contract_numbers, told=portal_words))
    return render_template("backoffice/customer_history.html", account=found, events=events,
                           history_changes=history_changes, entry_actions=ENTRY_ACTIONS, entry_channels=ENTRY_CHANNELS,
                           contract_numbers=contract_numbers, portal_words=portal_words)
