"""The product on the days calendars go wrong: 29 February, the nights clocks change, New Year's Eve in Paris.

The tests' clock is pinned (tests/clock.py); here it is moved to each edge, and the customer's and staff's main pages
must answer, with "today" taken in the tenant's time zone (Europe/Paris for the test tenants), not UTC.
"""
from __future__ import annotations

from datetime import date, datetime, UTC

import pytest

EDGES = [
    # (moment in UTC, the tenant's date then)
    (datetime(2028, 2, 29, 12, 0, tzinfo=UTC), date(2028, 2, 29)),
    (datetime(2028, 2, 28, 23, 30, tzinfo=UTC), date(2028, 2, 29)),      # already the 29th in Paris
    (datetime(2027, 3, 28, 0, 30, tzinfo=UTC), date(2027, 3, 28)),       # 01:30 CET, half an hour before the change
    (datetime(2027, 3, 28, 1, 30, tzinfo=UTC), date(2027, 3, 28)),       # 03:30 CEST, just after
    (datetime(2027, 10, 30, 23, 30, tzinfo=UTC), date(2027, 10, 31)),    # 01:30 CEST, the night clocks go back
    (datetime(2027, 12, 31, 23, 30, tzinfo=UTC), date(2028, 1, 1)),      # New Year in Paris, still 2027 in UTC
]
PORTAL_PAGES = ["/", "/bills", "/readings", "/consumption", "/profile", "/requests"]


@pytest.mark.parametrize("moment,tenant_date", EDGES, ids=[m.isoformat() for m, _ in EDGES])
def test_tenant_today_is_the_date_in_the_tenant_zone(app, clock, moment, tenant_date):
    from types import SimpleNamespace

    from flask import g

    from app.i18n import tenant_today

    clock.move_to(moment)

    with app.test_request_context("/"):
        g.tenant = SimpleNamespace(timezone="Europe/Paris", default_locale="fr")
        assert tenant_today() == tenant_date


@pytest.mark.parametrize("moment,tenant_date", EDGES, ids=[m.isoformat() for m, _ in EDGES])
def test_main_pages_answer_on_calendar_edges(two_tenants, browser, clock, moment, tenant_date):
    a, _ = two_tenants
    clock.move_to(moment)
    portal = browser(a.slug)
    portal.login(a.customer_email)

    answers = {path: portal.get(path).status_code for path in PORTAL_PAGES}
    answers["/accounts/" + a.account_number] = portal.get(f"/accounts/{a.account_number}").status_code

    assert answers == {path: 200 for path in answers}, answers
