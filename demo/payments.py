"""Demo data for bills and payments: the billed history is paid, except bills not yet due and a few late payers."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, UTC

from sqlalchemy import select

from domain.accounting.models import LedgerEntry, Payment, PaymentAllocation
from domain.billing.models import Bill
from domain.db import db
from tenants.context import tenant_scope

# Bills not yet due stay open (the latest run's: the portal shows something due). One account in
# LATE_PAYER_EVERY also forgot one bill that fell due within LATE_DAYS: the portal shows "overdue".
LATE_PAYER_EVERY = 7
LATE_DAYS = 75


def pay_bill_history(*, tenant_id: int, today: date) -> int:
    """Bank transfers settling past bills, each with its allocation and ledger credit; returns how many."""
    with tenant_scope(tenant_id):
        bills = list(db.session.scalars(
            select(Bill).where(Bill.status == "issued", Bill.kind != "credit_note", Bill.total_incl_tax > 0,
                               Bill.due_date < today)
            .order_by(Bill.account_id, Bill.due_date, Bill.id)))
        skipped: set[int] = set()
        settled: list[tuple[Bill, Payment]] = []
        for bill in bills:
            if bill.account_id % LATE_PAYER_EVERY == 0 and bill.account_id not in skipped \
                    and bill.due_date >= today - timedelta(days=LATE_DAYS):
                skipped.add(bill.account_id)  # this customer forgot one bill
                continue
            received = datetime.combine(bill.due_date - timedelta(days=2), time(10), tzinfo=UTC)
            payment = Payment(account_id=bill.account_id, amount=bill.total_incl_tax, currency=bill.currency,
                              method="transfer", status="succeeded", provider="bank", created_at=received,
                              received_at=received, provider_reference=f"demo-transfer-{bill.number}")
            settled.append((bill, payment))
        db.session.add_all(payment for _bill, payment in settled)
        db.session.flush()  # one batched insert; the ids come back for the rows below
        for bill, payment in settled:
            db.session.add(PaymentAllocation(payment_id=payment.id, bill_id=bill.id, amount=bill.total_incl_tax))
            db.session.add(LedgerEntry(account_id=bill.account_id, booked_on=payment.received_at.date(),
                                       created_at=payment.received_at, direction="credit",
                                       amount=bill.total_incl_tax, currency=bill.currency,
                                       description=f"Bank transfer for bill {bill.number}", payment_id=payment.id))
        db.session.commit()
        return len(settled)
