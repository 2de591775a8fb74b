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
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import stripe

STRIPE_API_BASE = "https://api.stripe.com"
SIGNATURE_TOLERANCE_SECONDS = 300
# How long a checkout stays open: past it the customer cannot pay on it, and the payment is shown as not completed.
# Stripe accepts 30 minutes to 24 hours.
CHECKOUT_LIFETIME = timedelta(hours=1)
# ISO 4217 currencies without minor unit (Stripe's list of zero-decimal currencies, those a utility could bill in).
_ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
                           "VUV", "XAF", "XOF", "XPF"})


class ProviderError(RuntimeError):
    """The provider could not open a checkout (network, refused keys...); nothing was charged."""


class BadSignature(ValueError):
    """A webhook whose signature, timestamp or body does not verify: it is refused and changes nothing."""


def card_provider_kind(*, has_stripe_keys: bool, production: bool, demo: bool) -> str | None:
    """Which card checkout a tenant offers: Stripe with its own keys; else the sandbox (test mode, no money moves),
    which production allows only for a tenant the platform operator marked as a demo; else none at all."""
    if has_stripe_keys:
        return "stripe"
    if not production or demo:
        return "sandbox"
    return None


def minor_units(amount: Decimal, currency: str) -> int:
    """12.34 EUR -> 1234; 1200 JPY -> 1200 (Stripe's integer amounts)."""
    exponent = 0 if currency.upper() in _ZERO_DECIMAL else 2
    return int((amount * (10 ** exponent)).to_integral_value())


def from_minor_units(amount: int, currency: str) -> Decimal:
    """1234 EUR -> Decimal("12.34"): what the provider reports, back in our money."""
    exponent = 0 if currency.upper() in _ZERO_DECIMAL else 2
    return (Decimal(int(amount)) / (10 ** exponent)).quantize(Decimal(1) if exponent == 0 else Decimal("0.01"))


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
    expires_at: datetime | None = None  # asked of the provider; it answers with the session's own


@dataclass(frozen=True)
class Checkout:
    reference: str  # the provider's session id
    url: str  # where the customer's browser goes
    expires_at: datetime | None = None  # when the session expires (the provider's word)


def _check_timestamp(signature_header: str | None, now: float | None = None) -> None:
    """Refuse a signature dated in the future beyond the tolerance, as Stripe's library refuses an old one."""
    now = time.time() if now is None else now
    for part in (signature_header or "").split(","):
        key, _sep, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as exc:
                raise BadSignature("unreadable timestamp") from exc
            if timestamp > now + SIGNATURE_TOLERANCE_SECONDS:
                raise BadSignature(f"timestamp {timestamp} is in the future beyond the tolerance")


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
    # The provider's payment (Stripe PaymentIntent) the object belongs to: a session once paid, a charge, a dispute.
    payment_ref: str | None = None
    # charge.refunded: the charge's refunded total so far (minor units), whatever refunds made it.
    amount_refunded: int | None = None
    # charge.dispute.*: the dispute's id, status (won, lost, needs_response...) and reason.
    dispute_id: str | None = None
    dispute_status: str | None = None
    dispute_reason: str | None = None


