"""One-click unsubscribe (RFC 8058): a signed link per tenant and recipient, and the opt-out it records.

The token signs (campaign public id, customer number) with the app's secret and a salt naming the tenant: a token of
one utility is refused on another's host, and nothing in it is a sequential id. Unsubscribing sets the marketing
consent of every online access of the account to false (an audited change) and records an opt-out, which also
covers customers without an online access.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from domain.audit.recorder import record_event
from domain.campaigns.models import Campaign, MarketingOptOut
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import CustomerAccess, CustomerUser

log = logging.getLogger("campaigns")


class BadUnsubscribeLink(ValueError):
    """The link was altered, belongs to another utility or names nothing that exists."""


@dataclass(frozen=True)
class Unsubscribing:
    account: CustomerAccount
    campaign: Campaign | None
    locale: str | None


def _serializer(secret: str, tenant_id: int) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=f"campaign-unsubscribe:{tenant_id}")


def make_token(*, secret: str, tenant_id: int, campaign_public_id: str, account_number: str) -> str:
    return _serializer(secret, tenant_id).dumps([campaign_public_id, account_number])


def token_factory(*, secret: str, tenant_id: int, campaign_public_id: str):
    """A function account_number -> token for a whole batch (the serializer built once)."""
    serializer = _serializer(secret, tenant_id)
    return lambda account_number: serializer.dumps([campaign_public_id, account_number])


def resolve(*, secret: str, tenant_id: int, token: str) -> Unsubscribing:
    try:
        campaign_id, account_number = _serializer(secret, tenant_id).loads(token or "")
    except (BadSignature, ValueError, TypeError) as exc:
        raise BadUnsubscribeLink("bad signature") from exc
    account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == str(account_number)))
    if account is None:
        raise BadUnsubscribeLink("no such account")
    campaign = db.session.scalar(select(Campaign).where(Campaign.public_id == str(campaign_id)))
    locale = db.session.scalar(
        select(CustomerUser.locale).join(CustomerAccess, CustomerAccess.customer_user_id == CustomerUser.id)
        .where(CustomerAccess.account_id == account.id, CustomerUser.locale.isnot(None)).order_by(CustomerUser.id)
        .limit(1)) or account.locale
    return Unsubscribing(account=account, campaign=campaign, locale=locale)


def unsubscribe(target: Unsubscribing, *, now: datetime) -> bool:
    """Record the opt-out and withdraw the consent; False when the account had already unsubscribed."""
    account = target.account
    if db.session.scalar(select(MarketingOptOut.id).where(MarketingOptOut.account_id == account.id)) is not None:
        return False
    users = list(db.session.scalars(
        select(CustomerUser).join(CustomerAccess, CustomerAccess.customer_user_id == CustomerUser.id)
        .where(CustomerAccess.account_id == account.id).order_by(CustomerUser.id)))
    for user in users:
        if user.marketing_consent:
            user.marketing_consent = False  # the user's own audit entry records the change
            user.marketing_consent_at = now
    email = users[0].email if users else None
    db.session.add(MarketingOptOut(account_id=account.id, campaign_id=target.campaign.id if target.campaign else None,
                                   email=email, created_at=now))
    record_event(db.session, tenant_id=account.tenant_id, action="marketing_consent", entity_type="CustomerAccount",
                 entity_id=account.id,
                 details={"marketing_consent": {"before": None, "after": False}, "via": "one-click unsubscribe",
                          "campaign": target.campaign.public_id if target.campaign else None},
                 occurred_at=now)
    db.session.flush()
    log.info("unsubscribed tenant=%s account=%s campaign=%s", account.tenant_id, account.id,
             target.campaign.public_id if target.campaign else None)
    return True
