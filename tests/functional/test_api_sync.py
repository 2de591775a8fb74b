"""The integration API's read endpoints a utility's CRM and accounting use to sync: every list walks by cursor and
filters by `updated_since`; amounts as exact text; the bill's PDF as issued; scopes; other tenants' identifiers
answer 404 like missing ones."""
from __future__ import annotations

from datetime import datetime, UTC
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from domain.accounting.models import Payment
from domain.billing.models import Bill
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.requests.models import ServiceRequest
from domain.sites.models import DeliveryPoint
from tenants.context import tenant_scope
from tests.api_support import api_client, make_api_key
from tests.factories import (
    BillFactory,
    BillLineFactory,
    ContractFactory,
    CustomerAccountFactory,
    PaymentFactory,
    ServiceRequestFactory,
)

T1 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
T2 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)

LISTS = ["/api/v1/accounts", "/api/v1/delivery-points", "/api/v1/contracts", "/api/v1/bills", "/api/v1/payments",
         "/api/v1/requests"]


@pytest.fixture
def tenants(two_tenants):
    return two_tenants


def _identifiers(app, tenant_id: int) -> dict[str, str]:
    with app.app_context(), tenant_scope(tenant_id):
        return {
            "account": db.session.scalar(select(CustomerAccount.account_number)),
            "point": db.session.scalar(select(DeliveryPoint.identifier)),
            "contract": db.session.scalar(select(Contract.contract_number)),
            "bill": db.session.scalar(select(Bill.number)),
            "payment": db.session.scalar(select(Payment.public_id)),
            "request": db.session.scalar(select(ServiceRequest.reference)),
        }


def _walk(api, path: str, limit: int, **params) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        response = api.get(path, query_string=query)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_every_list_walks_every_item_once_across_pages(app, client, tenants):
    a, _b = tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        account = db.session.scalar(select(CustomerAccount))
        for _ in range(4):
            ContractFactory(account=account)
            BillFactory(account=account)
            PaymentFactory(account=account)
            ServiceRequestFactory(account=account)
            CustomerAccountFactory()
        db.session.commit()
        for model in (CustomerAccount, DeliveryPoint, Contract, Bill, Payment, ServiceRequest):
            ids = list(db.session.scalars(select(model.id).order_by(model.id)))
            half = len(ids) // 2
            db.session.execute(update(model).where(model.id.in_(ids[:half])).values(updated_at=T1))
            db.session.execute(update(model).where(model.id.in_(ids[half:])).values(updated_at=T2))
        db.session.commit()
        expected = {path: db.session.scalar(select(func.count(model.id)))
                    for path, model in zip(LISTS, (CustomerAccount, DeliveryPoint, Contract, Bill, Payment,
                                                  ServiceRequest), strict=True)}
    api = api_client(client, make_api_key(app, a.tenant_id))
    keys = {"/api/v1/accounts": "account_number", "/api/v1/delivery-points": "identifier",
            "/api/v1/contracts": "contract_number", "/api/v1/bills": "number", "/api/v1/payments": "public_id",
            "/api/v1/requests": "reference"}

    for path in LISTS:
        seen = [item[keys[path]] for page in _walk(api, path, 2) for item in page]
        since = [item[keys[path]] for page in _walk(api, path, 3, updated_since=T2.isoformat()) for item in page]

        assert len(seen) == len(set(seen)) == expected[path], path
        assert 0 < len(since) < len(seen), path


def test_a_bill_in_json_money_as_text_lines_and_dates(app, client, tenants):
    a, _b = tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        bill = BillFactory(account=db.session.scalar(select(CustomerAccount)), total_incl_tax=Decimal("60.5"))
        BillLineFactory(bill=bill, position=1, quantity=Decimal("200.5"))
        db.session.commit()
        number = bill.number
    api = api_client(client, make_api_key(app, a.tenant_id, scopes={"bills:read"}))

    body = api.get(f"/api/v1/bills/{number}").get_json()

    assert body["total_incl_tax"] == "60.50" and body["currency"] == "EUR"
    assert body["lines"][0]["quantity"] == "200.500" and body["lines"][0]["amount"] == "50.00"
    assert body["issued_at"].endswith("Z") and body["due_date"] == "2026-11-15"
    assert "id" not in body and "account_id" not in body
    assert body["document_url"] == f"/api/v1/bills/{number}/pdf"


