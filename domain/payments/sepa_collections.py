"""SEPA direct-debit collections: which bills to collect on a date, batches through prepared -> submitted ->
settled, the pain.008 file of a batch, and returned items (R-transactions) that undo their payment.

A batch holds one item per bill. Which bills: issued, not fully paid, due on or before the collection date, on
an account with an active mandate, not already in a live item (a partial unique index makes that hold under
concurrency), and never returned before (a returned bill is followed up by staff, not re-presented blindly).
Settling records one payment per item through the card payments' own path (`services.mark_succeeded`: allocated
to the bill, credited to the ledger); a return marks that payment failed and debits the ledger back, so the bill
is unpaid again.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from domain.accounting.models import LedgerEntry, Payment, PaymentAllocation
from domain.audit.recorder import record_event
from domain.billing.bills import paid_per_bill_subquery
from domain.billing.models import Bill
from domain.contracts import services as accounts
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.identity.models import CustomerAccess, CustomerUser
from domain.parties.models import Party
from domain.payments import pain008, services
from domain.payments.collection_models import LIVE_ITEM_STATUSES, CollectionBatch, CollectionItem
from domain.payments.creditor import normalise_creditor_id
from domain.payments.mandates import creditor_identifier, creditor_name, normalise_iban
from domain.payments.models import DirectDebitMandate
from tenants.operation_settings import payment_methods

log = logging.getLogger("payments.collections")
CENT = Decimal("0.01")

# The SEPA Core rulebook: a collection reaches the debtor's bank at most 14 calendar days before its collection date
# (and at the latest the business day before). Before that window the file cannot be sent.
SUBMISSION_WINDOW_DAYS = 14

# ISO 20022 reason codes of SEPA Core R-transactions (EPC guidance), the ones staff meet in practice.
RETURN_REASONS = ("AC01", "AC04", "AC06", "AC13", "AG01", "AG02", "AM04", "AM05", "BE05", "CNOR", "DNOR", "FF01",
                  "MD01", "MD02", "MD06", "MD07", "MS02", "MS03", "RC01", "RR01", "RR02", "RR03", "RR04", "SL01")


class CollectionRefused(ValueError):
    """`code` says why (the view words it in the user's language); nothing was changed."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Candidate:
    """A bill that a batch for the date would collect, and how."""

    bill: Bill
    account: CustomerAccount
    mandate: DirectDebitMandate
    amount: Decimal
    sequence_type: str


@dataclass(frozen=True)
class Preview:
    collection_date: date
    candidates: tuple[Candidate, ...]

    @property
    def total(self) -> Decimal:
        return sum((c.amount for c in self.candidates), Decimal("0.00"))

    @property
    def fingerprint(self) -> str:
        """What staff saw: confirming collects exactly these bills and amounts, or nothing."""
        seen = ",".join(f"{c.bill.id}:{c.amount}" for c in self.candidates)
        return hashlib.sha256(f"{self.collection_date.isoformat()}|{seen}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class BatchSummary:
    batch: CollectionBatch
    count: int  # items that collect (pending or settled) or were returned
    total: Decimal
    returned_count: int
    returned_total: Decimal


@dataclass(frozen=True)
class ItemRow:
    item: CollectionItem
    bill_number: str
    account_number: str
    holder_name: str
    mandate_reference: str


@dataclass(frozen=True)
class ReturnNotice:
    """What to e-mail the customer once the return is committed (None recipient: nobody to tell)."""

    to: str
    locale: str | None
    holder_name: str
    account_number: str
    bill_number: str
    amount: Decimal
    currency: str
    reason: str
    collection_date: date


# --- Which bills ------------------------------------------------------------------------------------------------

def setup_problem(tenant) -> str | None:
    if tenant.currency != "EUR":
        return "currency"
    if not creditor_identifier(tenant) or not tenant.iban:
        return "not_configured"
    return None


def _mandates_already_collected(mandate_ids: list[int]) -> set[int]:
    """Mandates with a collection already sent to the bank (the next one is RCUR; a returned first one is not)."""
    if not mandate_ids:
        return set()
    return set(db.session.scalars(
        select(CollectionItem.mandate_id).join(CollectionBatch, CollectionBatch.id == CollectionItem.batch_id)
        .where(CollectionItem.mandate_id.in_(mandate_ids), CollectionItem.status.in_(LIVE_ITEM_STATUSES),
               CollectionBatch.status.in_(("submitted", "settled"))).distinct()))


def preview(*, collection_date: date) -> Preview:
    """The bills a batch for this date would collect now, oldest due first; writes nothing."""
    paid = paid_per_bill_subquery()
    in_collection = exists().where(CollectionItem.bill_id == Bill.id, CollectionItem.status.in_(
        LIVE_ITEM_STATUSES + ("returned",)))
    outstanding = (Bill.total_incl_tax - func.coalesce(paid.c.paid, 0))
    rows = db.session.execute(
        select(Bill, CustomerAccount, DirectDebitMandate, outstanding)
        .join(CustomerAccount, CustomerAccount.id == Bill.account_id)
        .join(DirectDebitMandate, and_(DirectDebitMandate.account_id == Bill.account_id,
                                       DirectDebitMandate.status == "active"))
        .outerjoin(paid, paid.c.bill_id == Bill.id)
        .where(Bill.status == "issued", Bill.kind != "credit_note", Bill.total_incl_tax > 0,
               Bill.currency == "EUR", Bill.due_date.is_not(None), Bill.due_date <= collection_date,
               outstanding > 0, ~in_collection)
        .order_by(Bill.due_date, Bill.id)).all()
    sent_before = _mandates_already_collected(sorted({mandate.id for _b, _a, mandate, _o in rows}))
    room = _collectable_per_account(sorted({account.id for _b, account, _m, _o in rows}))
    candidates = []
    seen_bills: set[int] = set()
    for bill, account, mandate, outstanding in rows:
        if bill.id in seen_bills:  # one active mandate per account, but never collect a bill twice regardless
            continue
        seen_bills.add(bill.id)
        amount = min(Decimal(outstanding).quantize(CENT), room.get(account.id, Decimal("0.00")))
        if amount <= 0:
            continue
        room[account.id] -= amount
        candidates.append(Candidate(bill=bill, account=account, mandate=mandate, amount=amount,
                                    sequence_type="RCUR" if mandate.id in sent_before else "FRST"))
    return Preview(collection_date=collection_date, candidates=tuple(candidates))


def _collectable_per_account(account_ids: list[int], chunk: int = 500) -> dict[int, Decimal]:
    """What may still be collected per account: its balance (credit notes and unallocated payments lower it) less
    what live collections already claim. A bill is never collected beyond what the customer owes."""
    out: dict[int, Decimal] = {}
    for start in range(0, len(account_ids), chunk):
        ids = account_ids[start:start + chunk]
        out.update(accounts.balances(account_ids=ids))
        for account_id, claimed in db.session.execute(
                select(CollectionItem.account_id, func.sum(CollectionItem.amount))
                .where(CollectionItem.account_id.in_(ids), CollectionItem.status == "pending")
                .group_by(CollectionItem.account_id)):
            out[account_id] -= Decimal(claimed or 0)
    return out


# --- Batches ----------------------------------------------------------------------------------------------------

def prepare_batch(*, tenant, collection_date: date, today: date, now: datetime, prepared_by: str,
                  expected: str | None = None) -> tuple[CollectionBatch, int]:
    """Collect the due bills on `collection_date`: (the batch, how many items this call added).

    A batch already prepared for the date gets the new bills (and nothing twice); `expected` is the preview's
    fingerprint staff confirmed: if the bills have changed since, nothing is written (code `changed`).
    """
    problem = setup_problem(tenant)
    if problem:
        raise CollectionRefused(problem, "the creditor identifier, IBAN or currency is not set up for SEPA")
    if collection_date <= today:
        raise CollectionRefused("date_past", "the collection date must be after today")
    found = preview(collection_date=collection_date)
    if expected is not None and expected != found.fingerprint:
        raise CollectionRefused("changed", "the bills to collect have changed since the preview")
    batch = db.session.scalar(select(CollectionBatch).where(
        CollectionBatch.collection_date == collection_date, CollectionBatch.status == "prepared").with_for_update())
    if not found.candidates:
        if batch is None:
            raise CollectionRefused("nothing_due", "no bill to collect on this date")
        return batch, 0
    try:
        with db.session.begin_nested():
            if batch is None:
                batch = _new_batch(collection_date=collection_date, currency=tenant.currency, now=now,
                                   prepared_by=prepared_by)
            sequence = db.session.scalar(select(func.count(CollectionItem.id)).where(
                CollectionItem.batch_id == batch.id)) or 0
            for candidate in found.candidates:
                sequence += 1
                db.session.add(CollectionItem(
                    batch_id=batch.id, bill_id=candidate.bill.id, account_id=candidate.account.id,
                    mandate_id=candidate.mandate.id, end_to_end_id=f"{batch.message_id}-{sequence:05d}",
                    sequence_type=candidate.sequence_type, amount=candidate.amount, currency=candidate.bill.currency,
                    status="pending"))
            db.session.flush()
    except IntegrityError as exc:  # another preparation took these bills (or this date's batch) first
        raise CollectionRefused("busy", "another preparation is running; try again") from exc
    log.info("collection batch prepared tenant=%s batch=%s date=%s added=%d total=%s", batch.tenant_id,
             batch.message_id, collection_date, len(found.candidates), found.total)
    return batch, len(found.candidates)


def prenotify_batch(*, tenant, batch: CollectionBatch, now: datetime) -> int:
    """Tell each debtor of the batch before the debit, as the SEPA Core rulebook requires: amount, date, bill,
    mandate reference and creditor identifier. Run by a job once the batch is committed (a batch of thousands is not
    rendered inside the staff member's request); once per item (reference `debit:<end-to-end id>`), so a re-run
    after more bills were added tells only the new debtors. Items without an e-mail address are left to the bill,
    which states the debit too. Returns how many notices were queued."""
    from domain.communications.notifications import recipient_of_account
    from domain.communications.pipeline import notify

    rows = db.session.execute(
        select(CollectionItem, Bill.number, DirectDebitMandate.reference, CustomerAccount)
        .join(Bill, Bill.id == CollectionItem.bill_id)
        .join(DirectDebitMandate, DirectDebitMandate.id == CollectionItem.mandate_id)
        .join(CustomerAccount, CustomerAccount.id == CollectionItem.account_id)
        .where(CollectionItem.batch_id == batch.id, CollectionItem.status == "pending")
        .options(selectinload(CustomerAccount.holder).selectinload(Party.contact_points))
        .order_by(CollectionItem.id)).all()
    creditor = {"creditor_identifier": creditor_identifier(tenant), "creditor_name": creditor_name(tenant)}
    queued = 0
    for item, bill_number, mandate_reference, account in rows:
        to = recipient_of_account(account)
        if not to:
            continue
        queued += notify(
            kind="direct_debit_prenotification", to=to, locale=account.locale, now=now, account_id=account.id,
            party_id=account.holder_party_id, reference=f"debit:{item.end_to_end_id}",
            context={"account": account, "amount": item.amount, "currency": item.currency,
                     "collection_date": batch.collection_date, "bill_number": bill_number,
                     "mandate_reference": mandate_reference, **creditor},
            links={"link": ("portal.home", {})}) is not None
    log.info("direct-debit pre-notifications tenant=%s batch=%s queued=%d", tenant.id, batch.message_id, queued)
    return queued


def _new_batch(*, collection_date: date, currency: str, now: datetime, prepared_by: str) -> CollectionBatch:
    count = db.session.scalar(select(func.count(CollectionBatch.id)).where(
        CollectionBatch.collection_date == collection_date)) or 0
    batch = CollectionBatch(message_id=f"DD{collection_date:%Y%m%d}-{count + 1:02d}", collection_date=collection_date,
                            status="prepared", currency=currency, prepared_at=now, prepared_by=prepared_by[:255])
    db.session.add(batch)
    db.session.flush()
    return batch


def batch_by_public_id(public_id: str, *, lock: bool = False) -> CollectionBatch | None:
    stmt = select(CollectionBatch).where(CollectionBatch.public_id == public_id)
    if lock:
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def latest_batches(*, limit: int = 50) -> list[BatchSummary]:
    """Newest collection dates first, with what each collects and what came back (one grouped query)."""
    batches = list(db.session.scalars(select(CollectionBatch).order_by(
        CollectionBatch.collection_date.desc(), CollectionBatch.id.desc()).limit(limit)))
    return summaries(batches)


def summaries(batches: list[CollectionBatch]) -> list[BatchSummary]:
    if not batches:
        return []
    rows = db.session.execute(
        select(CollectionItem.batch_id, CollectionItem.status, func.count(CollectionItem.id),
               func.sum(CollectionItem.amount))
        .where(CollectionItem.batch_id.in_([b.id for b in batches]))
        .group_by(CollectionItem.batch_id, CollectionItem.status))
    figures: dict[int, dict[str, tuple[int, Decimal]]] = {}
    for batch_id, status, count, total in rows:
        figures.setdefault(batch_id, {})[status] = (count, Decimal(total or 0).quantize(CENT))
    out = []
    for batch in batches:
        by_status = figures.get(batch.id, {})
        counted = [by_status.get(s, (0, Decimal("0.00"))) for s in ("pending", "settled", "returned")]
        returned = by_status.get("returned", (0, Decimal("0.00")))
        out.append(BatchSummary(batch=batch, count=sum(c for c, _t in counted),
                                total=sum((t for _c, t in counted), Decimal("0.00")),
                                returned_count=returned[0], returned_total=returned[1]))
    return out


def item_rows(batch: CollectionBatch) -> list[ItemRow]:
    """The batch's items with what staff read beside them, in one query (the debtor is the mandate's holder)."""
    rows = db.session.execute(
        select(CollectionItem, Bill.number, CustomerAccount.account_number, DirectDebitMandate.holder_name,
               DirectDebitMandate.reference)
        .join(Bill, Bill.id == CollectionItem.bill_id)
        .join(CustomerAccount, CustomerAccount.id == CollectionItem.account_id)
        .join(DirectDebitMandate, DirectDebitMandate.id == CollectionItem.mandate_id)
        .where(CollectionItem.batch_id == batch.id).order_by(CollectionItem.id)).all()
    return [ItemRow(item=item, bill_number=number, account_number=account_number, holder_name=holder,
                    mandate_reference=reference)
            for item, number, account_number, holder, reference in rows]


def item_by_end_to_end_id(batch: CollectionBatch, end_to_end_id: str) -> CollectionItem | None:
    return db.session.scalar(select(CollectionItem).where(
        CollectionItem.batch_id == batch.id, CollectionItem.end_to_end_id == end_to_end_id).with_for_update())


def _require(batch: CollectionBatch, status: str) -> None:
    if batch.status != status:
        raise CollectionRefused("state", f"batch {batch.message_id} is {batch.status}, not {status}")


def _items_of_revoked_mandates(batch: CollectionBatch) -> list[CollectionItem]:
    return list(db.session.scalars(
        select(CollectionItem).join(DirectDebitMandate, DirectDebitMandate.id == CollectionItem.mandate_id)
        .where(CollectionItem.batch_id == batch.id, CollectionItem.status == "pending",
               DirectDebitMandate.status != "active")))


def cancel_batch(*, batch: CollectionBatch, now: datetime) -> None:
    """Drop a batch not yet sent to the bank: its bills may be collected by another batch."""
    _require(batch, "prepared")
    for item in batch.items:
        if item.status == "pending":
            item.status = "cancelled"
    batch.status = "cancelled"
    batch.cancelled_at = now
    db.session.flush()
    log.info("collection batch cancelled tenant=%s batch=%s", batch.tenant_id, batch.message_id)


def submission_opens_on(batch: CollectionBatch) -> date:
    """The first day the batch's file may be sent to the bank."""
    return batch.collection_date - timedelta(days=SUBMISSION_WINDOW_DAYS)


def submit_batch(*, batch: CollectionBatch, now: datetime, today: date, by: str) -> int:
    """The file was handed to the bank. Items whose mandate was revoked since preparing are dropped (they are
    not in the file either), and so are bills paid meanwhile; returns how many. Refused before the submission
    window opens (`too_early`), on or after the collection date (`date_passed`: prepare a new batch), or when
    nothing is left to collect."""
    _require(batch, "prepared")
    if today < submission_opens_on(batch):
        raise CollectionRefused("too_early", f"batch {batch.message_id} can be sent from "
                                             f"{submission_opens_on(batch)}")
    if today >= batch.collection_date:
        raise CollectionRefused("date_passed", f"the collection date of {batch.message_id} has come")
    services.withdraw_paid_from_prepared_batches(
        bill_ids=[item.bill_id for item in batch.items if item.status == "pending"])
    db.session.expire(batch, ["items"])
    dropped = _items_of_revoked_mandates(batch)
    remaining = sum(1 for item in batch.items if item.status == "pending") - len(dropped)
    if remaining <= 0:
        raise CollectionRefused("empty", "every mandate of this batch has been revoked: cancel it")
    for item in dropped:
        item.status = "cancelled"
    batch.status = "submitted"
    batch.submitted_at = now
    batch.submitted_by = by[:255]
    db.session.flush()
    log.info("collection batch submitted tenant=%s batch=%s dropped=%d", batch.tenant_id, batch.message_id,
             len(dropped))
    return len(dropped)


def settle_batch(*, batch: CollectionBatch, now: datetime, today: date, by: str) -> list[Payment]:
    """The bank credited the batch: one succeeded direct-debit payment per item still pending, allocated to its
    bill and credited to the ledger. Items rejected before settlement get none. Not before the collection date
    (`not_yet`): the money is not there before."""
    _require(batch, "submitted")
    if today < batch.collection_date:
        raise CollectionRefused("not_yet", f"batch {batch.message_id} is collected on {batch.collection_date}")
    payments = []
    for item in batch.items:
        if item.status != "pending":
            continue
        payment = Payment(account_id=item.account_id, amount=item.amount, currency=item.currency,
                          method="direct_debit", status="pending", provider="bank",
                          provider_reference=item.end_to_end_id, created_at=now)
        db.session.add(payment)
        db.session.flush()
        db.session.add(PaymentAllocation(payment_id=payment.id, bill_id=item.bill_id, amount=item.amount))
        db.session.flush()
        services.mark_succeeded(payment=payment, now=now, today=today, publish=False)
        item.status = "settled"
        item.payment_id = payment.id
        payments.append(payment)
    from domain.accounting.payment_events import publish_received

    publish_received(payments, now=now)  # one bulk write for the whole batch, when someone listens
    batch.status = "settled"
    batch.settled_at = now
    batch.settled_by = by[:255]
    db.session.flush()
    log.info("collection batch settled tenant=%s batch=%s payments=%d", batch.tenant_id, batch.message_id,
             len(payments))
    return payments


def record_return(*, batch: CollectionBatch, item: CollectionItem, reason: str, now: datetime, today: date,
                  by: str) -> ReturnNotice | None:
    """The bank returned (or rejected) one item with an ISO reason code.

    Settled: its payment becomes failed (its allocation no longer counts, so the bill is unpaid again) and the
    ledger gets the matching debit. Still pending in a submitted batch: the item gets no payment at settlement.
    Returns what to e-mail the customer, or None when nobody can be told.
    """
    code = (reason or "").strip().upper()
    if code not in RETURN_REASONS:
        raise CollectionRefused("reason", f"{reason!r} is not a SEPA return reason code")
    if item.batch_id != batch.id:
        raise CollectionRefused("state", "the item is not in this batch")
    if item.status == "returned":
        raise CollectionRefused("already_returned", f"{item.end_to_end_id} is already returned")
    if batch.status not in ("submitted", "settled") or item.status not in ("pending", "settled"):
        raise CollectionRefused("state", f"{item.end_to_end_id} has not been sent to the bank")
    if today < batch.collection_date:
        raise CollectionRefused("not_yet", f"batch {batch.message_id} is collected on {batch.collection_date}")
    if item.status == "settled":
        payment = db.session.scalar(select(Payment).where(Payment.id == item.payment_id).with_for_update())
        payment.status = "failed"
        payment.failure_reason = f"SEPA return {code}"
        db.session.add(LedgerEntry(
            account_id=payment.account_id, booked_on=today, created_at=now, direction="debit", amount=payment.amount,
            currency=payment.currency, payment_id=payment.id,
            description=f"Direct debit returned {code} {item.end_to_end_id}"))
    item.status = "returned"
    item.return_reason = code
    item.returned_at = now
    item.returned_by = by[:255]
    db.session.flush()
    log.info("collection item returned tenant=%s batch=%s item=%s reason=%s", batch.tenant_id, batch.message_id,
             item.end_to_end_id, code)
    return _return_notice(item, batch)


def _return_notice(item: CollectionItem, batch: CollectionBatch) -> ReturnNotice | None:
    account = db.session.get(CustomerAccount, item.account_id)
    mandate = db.session.get(DirectDebitMandate, item.mandate_id)
    bill = db.session.get(Bill, item.bill_id)
    to, locale = None, account.locale
    if mandate.signed_by_user_id is not None:
        signer = db.session.scalar(select(CustomerUser).where(
            CustomerUser.id == mandate.signed_by_user_id,
            CustomerUser.id.in_(select(CustomerAccess.customer_user_id).where(
                CustomerAccess.account_id == account.id))))
        if signer is not None:
            to, locale = signer.email, signer.locale or account.locale
    if to is None and account.holder is not None:
        email = account.holder.primary("email")
        to = email.value if email else None
    if not to:
        return None
    return ReturnNotice(to=to, locale=locale, holder_name=account.holder.display_name if account.holder else "",
                        account_number=account.account_number, bill_number=bill.number, amount=item.amount,
                        currency=item.currency, reason=item.return_reason, collection_date=batch.collection_date)


def collections_of_account(*, account_id: int, limit: int = 20) -> list[tuple[CollectionItem, CollectionBatch, str]]:
    """(item, batch, bill number) of an account's collections, newest first: the customer file shows returns."""
    return list(db.session.execute(
        select(CollectionItem, CollectionBatch, Bill.number)
        .join(CollectionBatch, CollectionBatch.id == CollectionItem.batch_id)
        .join(Bill, Bill.id == CollectionItem.bill_id)
        .where(CollectionItem.account_id == account_id, CollectionItem.status != "cancelled")
        .order_by(CollectionBatch.collection_date.desc(), CollectionItem.id.desc()).limit(limit)).tuples())


# --- Settings ---------------------------------------------------------------------------------------------------

def update_settings(*, tenant, creditor_id: str | None, iban: str, bic: str | None, lead_days: int | None,
                    now: datetime) -> dict:
    """The tenant's SEPA creditor settings (validated by the caller's form with `creditor.normalise_creditor_id`
    and `mandates.normalise_iban`, checked again here). Audited as one event with what changed.

    No creditor identifier (None) is allowed while direct debit is not among the ways to pay: a utility taking
    bank transfers only still needs the IBAN printed on its bills (the go-live checklist asks for it)."""
    if not creditor_id and "direct_debit" in payment_methods(tenant):
        raise CollectionRefused("creditor_id", "direct debit is offered: a creditor identifier is needed")
    values = {"sepa_creditor_id": normalise_creditor_id(creditor_id) if creditor_id else None,
              "iban": normalise_iban(iban),
              "bic": bic or None, "sepa_collection_lead_days": lead_days}
    if lead_days is not None and not 1 <= lead_days <= 30:
        raise CollectionRefused("lead_days", "lead days are 1 to 30")
    changes = {key: {"before": getattr(tenant, key), "after": value}
               for key, value in values.items() if getattr(tenant, key) != value}
    for key, value in values.items():
        setattr(tenant, key, value)
    if changes:
        record_event(db.session, tenant_id=tenant.id, action="sepa_settings", entity_type="Tenant",
                     entity_id=tenant.id, details={k: v for k, v in changes.items() if k != "iban"} | (
                         {"iban": {"before": "[redacted]", "after": "[redacted]"}} if "iban" in changes else {}),
                     occurred_at=now)
    db.session.flush()
    log.info("sepa settings tenant=%s changed=%s", tenant.id, sorted(changes))
    return changes


# --- The file ---------------------------------------------------------------------------------------------------

def message_of(*, batch: CollectionBatch, tenant, created_at: datetime) -> pain008.Message:
    """The batch as plain data for the pain.008 builder: every item sent or to send (not the cancelled ones; while
    prepared, not those whose mandate has been revoked since)."""
    if batch.status == "cancelled":
        raise CollectionRefused("state", "a cancelled batch has no file")
    problem = setup_problem(tenant)
    if problem:
        raise CollectionRefused(problem, "the creditor identifier, IBAN or currency is not set up for SEPA")
    revoked = {item.id for item in _items_of_revoked_mandates(batch)} if batch.status == "prepared" else set()
    zone = ZoneInfo(tenant.timezone)
    rows = db.session.execute(
        select(CollectionItem, Bill.number, DirectDebitMandate)
        .join(Bill, Bill.id == CollectionItem.bill_id)
        .join(DirectDebitMandate, DirectDebitMandate.id == CollectionItem.mandate_id)
        .where(CollectionItem.batch_id == batch.id, CollectionItem.status != "cancelled")
        .order_by(CollectionItem.id)).all()
    transactions = tuple(
        pain008.DirectDebit(
            end_to_end_id=item.end_to_end_id, amount=item.amount, sequence_type=item.sequence_type,
            collection_date=batch.collection_date, mandate_id=mandate.reference,
            mandate_signed_on=mandate.signed_at.astimezone(zone).date(), debtor_name=mandate.holder_name,
            debtor_iban=mandate.iban, debtor_bic=mandate.bic, remittance=f"Bill {number}")
        for item, number, mandate in rows if item.id not in revoked)
    if not transactions:
        raise CollectionRefused("empty", "nothing left to collect in this batch")
    creditor = pain008.Creditor(name=creditor_name(tenant), iban=tenant.iban, bic=tenant.bic,
                                creditor_id=creditor_identifier(tenant))
    return pain008.Message(message_id=batch.message_id, created_at=created_at, creditor=creditor,
                           transactions=transactions, currency=batch.currency)


def xml_of(*, batch: CollectionBatch, tenant, created_at: datetime) -> bytes:
    return pain008.build_pain008(message_of(batch=batch, tenant=tenant, created_at=created_at))