def parse_event(payload: bytes | str, signature_header: str | None, secret: str) -> ProviderEvent:
    """Verify a Stripe-style signature (`t=<ts>,v1=<hmac>`, tolerance 5 minutes) and read the event."""
    if not secret:
        raise BadSignature("no webhook secret configured")
    try:
        event = stripe.Webhook.construct_event(payload, signature_header or "", secret,
                                               tolerance=SIGNATURE_TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise BadSignature(str(exc)) from exc
    _check_timestamp(signature_header)
    data = event.to_dict()
    obj = (data.get("data") or {}).get("object") or {}
    metadata = obj.get("metadata") or {}
    failure = None
    error = obj.get("last_payment_error") or {}
    if error:
        failure = (error.get("message") or error.get("code") or "")[:255] or None
    kind = obj.get("object")
    session_id = obj.get("id") if kind == "checkout.session" else None
    currency = obj.get("currency")
    payment_ref = obj.get("payment_intent")
    if isinstance(payment_ref, dict):  # expanded
        payment_ref = payment_ref.get("id")
    if kind == "payment_intent":
        payment_ref = obj.get("id")
    dispute = kind == "dispute"
    return ProviderEvent(
        id=str(data.get("id") or ""), type=str(data.get("type") or ""), created=int(data.get("created") or 0),
        tenant_id=metadata.get("tenant_id"), payment_public_id=metadata.get("payment_id") or obj.get(
            "client_reference_id"),
        session_id=session_id, amount=obj.get("amount_total", obj.get("amount")),
        currency=currency.upper() if currency else None,
        paid=obj.get("payment_status") == "paid", failure_reason=failure, raw=data,
        payment_ref=str(payment_ref) if payment_ref else None,
        amount_refunded=obj.get("amount_refunded") if kind == "charge" else None,
        dispute_id=obj.get("id") if dispute else None, dispute_status=obj.get("status") if dispute else None,
        dispute_reason=(obj.get("reason") or None) if dispute else None,
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
        if request.expires_at is not None:
            params["expires_at"] = int(request.expires_at.timestamp())
        try:
            session = self._client.v1.checkout.sessions.create(
                params=params, options={"idempotency_key": f"checkout-{request.payment_public_id}"})
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe refused the checkout: {exc.__class__.__name__}") from exc
        if not session.url:
            raise ProviderError("Stripe returned a session without a URL")
        expires = getattr(session, "expires_at", None)
        return Checkout(reference=session.id, url=session.url,
                        expires_at=datetime.fromtimestamp(int(expires), UTC) if expires else request.expires_at)

    def checkout_status(self, reference: str) -> str:
        """The session's status on Stripe: open, complete or expired."""
        try:
            session = self._client.v1.checkout.sessions.retrieve(reference)
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe could not read the checkout: {exc.__class__.__name__}") from exc
        return str(session.status or "")

    def expire_checkout(self, reference: str) -> str:
        """Close an open session so nobody can pay on it any more; returns its status afterwards: "expired", or
        "complete" when the customer paid on it first (Stripe refuses to expire a completed session)."""
        try:
            session = self._client.v1.checkout.sessions.expire(reference)
        except stripe.InvalidRequestError:
            return self.checkout_status(reference)  # not open any more: completed, or expired already
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe could not expire the checkout: {exc.__class__.__name__}") from exc
        return str(session.status or "expired")

    def parse_event(self, payload: bytes | str, signature_header: str | None) -> ProviderEvent:
        return parse_event(payload, signature_header, self.webhook_secret)


class SandboxProvider:
    """Test mode (no keys): our own checkout page; its buttons produce signed Stripe-shaped events."""

    name = "sandbox"

    def __init__(self, *, webhook_secret: str, checkout_url: str):
        self.webhook_secret = webhook_secret
        self._checkout_url = checkout_url  # the sandbox page of this payment

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        return Checkout(reference=f"cs_sandbox_{secrets.token_hex(12)}", url=self._checkout_url,
                        expires_at=request.expires_at)

    def checkout_status(self, reference: str) -> str:
        return "open"  # the sandbox's page takes no payment once ours is no longer pending

    def expire_checkout(self, reference: str) -> str:
        return "expired"

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
    if outcome == "paid":
        obj["payment_intent"] = sandbox_payment_ref(session_id or payment_public_id)
    return {"id": f"evt_sandbox_{secrets.token_hex(12)}", "object": "event", "api_version": "2024-06-20",
            "created": created, "type": event_type, "livemode": False, "data": {"object": obj}}


def sandbox_payment_ref(seed: str) -> str:
    """The sandbox's PaymentIntent id of a checkout session (or payment): derived, so later events can name it."""
    return "pi_sandbox_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def charge_refunded_event(*, tenant_id: int, payment_public_id: str, payment_ref: str, amount: int,
                          amount_refunded: int, currency: str, created: int | None = None,
                          prefix: str = "sandbox") -> dict:
    """The `charge.refunded` Stripe sends once a charge's refunded total has grown to `amount_refunded`.

    The charge carries its PaymentIntent's metadata (Stripe copies it when the intent is confirmed).
    """
    metadata = {"tenant_id": str(tenant_id), "payment_id": payment_public_id}
    obj = {"id": "ch_" + payment_ref.removeprefix("pi_"), "object": "charge", "amount": amount,
           "amount_captured": amount, "amount_refunded": amount_refunded, "currency": currency.lower(),
           "paid": True, "refunded": amount_refunded >= amount, "status": "succeeded",
           "payment_intent": payment_ref, "metadata": metadata}
    return {"id": f"evt_{prefix}_{secrets.token_hex(12)}", "object": "event", "api_version": "2024-06-20",
            "created": created or int(time.time()), "type": "charge.refunded", "livemode": False,
            "data": {"object": obj}}


def dispute_event(*, event_type: str, dispute_id: str, payment_ref: str, amount: int, currency: str,
                  status: str, reason: str = "fraudulent", created: int | None = None,
                  prefix: str = "sandbox") -> dict:
    """A `charge.dispute.created` / `charge.dispute.closed` as Stripe sends it: no metadata of ours on a dispute,
    only the charge and PaymentIntent it is about."""
    obj = {"id": dispute_id, "object": "dispute", "amount": amount, "currency": currency.lower(),
           "charge": "ch_" + payment_ref.removeprefix("pi_"), "payment_intent": payment_ref, "reason": reason,
           "status": status, "metadata": {}}
    return {"id": f"evt_{prefix}_{secrets.token_hex(12)}", "object": "event", "api_version": "2024-06-20",
            "created": created or int(time.time()), "type": event_type, "livemode": False,
            "data": {"object": obj}}


def sign_payload(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe would send for this body (also used by the tests)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def encode_event(event: dict) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()
