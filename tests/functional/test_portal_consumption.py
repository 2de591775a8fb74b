"""Consumption through the portal: a chart with its data table, per point of delivery, without JavaScript."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.billing.engine.periods import add_months
from domain.db import db
from tenants.context import tenant_scope
from tests.integration.test_reading_services import prepare_meter


def _month_start():
    return datetime.now(ZoneInfo("Europe/Paris")).date().replace(day=1)


def _setup(app, data):
    """Water read on the first of each month for three years: 30 m3 a month, then 45 m3 a month this year."""
    this_month = _month_start()
    readings, value = [], 1000
    for back in range(37, -1, -1):
        day = add_months(this_month, -back)
        readings.append((day, str(value), "agent" if back % 2 else "customer"))
        value += 45 if back <= 12 else 30
    with app.app_context(), tenant_scope(data.tenant_id):
        prepare_meter(data, start=add_months(this_month, -40), readings=readings)
        db.session.commit()


def test_consumption_shows_a_chart_and_its_table_month_by_month(app, browser, two_tenants):
    a, _b = two_tenants
    _setup(app, a)
    portal = browser(a.slug)
    portal.login(a.customer_email)

    text = portal.get("/consumption").get_data(as_text=True)

    assert 'role="img"' in text and "<title id=\"chart-title\">" in text and "<desc id=\"chart-desc\">" in text
    assert "<caption" in text and 'scope="row"' in text and 'scope="col"' in text
    latest = re.search(r'<th scope="row">[^<]+</th>\s*<td class="num">([^<]+)</td>\s*<td class="num">([^<]+)</td>',
                       text)
    assert latest.groups() == ("45", "30") and "Consumption <span class=\"unit\">(m³)</span>" in text
    assert "+50%" in text
    assert text.count('<tr>\n          <th scope="row">') == 24
    assert "<script" not in text


def test_consumption_of_another_tenants_point_of_delivery_is_not_found(app, browser, two_tenants):
    a, b = two_tenants
    _setup(app, a)
    portal = browser(a.slug)
    portal.login(a.customer_email)

    foreign = portal.get(f"/consumption?dp={b.delivery_point_identifier}")
    missing = portal.get("/consumption?dp=NOPE")
    own = portal.get(f"/consumption?dp={a.delivery_point_identifier}")

    assert foreign.status_code == missing.status_code == 404 and own.status_code == 200


def test_consumption_without_readings_says_so(app, browser, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        prepare_meter(a, readings=[])
        db.session.commit()
    portal = browser(a.slug)
    portal.login(a.customer_email)

    text = portal.get("/consumption").get_data(as_text=True)

    assert "not enough readings yet" in text and 'role="img"' not in text


def test_a_history_that_starts_on_estimated_readings_has_figures_for_its_first_months(app, browser, two_tenants):
    # As in the demo: the first two indexes were estimated (their months billed on estimates), then read each
    # month. 10 m3 a month over the 12 months before, 12 m3 a month over the last 12.
    a, _b = two_tenants
    this_month = _month_start()
    start = add_months(this_month, -24)
    readings, value = [], 500
    for n in range(25):
        readings.append((add_months(start, n), str(value), "estimated" if n < 2 else "agent"))
        value += 10 if n < 12 else 12
    with app.app_context(), tenant_scope(a.tenant_id):
        prepare_meter(a, start=add_months(this_month, -30), readings=readings)
        db.session.commit()
    portal = browser(a.slug)
    portal.login(a.customer_email)

    text = portal.get("/consumption").get_data(as_text=True)

    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", text))
    assert facts == {"Last 12 months": "144\u00a0m³", "The 12 months before": "120\u00a0m³"}
    oldest = re.findall(r'<th scope="row">[^<]+</th>\s*<td class="num">(.*?)</td>', text)[-2:]
    assert oldest == ['10 <span class="muted">(estimated)</span>'] * 2
    assert text.count("no data") == 12  # only the year before the 24 months, which has no readings
