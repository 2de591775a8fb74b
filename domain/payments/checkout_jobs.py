"""Background job of card checkouts: end a tenant's checkouts left open past their expiry (daily sweep)."""
from __future__ import annotations

from datetime import datetime

from domain.db import db, utcnow
from domain.payments import services
from domain.payments.providers import STRIPE_API_BASE, StripeProvider
from tenants.context import require_tenant_id
from tenants.models import Tenant


def expire_checkouts(*, now_iso: str | None = None, stripe_api_base: str | None = None) -> dict:
    """Pending card payments whose checkout expired are ended (cancelled: nothing charged); idempotent. A Stripe
    checkout is checked with Stripe first: one completed meanwhile waits for its webhook."""
    tenant = db.session.get(Tenant, require_tenant_id())
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    provider = None
    if tenant.stripe_secret_key:
        provider = StripeProvider(secret_key=tenant.stripe_secret_key, webhook_secret=tenant.stripe_webhook_secret,
                                  api_base=stripe_api_base or STRIPE_API_BASE)
    ended = services.expire_stale_checkouts(now=now, provider=provider)
    return {"expired": len(ended)}
