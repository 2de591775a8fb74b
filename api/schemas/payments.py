"""Payments with their allocations, an account's ledger and balance, as the integration API gives them."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from api.pagination import PageQuery
from api.schemas.common import MoneyText
from api.schemas.sync import money
from domain.accounting.api_queries import BalanceRecord, LedgerEntryRecord, PaymentRecord


class PaymentListQuery(PageQuery):
    account_number: str | None = Field(None, min_length=1, max_length=20,
                                       description="Only the payments of this customer account.")


class AllocationOut(BaseModel):
    bill_number: str | None
    amount: MoneyText


class PaymentOut(BaseModel):
    public_id: str = Field(description="The payment's identifier (UUID).")
    account_number: str
    amount: MoneyText
    refunded_amount: MoneyText = Field(description="Given back so far (refunds, lost disputes).")
    currency: str
    method: Literal["card", "direct_debit", "transfer", "cash", "cheque", "write_off"]
    status: Literal["pending", "succeeded", "failed", "cancelled", "refunded"]
    reference: str | None = Field(description="The payment provider's or the bank's reference.")
    created_at: AwareDatetime
    received_at: AwareDatetime | None
    failure_reason: str | None
    updated_at: AwareDatetime = Field(description="Moves when the payment or its allocations change.")
    allocations: list[AllocationOut] = Field(description="The bills it paid and how much of each.")

    @classmethod
    def of(cls, r: PaymentRecord) -> PaymentOut:
        return cls(public_id=r.public_id, account_number=r.account_number, amount=money(r.amount),
                   refunded_amount=money(r.refunded_amount), currency=r.currency, method=r.method, status=r.status,
                   reference=r.reference, created_at=r.created_at, received_at=r.received_at,
                   failure_reason=r.failure_reason, updated_at=r.updated_at,
                   allocations=[AllocationOut(bill_number=a.bill_number, amount=money(a.amount))
                                for a in r.allocations])


class LedgerEntryOut(BaseModel):
    booked_on: date
    created_at: AwareDatetime = Field(description="When it was written; entries never change, so this is the "
                                                  "time `updated_since` and the order read.")
    direction: Literal["debit", "credit"]
    amount: MoneyText
    currency: str
    description: str
    bill_number: str | None
    payment_id: str | None = Field(description="The `public_id` of the payment it records.")
    opening_balance: bool = Field(description="The balance carried over from your former system.")

    @classmethod
    def of(cls, r: LedgerEntryRecord) -> LedgerEntryOut:
        return cls(booked_on=r.booked_on, created_at=r.created_at, direction=r.direction, amount=money(r.amount),
                   currency=r.currency, description=r.description, bill_number=r.bill_number,
                   payment_id=r.payment_public_id, opening_balance=r.opening_balance)


class BalanceOut(BaseModel):
    account_number: str
    balance: MoneyText = Field(description="Debits minus credits: positive, the customer owes; negative, the "
                                           "customer is in credit.")
    debits: MoneyText
    credits: MoneyText
    currency: str

    @classmethod
    def of(cls, r: BalanceRecord, currency: str) -> BalanceOut:
        return cls(account_number=r.account_number, balance=money(r.balance), debits=money(r.debits),
                   credits=money(r.credits), currency=currency)
