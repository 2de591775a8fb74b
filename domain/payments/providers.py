"""Card payment providers behind one interface: Stripe Checkout (the tenant's keys) and our sandbox.

Both open a hosted checkout for a pending payment and both report its outcome through signed,
Stripe-shaped webhook events, verified here the same way (`stripe.Webhook.construct_event`), so
one webhook handler fulfils payments whatever the provider. The card never touches our servers.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal

import stripe

STRIPE_API_BASE = "https://api.stripe.com"
SIGNATURE_TOLERANCE_SECONDS = 300
# ISO 4217 currencies without minor unit (Stripe's list of zero-decimal currencies, those a utility could bill in).
_ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
                           "VUV", "XAF", "XOF", "XPF"})


class ProviderError(RuntimeError):
    """The provider could not open a checkout (network, refused keys...); nothing was charged."""


class BadSignature(ValueError):
    """A webhook whose signature, timestamp or body does not verify: it is refused and changes nothing."""


def minor_units(amount: Decimal, currency: str) -> int:
    """12.34 EUR -> 1234; 1200 JPY -> 1200 (Stripe's integer amounts)."""
    exponent = 0 if currency.upper() in _ZERO_DECIMAL else 2
    return int((amount * (10 ** exponent)).to_integral_value())


@dataclass(frozen=True)
class CheckoutLine:
    label: str
    amount: Decimal


@dataclass(frozen=True)
class CheckoutRequest:
    tenant_id: int
    payment_public_id: str
    currency: str
    lines: tuple[CheckoutLine, ...]
    success_url: str
    cancel_url: str
    customer_email: str | None = None
    locale: str | None = None


@dataclass(frozen=True)
class Checkout:
    reference: str  # the provider's session id
    url: str  # where the customer's browser goes


@dataclass(frozen=True)
class ProviderEvent:
    """What the webhook handler needs from a verified event."""

    id: str
    type: str
    created: int
    tenant_id: str | None
    payment_public_id: str | None
    session_id: str | None
    amount: int | None  # minor units, as the provider charged
    currency: str | None
    paid: bool  # checkout completed with the money taken
    failure_reason: str | None = None
    raw: dict = field(default_factory=dict, repr=False)


def parse_event(payload: bytes | str, signature_header: str | None, secret: str) -> ProviderEvent:
    """Verify a Stripe-style signature (`t=<ts>,v1=<hmac>`, tolerance 5 minutes) and read the event."""
    if not secret:
        raise BadSignature("no webhook secret configured")
    try:
        event = stripe.Webhook.construct_event(payload, signature_header or "", secret,
                                               tolerance=SIGNATURE_TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise BadSignature(str(exc)) from exc
    data = event.to_dict()
    obj = (data.get("data") or {}).get("object") or {}
    metadata = obj.get("metadata") or {}
    failure = None
    error = obj.get("last_payment_error") or {}
    if error:
        failure = (error.get("message") or error.get("code") or "")[:255] or None
    session_id = obj.get("id") if obj.get("object") == "checkout.session" else None
    currency = obj.get("currency")
    return ProviderEvent(
        id=str(data.get("id") or ""), type=str(data.get("type") or ""), created=int(data.get("created") or 0),
        tenant_id=metadata.get("tenant_id"), payment_public_id=metadata.get("payment_id") or obj.get(
            "client_reference_id"),
        session_id=session_id, amount=obj.get("amount_total", obj.get("amount")),
        currency=currency.upper() if currency else None,
        paid=obj.get("payment_status") == "paid", failure_reason=failure, raw=data,
    )


class StripeProvider:
    """A hosted Stripe Checkout Session per payment, created with the tenant's own secret key."""

    name = "stripe"

    def __init__(self, *, secret_key: str, webhook_secret: str | None, api_base: str = STRIPE_API_BASE):
        self._client = stripe.StripeClient(secret_key, base_addresses={"api": api_base}, max_network_retries=1)
        self.webhook_secret = webhook_secret or ""

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        metadata = {"tenant_id": str(request.tenant_id), "payment_id": request.payment_public_id}
        params = {
            "mode": "payment",
            "client_reference_id": request.payment_public_id,
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "payment_method_types": ["card"],
            "line_items": [
                {"quantity": 1, "price_data": {
                    "currency": request.currency.lower(),
                    "unit_amount": minor_units(line.amount, request.currency),
                    "product_data": {"name": line.label},
                }}
                for line in request.lines
            ],
        }
        if request.customer_email:
            params["customer_email"] = request.customer_email
        if request.locale:
            params["locale"] = request.locale
        try:
            session = self._client.v1.checkout.sessions.create(
                params=params, options={"idempotency_key": f"checkout-{request.payment_public_id}"})
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe refused the checkout: {exc.__class__.__name__}") from exc
        if not session.url:
            raise ProviderError("Stripe returned a session without a URL")
        return Checkout(reference=session.id, url=session.url)

    def parse_event(self, payload: bytes | str, signature_header: str | None) -> ProviderEvent:
        return parse_event(payload, signature_header, self.webhook_secret)


class SandboxProvider:
    """Test mode (no keys): our own checkout page; its buttons produce signed Stripe-shaped events."""

    name = "sandbox"

    def __init__(self, *, webhook_secret: str, checkout_url: str):
        self.webhook_secret = webhook_secret
        self._checkout_url = checkout_url  # the sandbox page of this payment

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        return Checkout(reference=f"cs_sandbox_{secrets.token_hex(12)}", url=self._checkout_url)

    def parse_event(self, payload: bytes | str, signature_header: str | None) -> ProviderEvent:
        return parse_event(payload, signature_header, self.webhook_secret)


def sandbox_secret(*, app_secret: str, tenant_id: int) -> str:
    """The sandbox's webhook secret of one tenant, derived from the application's secret key."""
    digest = hmac.new(app_secret.encode(), f"sandbox-webhook:{tenant_id}".encode(), hashlib.sha256).hexdigest()
    return f"whsec_sandbox_{digest}"


def sandbox_event(*, outcome: str, tenant_id: int, payment_public_id: str, session_id: str, amount: int,
                  currency: str, created: int | None = None) -> dict:
    """The event Stripe would send for this outcome of a checkout: paid, declined or abandoned."""
    created = created or int(time.time())
    metadata = {"tenant_id": str(tenant_id), "payment_id": payment_public_id}
    if outcome == "paid":
        event_type = "checkout.session.completed"
        obj = {"id": session_id, "object": "checkout.session", "amount_total": amount,
               "currency": currency.lower(), "payment_status": "paid", "status": "complete",
               "client_reference_id": payment_public_id, "metadata": metadata}
    elif outcome == "declined":
        event_type = "payment_intent.payment_failed"
        obj = {"id": f"pi_sandbox_{secrets.token_hex(8)}", "object": "payment_intent", "amount": amount,
               "currency": currency.lower(), "status": "requires_payment_method", "metadata": metadata,
               "last_payment_error": {"code": "card_declined", "message": "Your card was declined."}}
    elif outcome == "abandoned":
        event_type = "checkout.session.expired"
        obj = {"id": session_id, "object": "checkout.session", "amount_total": amount,
               "currency": currency.lower(), "payment_status": "unpaid", "status": "expired",
               "client_reference_id": payment_public_id, "metadata": metadata}
    else:
        raise ValueError(f"unknown sandbox outcome {outcome!r}")
    return {"id": f"evt_sandbox_{secrets.token_hex(12)}", "object": "event", "api_version": "2024-06-20",
            "created": created, "type": event_type, "livemode": False, "data": {"object": obj}}


def sign_payload(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe would send for this body (also used by the tests)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def encode_event(event: dict) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()
