"""The API's writes: a service request opened for an account as the portal would, and a payment received elsewhere
recorded, allocated and idempotent by the caller's reference; scopes, bad input (nothing written, never a 500) and
another utility's account (404 like a missing one); the payment is published to webhook subscribers."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.accounting.models import Payment
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.requests.models import ServiceRequest
from domain.tasks.models import Task
from domain.webhooks.models import WebhookEvent
from tenants.context import tenant_scope
from tests.api_support import api_client, make_api_key
from tests.factories import BillFactory, make_webhook_subscription

REQUEST = {"kind": "complaint", "subject": "Meter noise", "description": "The customer called: the meter hums."}


@pytest.fixture
def api(app, client, two_tenants):
    a, _b = two_tenants
    return api_client(client, make_api_key(app, a.tenant_id))


def _error(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def _count(app, data, model) -> int:
    with app.app_context(), tenant_scope(data.tenant_id):
        return db.session.scalar(select(func.count(model.id)))


def test_a_service_request_is_opened_with_its_reference_task_and_due_date(app, api, two_tenants):
    a, _b = two_tenants

    answer = api.post("/api/v1/requests", json={**REQUEST, "account_number": a.account_number})

    assert answer.status_code == 201
    body = answer.get_json()
    assert body["account_number"] == a.account_number and body["status"] == "open" and body["due_at"]
    with app.app_context(), tenant_scope(a.tenant_id):
        opened = db.session.scalar(select(ServiceRequest).where(ServiceRequest.reference == body["reference"]))
        assert opened.subject == "Meter noise" and opened.messages[0].body == REQUEST["description"]
        assert db.session.scalar(select(func.count(Task.id)).where(Task.subject_id == opened.id,
                                                                   Task.subject_type == "service_request")) == 1


def test_a_retried_service_request_with_its_idempotency_key_opens_nothing_more(app, api, two_tenants):
    a, _b = two_tenants
    before = _count(app, a, ServiceRequest)
    payload = {**REQUEST, "account_number": a.account_number}

    first = api.post("/api/v1/requests", json=payload, headers={"Idempotency-Key": "crm-42"})
    again = api.post("/api/v1/requests", json=payload, headers={"Idempotency-Key": "crm-42"})
    other = api.post("/api/v1/requests", json={**payload, "subject": "Other"},
                     headers={"Idempotency-Key": "crm-42"})

    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    assert other.status_code == 422 and _error(other)["code"] == "idempotency_key_reused"
    assert _count(app, a, ServiceRequest) == before + 1


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"kind": "move_out"}, 422, "invalid_request"),
    ({"category": "not-a-category"}, 422, "invalid_category"),
    ({"point_identifier": "NOPE"}, 422, "invalid_point"),
    ({"kind": "move_in"}, 422, "date_missing"),
    ({"subject": ""}, 422, "invalid_request"),
    ({"account_number": "NO-SUCH"}, 404, "not_found"),
])
def test_a_service_request_refused_says_why_and_writes_nothing(app, api, two_tenants, change, status, code):
    a, _b = two_tenants
    before = _count(app, a, ServiceRequest)

    answer = api.post("/api/v1/requests", json={**REQUEST, "account_number": a.account_number, **change})

    assert answer.status_code == status and _error(answer)["code"] == code
    assert _count(app, a, ServiceRequest) == before


def test_writes_need_their_scopes(app, client, two_tenants):
    a, _b = two_tenants
    reader = api_client(client, make_api_key(app, a.tenant_id, scopes={"bills:read", "payments:read"}))

    opened = reader.post("/api/v1/requests", json={**REQUEST, "account_number": a.account_number})
    paid = reader.post("/api/v1/payments", json={"account_number": a.account_number, "amount": "10.00",
                                                  "currency": "EUR", "date": "2026-11-01", "reference": "R1"})

    assert opened.status_code == paid.status_code == 403
    assert _error(opened)["details"] == {"required_scope": "requests:write"}
    assert _error(paid)["details"] == {"required_scope": "payments:write"}


def _payment(data, **change) -> dict:
    return {"account_number": data.account_number, "amount": "25.50", "currency": "EUR", "date": "2026-11-01",
            "reference": "BANK-2026-0001", **change}


def test_a_payment_is_allocated_to_the_bill_named_and_published_to_subscribers(app, api, two_tenants):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == a.account_number))
        bill = BillFactory(account=account, total_incl_tax=Decimal("20.00"))
        make_webhook_subscription(event_types=("payment.received",))
        db.session.commit()
        number = bill.number

    answer = api.post("/api/v1/payments", json=_payment(a, bill_number=number))

    assert answer.status_code == 201
    body = answer.get_json()
    assert body["allocations"] == [{"bill_number": number, "amount": "20.00"}] and body["amount"] == "25.50"
    assert body["reference"] == "BANK-2026-0001" and body["method"] == "transfer" and body["status"] == "succeeded"
    assert api.get(f"/api/v1/payments/{body['public_id']}").get_json() == body  # one shape, written or read
    with app.app_context(), tenant_scope(a.tenant_id):
        [event] = db.session.scalars(select(WebhookEvent)).all()
        sent = json.loads(event.payload)
        assert event.event_type == "payment.received" and sent["public_id"] == body["public_id"]
        assert sent["amount"] == "25.50"


def test_a_payment_sent_again_answers_the_first_and_another_amount_is_refused(app, api, two_tenants):
    a, _b = two_tenants
    before = _count(app, a, Payment)

    first = api.post("/api/v1/payments", json=_payment(a))
    again = api.post("/api/v1/payments", json=_payment(a, reference=" bank-2026-0001 "))
    other = api.post("/api/v1/payments", json=_payment(a, amount="99.00"))

    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    assert other.status_code == 409 and _error(other)["code"] == "reference_taken"
    assert _count(app, a, Payment) == before + 1


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"amount": "0.00"}, 422, "invalid_amount"),
    ({"amount": "12.345"}, 422, "invalid_request"),
    ({"currency": "USD"}, 422, "invalid_currency"),
    ({"date": "2099-01-01"}, 422, "invalid_date"),
    ({"bill_number": "F-NOPE"}, 422, "invalid_bill"),
    ({"method": "card"}, 422, "invalid_request"),
    ({"account_number": "NO-SUCH"}, 404, "not_found"),
    ({"unknown": 1}, 422, "invalid_request"),
    ({"reference": "A\u0000B"}, 422, "invalid_request"),  # PostgreSQL stores no NUL: refused, never a 500
])
def test_a_payment_refused_says_why_and_writes_nothing(app, api, two_tenants, change, status, code):
    a, _b = two_tenants
    before = _count(app, a, Payment)

    answer = api.post("/api/v1/payments", json=_payment(a, **change))

    assert answer.status_code == status and _error(answer)["code"] == code
    assert _count(app, a, Payment) == before


def test_another_utilitys_account_answers_like_a_missing_one(app, api, two_tenants):
    a, b = two_tenants
    before = _count(app, b, Payment), _count(app, b, ServiceRequest)

    foreign = [api.post("/api/v1/payments", json=_payment(b)),
               api.post("/api/v1/requests", json={**REQUEST, "account_number": b.account_number})]
    missing = [api.post("/api/v1/payments", json=_payment(b, account_number="NO-SUCH")),
               api.post("/api/v1/requests", json={**REQUEST, "account_number": "NO-SUCH"})]

    for one, other in zip(foreign, missing, strict=True):
        assert one.status_code == other.status_code == 404 and _error(one) == _error(other)
    assert (_count(app, b, Payment), _count(app, b, ServiceRequest)) == before
