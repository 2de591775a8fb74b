"""The back-office search on the database (SQLite FTS5 or PostgreSQL trigram + full text under row-level
security): tolerant of accents, typos and word order, every identifier kind, ranked, within the tenant; and its
search documents stay current on every write path (staff entry, the portal, the import, billing, meters)."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from domain.contracts.models import CustomerAccount
from domain.db import db, utcnow
from domain.search.models import SearchRefreshQueue
from domain.search.services import search_accounts
from tenants.context import tenant_scope
from tests.factories import (
    BillFactory,
    ContactPointFactory,
    ContractFactory,
    CustomerAccountFactory,
    DeliveryPointFactory,
    MeterFactory,
    MeterInstallationFactory,
    PartyFactory,
    PremiseFactory,
    TariffVersionFactory,
)


@pytest.fixture
def tenants(app, two_tenants):
    return two_tenants


def _customer(tenant_id: int, first: str | None, last: str | None, *, organisation: str | None = None,
              number: str | None = None, email: str | None = None, phone: str | None = None, city: str = "Lyon",
              postcode: str = "69002", pod: str | None = None, meter: str | None = None,
              bill: str | None = None) -> str:
    with tenant_scope(tenant_id):
        party = (PartyFactory(kind="organisation", first_name=None, last_name=None, organisation_name=organisation)
                 if organisation else PartyFactory(first_name=first, last_name=last))
        ContactPointFactory(party=party, kind="postal", value=None, address_line1="3 place Bellecour",
                            postcode=postcode, city=city)
        if email:
            ContactPointFactory(party=party, kind="email", value=email)
        if phone:
            ContactPointFactory(party=party, kind="phone", value=phone)
        account = CustomerAccountFactory(holder=party, **({"account_number": number} if number else {}))
        if pod or meter:
            point = DeliveryPointFactory(premise=PremiseFactory(postcode=postcode, city=city),
                                         **({"identifier": pod} if pod else {}))
            ContractFactory(account=account, delivery_point=point, offer_id=TariffVersionFactory().offer_id)
            if meter:
                MeterInstallationFactory(meter=MeterFactory(serial_number=meter), delivery_point=point)
        if bill:
            BillFactory(account=account, number=bill)
        db.session.commit()
        return account.account_number


def _search(tenant_id: int, query: str) -> list[str]:
    with tenant_scope(tenant_id):
        hits = search_accounts(query=query, limit=20)
        db.session.rollback()
        return [hit.account_number for hit in hits]


def _hits(tenant_id: int, query: str):
    with tenant_scope(tenant_id):
        hits = search_accounts(query=query, limit=20)
        found = [(hit.account_number, [(m.kind, m.value, m.how) for m in hit.matched], hit.close_spelling)
                 for hit in hits]
        db.session.rollback()
        return found


def test_a_name_is_found_without_its_accents_in_either_order(ctx, tenants):
    a, _b = tenants
    francois = _customer(a.tenant_id, "François", "Dupré")
    _customer(a.tenant_id, "François", "Leroy")

    assert _search(a.tenant_id, "Francois Dupre") == [francois]
    assert _search(a.tenant_id, "DUPRE françois") == [francois]
    assert _search(a.tenant_id, "dupré") == [francois]


def test_a_misspelt_name_finds_the_close_one_after_the_exact_ones(ctx, tenants):
    a, _b = tenants
    durand = _customer(a.tenant_id, "Camille", "Durand")
    durant = _customer(a.tenant_id, "Paul", "Durant")

    assert _search(a.tenant_id, "duarnd")[0] == durand  # Durant, two typos away, may follow
    assert _search(a.tenant_id, "camille duarnd") == [durand]
    assert _search(a.tenant_id, "durand") == [durand, durant]  # the exact spelling first
    assert _hits(a.tenant_id, "camille duarnd")[0][1:] == ([("name", "Camille Durand", "close")], True)


def test_each_identifier_finds_its_account_and_says_what_matched(ctx, tenants):
    a, _b = tenants
    number = _customer(a.tenant_id, "Inès", "Carpentier", number="Q00007788", email="ines.carpentier@example.fr",
                       phone="+33 4 72 10 20 30", pod="30001234567890", meter="LKY-884411", bill="F2026-004242",
                       postcode="69003", city="Villeurbanne")
    _customer(a.tenant_id, "Léa", "Morel", number="Q00007789")

    cases = {
        "Q00007788": ("account", "Q00007788"), "7788": ("account", "Q00007788"),
        "30001234567890": ("pod", "30001234567890"), "lky884411": ("meter", "LKY-884411"),
        "LKY-884411": ("meter", "LKY-884411"), "ines.carpentier@example.fr": ("email", "ines.carpentier@example.fr"),
        "04 72 10 20 30": ("phone", "+33 4 72 10 20 30"), "0472102030": ("phone", "+33 4 72 10 20 30"),
        "F2026-004242": ("bill", "F2026-004242"), "69003": ("postcode", "69003"),
        "villeurbanne": ("town", "Villeurbanne"),
    }
    for query, (kind, value) in cases.items():
        found = _hits(a.tenant_id, query)
        assert [row[0] for row in found] == [number], query
        assert (kind, value, "exact") in found[0][1], query


def test_a_partial_customer_number_finds_the_numbers_it_begins(ctx, tenants):
    a, _b = tenants
    first = _customer(a.tenant_id, "Léa", "Morel", number="Q00007788")
    second = _customer(a.tenant_id, "Jean", "Morel", number="Q00007789")
    _customer(a.tenant_id, "Paul", "Morel", number="Q00001111")

    assert sorted(_search(a.tenant_id, "Q0000778")) == [first, second]
    assert dict((row[0], row[1]) for row in _hits(a.tenant_id, "Q0000778"))[first] == [
        ("account", "Q00007788", "prefix")]


def test_an_exact_identifier_comes_before_the_other_matches(ctx, tenants):
    a, _b = tenants
    by_postcode = [_customer(a.tenant_id, "Ana", f"Lopez{n}", postcode="69002") for n in range(2)]
    by_number = _customer(a.tenant_id, "Zoé", "Ruiz", number="Z00069002", postcode="75001", city="Paris")

    found = _search(a.tenant_id, "69002")

    assert found[0] == by_number and set(found[1:]) == set(by_postcode)


def test_an_organisation_and_a_name_with_a_town_narrow_the_search(ctx, tenants):
    a, _b = tenants
    shop = _customer(a.tenant_id, None, None, organisation="Boulangerie Saint-Éloi", city="Saint-Étienne")
    camille = _customer(a.tenant_id, "Camille", "Martin", city="Paris", postcode="75011")
    _customer(a.tenant_id, "Camille", "Martin", city="Lyon")

    assert _search(a.tenant_id, "boulangerie saint-eloi") == [shop]
    assert _search(a.tenant_id, "camille martin paris") == [camille]


def test_another_utilitys_customer_is_never_found(ctx, tenants):
    a, b = tenants
    _customer(b.tenant_id, "Zébulon", "Quintessence", meter="LKY-B-1", bill="B2026-000001", email="z@b.example")

    for query in ("zebulon", "quintessence", "quintesence", "LKY-B-1", "B2026-000001", "z@b.example", b.account_number):
        assert _search(a.tenant_id, query) == [], query
    assert _search(b.tenant_id, "zebulon quintesence") != []


def test_nothing_to_search_finds_nothing(ctx, tenants):
    a, _b = tenants

    assert _search(a.tenant_id, "") == [] and _search(a.tenant_id, " ' - ") == []
    assert _search(a.tenant_id, 'ab"c OR * (x') == []  # words only: nothing is read as the index's syntax


# --- the search documents stay current on every write path -------------------------------------------------------

def _account(tenant_id: int, number: str) -> CustomerAccount:
    return db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == number))


def test_a_holder_changed_by_staff_is_found_by_the_new_name_only(ctx, tenants):
    from domain.parties import services as parties

    a, _b = tenants
    number = _customer(a.tenant_id, "Hélène", "Girard", email="helene@example.test")
    with tenant_scope(a.tenant_id):
        holder = _account(a.tenant_id, number).holder
        parties.update_holder(party=holder, details=parties.HolderDetails(
            kind="person", title=None, first_name="Hélène", last_name="Mercier", organisation_name=None,
            registration_number=None, birth_date=None, email="helene.mercier@example.test", phone="01 23 45 67 89",
            address=parties.Address(address_line1="1 rue Neuve", address_line2=None, postcode="33000",
                                    city="Bordeaux", country="FR")))
        db.session.commit()

    assert _search(a.tenant_id, "helene mercier") == [number]
    assert _search(a.tenant_id, "girard") == [] and _search(a.tenant_id, "helene@example.test") == []
    assert _search(a.tenant_id, "helene.mercier@example.test") == [number]
    assert _search(a.tenant_id, "bordeaux") == [number] and _search(a.tenant_id, "0123456789") == [number]


def test_a_phone_and_address_changed_in_the_portal_are_found(ctx, tenants):
    from domain.identity import profile
    from domain.identity.models import CustomerUser

    a, _b = tenants
    with tenant_scope(a.tenant_id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email))
        profile.update_contact_details(user=user, phone="+33 6 11 22 33 44", address=profile.PostalAddress(
            address_line1="8 quai Saint-Vincent", address_line2=None, postcode="69001", city="Lyon", country="FR"),
            now=utcnow())
        db.session.commit()

    assert _search(a.tenant_id, "06 11 22 33 44") == [a.account_number]


def test_a_bill_is_found_once_issued(ctx, tenants):
    a, _b = tenants
    number = _customer(a.tenant_id, "Noé", "Lambert")
    with tenant_scope(a.tenant_id):
        draft = BillFactory(account=_account(a.tenant_id, number), status="draft", number=None)
        db.session.commit()
        draft_id = draft.id

    before = _search(a.tenant_id, "F2026-777777")
    with tenant_scope(a.tenant_id):
        from domain.billing.models import Bill

        bill = db.session.get(Bill, draft_id)
        bill.status, bill.number = "issued", "F2026-777777"
        db.session.commit()

    assert before == [] and _search(a.tenant_id, "F2026-777777") == [number]


def test_a_new_meter_and_a_renamed_point_of_delivery_are_found(ctx, tenants):
    from domain.sites.models import DeliveryPoint, MeterInstallation

    a, _b = tenants
    number = _customer(a.tenant_id, "Rémi", "Bonnet", pod="PDL-OLD-1", meter="OLD-METER-1")
    with tenant_scope(a.tenant_id):
        point = db.session.scalar(select(DeliveryPoint).where(DeliveryPoint.identifier == "PDL-OLD-1"))
        installation = db.session.scalar(select(MeterInstallation).where(
            MeterInstallation.delivery_point_id == point.id))
        installation.removed_on = date(2026, 6, 1)
        MeterInstallationFactory(meter=MeterFactory(serial_number="NEW-METER-2"), delivery_point=point,
                                 installed_on=date(2026, 6, 1))
        point.identifier = "PDL-NEW-1"
        db.session.commit()

    assert _search(a.tenant_id, "NEW-METER-2") == [number] and _search(a.tenant_id, "PDL-NEW-1") == [number]
    assert _search(a.tenant_id, "OLD-METER-1") == [number]  # the meter it had is still a way to find it
    assert _search(a.tenant_id, "PDL-OLD-1") == []


def test_customers_imported_in_bulk_are_found(app, tenants, monkeypatch):
    from tests.integration.test_customer_import import _customer_files, _encode, _import, _offer

    monkeypatch.setitem(app.config, "REDIS_URL", None)
    a, _b = tenants
    tables = _customer_files(_offer(app, a.tenant_id), 2, city="Besançon")

    imported = _import(app, a.tenant_id, _encode(tables))

    assert imported.status == "completed", imported.errors
    with app.app_context():
        found = _hits(a.tenant_id, "name2 besancon")
        assert len(found) == 1 and ("town", "Besançon", "exact") in found[0][1]
        assert len(_search(a.tenant_id, "c1@example.com")) == 1
        assert _search(a.tenant_id, "besancon") and len(_search(a.tenant_id, "besancon")) == 2
        # On PostgreSQL the chunks only queued the accounts; the import's close built each document once.
        with tenant_scope(a.tenant_id):
            assert db.session.scalar(select(func.count(SearchRefreshQueue.id))) == 0


def test_the_beginnings_of_names_find_them_after_whole_words(ctx, tenants):
    a, _b = tenants
    camille = _customer(a.tenant_id, "Camille", "Durand")
    durandeau = _customer(a.tenant_id, "Camille", "Durandeau")

    assert _search(a.tenant_id, "cami dura") == [camille, durandeau]
    assert _search(a.tenant_id, "camille durand") == [camille, durandeau]  # the whole word first
    assert _hits(a.tenant_id, "cami dura")[0][1] == [("name", "Camille Durand", "prefix")]
