"""The billing-run form offers only the utility's activities, refuses a date beyond one cycle ahead with a
message, and a cancelled simulation's page reports no rate."""
from __future__ import annotations

import re

from tests.functional.test_backoffice_billing_runs import RUNS, _office, _runs, _start
from tests.integration.test_billing_runs import _jobs_in_process  # noqa: F401  (jobs run in this process)


def _options(html: str) -> list[str]:
    select = html[html.index('name="activity"'):]
    select = select[:select.index("</select>")]
    return re.findall(r'<option[^>]*value="([^"]*)"', select)


def test_the_form_offers_only_the_activities_the_utility_supplies(app, two_tenants, make_tenant, browser):
    a, _ = two_tenants  # alpha supplies electricity and gas

    page = _office(browser, a).get(RUNS).get_data(as_text=True)

    assert _options(page) == ["", "gas", "electricity"]  # in the usual order of activities
    assert "Water" not in page and "Urban heating" not in page


def test_an_activity_the_utility_does_not_supply_is_refused_and_creates_nothing(app, two_tenants, browser):
    a, _ = two_tenants
    office = _office(browser, a)

    refused = _start(office, activity="water")

    assert refused.status_code == 200
    assert "Not a valid choice" in refused.get_data(as_text=True)
    assert _runs(app, a.tenant_id) == []


def test_a_run_dated_more_than_a_cycle_ahead_is_refused_with_the_latest_date_allowed(app, two_tenants, browser):
    a, _ = two_tenants  # the tests' clock: 28 November 2026
    office = _office(browser, a)

    refused = _start(office, billing_date="2027-03-01")
    accepted = _start(office, billing_date="2026-12-28")

    page = refused.get_data(as_text=True)
    assert "A run can be dated at most one billing cycle ahead, up to 28 Dec 2026." in page
    assert accepted.status_code == 302
    assert [run.billing_date.isoformat() for run in _runs(app, a.tenant_id)] == ["2026-12-28"]


def test_a_cancelled_simulation_reports_no_rate(app, two_tenants, browser):
    a, _ = two_tenants
    office = _office(browser, a)
    detail = _start(office).headers["Location"]
    assert "contracts/s" in office.get(detail).get_data(as_text=True)  # a finished simulation has its rate

    office.submit(detail, {"confirm": "y"}, action=f"{detail}/cancel")
    page = office.get(detail).get_data(as_text=True)

    assert _runs(app, a.tenant_id)[0].status == "cancelled" and 'id="run-status">cancelled<' in page
    assert "contracts/s" not in page and "Rate" not in page
