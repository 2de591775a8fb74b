"""Billing staff start, follow, issue, cancel and resume billing runs from the back office; other staff cannot,
and bad input changes nothing."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from domain.accounting.models import LedgerEntry
from domain.billing.models import Bill
from domain.billing.run_models import BillingException, BillingRun
from domain.contracts.models import Contract
from domain.db import db
from domain.offers.models import TariffVersion
from tenants.context import tenant_scope
from tests.integration.test_billing_runs import _jobs_in_process  # noqa: F401  (jobs run in this process)

RUNS = "/backoffice/billing/runs"


def _office(browser, data, role="billing"):
    office = browser(data.slug)
    office.login(data.staff_emails[role], area="/backoffice")
    return office


def _start(office, **fields):
    data = {"billing_date": "2024-03-01", "mode": "simulate", "activity": "", "cycle": "", **fields}
    return office.submit(RUNS, data)


def _runs(app, tenant_id):
    with app.app_context(), tenant_scope(tenant_id):
        found = db.session.scalars(select(BillingRun).order_by(BillingRun.id)).all()
        db.session.expunge_all()
        return found


def _bills(app, tenant_id, run_id):
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.execute(select(Bill.status, Bill.number, Bill.total_incl_tax)
                                  .where(Bill.billing_run_id == run_id)).all()


def test_a_simulation_started_from_the_form_shows_its_totals_and_issues_nothing(app, two_tenants, browser):
    a, b = two_tenants
    office = _office(browser, a)

    response = _start(office)

    (run,) = _runs(app, a.tenant_id)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{RUNS}/{run.public_id}")
    assert run.status == "simulated" and run.mode == "simulate" and run.created_by == a.staff_emails["billing"]
    ((status, number, total),) = _bills(app, a.tenant_id, run.id)
    assert status == "draft" and number is None
    page = office.get(f"{RUNS}/{run.public_id}").get_data(as_text=True)
    assert "Issue these bills" in page and "Cancel the run" in page
    assert re.search(r'<progress id="run-bar" max="100" value="100"', page)
    assert f"€{total}" in page.replace("\u202f", "").replace(",", "")  # the run's total incl. tax
    progress = office.get(f"{RUNS}/{run.public_id}/progress.json").get_json()
    assert progress == {**progress, "status": "simulated", "total": 1, "processed": 1, "billed": 1, "exceptions": 0,
                        "percent": 100, "active": False}
    listing = office.get(RUNS).get_data(as_text=True)
    assert run.public_id in listing
    assert _runs(app, b.tenant_id) == []  # the other utility has no run


def test_issuing_a_simulated_run_numbers_its_bills_and_posts_them_to_the_ledger(app, two_tenants, browser):
    a, _ = two_tenants
    office = _office(browser, a)
    _start(office)
    (run,) = _runs(app, a.tenant_id)

    response = office.submit(f"{RUNS}/{run.public_id}", {}, action=f"{RUNS}/{run.public_id}/issue",
                             follow_redirects=True)

    assert "The bills of this run are being issued." in response.get_data(as_text=True)
    assert _runs(app, a.tenant_id)[0].status == "completed"
    ((status, number, total),) = _bills(app, a.tenant_id, run.id)
    assert status == "issued" and number == "2024-0000001"
    with app.app_context(), tenant_scope(a.tenant_id):
        debit = db.session.scalar(select(LedgerEntry.amount).join(Bill, Bill.id == LedgerEntry.bill_id)
                                  .where(Bill.billing_run_id == run.id, LedgerEntry.direction == "debit"))
    assert debit == total


def test_cancelling_a_simulation_says_what_goes_and_deletes_nothing_until_confirmed(app, two_tenants, browser):
    a, _ = two_tenants
    office = _office(browser, a)
    _start(office)
    (run,) = _runs(app, a.tenant_id)
    page = office.get(f"{RUNS}/{run.public_id}").get_data(as_text=True)

    unconfirmed = office.submit(f"{RUNS}/{run.public_id}", {}, action=f"{RUNS}/{run.public_id}/cancel")

    assert "Cancelling stops the run and deletes its 1 draft bill." in page
    assert re.search(r'<input type="checkbox" id="confirm-cancel" name="confirm" value="y" required', page)
    assert unconfirmed.status_code == 422
    text = unconfirmed.get_data(as_text=True)
    assert "Tick the box to confirm that the run is to be cancelled." in text
    assert '<details class="review-form bo-confirm" open>' in text
    assert _runs(app, a.tenant_id)[0].status == "simulated"
    assert len(_bills(app, a.tenant_id, run.id)) == 1


def test_cancelling_a_simulation_deletes_its_drafts(app, two_tenants, browser):
    a, _ = two_tenants
    office = _office(browser, a)
    _start(office)
    (run,) = _runs(app, a.tenant_id)

    response = office.submit(f"{RUNS}/{run.public_id}", {"confirm": "y"}, action=f"{RUNS}/{run.public_id}/cancel",
                             follow_redirects=True)

    assert "The run is cancelled; its draft bills are deleted." in response.get_data(as_text=True)
    assert _runs(app, a.tenant_id)[0].status == "cancelled"
    assert _bills(app, a.tenant_id, run.id) == []


def test_a_run_issued_straight_away_and_a_second_one_while_the_first_is_active(app, two_tenants, browser):
    a, _ = two_tenants
    office = _office(browser, a)

    _start(office, mode="issue")
    (run,) = _runs(app, a.tenant_id)
    assert run.status == "completed"
    ((status, number, _total),) = _bills(app, a.tenant_id, run.id)
    assert status == "issued" and number == "2024-0000001"

    # A run that is still waiting for a worker blocks another one, with a message, and nothing is created.
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.get(BillingRun, run.id).status = "running"
        db.session.commit()
    refused = _start(office, billing_date="2024-04-01")
    assert refused.status_code == 200
    assert "Another billing run is in progress" in refused.get_data(as_text=True)
    assert len(_runs(app, a.tenant_id)) == 1


def test_a_failed_run_shows_its_error_and_resumes_from_the_page(app, two_tenants, browser, monkeypatch):
    import domain.billing.jobs as jobs

    a, _ = two_tenants
    office = _office(browser, a)
    real = jobs.bill_contract_range
    monkeypatch.setattr(jobs, "bill_contract_range", lambda **kwargs: (_ for _ in ()).throw(
        RuntimeError("database went away")))
    _start(office)
    (run,) = _runs(app, a.tenant_id)
    page = office.get(f"{RUNS}/{run.public_id}").get_data(as_text=True)
    assert run.status == "failed"
    assert "The run stopped on an error:" in page and "database went away" in page and "Resume" in page

    monkeypatch.setattr(jobs, "bill_contract_range", real)
    response = office.submit(f"{RUNS}/{run.public_id}", {}, action=f"{RUNS}/{run.public_id}/resume",
                             follow_redirects=True)

    assert "The run is resuming." in response.get_data(as_text=True)
    assert _runs(app, a.tenant_id)[0].status == "simulated"
    assert len(_bills(app, a.tenant_id, run.id)) == 1


def test_exceptions_are_listed_on_the_run_page(app, two_tenants, browser):
    a, _ = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(TariffVersion)).effective_from = date(2024, 1, 15)  # no tariff from 1 January
        db.session.commit()
    office = _office(browser, a)

    _start(office)

    (run,) = _runs(app, a.tenant_id)
    with app.app_context(), tenant_scope(a.tenant_id):
        exception = db.session.scalar(select(BillingException).where(BillingException.run_id == run.id))
        number = db.session.get(Contract, exception.contract_id).contract_number
    page = office.get(f"{RUNS}/{run.public_id}").get_data(as_text=True)
    assert number in page and "No tariff is in force from 1 Jan 2024 to 15 Jan 2024." in page
    assert exception.params == {"detail": "no_tariff", "start": "2024-01-01", "end": "2024-01-15"}
    assert "No exception." not in page


def _set_locale(app, data, role, locale):
    from domain.identity.models import StaffUser

    with app.app_context(), tenant_scope(data.tenant_id):
        db.session.scalar(select(StaffUser).where(StaffUser.email == data.staff_emails[role])).locale = locale
        db.session.commit()


def test_a_french_staff_member_reads_an_exception_in_french_with_french_dates(app, two_tenants, browser):
    a, _ = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(TariffVersion)).effective_from = date(2024, 1, 15)
        db.session.commit()
    office = _office(browser, a)
    _start(office)
    (run,) = _runs(app, a.tenant_id)
    _set_locale(app, a, "billing", "fr")

    page = office.get(f"{RUNS}/{run.public_id}").get_data(as_text=True)

    assert "Aucun tarif n’est en vigueur du 1 janv. 2024 au 15 janv. 2024." in page
    assert "no tariff in force" not in page
    queue = office.get("/backoffice/queues/billing").get_data(as_text=True)
    assert "Campagne de facturation du 1 mars 2024 : Aucun tarif en vigueur sur le contrat K" in queue


def test_an_exception_recorded_without_its_values_shows_its_stored_message(app, two_tenants, browser):
    a, _ = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(TariffVersion)).effective_from = date(2024, 1, 15)
        db.session.commit()
    office = _office(browser, a)
    _start(office)
    (run,) = _runs(app, a.tenant_id)
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(BillingException)).params = None  # as recorded before migration 0008
        db.session.commit()
    _set_locale(app, a, "billing", "fr")

    page = office.get(f"{RUNS}/{run.public_id}").get_data(as_text=True)

    assert "no tariff in force from 2024-01-01 to 2024-01-15" in page
    assert "Aucun tarif en vigueur" in page  # the problem's name is still translated


def test_bad_input_is_refused_with_a_message_and_creates_nothing(app, two_tenants, browser):
    a, _ = two_tenants
    office = _office(browser, a)

    no_date = _start(office, billing_date="")
    bad_activity = _start(office, activity="plutonium")
    bad_mode = _start(office, mode="delete-everything")
    no_token = office.post(RUNS, {"billing_date": "2024-03-01", "mode": "issue"})

    assert no_date.status_code == 200 and "Enter the billing date." in no_date.get_data(as_text=True)
    assert bad_activity.status_code == 200 and bad_mode.status_code == 200
    assert no_token.status_code in (200, 400)
    assert _runs(app, a.tenant_id) == []


def test_staff_without_the_billing_role_can_neither_see_nor_start_runs(app, two_tenants, browser):
    a, _ = two_tenants
    agent = _office(browser, a, role="agent")

    assert agent.get(RUNS).status_code == 403
    token = agent.csrf("/backoffice/")
    refused = agent.post(RUNS, {"billing_date": "2024-03-01", "mode": "issue", "csrf_token": token})

    assert refused.status_code == 403
    assert _runs(app, a.tenant_id) == []


def test_a_runs_figures_are_written_the_way_the_staff_members_language_writes_numbers(app, two_tenants, browser):
    from domain.identity.models import StaffUser

    a, _ = two_tenants
    office = _office(browser, a)
    _start(office)
    (run,) = _runs(app, a.tenant_id)
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(StaffUser).where(StaffUser.email == a.staff_emails["billing"])).locale = "de"
        db.session.commit()

    page = office.get(f"{RUNS}/{run.public_id}").get_data(as_text=True)

    assert '<span data-field="percent" data-format="percent">100\u00a0%</span>' in page
    rate = re.search(r'<span data-field="rate" data-digits="1">([^<]+)</span>', page).group(1)
    assert re.fullmatch(r"\d{1,3}(\.\d{3})*,\d", rate), rate  # 1.068,2 Verträge/s, not 1068.2


def test_counts_and_rates_follow_the_locale(app):
    from flask_babel import force_locale

    from app.i18n import number, percent

    with app.test_request_context():
        with force_locale("de"):
            assert (number(100000), number(1068.24, 1), percent(42)) == ("100.000", "1.068,2", "42\u00a0%")
        with force_locale("en"):
            assert (number(100000), number(1068.24, 1), percent(42)) == ("100,000", "1,068.2", "42%")
        with force_locale("fr"):
            assert number(1068.24, 1) == "1\u202f068,2"


def test_the_start_form_offers_simulate_or_issue_as_radio_buttons_with_their_whole_label(two_tenants, browser):
    a, _ = two_tenants
    office = _office(browser, a)

    page = office.get(RUNS).get_data(as_text=True)

    assert re.search(r'<input checked id="mode-0" name="mode" type="radio" value="simulate">', page)
    assert '<label for="mode-0">Simulate first: draft bills to review, nothing is issued</label>' in page
    assert '<label for="mode-1">Issue the bills straight away</label>' in page
    assert '<select class="input" id="mode"' not in page


def test_a_finished_run_shows_how_long_it_took_not_zero_seconds_left(app, two_tenants, browser):
    a, _ = two_tenants
    office = _office(browser, a)
    _start(office)
    (run,) = _runs(app, a.tenant_id)

    page = office.get(f"{RUNS}/{run.public_id}").get_data(as_text=True)

    assert "<dt>Duration</dt>" in page and "Time left" not in page
    assert re.search(r"<dt>Duration</dt><dd>\d+\.\d s</dd>", page)  # a quick run: tenths, not '0 s'


def test_exception_details_write_quantities_and_dates_the_staff_members_way(app):
    from types import SimpleNamespace

    from flask_babel import force_locale

    from backoffice.texts import exception_detail
    from domain.billing.chunk import json_params
    from domain.billing.engine import BillingProblem

    implausible = BillingProblem("implausible_consumption", "register base: 12345.5 is more than 10 times ...", {
        "detail": "implausible", "register": "base", "quantity": Decimal("12345.500"), "factor": Decimal("10"),
        "expected": Decimal("1034.250")})
    no_reading = BillingProblem("missing_readings", "no reading ...", {
        "detail": "no_reading", "register": "HP", "meter": "M-9", "day": date(2024, 3, 31)})
    stored = [SimpleNamespace(message=p.message, params=json_params(p.params)) for p in (implausible, no_reading)]
    unknown = SimpleNamespace(message="a problem of a later version", params={"detail": "not_known_here"})

    with app.test_request_context():
        with force_locale("de"):
            german = [exception_detail(e) for e in stored]
        with force_locale("es"):
            spanish = exception_detail(stored[1])
        with force_locale("fr"):
            fallback = exception_detail(unknown)

    assert german == ["Zählwerk base: 12.345,5 ist mehr als das 10-Fache der erwarteten 1.034,25.",
                      "Kein Zählerstand des Zählwerks HP des Zählers M-9 am 31.03.2024, und keine Möglichkeit, "
                      "ihn zu schätzen."]
    assert spanish == "Ninguna lectura del registro HP del contador M-9 el 31 mar 2024, y ninguna forma de estimarla."
    assert fallback == "a problem of a later version"
