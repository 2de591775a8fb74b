"""The one place payments are fulfilled: a provider's signed event, processed once, through the status machine.

Stripe's webhooks and the sandbox's buttons both arrive here. An event is recorded in
`payment_events` under a unique (tenant, provider, event id): a replayed event finds its row and
changes nothing. The payment's row is locked while its event is applied, so concurrent deliveries
queue up; events out of order (an expiry after a success, a success twice) are refused by the
status machine and recorded as ignored.

Recording the event and applying it are one transaction (the request's): if applying fails, the event's row
goes too, so the provider's retry is applied rather than answered "duplicate". On SQLite the transaction takes
the write lock first (BEGIN IMMEDIATE): deliveries queue on the lock instead of failing with "database is
locked", and the savepoint that records the event is nested in it rather than being the outermost transaction,
whose release would commit the event row on its own.

Money given back arrives here too: `charge.refunded` carries the charge's refunded total (only a rise is
given back, so an older total is ignored), `charge.dispute.created`/`.closed` open and end a dispute (lost:
given back like a refund; won: nothing). A refund that comes before the payment's success waits for it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domain.accounting.models import Payment
from domain.db import db
from domain.payments import services
from domain.payments.models import PaymentEvent
from domain.payments.providers import BadSignature, ProviderEvent, from_minor_units, minor_units
from domain.payments.receipts import Receipt, claim_receipt
from domain.payments.reversal_notices import ReversalNotice, allocations_by_bill, reversal_notice

log = logging.getLogger("payments.webhooks")

SUCCEEDED = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded"})
FAILED = frozenset({"checkout.session.async_payment_failed", "payment_intent.payment_failed"})
CANCELLED = frozenset({"checkout.session.expired"})
REFUNDED = frozenset({"charge.refunded"})
DISPUTED = frozenset({"charge.dispute.created", "charge.dispute.closed"})
HANDLED = SUCCEEDED | FAILED | CANCELLED | REFUNDED | DISPUTED


@dataclass(frozen=True)
class WebhookResult:
    outcome: str  # applied, ignored, unknown_payment, amount_mismatch, duplicate
    payment: Payment | None = None
    receipt: Receipt | None = None
    reversal_notice: ReversalNotice | None = None  # money really given back by this event: tell the customer


def receive(*, provider, payload: bytes, signature_header: str | None, tenant_id: int, now: datetime,
            today: date) -> WebhookResult:
    """Verify the event with the provider's secret (BadSignature otherwise: nothing is written), then apply it."""
    event = provider.parse_event(payload, signature_header)
    if not event.id:
        raise BadSignature("event without id")
    return apply_event(event=event, provider_name=provider.name, tenant_id=tenant_id, now=now, today=today)


def begin_write() -> None:
    """Make the current transaction a real one holding the write lock before anything is read (SQLite).

    Python's sqlite3 module (before 3.12's autocommit attribute) opens a transaction only before an INSERT,
    UPDATE or DELETE: reads run outside it, and a SAVEPOINT issued first becomes the outermost transaction,
    which its RELEASE commits. BEGIN IMMEDIATE takes the database's write lock now (waiting up to the busy
    timeout), so what follows is one transaction that the request commits or rolls back as a whole. PostgreSQL
    is always in a real transaction, and the payment's row lock serialises concurrent deliveries there.
    """
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw.in_transaction:
        return  # this request has written already: it holds the write lock
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _find_payment(event: ProviderEvent, provider_name: str, tenant_id: int) -> Payment | None:
    # The metadata names the tenant: an event about another tenant's payment is unknown here.
    if event.payment_public_id or event.tenant_id:
        if event.tenant_id != str(tenant_id) or not event.payment_public_id:
            return None
        return db.session.scalar(
            select(Payment).where(Payment.public_id == event.payment_public_id, Payment.provider == provider_name)
            .with_for_update())
    # A dispute carries no metadata of ours (nor does a charge made before its intent had any), only the provider's
    # payment, learnt when the payment succeeded. The query is the current tenant's (ORM guard, row-level
    # security): another tenant's payment stays unknown.
    if event.type in DISPUTED | REFUNDED and event.payment_ref:
        return db.session.scalar(
            select(Payment).where(Payment.provider_payment_ref == event.payment_ref, Payment.provider == provider_name)
            .with_for_update())
    return None


def _already_seen(provider_name: str, event_id: str) -> bool:
    return db.session.scalar(select(PaymentEvent.id).where(
        PaymentEvent.provider == provider_name, PaymentEvent.event_id == event_id)) is not None


def _record(event: ProviderEvent, provider_name: str, payment: Payment | None, now: datetime,
            outcome: str) -> PaymentEvent | None:
    """Insert the event's row; None if another delivery of the same event got there first."""
    row = PaymentEvent(provider=provider_name, event_id=event.id[:255], event_type=event.type[:64],
                       payment_id=payment.id if payment else None, received_at=now, outcome=outcome,
                       created_at_provider=datetime.fromtimestamp(event.created, UTC) if event.created else None)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return None
    return row


