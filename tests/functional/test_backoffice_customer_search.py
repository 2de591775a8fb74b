"""Customer search in the back office: each result shows the holder's address, so namesakes can be told apart,
and a search that matches more customers than are shown says so instead of a count that is only the page's."""
from __future__ import annotations

import re

import pytest

from domain.db import db
from tenants.context import tenant_scope
from tests.factories import ContactPointFactory, CustomerAccountFactory, PartyFactory


@pytest.fixture
def office(browser, two_tenants):
    a = two_tenants[0]
    signed_in = browser(a.slug)
    signed_in.login(a.staff_emails["agent"], area="/backoffice")
    return a, signed_in


def _customers(app, data, count: int, name: str) -> None:
    with app.app_context(), tenant_scope(data.tenant_id):
        for n in range(count):
            party = PartyFactory(kind="organisation", first_name=None, last_name=None, organisation_name=name)
            ContactPointFactory(party=party, kind="postal", value=None, address_line1=f"{n + 1} rue du Port",
                                postcode="69003", city="Lyon", is_primary=True)
            CustomerAccountFactory(holder=party)
        db.session.commit()


def test_namesakes_are_told_apart_by_their_address(app, office):
    a, signed_in = office
    _customers(app, a, 2, "Librairie des Quais")

    html = signed_in.get("/backoffice/customers?q=librairie").get_data(as_text=True)

    assert "2 customers found" in html
    assert "1 rue du Port, 69003 Lyon" in html and "2 rue du Port, 69003 Lyon" in html


def test_a_search_matching_more_than_a_page_says_so(app, office):
    a, signed_in = office
    _customers(app, a, 51, "Boulangerie")

    html = signed_in.get("/backoffice/customers?q=boulangerie").get_data(as_text=True)

    assert "More than 50 customers match: the first 50 are shown." in html and "customers found" not in html
    assert len(re.findall(r'href="/backoffice/customers/(?!new")[^"/]+"', html)) == 50  # results, not "New customer"


def test_exactly_a_page_of_matches_is_counted(app, office):
    a, signed_in = office
    _customers(app, a, 50, "Boulangerie")

    html = signed_in.get("/backoffice/customers?q=boulangerie").get_data(as_text=True)

    assert "50 customers found" in html and "More than" not in html


def test_a_customer_opened_from_the_results_leads_back_to_them(app, office):
    a, signed_in = office
    _customers(app, a, 1, "Librairie <b>des</b> Quais")

    results = signed_in.get("/backoffice/customers?q=librairie").get_data(as_text=True)
    link = re.search(r'href="(/backoffice/customers/[^"?]+\?q=librairie)"', results).group(1)
    page = signed_in.get(link).get_data(as_text=True)
    plain = signed_in.get(link.split("?")[0]).get_data(as_text=True)
    hostile = signed_in.get(link.split("?")[0] + "?q=%3Cscript%3E").get_data(as_text=True)

    assert '<a href="/backoffice/customers?q=librairie">← Search results for “librairie”</a>' in page
    assert '<a href="/backoffice/customers">← Customers</a>' in plain
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile


def _person(app, data, first: str, last: str, city: str) -> str:
    with app.app_context(), tenant_scope(data.tenant_id):
        party = PartyFactory(first_name=first, last_name=last)
        ContactPointFactory(party=party, kind="postal", value=None, address_line1="3 place Bellecour",
                            postcode="69002", city=city, is_primary=True)
        account = CustomerAccountFactory(holder=party)
        db.session.commit()
        return account.account_number


def _found(signed_in, query: str) -> set[str]:
    from urllib.parse import quote

    html = signed_in.get(f"/backoffice/customers?q={quote(query)}").get_data(as_text=True)
    return set(re.findall(r'href="/backoffice/customers/((?!new")[^"/?]+)', html))


def test_a_name_is_found_in_any_order_and_with_the_town(app, office):
    a, signed_in = office
    camille = _person(app, a, "Camille", "Durand", "Lyon")
    other = _person(app, a, "Camille", "Martin", "Paris")

    assert _found(signed_in, "durand camille") == {camille}
    assert _found(signed_in, "Camille DURAND") == {camille}
    assert _found(signed_in, "camille") == {camille, other}
    assert _found(signed_in, "camille paris") == {other}
    assert _found(signed_in, "durand paris") == set()


def test_a_meter_serial_or_a_bill_number_finds_its_customer_in_this_utility_only(app, office, two_tenants):
    from sqlalchemy import select

    from domain.sites.models import Meter

    a, signed_in = office
    b = two_tenants[1]
    with app.app_context(), tenant_scope(a.tenant_id):
        serial = db.session.scalars(select(Meter.serial_number)).first()
    with app.app_context(), tenant_scope(b.tenant_id):
        b_serial = db.session.scalars(select(Meter.serial_number)).first()

    assert _found(signed_in, serial.lower()) == {a.account_number}
    assert _found(signed_in, a.bill_number) == {a.account_number}
    assert serial != b_serial and _found(signed_in, b_serial) == set()  # another utility's meter: nothing


def test_each_result_says_what_it_was_found_by(app, office):
    a, signed_in = office
    _person(app, a, "François", "Dupré", "Besançon")

    by_name = signed_in.get("/backoffice/customers?q=francois+dupre").get_data(as_text=True)
    by_typo = signed_in.get("/backoffice/customers?q=francois+duper").get_data(as_text=True)
    by_town = signed_in.get("/backoffice/customers?q=besancon").get_data(as_text=True)
    by_bill = signed_in.get(f"/backoffice/customers?q={a.bill_number}").get_data(as_text=True)

    assert "1 customer found" in by_name and "Found by" in by_name
    assert '<span class="muted">Name</span> François Dupré</td>' in by_name
    assert '<span class="muted">Name</span> François Dupré <em>(close spelling)</em>' in by_typo
    assert '<span class="muted">Town</span> Besançon' in by_town
    assert f'<span class="muted">Bill</span> {a.bill_number}' in by_bill and a.account_number in by_bill


def test_a_search_in_french_says_what_matched_in_french(app, office):
    a, signed_in = office
    _person(app, a, "Camille", "Durand", "Lyon")

    html = signed_in.get("/backoffice/customers?q=duarnd", headers={"Accept-Language": "fr"}).get_data(as_text=True)

    assert "Trouvé par" in html and "orthographe proche" in html


def test_the_results_export_to_csv_with_what_each_was_found_by(app, office):
    a, signed_in = office
    camille = _person(app, a, "Camille", "Durand", "Lyon")
    _person(app, a, "Paul", "Martin", "Paris")

    page = signed_in.get("/backoffice/customers?q=durand").get_data(as_text=True)
    response = signed_in.get("/backoffice/customers?q=durand&format=csv")
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()

    assert 'href="/backoffice/customers?q=durand&amp;format=csv"' in page
    assert response.mimetype == "text/csv"
    assert lines[0] == "Customer number,Holder,Address,Found by,Status,Customer since"
    assert lines[1:] == [f"{camille},Camille Durand,\"3 place Bellecour, 69002 Lyon\",Name Camille Durand,active,"
                         "2024-01-01"]


@pytest.mark.parametrize("query", ['"', "' OR 1=1 --", "NEAR(a b)", "a* & !b | c:*", "é" * 300, "%_"])
def test_odd_input_finds_nothing_and_never_fails(app, office, query):
    _a, signed_in = office
    from urllib.parse import quote

    response = signed_in.get(f"/backoffice/customers?q={quote(query)}")

    assert response.status_code == 200 and "0 customers found" in response.get_data(as_text=True)
