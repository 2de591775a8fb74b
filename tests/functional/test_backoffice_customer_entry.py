"""Staff with customers.edit create a customer in one form, change its contact details, add a supply, enter a reading
on the customer's behalf, exchange a meter and end a contract from the customer file; bad input is shown field by
field and changes nothing; staff without customers.edit cannot do any of it; the history shows who did what."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.parties.models import ContactPoint, Party
from domain.readings.models import MeterReading
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation
from tenants.context import tenant_scope
from tests.factories import OfferFactory, TariffVersionFactory, UnitPriceFactory

NEW = {
    "kind": "person", "title": "", "first_name": "Inès", "last_name": "Carpentier", "organisation_name": "",
    "registration_number": "", "birth_date": "", "email": "ines@example.test", "phone": "+33 4 72 00 00 01",
    "address_line1": "12 rue des Lilas", "address_line2": "", "postcode": "69003", "city": "Lyon", "country": "FR",
    "same_address": "y", "premise_address_line1": "", "premise_postcode": "", "premise_city": "",
    "premise_country": "FR", "activity": "electricity", "identifier": "PDL-NEW-1", "serial_number": "SN-NEW-1",
    "digits": "6", "multiplier": "1", "layout": "single", "is_smart": "y", "index_TOTAL": "1 000",
    "installed_on": "2026-11-01", "start_date": "2026-11-01", "offer": "ELEC-NEW", "billing_frequency": "monthly",
    "estimated_annual_consumption": "", "locale": "fr",
}


@pytest.fixture
def offer(app, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        version = TariffVersionFactory(offer=OfferFactory(code="ELEC-NEW", name="Électricité"),
                                       effective_from=date(2024, 1, 1))
        UnitPriceFactory(version=version)
        db.session.commit()
    return "ELEC-NEW"


def _office(browser, a, role="agent"):
    office = browser(a.slug)
    office.login(a.staff_emails[role], area="/backoffice")
    return office


def _counts(app, a) -> tuple:
    with app.app_context(), tenant_scope(a.tenant_id):
        return tuple(db.session.scalar(select(func.count(model.id))) for model in
                     (Party, ContactPoint, CustomerAccount, DeliveryPoint, Meter, MeterInstallation, Contract,
                      MeterReading))


def _new_account(app, a) -> CustomerAccount:
    with app.app_context(), tenant_scope(a.tenant_id):
        return db.session.scalar(select(CustomerAccount).order_by(CustomerAccount.id.desc()))


def test_staff_create_a_customer_in_one_form_and_land_on_its_file(app, browser, two_tenants, offer):
    a, _b = two_tenants
    office = _office(browser, a)
    assert "New customer" in office.get("/backoffice/customers").get_data(as_text=True)

    response = office.submit("/backoffice/customers/new", NEW, follow_redirects=True)

    page = response.get_data(as_text=True)
    account = _new_account(app, a)
    assert response.status_code == 200 and f"Customer {account.account_number} is created." in page
    assert "Inès Carpentier" in page and "PDL-NEW-1" in page and "SN-NEW-1" in page
    with app.app_context(), tenant_scope(a.tenant_id):
        meter = db.session.scalar(select(Meter).where(Meter.serial_number == "SN-NEW-1"))
        reading = db.session.scalar(select(MeterReading).where(MeterReading.register_id == meter.registers[0].id))
        assert meter.is_smart and reading.value == Decimal("1000.000")


def test_errors_are_shown_per_field_and_change_nothing(app, browser, two_tenants, offer):
    a, _b = two_tenants
    office = _office(browser, a)
    before = _counts(app, a)

    response = office.submit("/backoffice/customers/new", {
        **NEW, "digits": "2", "index_TOTAL": "12x", "installed_on": "not a date", "last_name": "", "email": "nope",
        "identifier": a.delivery_point_identifier, "multiplier": "0"})

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    # What the form refuses (not a number, not a date) and what the rules refuse, shown together.
    assert "A meter shows between 3 and 12 digits." in page and "Enter the reading as a number" in page
    assert page.count("Enter the installation date.") == 2  # in the summary and by the field
    assert "Enter the last name." in page and "Enter a valid e-mail address." in page
    assert "This point of delivery identifier is already used by this utility." in page
    assert "The multiplier must be more than 0 and at most 100,000." in page
    assert 'value="Inès"' in page  # what was typed stays in the form
    assert _counts(app, a) == before


def test_a_duplicate_identifier_alone_is_refused_by_the_domain(app, browser, two_tenants, offer):
    a, _b = two_tenants
    office = _office(browser, a)
    before = _counts(app, a)

    response = office.submit("/backoffice/customers/new", {**NEW, "identifier": a.delivery_point_identifier.lower(),
                                                           "start_date": "2026-10-01"})

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This point of delivery identifier is already used by this utility." in page
    assert "The contract cannot start before the meter is installed" in page
    assert _counts(app, a) == before


@pytest.mark.parametrize("path", ["/backoffice/customers/new", "/backoffice/customers/{account}/contact",
                                  "/backoffice/customers/{account}/supplies/new"])
def test_staff_without_customers_edit_cannot_enter_data(app, browser, two_tenants, offer, path):
    a, _b = two_tenants
    office = _office(browser, a, "billing")
    path = path.format(account=a.account_number)
    before = _counts(app, a)

    assert office.get(path).status_code == 403
    token = office.csrf(f"/backoffice/customers/{a.account_number}")
    assert office.post(path, data={**NEW, "csrf_token": token}).status_code == 403
    assert _counts(app, a) == before
    page = office.get(f"/backoffice/customers/{a.account_number}").get_data(as_text=True)
    assert "Change this customer" not in page


def test_contact_details_change_and_show_in_the_history_with_their_author(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a, "supervisor")
    path = f"/backoffice/customers/{a.account_number}/contact"
    form = office.get(path).get_data(as_text=True)
    assert "Contact details" in form

    response = office.submit(path, {**{k: NEW[k] for k in ("first_name", "last_name", "address_line1", "postcode",
                                                             "city", "country")},
                                    "email": "moved@example.test", "phone": ""}, follow_redirects=True)

    assert "The contact details of" in response.get_data(as_text=True)
    with app.app_context(), tenant_scope(a.tenant_id):
        account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == a.account_number))
        assert account.holder.primary("email").value == "moved@example.test"
        assert account.holder.primary("postal").city == "Lyon"
    history = office.get(f"/backoffice/customers/{a.account_number}/history")
    text = history.get_data(as_text=True)
    assert "moved@example.test" in text and "supervisor@alpha.test" in text


def _meter_serial(app, a) -> str:
    with app.app_context(), tenant_scope(a.tenant_id):
        return db.session.scalar(select(Meter.serial_number))


def test_a_reading_given_on_the_phone_is_recorded_with_its_author(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a, "supervisor")  # may enter data and read the history
    serial = _meter_serial(app, a)
    path = f"/backoffice/customers/{a.account_number}/meters/{serial}/reading"
    assert "Previous actual reading" in office.get(path).get_data(as_text=True)

    lower = office.submit(path, {"channel": "phone", "read_on": "2026-11-28", "r_TOTAL": "10"})
    response = office.submit(path, {"channel": "phone", "read_on": "2026-11-28", "r_TOTAL": "1500"},
                             follow_redirects=True)

    assert lower.status_code == 422 and "This index is lower than the previous one" in lower.get_data(as_text=True)
    assert f"The reading of meter {serial} is recorded." in response.get_data(as_text=True)
    with app.app_context(), tenant_scope(a.tenant_id):
        reading = db.session.scalar(select(MeterReading).order_by(MeterReading.id.desc()))
        assert (reading.value, reading.source, reading.status) == (Decimal("1500.000"), "customer", "valid")
        assert reading.entered_by_staff_id is not None
    history = office.get(f"/backoffice/customers/{a.account_number}/history").get_data(as_text=True)
    assert "supervisor@alpha.test" in history and "Reading entered for the customer" in history
    assert "given on the phone" in history


def test_a_meter_exchange_from_the_file(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    serial = _meter_serial(app, a)
    path = f"/backoffice/customers/{a.account_number}/points/{a.delivery_point_identifier}/exchange"

    refused = office.submit(path, {"exchange_on": "2026-11-20", "removal_TOTAL": "", "serial_number": serial,
                                   "digits": "6", "multiplier": "1", "layout": "single", "index_TOTAL": "5"})
    done = office.submit(path, {"exchange_on": "2026-11-20", "removal_TOTAL": "1634", "serial_number": "NEW-77",
                                "digits": "6", "multiplier": "1", "layout": "single", "index_TOTAL": "5"},
                         follow_redirects=True)

    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Enter the index shown on the meter." in text
    assert "A meter with this serial number already exists at this utility." in text
    assert f"Meter {serial} is replaced by meter NEW-77." in done.get_data(as_text=True)
    with app.app_context(), tenant_scope(a.tenant_id):
        rows = db.session.execute(select(Meter.serial_number, MeterInstallation.removed_on).join(
            Meter, Meter.id == MeterInstallation.meter_id).order_by(MeterInstallation.installed_on)).all()
        assert [tuple(r) for r in rows] == [(serial, date(2026, 11, 20)), ("NEW-77", None)]


def test_ending_a_contract_from_the_file(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    with app.app_context(), tenant_scope(a.tenant_id):
        number = db.session.scalar(select(Contract.contract_number))
    path = f"/backoffice/customers/{a.account_number}/contracts/{number}/end"

    refused = office.submit(path, {"end_on": "2026-11-28", "final_TOTAL": "1"})
    done = office.submit(path, {"end_on": "2026-11-28", "final_TOTAL": "1600"}, follow_redirects=True)

    assert refused.status_code == 422 and "The final index is lower than the previous one" in \
        refused.get_data(as_text=True)
    assert f"Contract {number} ends on" in done.get_data(as_text=True)
    with app.app_context(), tenant_scope(a.tenant_id):
        contract = db.session.scalar(select(Contract))
        assert (contract.end_date, contract.status) == (date(2026, 11, 28), "ended")
        final = db.session.scalar(select(MeterReading).where(MeterReading.read_on == date(2026, 11, 28)))
        assert (final.value, final.source, final.status) == (Decimal("1600.000"), "agent", "valid")
        assert final.entered_by_staff_id is not None


def test_an_implausible_reading_needs_the_staff_members_confirmation(app, browser, two_tenants):
    a, _b = two_tenants
    office = _office(browser, a)
    serial = _meter_serial(app, a)
    path = f"/backoffice/customers/{a.account_number}/meters/{serial}/reading"
    data = {"channel": "meter_reader", "read_on": "2026-11-28", "r_TOTAL": "90000"}

    warned = office.submit(path, data)
    future = office.submit(path, {**data, "read_on": "2026-12-01"})
    with app.app_context(), tenant_scope(a.tenant_id):
        before = db.session.scalar(select(func.count(MeterReading.id)))
    confirmed = office.submit(path, {**data, "confirm_implausible": "y"}, follow_redirects=True)

    text = warned.get_data(as_text=True)
    assert warned.status_code == 422 and "far from the" in text
    assert "I checked the index: it is right although far from what was expected" in text
    assert future.status_code == 422 and "The date cannot be in the future." in future.get_data(as_text=True)
    assert f"The reading of meter {serial} is recorded." in confirmed.get_data(as_text=True)
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalar(select(func.count(MeterReading.id))) == before + 1
        reading = db.session.scalar(select(MeterReading).order_by(MeterReading.id.desc()))
        assert (reading.source, reading.status, reading.implausible_confirmed) == ("agent", "valid", True)


def test_a_supply_at_a_new_address_for_an_existing_customer(app, browser, two_tenants, offer):
    a, _b = two_tenants
    office = _office(browser, a)
    path = f"/backoffice/customers/{a.account_number}/supplies/new"
    data = {k: NEW[k] for k in ("activity", "serial_number", "digits", "multiplier", "layout", "installed_on",
                                "start_date", "offer", "billing_frequency")}
    data.update({"premise": "", "premise_address_line1": "3 quai Est", "premise_postcode": "69002",
                 "premise_city": "Lyon", "premise_country": "FR", "identifier": "PDL-SECOND", "layout": "dual",
                 "index_PEAK": "10", "index_OFFPEAK": "20"})

    missing = office.submit(path, {**data, "premise_address_line1": ""})
    done = office.submit(path, data, follow_redirects=True)

    assert missing.status_code == 422 and "Enter the street and number." in missing.get_data(as_text=True)
    assert "Contract " in done.get_data(as_text=True) and "PDL-SECOND" in done.get_data(as_text=True)
    with app.app_context(), tenant_scope(a.tenant_id):
        point = db.session.scalar(select(DeliveryPoint).where(DeliveryPoint.identifier == "PDL-SECOND"))
        assert point.premise.address_line1 == "3 quai Est"
        assert [r.code for r in point.current_meter.registers] == ["PEAK", "OFFPEAK"]


def test_a_postal_address_problem_is_shown_once_when_it_is_also_the_supply_address(app, browser, two_tenants, offer):
    a, _b = two_tenants
    office = _office(browser, a)

    response = office.submit("/backoffice/customers/new", {**NEW, "city": "", "email": "nope"})

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert page.count('class="error-message"') == 2  # the town, on the postal address only, and the e-mail
    assert "Enter the town or city." in page and "Enter a valid e-mail address." in page


def test_a_new_contract_bills_at_the_frequencies_the_utility_offers_its_default_first(app, browser, two_tenants,
                                                                                       offer):
    from tenants.models import Tenant

    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        tenant = db.session.get(Tenant, a.tenant_id)
        tenant.billing_frequencies, tenant.default_billing_frequency = ["quarterly", "annual"], "quarterly"
        db.session.commit()
    office = _office(browser, a)
    form = office.get("/backoffice/customers/new").get_data(as_text=True)
    assert '<option selected value="quarterly">' in form and 'value="annual"' in form
    assert 'value="monthly"' not in form
    before = _counts(app, a)

    refused = office.submit("/backoffice/customers/new", NEW)  # monthly: not offered

    assert refused.status_code == 422 and _counts(app, a) == before
    assert "The utility does not bill at this frequency" in refused.get_data(as_text=True)
    office.submit("/backoffice/customers/new", {**NEW, "billing_frequency": "quarterly"}, follow_redirects=True)
    with app.app_context(), tenant_scope(a.tenant_id):
        contract = db.session.scalar(select(Contract).order_by(Contract.id.desc()))
        assert contract.billing_frequency == "quarterly"