def _decide(event: ProviderEvent, payment: Payment | None) -> str:
    """What this event does to this payment: an outcome, or the status it moves the payment to."""
    if payment is None:
        return "unknown_payment"
    if event.type not in HANDLED:
        return "ignored"
    if event.type in REFUNDED | DISPUTED:
        if (event.currency or "").upper() != payment.currency.upper():
            return "amount_mismatch"
        if event.type in REFUNDED:
            if event.amount_refunded is None or event.amount != minor_units(payment.amount, payment.currency):
                return "amount_mismatch"
            return "refund"
        if not event.dispute_id or event.amount is None or not 0 < event.amount <= minor_units(
                payment.amount, payment.currency):
            return "amount_mismatch"
        return "dispute"
    if event.session_id and payment.provider_reference and event.session_id != payment.provider_reference:
        return "ignored"  # an event about another checkout session than the one we opened
    if event.type in SUCCEEDED:
        if event.type == "checkout.session.completed" and not event.paid:
            return "ignored"  # a delayed payment method: its async_payment_succeeded will follow
        if event.amount != minor_units(payment.amount, payment.currency) or (
                event.currency or "").upper() != payment.currency.upper():
            return "amount_mismatch"
        return "succeeded" if services.can_move(payment.status, "succeeded") else "ignored"
    target = "failed" if event.type in FAILED else "cancelled"
    return target if services.can_move(payment.status, target) else "ignored"


def apply_event(*, event: ProviderEvent, provider_name: str, tenant_id: int, now: datetime,
                today: date) -> WebhookResult:
    begin_write()
    if _already_seen(provider_name, event.id):
        return WebhookResult("duplicate")
    payment = _find_payment(event, provider_name, tenant_id)
    decision = _decide(event, payment)
    outcome = "applied" if decision in ("succeeded", "failed", "cancelled", "refund", "dispute") else decision
    recorded = _record(event, provider_name, payment, now, outcome)
    if recorded is None:
        return WebhookResult("duplicate", payment)
    receipt = notice = None
    refunded_before = payment.refunded_amount if payment is not None else None
    settled_before = allocations_by_bill(payment) if decision in ("succeeded", "refund", "dispute") else {}
    if decision in ("succeeded", "refund", "dispute") and event.payment_ref and not payment.provider_payment_ref:
        payment.provider_payment_ref = event.payment_ref[:255]  # disputes will name the payment by it
    if decision == "succeeded":
        services.mark_succeeded(payment=payment, now=now, today=today)
        settled_before = allocations_by_bill(payment)  # what waiting refunds may now take back
        services.apply_waiting_reversals(payment=payment, now=now, today=today)
        receipt = claim_receipt(payment=payment, now=now)
    elif decision == "refund":
        changed = services.record_refunded_total(
            payment=payment, provider=provider_name, reference=event.id,
            refunded_total=from_minor_units(event.amount_refunded, payment.currency), now=now, today=today)
        if changed is None:
            outcome = recorded.outcome = "ignored"  # an older or equal refunded total: nothing new
    elif decision == "dispute":
        changed = services.record_dispute(
            payment=payment, provider=provider_name, dispute_id=event.dispute_id,
            amount=from_minor_units(event.amount, payment.currency), provider_status=event.dispute_status or "",
            reason=event.dispute_reason, now=now, today=today)
        if changed is None:
            outcome = recorded.outcome = "ignored"  # the dispute has already ended
    # Money given back before the payment succeeded is told only alongside its receipt: a payment wholly given
    # back before it was confirmed was never announced to the customer, so nothing is sent about it.
    if decision in ("refund", "dispute") or (decision == "succeeded" and receipt is not None):
        given = (payment.refunded_amount or 0) - (refunded_before or 0)
        kind = decision if decision != "succeeded" else _waiting_kind(payment, now)
        notice = reversal_notice(payment=payment, kind=kind, amount=given, settled_before=settled_before,
                                 today=today)
    if decision == "failed":
        services.mark_ended(payment=payment, status="failed", reason=event.failure_reason or "Payment declined")
    elif decision == "cancelled":
        # The sandbox's "Cancel and go back" sends the expiry Stripe would send when a session is left.
        services.mark_ended(payment=payment, status="cancelled",
                            reason="Checkout abandoned" if provider_name == "sandbox" else services.EXPIRED_REASON)
    level = logging.WARNING if outcome in ("amount_mismatch", "unknown_payment") else logging.INFO
    log.log(level, "webhook event tenant=%s provider=%s event=%s type=%s payment=%s outcome=%s", tenant_id,
            provider_name, event.id, event.type, payment.public_id if payment else None, outcome)
    return WebhookResult(outcome, payment, receipt, notice)


def _waiting_kind(payment: Payment, now: datetime) -> str:
    """What was given back as the payment succeeded: refunds (if any among them) or a lost dispute."""
    kinds = {r.kind for r in services.reversals_of(payment) if r.applied_at == now}
    return "refund" if "refund" in kinds or not kinds else "dispute"
