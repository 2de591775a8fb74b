"""Tenant-isolation cases of the integration API's read endpoints: a key of tenant A never reaches B's objects
(B's identifiers answer exactly like missing ones) and A's lists hold only A's rows."""
from __future__ import annotations

from sqlalchemy import select

from domain.accounting.models import Payment
from domain.contracts.models import Contract
from domain.db import db
from tenants.context import tenant_scope
from tests.api_support import api_client, make_api_key


def _api(app, browser, a):
    return api_client(browser(a.slug).client, make_api_key(app, a.tenant_id))


def _same_as_missing(api, path: str, foreign: str, missing: str = "NOPE-0000000") -> None:
    theirs, nothing = api.get(path.format(foreign)), api.get(path.format(missing))
    assert theirs.status_code == nothing.status_code == 404, path
    assert theirs.get_data() == nothing.get_data(), path


def _only_own(api, path: str, key: str, own: str | None, foreign: str) -> None:
    response = api.get(path, query_string={"limit": 500})
    assert response.status_code == 200, path
    values = {item[key] for item in response.get_json()["data"]}
    assert foreign not in values and (own is None or own in values), path


def _theirs(app, tenant_id: int, model, column) -> str:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(column))


def case_api_list_accounts(app, browser, a, b):
    api = _api(app, browser, a)
    _only_own(api, "/api/v1/accounts", "account_number", a.account_number, b.account_number)
    searched = api.get("/api/v1/accounts", query_string={"q": b.account_number}).get_json()["data"]
    assert b.account_number not in {r["account_number"] for r in searched}


def case_api_get_account(app, browser, a, b):
    _same_as_missing(_api(app, browser, a), "/api/v1/accounts/{}", b.account_number)


def case_api_list_delivery_points(app, browser, a, b):
    _only_own(_api(app, browser, a), "/api/v1/delivery-points", "identifier", a.delivery_point_identifier,
              b.delivery_point_identifier)


def case_api_get_delivery_point(app, browser, a, b):
    _same_as_missing(_api(app, browser, a), "/api/v1/delivery-points/{}", b.delivery_point_identifier)


def case_api_list_contracts(app, browser, a, b):
    api = _api(app, browser, a)
    theirs = _theirs(app, b.tenant_id, Contract, Contract.contract_number)
    _only_own(api, "/api/v1/contracts", "contract_number", None, theirs)
    assert api.get("/api/v1/contracts", query_string={"account_number": b.account_number}).get_json()["data"] == []


def case_api_get_contract(app, browser, a, b):
    _same_as_missing(_api(app, browser, a), "/api/v1/contracts/{}",
                     _theirs(app, b.tenant_id, Contract, Contract.contract_number))


def case_api_list_bills(app, browser, a, b):
    api = _api(app, browser, a)
    _only_own(api, "/api/v1/bills", "number", a.bill_number, b.bill_number)
    assert api.get("/api/v1/bills", query_string={"account_number": b.account_number}).get_json()["data"] == []


def case_api_get_bill(app, browser, a, b):
    _same_as_missing(_api(app, browser, a), "/api/v1/bills/{}", b.bill_number)


def case_api_get_bill_pdf(app, browser, a, b):
    _same_as_missing(_api(app, browser, a), "/api/v1/bills/{}/pdf", b.bill_number)


def case_api_list_payments(app, browser, a, b):
    api = _api(app, browser, a)
    _only_own(api, "/api/v1/payments", "public_id", None, _theirs(app, b.tenant_id, Payment, Payment.public_id))
    assert api.get("/api/v1/payments", query_string={"account_number": b.account_number}).get_json()["data"] == []


def case_api_get_payment(app, browser, a, b):
    _same_as_missing(_api(app, browser, a), "/api/v1/payments/{}",
                     _theirs(app, b.tenant_id, Payment, Payment.public_id),
                     missing="00000000-0000-4000-8000-000000000000")


def case_api_account_ledger(app, browser, a, b):
    _same_as_missing(_api(app, browser, a), "/api/v1/accounts/{}/ledger", b.account_number)


def case_api_account_balance(app, browser, a, b):
    _same_as_missing(_api(app, browser, a), "/api/v1/accounts/{}/balance", b.account_number)


def case_api_list_requests(app, browser, a, b):
    api = _api(app, browser, a)
    _only_own(api, "/api/v1/requests", "reference", a.request_reference, b.request_reference)
    assert api.get("/api/v1/requests", query_string={"account_number": b.account_number}).get_json()["data"] == []


def case_api_get_request(app, browser, a, b):
    _same_as_missing(_api(app, browser, a), "/api/v1/requests/{}", b.request_reference)
