"""The consumption page of a customer whose smart meter sends interval data: a table of daily totals (and a
chart) over the latest days, in the page's language; nothing of it for a point without interval data, and never
another customer's days."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, UTC
from decimal import Decimal

from sqlalchemy import select

from domain.db import db
from domain.identity.models import CustomerUser
from domain.readings import intervals
from tenants.context import tenant_scope
from tests.clock import TODAY
from tests.factories import DeliveryPointFactory, MeterFactory, MeterInstallationFactory, RegisterFactory

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _send(identifier: str, days: dict[date, str]):
    intervals.store_interval_days(
        days=[intervals.IntervalDayIn(point=identifier, register_code="TOTAL", day=day,
                                      values=(Decimal(value),) * intervals.checks.intervals_in_day(day, "Europe/Paris"))
              for day, value in days.items()],
        source="smart_meter", zone="Europe/Paris", today=TODAY, now=NOW)


def _with_interval_data(app, a):
    """The customer's point sent ten days (the 18th to the 27th of November, 0.5 kWh a half-hour = 24 kWh a day,
    the 25th 0.125 = 6 kWh); another customer's point of the same utility sent 0.777 a half-hour."""
    with app.app_context(), tenant_scope(a.tenant_id):
        days = {TODAY - timedelta(days=n): "0.5" for n in range(1, 11)}
        days[date(2026, 11, 25)] = "0.125"
        _send(a.delivery_point_identifier, days)
        other = DeliveryPointFactory(identifier="PDLOTHERCUSTOMER")
        meter = MeterFactory()
        RegisterFactory(meter=meter)
        MeterInstallationFactory(delivery_point=other, meter=meter)
        db.session.flush()
        _send("PDLOTHERCUSTOMER", {TODAY - timedelta(days=1): "0.777"})
        db.session.commit()


def _rows(text: str) -> list[tuple[str, str]]:
    table = text[text.index('class="consumption-table daily-table"'):]
    table = table[:table.index("</table>")]
    return re.findall(r'<th scope="row">([^<]+)</th>\s*<td class="num">(.*?)</td>', table)


def test_daily_totals_of_the_smart_meter_are_shown_newest_first(app, browser, two_tenants):
    a, _b = two_tenants
    _with_interval_data(app, a)
    portal = browser(a.slug)
    portal.login(a.customer_email)

    text = portal.get("/consumption").get_data(as_text=True)

    rows = _rows(text)
    assert len(rows) == 10
    assert rows[0] == ("Fri 27 Nov 2026", "24") and rows[-1] == ("Wed 18 Nov 2026", "24")
    assert ("Wed 25 Nov 2026", "6") in rows
    assert "37.3" not in text and "PDLOTHERCUSTOMER" not in text  # the other customer's day (0.777 x 48)
    assert '<caption id="daily-caption">Daily consumption in kWh from your smart meter, newest first</caption>' in text
    assert '<th scope="col">Day</th>' in text and 'aria-labelledby="daily-chart-title daily-chart-desc"' in text
    assert re.search(r"<dt>Total over these days</dt><dd>222\xa0kWh</dd>", text)
    daily = text[text.index('<section class="daily-consumption"'):]
    assert daily.count('<rect class="bar-current"') == 10


def test_the_page_in_french_writes_french_days_and_numbers(app, browser, two_tenants):
    a, _b = two_tenants
    _with_interval_data(app, a)
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email)).locale = "fr"
        _send(a.delivery_point_identifier, {date(2026, 11, 26): "0.010"})
        db.session.commit()
    portal = browser(a.slug)
    portal.login(a.customer_email)

    text = portal.get("/consumption").get_data(as_text=True)

    rows = dict(_rows(text))
    assert rows["jeu. 26 nov. 2026"] == "0,5"  # 48 x 0.010 kWh, to the tenth
    assert "Consommation quotidienne" in text


def test_a_point_without_interval_data_shows_no_daily_section(app, browser, two_tenants):
    a, _b = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)

    text = portal.get("/consumption").get_data(as_text=True)

    assert "daily-table" not in text and "smart meter" not in text
