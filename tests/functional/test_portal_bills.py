"""Journey 5, bills: the list with statuses, a bill's detail, its PDF for its owner only."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from domain.db import db
from tenants.context import tenant_scope
from tests.integration.test_payments import add_bill, book_factory_payment, pay_allocated
from tests.isolation import MISSING, _same_as_missing

TODAY = date.today()


@pytest.fixture
def portal(app, two_tenants, browser):
    a, b = two_tenants
    with app.app_context():
        book_factory_payment(a)
    signed_in = browser(a.slug)
    signed_in.login(a.customer_email)
    return a, b, signed_in


def _bills(app, tenant_id, make):
    with app.app_context(), tenant_scope(tenant_id):
        made = make()
        numbers = {key: bill.number for key, bill in made.items()}
        db.session.commit()
        return numbers


def _row(html: str, number: str) -> str:
    start = html.index(f">{number}</a>")
    return html[start:html.index("</tr>", start)]


def test_bills_page_shows_every_status_newest_first(app, portal):
    a, _b, browser_a = portal

    def make():
        due = add_bill(a.account_number, "40.00", due=TODAY + timedelta(days=10))
        partly = add_bill(a.account_number, "100.00", due=TODAY + timedelta(days=10))
        pay_allocated(partly, "25.00")
        overdue = add_bill(a.account_number, "30.00", due=TODAY - timedelta(days=3))
        cancelled = add_bill(a.account_number, "55.00", status="cancelled")
        credit = add_bill(a.account_number, "55.00", kind="credit_note")
        return {"due": due, "partly": partly, "overdue": overdue, "cancelled": cancelled, "credit": credit}

    numbers = _bills(app, a.tenant_id, make)

    response = browser_a.get("/bills")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Due" in _row(html, numbers["due"]) and "€40.00" in _row(html, numbers["due"])
    assert "Partly paid" in _row(html, numbers["partly"]) and "€75.00" in _row(html, numbers["partly"])
    assert "Overdue" in _row(html, numbers["overdue"])
    assert "Cancelled" in _row(html, numbers["cancelled"])
    assert "Credit note" in _row(html, numbers["credit"])
    assert "Paid" in _row(html, a.bill_number)
    assert html.index(numbers["credit"]) < html.index(a.bill_number)  # newest first
    assert "€145.00" in html  # the balance: 40 + 100 - 25 + 30 (the cancelled bill is offset by its credit note)


def test_bills_of_one_account_only(app, portal):
    a, _b, browser_a = portal

    from domain.identity.models import CustomerUser
    from sqlalchemy import select
    from tests.factories import CustomerAccessFactory, CustomerAccountFactory

    with app.app_context(), tenant_scope(a.tenant_id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email))
        holiday = CustomerAccountFactory()
        CustomerAccessFactory(user=user, account=holiday)
        holiday_bill = add_bill(holiday.account_number, "12.00").number
        holiday_number = holiday.account_number
        db.session.commit()

    everything = browser_a.get("/bills").get_data(as_text=True)
    holiday_only = browser_a.get(f"/bills?account={holiday_number}").get_data(as_text=True)

    assert holiday_bill in everything and a.bill_number in everything
    assert holiday_bill in holiday_only and a.bill_number not in holiday_only
    assert browser_a.get(f"/bills?account={MISSING}").status_code == 404


def test_bill_detail_shows_lines_taxes_totals_and_payments(app, portal):
    a, _b, browser_a = portal

    def make():
        bill = add_bill(a.account_number, "120.00")
        pay_allocated(bill, "20.00")
        pay_allocated(bill, "50.00", status="failed")
        return {"bill": bill}

    number = _bills(app, a.tenant_id, make)["bill"]

    response = browser_a.get(f"/bills/{number}")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Energy" in html and "200\u00a0kWh" in html  # the factory's line
    assert "20%" in html  # its tax rate
    assert "€100.00" in html and "€20.00" in html and "€120.00" in html  # excl. tax, tax, total
    assert "Partly paid" in html and "€100.00" in html  # left to pay
    assert "Failed" in html  # a failed payment is shown as such
    assert f'href="/bills/{number}.pdf"' in html
    assert f"/pay?bill={number}" in html


def test_a_foreign_or_unknown_bill_is_the_same_404(app, portal):
    a, b, browser_a = portal

    _same_as_missing(browser_a, f"/bills/{b.bill_number}", f"/bills/{MISSING}", b.bill_number)
    _same_as_missing(browser_a, f"/bills/{b.bill_number}.pdf", f"/bills/{MISSING}.pdf", b.bill_number)


def test_another_customers_bill_of_the_same_tenant_is_404(app, portal):
    a, _b, browser_a = portal
    from tests.factories import CustomerAccountFactory

    number = _bills(app, a.tenant_id, lambda: {"x": add_bill(CustomerAccountFactory().account_number, "9.00")})["x"]

    assert browser_a.get(f"/bills/{number}").status_code == 404
    assert browser_a.get(f"/bills/{number}.pdf").status_code == 404


def test_the_pdf_is_served_to_its_owner(app, portal):
    a, _b, browser_a = portal

    response = browser_a.get(f"/bills/{a.bill_number}.pdf")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert response.headers["Cache-Control"] == "no-store"


def test_download_link_saves_the_pdf_as_an_attachment_and_open_shows_it(app, portal):
    a, _b, browser_a = portal
    detail = browser_a.get(f"/bills/{a.bill_number}").get_data(as_text=True)

    opened = browser_a.get(f"/bills/{a.bill_number}.pdf")
    downloaded = browser_a.get(f"/bills/{a.bill_number}.pdf?download=1")

    assert f'href="/bills/{a.bill_number}.pdf"' in detail and "Open the PDF" in detail
    assert f'href="/bills/{a.bill_number}.pdf?download=1"' in detail and "Download the PDF" in detail
    assert opened.headers["Content-Disposition"] == f'inline; filename="{a.bill_number}.pdf"'
    assert downloaded.status_code == 200 and downloaded.data.startswith(b"%PDF")
    assert downloaded.headers["Content-Type"] == "application/pdf"
    assert downloaded.headers["Content-Disposition"] == f'attachment; filename="bill-{a.bill_number}.pdf"'
    assert downloaded.data == opened.data


def test_download_of_a_foreign_bill_is_the_same_404(app, portal):
    a, b, browser_a = portal

    _same_as_missing(browser_a, f"/bills/{b.bill_number}.pdf?download=1", f"/bills/{MISSING}.pdf?download=1",
                     b.bill_number)


def test_pdf_file_name_keeps_only_safe_characters():
    from portal.bill_views import pdf_disposition

    assert pdf_disposition('F2026-000101', download=True) == 'attachment; filename="bill-F2026-000101.pdf"'
    assert pdf_disposition('F"1\r\nX', download=True) == 'attachment; filename="bill-F1X.pdf"'
    assert pdf_disposition('F2026-000101', download=False) == 'inline; filename="F2026-000101.pdf"'


def test_a_pdf_that_cannot_be_rendered_yet_says_so_without_an_error(app, portal, monkeypatch):
    a, _b, browser_a = portal
    from domain.billing import bills

    def not_yet(bill):
        raise RuntimeError("renderer busy")

    monkeypatch.setattr(bills, "document_of", not_yet)

    response = browser_a.get(f"/bills/{a.bill_number}.pdf")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert "being prepared" in response.get_data(as_text=True)


def test_bills_need_sign_in(browser, two_tenants):
    a, _b = two_tenants

    response = browser(a.slug).get("/bills")

    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("locale", ["fr", "de", "es"])
def test_bills_page_in_the_customers_language(app, portal, locale):
    a, _b, browser_a = portal
    browser_a.submit("/bills", {"locale": locale}, action="/language")

    html = browser_a.get("/bills").get_data(as_text=True)

    expected = {"fr": "Vos factures", "de": "Ihre Rechnungen", "es": "Sus facturas"}[locale]
    assert expected in html


# --- Paging ------------------------------------------------------------------------------------------------------

def _many_bills(app, a, count: int) -> list[str]:
    """`count` more bills of A's account, returned newest first (as the list shows them)."""
    def make():
        return {i: add_bill(a.account_number, "10.00") for i in range(count)}
    numbers = _bills(app, a.tenant_id, make)
    return [numbers[i] for i in reversed(range(count))]


