"""The utility's payment settings: the methods offered to customers, its Stripe keys, and a connection test.

Rules: at least one method is offered; SEPA direct debit only for a euro utility with a SEPA creditor identifier;
card only where a card checkout exists (the utility's Stripe keys, or the sandbox where the platform allows it).
Stripe keys are sealed at rest (tenants/secrets.py through the Tenant properties), never shown again, and never
written to the audit trail or the log: the trail says that they were set or removed, by whom and when.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import stripe

from domain.audit.recorder import record_event
from domain.db import db
from domain.payments.mandates import offers_mandates
from domain.payments.providers import STRIPE_API_BASE
from tenants.operation_settings import PAYMENT_METHODS, payment_methods

log = logging.getLogger("payments.settings")

# Secret keys (sk_live_/sk_test_) or restricted keys (rk_live_/rk_test_); webhook signing secrets (whsec_).
_SECRET_KEY = re.compile(r"^(sk|rk)_(live|test)_[A-Za-z0-9]{10,247}$")
_WEBHOOK_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/=]{10,250}$")


class PaymentSettingsRefused(ValueError):
    """`field` and `code` say what is wrong; nothing was changed."""

    def __init__(self, field: str, code: str, message: str):
        super().__init__(message)
        self.field, self.code = field, code


def sepa_possible(tenant) -> bool:
    """SEPA Core direct debit: in euros, under a SEPA creditor identifier."""
    return (tenant.currency or "").upper() == "EUR" and bool(tenant.sepa_creditor_id)


def check_payment_methods(methods: Iterable[str], *, tenant, card_possible: bool) -> tuple[str, ...]:
    """The methods to offer, in the platform's order; refused: none, an unknown one, direct debit without euro
    and creditor identifier, card without any card checkout."""
    chosen = set(methods)
    if chosen - set(PAYMENT_METHODS):
        raise PaymentSettingsRefused("methods", "unknown", f"unknown methods {sorted(chosen - set(PAYMENT_METHODS))}")
    if not chosen:
        raise PaymentSettingsRefused("methods", "empty", "customers need at least one way to pay")
    if "direct_debit" in chosen and not sepa_possible(tenant):
        code = "not_euro" if (tenant.currency or "").upper() != "EUR" else "no_creditor_id"
        raise PaymentSettingsRefused("methods", code, "SEPA direct debit needs a euro utility with a creditor id")
    if "card" in chosen and not card_possible:
        raise PaymentSettingsRefused("methods", "no_card_provider", "card payments need the utility's Stripe keys")
    return tuple(m for m in PAYMENT_METHODS if m in chosen)


def offered_methods(tenant, *, card_possible: bool) -> tuple[str, ...]:
    """What the portal actually offers: the methods allowed that are set up (a creditor identifier removed after
    direct debit was allowed takes direct debit away, and so on)."""
    possible = {"card": card_possible, "direct_debit": offers_mandates(tenant), "transfer": True}
    return tuple(m for m in payment_methods(tenant) if possible[m])


def update_payment_methods(*, tenant, methods: Iterable[str], card_possible: bool, now: datetime) -> bool:
    chosen = list(check_payment_methods(methods, tenant=tenant, card_possible=card_possible))
    before = list(payment_methods(tenant))
    if chosen == before and tenant.payment_methods is not None:
        return False
    tenant.payment_methods = chosen
    record_event(db.session, tenant_id=tenant.id, action="payment_methods", entity_type="Tenant",
                 entity_id=tenant.id, details={"payment_methods": {"before": before, "after": chosen}},
                 occurred_at=now)
    db.session.flush()
    log.info("payment methods tenant=%s methods=%s", tenant.id, chosen)
    return True


def check_stripe_keys(*, secret_key: str, webhook_secret: str) -> tuple[str, str]:
    secret_key, webhook_secret = (secret_key or "").strip(), (webhook_secret or "").strip()
    if not _SECRET_KEY.match(secret_key):
        raise PaymentSettingsRefused("secret_key", "format", "a Stripe secret key starts with sk_live_ or sk_test_")
    if not _WEBHOOK_SECRET.match(webhook_secret):
        raise PaymentSettingsRefused("webhook_secret", "format", "a Stripe webhook secret starts with whsec_")
    return secret_key, webhook_secret


def set_stripe_keys(*, tenant, secret_key: str, webhook_secret: str, now: datetime) -> None:
    """Store both keys sealed (a new pair replaces the old one)."""
    secret_key, webhook_secret = check_stripe_keys(secret_key=secret_key, webhook_secret=webhook_secret)
    replaced = tenant.has_stripe_keys
    tenant.stripe_secret_key = secret_key
    tenant.stripe_webhook_secret = webhook_secret
    tenant.stripe_keys_set_at = now
    mode = "live" if "_live_" in secret_key else "test"
    record_event(db.session, tenant_id=tenant.id, action="stripe_keys_replaced" if replaced else "stripe_keys_set",
                 entity_type="Tenant", entity_id=tenant.id, details={"mode": mode}, occurred_at=now)
    db.session.flush()
    log.info("stripe keys set tenant=%s mode=%s replaced=%s", tenant.id, mode, replaced)


def remove_stripe_keys(*, tenant, now: datetime) -> bool:
    """Remove both keys; card payments stop being offered unless the sandbox is allowed. False: there were none."""
    if not tenant.has_stripe_keys and not tenant.stripe_webhook_secret_sealed:
        return False
    tenant.stripe_secret_key = None
    tenant.stripe_webhook_secret = None
    tenant.stripe_keys_set_at = None
    record_event(db.session, tenant_id=tenant.id, action="stripe_keys_removed", entity_type="Tenant",
                 entity_id=tenant.id, details={}, occurred_at=now)
    db.session.flush()
    log.info("stripe keys removed tenant=%s", tenant.id)
    return True


@dataclass(frozen=True)
class StripeCheck:
    ok: bool
    code: str  # ok, no_keys, refused, unreachable, error
    livemode: bool | None = None


def test_stripe_connection(*, tenant, api_base: str = STRIPE_API_BASE) -> StripeCheck:
    """Ask Stripe for the account's balance with the utility's secret key: it answers only to a valid key."""
    secret_key = tenant.stripe_secret_key
    if not secret_key:
        return StripeCheck(False, "no_keys")
    client = stripe.StripeClient(secret_key, base_addresses={"api": api_base}, max_network_retries=0)
    try:
        balance = client.v1.balance.retrieve()
    except stripe.AuthenticationError:
        check = StripeCheck(False, "refused")
    except stripe.APIConnectionError:
        check = StripeCheck(False, "unreachable")
    except stripe.StripeError as exc:
        log.warning("stripe connection test tenant=%s error=%s", tenant.id, exc.__class__.__name__)
        check = StripeCheck(False, "error")
    else:
        check = StripeCheck(True, "ok", bool(getattr(balance, "livemode", False)))
    log.info("stripe connection test tenant=%s result=%s", tenant.id, check.code)
    return check


test_stripe_connection.__test__ = False  # a service, not a pytest test
