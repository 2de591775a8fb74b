"""Events published where the facts happen: bills issued (in bulk, and not at all when nobody listens), readings
accepted or rejected by staff, a request's status change and a staff reply, a customer's details changed."""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select

from domain.billing.issuing import issue_drafts
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.readings import review
from domain.requests import services as requests_service
from domain.requests.models import ServiceRequest
from domain.webhooks.models import WebhookDelivery, WebhookEvent
from tenants.context import tenant_scope
from tests.clock import PINNED_AT
from tests.factories import BillFactory, make_webhook_subscription
from tests.integration.test_reading_review import LATER, _pending, _staff_id
from tests.webhook_support import documented


def _events(event_type: str) -> list[dict]:
    """The objects published as `event_type`, each checked against what the OpenAPI's `webhooks` say of it."""
    return [documented(event_type, json.loads(e.payload)) for e in db.session.scalars(
        select(WebhookEvent).where(WebhookEvent.event_type == event_type).order_by(WebhookEvent.id))]


def _account(data) -> CustomerAccount:
    return db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == data.account_number))


def _drafts(data, count: int) -> list[int]:
    account = _account(data)
    return [BillFactory(account=account, status="draft", number=None, issued_at=None, due_date=None).id
            for _ in range(count)]


def test_issued_bills_are_published_in_one_bulk_write_to_each_listener(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        make_webhook_subscription(event_types=("bill.issued",))
        make_webhook_subscription(event_types=("bill.issued", "payment.received"))
        ids = _drafts(a, 3)

        issued = issue_drafts(tenant_id=a.tenant_id, bill_ids=ids, issued_at=PINNED_AT,
                              issue_date=date(2026, 11, 20), payment_terms_days=14)

        events = _events("bill.issued")
        assert issued == 3 and len(events) == 3
        assert {e["account_number"] for e in events} == {a.account_number}
        assert all(e["number"] and e["status"] == "issued" and e["total_incl_tax"] == "60.00" for e in events)
        assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 6


def test_issuing_without_listeners_writes_no_event(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        make_webhook_subscription(event_types=("payment.received",))
        ids = _drafts(a, 2)

        issue_drafts(tenant_id=a.tenant_id, bill_ids=ids, issued_at=PINNED_AT, issue_date=date(2026, 11, 20),
                     payment_terms_days=14)

        assert db.session.scalar(select(func.count(WebhookEvent.id))) == 0


def test_readings_accepted_and_rejected_by_staff_are_published(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        make_webhook_subscription(event_types=("reading.accepted", "reading.rejected"))
        first = _pending(a)
        review.accept_reading(reading_id=first.id, staff_user_id=_staff_id(a), now=LATER)

        [accepted] = _events("reading.accepted")
        # The shape of a reading sent in an API batch (tests/integration/test_reading_batch.py): one for both.
        assert (accepted["status"], accepted["value"], accepted["source"]) == ("accepted", "526.000", "customer")
        meter = first.register.meter
        assert (accepted["point"], accepted["meter"]) == (a.delivery_point_identifier, meter.serial_number)
        assert accepted["register"] == first.register.code and accepted["reason"] is None
        assert _events("reading.rejected") == []

        second = _pending(a, value="530")
        review.reject_reading(reading_id=second.id, reason="Photo shows 503", staff_user_id=_staff_id(a), now=LATER)

        [rejected] = _events("reading.rejected")
        assert (rejected["status"], rejected["value"], rejected["point"]) == (
            "rejected", "530.000", a.delivery_point_identifier)
        assert (rejected["reason"], rejected["reason_text"]) == ("rejected_by_staff", "Photo shows 503")


def test_a_status_change_and_a_staff_reply_publish_the_request(ctx, two_tenants):
    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        make_webhook_subscription(event_types=("request.updated",))
        request = db.session.scalar(select(ServiceRequest).where(ServiceRequest.reference == a.request_reference))

        requests_service.change_status(request=request, status="in_progress", now=PINNED_AT)
        requests_service.staff_message(request=request, staff_id=_staff_id(a), body="We are on it.", internal=False,
                                       uploads=[], now=PINNED_AT)
        requests_service.staff_message(request=request, staff_id=_staff_id(a), body="Internal note", internal=True,
                                       uploads=[], now=PINNED_AT)

        events = _events("request.updated")
        assert [e["status"] for e in events] == ["in_progress", "in_progress"]
        assert events[0]["reference"] == a.request_reference and events[0]["account_number"] == a.account_number


def test_a_customer_changed_by_staff_is_published_with_the_new_details(ctx, two_tenants):
    from domain.contracts.customer_events import publish_customer_updated

    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        make_webhook_subscription(event_types=("customer.updated",))
        holder = _account(a).holder
        holder.last_name = "Renamed"

        publish_customer_updated(holder, now=PINNED_AT)

        [customer] = _events("customer.updated")
        assert customer["last_name"] == "Renamed" and a.account_number in customer["account_numbers"]


def test_a_card_payment_confirmed_is_published_with_the_bills_it_pays(ctx, two_tenants):
    from domain.accounting.models import PaymentAllocation
    from domain.payments import services as payment_services
    from tests.factories import PaymentFactory

    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        make_webhook_subscription(event_types=("payment.received",))
        account = _account(a)
        bill = BillFactory(account=account)
        payment = PaymentFactory(account=account, status="pending", received_at=None)
        db.session.add(PaymentAllocation(payment_id=payment.id, bill_id=bill.id, amount=payment.amount))
        db.session.flush()

        payment_services.mark_succeeded(payment=payment, now=PINNED_AT, today=date(2026, 11, 20))

        [received] = _events("payment.received")
        assert received["public_id"] == payment.public_id and received["method"] == "card"
        assert received["allocations"] == [{"bill_number": bill.number, "amount": "60.00"}]


def test_a_plausible_portal_reading_is_published_as_accepted(ctx, two_tenants):
    from tests.integration.test_reading_services import ONE_A_DAY, prepare_meter, submit

    a, _b = two_tenants
    with tenant_scope(a.tenant_id):
        make_webhook_subscription(event_types=("reading.accepted",))
        serial = prepare_meter(a, readings=ONE_A_DAY)
        submission = submit(a, serial, "485")

        assert submission.task is None
        [accepted] = _events("reading.accepted")
        assert accepted["meter"] == serial and accepted["source"] == "customer"
