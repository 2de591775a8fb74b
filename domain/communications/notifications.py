"""Transactional notifications queued by jobs after the facts they announce have committed: a bill is available.

(Payment received / failed are queued by the payment webhook's view, which knows the outcome at once.)
"""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from domain.billing.issuing import committed_bills_to_announce
from domain.billing.models import Bill
from domain.communications.pipeline import notify
from domain.contracts.models import CustomerAccount
from domain.db import db, utcnow
from domain.jobs import dispatch

log = logging.getLogger("communications.notifications")
ANNOUNCE_JOB = "communications.bills_available"
ANNOUNCE_BATCH = 200
ANNOUNCED_KINDS = ("periodic", "final", "corrective", "instalment", "true_up")  # not credit notes


def recipient_of_account(account: CustomerAccount) -> str | None:
    """The holder's main e-mail address on file, else the address of an online access to the account."""
    from domain.identity.models import CustomerAccess, CustomerUser

    email = account.holder.primary("email") if account.holder else None
    if email is not None and email.value:
        return email.value
    return db.session.scalar(select(CustomerUser.email).join(
        CustomerAccess, CustomerAccess.customer_user_id == CustomerUser.id)
        .where(CustomerAccess.account_id == account.id, CustomerUser.is_active.is_(True))
        .order_by(CustomerUser.id).limit(1))


def attaches_document(account: CustomerAccount) -> bool:
    """Paperless customers get the PDF with the mail (no separate choice of attachment exists yet)."""
    return bool(account.paperless)


def bills_available(*, bill_ids: list[int], now_iso: str | None = None) -> dict:
    """The job: queue "bill available" for these issued bills, once per bill (reference `bill:<number>`)."""
    from datetime import datetime

    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    bills = list(db.session.scalars(
        select(Bill).where(Bill.id.in_(bill_ids), Bill.status == "issued", Bill.kind.in_(ANNOUNCED_KINDS))
        .options(selectinload(Bill.account).selectinload(CustomerAccount.holder)).order_by(Bill.id)))
    queued = 0
    for bill in bills:
        account = bill.account
        to = recipient_of_account(account)
        if not to:
            continue
        attached = attaches_document(account)
        message = notify(
            kind="bill_available", to=to, locale=account.locale, now=now, account_id=account.id,
            party_id=account.holder_party_id, reference=f"bill:{bill.number}",
            attachments=[{"bill_id": bill.id, "filename": f"{bill.number}.pdf"}] if attached else (),
            context={"bill": bill, "account": account, "attached": attached,
                     "holder_name": account.holder.display_name if account.holder else None},
            links={"link": ("portal.bill", {"number": bill.number})})
        queued += message is not None
    return {"queued": queued, "bills": len(bills)}


def announce_committed_bills() -> int:
    """After a commit: ask for the "bill available" notices of the bills it issued, in batches per tenant."""
    issued = committed_bills_to_announce()
    by_tenant: dict[int, list[int]] = {}
    for tenant_id, bill_id in issued:
        by_tenant.setdefault(tenant_id, []).append(bill_id)
    for tenant_id, ids in by_tenant.items():
        for start in range(0, len(ids), ANNOUNCE_BATCH):
            dispatch(ANNOUNCE_JOB, tenant_id=tenant_id, bill_ids=ids[start:start + ANNOUNCE_BATCH])
    return len(issued)