def _bill_rows(html: str) -> list[str]:
    table = html[html.index('aria-labelledby="bills-title"'):]
    table = table[:table.index("</table>")]
    return re.findall(r'<a href="/bills/([^"]+)">', table)


def test_bills_are_listed_twenty_a_page_newest_first(app, portal):
    a, _b, browser_a = portal
    newest_first = _many_bills(app, a, 44) + [a.bill_number]  # 45 in all; the fixture's bill is the oldest

    first = browser_a.get("/bills").get_data(as_text=True)
    second = browser_a.get("/bills?page=2").get_data(as_text=True)
    last = browser_a.get("/bills?page=3").get_data(as_text=True)

    assert _bill_rows(first) == newest_first[:20]
    assert _bill_rows(second) == newest_first[20:40]
    assert _bill_rows(last) == newest_first[40:]
    assert '<nav class="pager" aria-label="Pages of bills">' in second
    assert 'href="/bills?page=2" aria-current="page"' in second
    assert 'rel="prev" href="/bills?page=1"' in second and 'rel="next" href="/bills?page=3"' in second
    assert 'rel="prev"' not in first and 'rel="next"' not in last
    assert "41–45 of 45" in last
    assert "<title>Bills — page 3 of 3" in last


@pytest.mark.parametrize("asked, shown", [("99", 3), ("0", 1), ("-1", 1), ("abc", 1), ("2.5", 1),
                                          ("9" * 40, 3), ("", 1)])
