"""The customer file's payments, readings and contact log (issue 15 §2): a section of each in the file, a page of
each with all of them (paged, exported to CSV with the page's filter), and recording a call, letter or visit."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField

from app.auth import staff_permission
from app.csv_export import csv_response, wants_csv
from app.i18n import REGISTER_NAMES
from app.message_wording import STATUS_NAMES as MESSAGE_STATUS_NAMES
from app.message_wording import kind_name
from backoffice.customer_file_texts import (CONTACT_CHANNEL_NAMES, CONTACT_DIRECTION_CHOICES, CONTACT_DIRECTION_NAMES,
                                            CONTACT_REFUSALS,
                                            PAYMENT_METHOD_NAMES, PAYMENT_STATUS_NAMES, READING_ORIGIN_NAMES,
                                            READING_STATUS_NAMES, REVERSAL_NAMES, REVERSAL_OUTCOMES, validated_by)
from backoffice.customer_sections import customer_section
from backoffice.views import bp
from domain.accounting.account_payments import payments_of_account
from domain.contacts import services as contacts
from domain.contacts.models import CHANNELS, DIRECTIONS
from domain.contracts import services as accounts
from domain.db import db, utcnow
from domain.payments.services import display_status
from domain.readings.account_readings import readings_of_account

IN_FILE = 5  # rows of each list in the customer file; all of them on its own page
PER_PAGE = 25

_names = {"payment_method_names": PAYMENT_METHOD_NAMES, "payment_status_names": PAYMENT_STATUS_NAMES,
          "payment_display_status": display_status, "reversal_names": REVERSAL_NAMES,
          "reversal_outcomes": REVERSAL_OUTCOMES, "reading_origin_names": READING_ORIGIN_NAMES,
          "reading_status_names": READING_STATUS_NAMES, "validated_by": validated_by,
          "contact_channel_names": CONTACT_CHANNEL_NAMES, "contact_direction_names": CONTACT_DIRECTION_NAMES,
          "message_kind_name": kind_name, "message_status_names": MESSAGE_STATUS_NAMES}


class ContactForm(FlaskForm):
    """What staff record of a contact; the domain says what is refused (domain.contacts.services)."""

    channel = SelectField(_l("Kind of contact"), choices=[(c, CONTACT_CHANNEL_NAMES[c]) for c in CHANNELS],
                          validate_choice=False)
    direction = RadioField(_l("Who made it"), choices=[(d, CONTACT_DIRECTION_CHOICES[d]) for d in DIRECTIONS],
                           default="inbound", validate_choice=False)
    subject = StringField(_l("Subject (optional)"))
    note = TextAreaField(_l("Note"))


def _account_or_404(account_number: str):
    found = accounts.account_by_number(account_number=account_number)
    if found is None:
        abort(404)
    return found


# --- sections of the customer file ----------------------------------------------------------------------------------

@customer_section("backoffice/_customer_readings_log.html", order=15, permission="customers.view")
def _readings_section(account):
    page, rows = readings_of_account(account=account, size=IN_FILE)
    return {"page": page, "rows": rows, **_names}


@customer_section("backoffice/_customer_payments.html", order=25, permission="customers.view")
def _payments_section(account):
    page, rows = payments_of_account(account_id=account.id, size=IN_FILE)
    return {"page": page, "rows": rows, **_names}


@customer_section("backoffice/_customer_contacts.html", order=45, permission="customers.view")
def _contacts_section(account):
    page, items = contacts.timeline(account=account, size=IN_FILE)
    return {"page": page, "timeline": items, "form": ContactForm(formdata=None), **_names}


# --- payments -------------------------------------------------------------------------------------------------------

@bp.get("/customers/<account_number>/payments")
@staff_permission("customers.view")
def customer_payments(account_number: str):
    account = _account_or_404(account_number)
    if wants_csv():
        _page, rows = payments_of_account(account_id=account.id, size=None)
        return csv_response(f"payments-{account.account_number}", _payment_header(), _payment_rows(rows))
    page, rows = payments_of_account(account_id=account.id, requested_page=request.args.get("page"), size=PER_PAGE)
    return render_template("backoffice/customer_file/payments.html", account=account, page=page, rows=rows, **_names)


def _payment_header():
    return [_("Date"), _("Payment"), _("Method"), _("Status"), _("Amount"), _("Currency"), _("Allocated to bills"),
            _("Bills paid"), _("Given back"), _("Refunds and disputes")]


def _payment_rows(rows):
    for row in rows:
        p = row.payment
        yield [(p.received_at or p.created_at), p.public_id, str(PAYMENT_METHOD_NAMES.get(p.method, p.method)),
               str(PAYMENT_STATUS_NAMES.get(display_status(p), p.status)), p.amount, p.currency, row.allocated,
               " ".join(f"{number} ({amount})" for number, amount in row.allocations), p.refunded_amount,
               "; ".join(f"{REVERSAL_NAMES.get(r.kind, r.kind)} {r.amount}: {REVERSAL_OUTCOMES.get(r.status, r.status)}"
                         for r in row.reversals)]


# --- readings -------------------------------------------------------------------------------------------------------

@bp.get("/customers/<account_number>/readings")
@staff_permission("customers.view")
def customer_readings(account_number: str):
    account = _account_or_404(account_number)
    if wants_csv():
        _page, rows = readings_of_account(account=account, size=None)
        return csv_response(f"readings-{account.account_number}", _reading_header(), _reading_rows(rows))
    page, rows = readings_of_account(account=account, requested_page=request.args.get("page"), size=PER_PAGE)
    return render_template("backoffice/customer_file/readings.html", account=account, page=page, rows=rows, **_names)


def _reading_header():
    return [_("Reading date"), _("Meter"), _("Register"), _("Index"), _("Unit"), _("Source"), _("Status"),
            _("Validated"), _("Received")]


def _reading_rows(rows):
    for row in rows:
        r = row.reading
        yield [r.read_on, row.meter_serial, str(REGISTER_NAMES.get(row.register_code, row.register_code)), r.value,
               row.unit, str(READING_ORIGIN_NAMES.get(row.origin, row.origin)),
               str(READING_STATUS_NAMES.get(r.status, r.status)), validated_by(row), r.received_at]


# --- contact log ----------------------------------------------------------------------------------------------------

def _kind() -> str | None:
    kind = request.args.get("kind")
    return kind if kind in contacts.TIMELINE_KINDS else None


@bp.get("/customers/<account_number>/contacts")
@staff_permission("customers.view")
def customer_contacts(account_number: str):
    account = _account_or_404(account_number)
    if wants_csv():
        _page, items = contacts.timeline(account=account, kind=_kind(), size=None)
        return csv_response(f"contacts-{account.account_number}", _contact_header(), _contact_rows(items))
    return _contacts_page(account, ContactForm(formdata=None))


def _contacts_page(account, form, status: int = 200):
    kind = _kind()
    page, items = contacts.timeline(account=account, kind=kind, requested_page=request.args.get("page"),
                                    size=PER_PAGE)
    return render_template("backoffice/customer_file/contacts.html", account=account, page=page, items=items,
                           kind=kind, kinds=contacts.TIMELINE_KINDS, form=form, **_names), status


@bp.post("/customers/<account_number>/contacts")
@staff_permission("customers.view")
def customer_contact_record(account_number: str):
    account = _account_or_404(account_number)
    form = ContactForm()
    if not form.validate_on_submit():
        abort(400)  # only a missing or stale CSRF token gets here: the fields are the domain's to judge
    staff = current_user.user
    try:
        contacts.record_contact(account=account, channel=form.channel.data or "", direction=form.direction.data or "",
                                note=form.note.data or "", subject=form.subject.data, staff_user_id=staff.id,
                                staff_name=staff.full_name or staff.email, now=utcnow())
    except contacts.ContactRefused as exc:
        db.session.rollback()
        getattr(form, exc.field).errors = [str(CONTACT_REFUSALS[exc.code])]
        return _contacts_page(account, form, status=422)
    db.session.commit()
    flash(_("The contact is recorded in the customer file."), "success")
    return redirect(url_for("backoffice.customer", account_number=account.account_number) + "#contacts")


def _contact_header():
    return [_("Date"), _("Contact"), _("Direction"), _("Subject"), _("Note"), _("Recorded by"), _("To"),
            _("E-mail status")]


def _contact_rows(items):
    for item in items:
        if item.entry is not None:
            e = item.entry
            yield [item.at, str(CONTACT_CHANNEL_NAMES[e.channel]), str(CONTACT_DIRECTION_NAMES[e.direction]),
                   e.subject or "", e.note, e.staff_name, "", ""]
        elif item.letter is not None:
            d = item.letter
            state = _("posted on %(day)s", day=format_date(d.sent_at)) if d.sent_at else _("to post")
            yield [item.at, str(CONTACT_CHANNEL_NAMES["letter"]), str(CONTACT_DIRECTION_NAMES["outbound"]),
                   d.subject, _("Dunning letter: %(state)s", state=state), d.sent_by or "", "", ""]
        else:
            m = item.message
            yield [item.at, str(CONTACT_CHANNEL_NAMES["email"]), str(CONTACT_DIRECTION_NAMES["outbound"]),
                   m.subject, kind_name(m.kind), "", m.recipient, str(MESSAGE_STATUS_NAMES.get(m.status, m.status))]