def test_the_pdf_is_the_stored_document_byte_for_byte(app, client, tenants):
    from domain.billing.document_jobs import render_bill_document
    from domain.storage import storage

    a, _b = tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        bill = db.session.scalar(select(Bill).where(Bill.number == a.bill_number))
        key = render_bill_document(bill_id=bill.id)
        db.session.commit()
        stored = storage().read(tenant_id=a.tenant_id, key=key)
    api = api_client(client, make_api_key(app, a.tenant_id, scopes={"bills:read"}))

    response = api.get(f"/api/v1/bills/{a.bill_number}/pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.get_data() == stored


def test_a_tampered_document_is_never_served(app, client, tenants):
    from domain.billing.document_jobs import render_bill_document

    a, _b = tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        bill = db.session.scalar(select(Bill).where(Bill.number == a.bill_number))
        render_bill_document(bill_id=bill.id)
        db.session.execute(update(Bill).where(Bill.id == bill.id).values(document_sha256="0" * 64))
        db.session.commit()
    api = api_client(client, make_api_key(app, a.tenant_id, scopes={"bills:read"}))

    response = api.get(f"/api/v1/bills/{a.bill_number}/pdf")

    assert response.status_code == 503 and response.get_json()["error"]["code"] == "document_unavailable"
    assert response.headers["Retry-After"] == "60"


def test_accounts_search_by_name_number_and_email(app, client, tenants):
    a, _b = tenants
    api = api_client(client, make_api_key(app, a.tenant_id, scopes={"customers:read"}))
    one = api.get(f"/api/v1/accounts/{a.account_number}").get_json()

    by_number = api.get("/api/v1/accounts", query_string={"q": a.account_number}).get_json()["data"]
    by_email = api.get("/api/v1/accounts", query_string={"q": f"{a.slug}.customer@example.test"}).get_json()["data"]
    by_name = api.get("/api/v1/accounts", query_string={"q": one["holder"]["last_name"]}).get_json()["data"]
    nothing = api.get("/api/v1/accounts", query_string={"q": "Zzyzx"}).get_json()

    assert [r["account_number"] for r in by_number] == [a.account_number]
    assert [r["account_number"] for r in by_email] == [a.account_number]
    assert a.account_number in [r["account_number"] for r in by_name]
    assert nothing == {"data": [], "next_cursor": None}
    assert one["holder"]["contacts"][0]["value"] == f"{a.slug}.customer@example.test"
    assert one["contracts"][0]["delivery_point"] == a.delivery_point_identifier


def test_ledger_and_balance_of_an_account(app, client, tenants):
    a, _b = tenants
    api = api_client(client, make_api_key(app, a.tenant_id, scopes={"payments:read"}))

    ledger = api.get(f"/api/v1/accounts/{a.account_number}/ledger").get_json()
    balance = api.get(f"/api/v1/accounts/{a.account_number}/balance").get_json()

    assert [e["bill_number"] for e in ledger["data"]] == [a.bill_number]
    assert balance == {"account_number": a.account_number, "balance": "60.00", "debits": "60.00",
                       "credits": "0.00", "currency": "EUR"}


@pytest.mark.parametrize("path,scope", [
    ("/api/v1/accounts", "customers:read"), ("/api/v1/delivery-points", "customers:read"),
    ("/api/v1/contracts", "customers:read"), ("/api/v1/bills", "bills:read"), ("/api/v1/payments", "payments:read"),
    ("/api/v1/requests", "requests:read"),
])
def test_a_key_without_the_scope_is_refused(app, client, tenants, path, scope):
    a, _b = tenants
    others = {"customers:read", "bills:read", "payments:read", "requests:read"} - {scope}
    api = api_client(client, make_api_key(app, a.tenant_id, scopes=others))

    response = api.get(path)

    assert response.status_code == 403
    assert response.get_json()["error"]["details"] == {"required_scope": scope}


def test_a_ledger_or_balance_without_payments_scope_is_refused(app, client, tenants):
    a, _b = tenants
    api = api_client(client, make_api_key(app, a.tenant_id, scopes={"customers:read"}))

    assert api.get(f"/api/v1/accounts/{a.account_number}/ledger").status_code == 403
    assert api.get(f"/api/v1/accounts/{a.account_number}/balance").status_code == 403


def test_another_tenants_identifiers_answer_like_missing_ones(app, client, tenants):
    a, b = tenants
    theirs = _identifiers(app, b.tenant_id)
    api = api_client(client, make_api_key(app, a.tenant_id))
    paths = {
        "account": "/api/v1/accounts/{}", "point": "/api/v1/delivery-points/{}", "contract": "/api/v1/contracts/{}",
        "bill": "/api/v1/bills/{}", "payment": "/api/v1/payments/{}", "request": "/api/v1/requests/{}",
    }
    extra = ["/api/v1/bills/{}/pdf", "/api/v1/accounts/{}/ledger", "/api/v1/accounts/{}/balance"]

    for kind, path in list(paths.items()) + [("bill", extra[0]), ("account", extra[1]), ("account", extra[2])]:
        foreign = api.get(path.format(theirs[kind]))
        missing = api.get(path.format("NOPE-0000000"))
        assert foreign.status_code == missing.status_code == 404, path
        assert foreign.get_data() == missing.get_data(), path
    for list_path in ("/api/v1/contracts", "/api/v1/bills", "/api/v1/payments", "/api/v1/requests"):
        listed = api.get(list_path, query_string={"account_number": theirs["account"]}).get_json()
        assert listed == {"data": [], "next_cursor": None}, list_path


def test_a_bad_cursor_is_a_clear_422(app, client, tenants):
    a, _b = tenants
    api = api_client(client, make_api_key(app, a.tenant_id))
    other_lists = api.get("/api/v1/bills", query_string={"limit": 1}).get_json()["next_cursor"]

    garbage = api.get("/api/v1/bills", query_string={"cursor": "not-a-cursor"})
    naive = api.get("/api/v1/bills", query_string={"updated_since": "2026-01-01T00:00:00"})

    assert garbage.status_code == 422 and garbage.get_json()["error"]["code"] == "invalid_cursor"
    assert naive.status_code == 422
    assert other_lists is None or api.get("/api/v1/payments", query_string={"cursor": other_lists}).status_code == 422


def test_the_openapi_description_states_the_sync_contract(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()

    for path in ("/accounts", "/bills", "/payments", "/requests", "/contracts", "/delivery-points"):
        description = spec["paths"][path]["get"]["description"]
        assert "`updated_since` is inclusive" in description
        assert "minus a small overlap" in description



def test_a_nul_in_an_identifier_or_a_filter_is_refused_never_a_500(app, client, tenants):
    a, _b = tenants
    api = api_client(client, make_api_key(app, a.tenant_id))

    for path in ("/api/v1/accounts/C%00", "/api/v1/delivery-points/P%00", "/api/v1/contracts/K%00",
                 "/api/v1/bills/F%00", "/api/v1/bills/F%00/pdf", "/api/v1/payments/%00",
                 "/api/v1/accounts/C%00/ledger", "/api/v1/accounts/C%00/balance", "/api/v1/requests/R%00"):
        assert api.get(path).status_code == 400, path
    assert api.get("/api/v1/accounts", query_string={"q": "Mar\x00tin"}).status_code == 400
    assert api.get("/api/v1/bills", query_string={"account_number": "C\x00"}).status_code == 400