def test_a_page_out_of_range_or_not_a_number_shows_the_first_or_last_page(app, portal, asked, shown):
    a, _b, browser_a = portal
    newest_first = _many_bills(app, a, 44) + [a.bill_number]

    response = browser_a.get(f"/bills?page={asked}")

    assert response.status_code == 200
    assert _bill_rows(response.get_data(as_text=True)) == newest_first[(shown - 1) * 20:shown * 20]


def test_one_page_of_bills_has_no_pager(app, portal):
    _a, _b, browser_a = portal

    html = browser_a.get("/bills").get_data(as_text=True)

    assert 'class="pager"' not in html


def test_paging_keeps_the_account_filter(app, portal):
    a, _b, browser_a = portal
    from domain.identity.models import CustomerUser
    from sqlalchemy import select
    from tests.factories import CustomerAccessFactory, CustomerAccountFactory

    with app.app_context(), tenant_scope(a.tenant_id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email))
        CustomerAccessFactory(user=user, account=CustomerAccountFactory())
        db.session.commit()
    newest_first = _many_bills(app, a, 24) + [a.bill_number]

    html = browser_a.get(f"/bills?account={a.account_number}&page=2").get_data(as_text=True)

    assert _bill_rows(html) == newest_first[20:]
    assert f'href="/bills?page=1&amp;account={a.account_number}"' in html


def test_the_bills_page_costs_the_same_statements_whatever_the_history(app, portal):
    a, _b, browser_a = portal
    from sqlalchemy import event

    def statements(path: str) -> int:
        seen = []

        def count(*_args):
            seen.append(1)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert browser_a.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    _many_bills(app, a, 2)
    small = statements("/bills")
    _many_bills(app, a, 60)
    large_first, large_last = statements("/bills"), statements("/bills?page=4")

    assert small == large_first == large_last
