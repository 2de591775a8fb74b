"""Bills with their lines and what was paid on them, as the integration API gives them."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from api.pagination import PageQuery
from api.schemas.common import MoneyText, QuantityText
from api.schemas.sync import exact, money, quantity
from domain.billing.api_queries import BillRecord


class BillListQuery(PageQuery):
    account_number: str | None = Field(None, min_length=1, max_length=20,
                                       description="Only the bills of this customer account.")


class BillLineOut(BaseModel):
    position: int
    component: str = Field(description="What the line charges: energy, standing, levy, tax, down_payment...")
    description: str
    period_start: date | None
    period_end: date | None = Field(description="Exclusive.")
    register_code: str | None
    quantity: QuantityText
    unit: str
    unit_price: str = Field(description="As priced (up to six decimals), as text.")
    unit_price_includes_tax: bool
    amount: MoneyText = Field(description="Excluding tax (including it when the unit price does).")
    tax_rate: str = Field(description="0.20 for 20 %, as text.")
    amount_incl_tax: MoneyText | None


class BillOut(BaseModel):
    number: str = Field(description="The bill's public number.")
    public_id: str = Field(description="The bill's UUID.")
    account_number: str
    contract_number: str | None
    corrects_bill_number: str | None = Field(description="The bill this corrective bill or credit note corrects.")
    kind: Literal["periodic", "final", "corrective", "credit_note", "instalment", "true_up"]
    status: Literal["issued", "cancelled"]
    estimated: bool = Field(description="Billed on an estimated reading.")
    period_start: date
    period_end: date = Field(description="Exclusive.")
    issued_at: AwareDatetime | None
    due_date: date | None
    cancelled_at: AwareDatetime | None
    currency: str = Field(description="ISO 4217.")
    total_excl_tax: MoneyText
    total_tax: MoneyText
    total_incl_tax: MoneyText
    paid: MoneyText = Field(description="Allocated from succeeded payments.")
    outstanding: MoneyText = Field(description="Left to pay (0.00 for credit notes and cancelled bills).")
    payment_status: Literal["due", "paid", "partly_paid", "overdue", "cancelled", "credit_note"]
    document_url: str = Field(description="Where to get the PDF as issued.")
    updated_at: AwareDatetime = Field(description="Moves when the bill changes (issue, cancellation, its document "
                                                  "stored). A payment allocated to it shows in `/payments`.")
    lines: list[BillLineOut]

    @classmethod
    def of(cls, r: BillRecord) -> BillOut:
        return cls(
            number=r.number, public_id=r.public_id, account_number=r.account_number,
            contract_number=r.contract_number, corrects_bill_number=r.corrects_bill_number, kind=r.kind,
            status=r.status, estimated=r.estimated, period_start=r.period_start, period_end=r.period_end,
            issued_at=r.issued_at, due_date=r.due_date, cancelled_at=r.cancelled_at, currency=r.currency,
            total_excl_tax=money(r.total_excl_tax), total_tax=money(r.total_tax),
            total_incl_tax=money(r.total_incl_tax), paid=money(r.paid), outstanding=money(r.outstanding),
            payment_status=r.payment_status, document_url=f"/api/v1/bills/{r.number}/pdf",
            updated_at=r.updated_at,
            lines=[BillLineOut(
                position=x.position, component=x.component, description=x.description,
                period_start=x.period_start, period_end=x.period_end, register_code=x.register_code,
                quantity=quantity(x.quantity), unit=x.unit, unit_price=exact(x.unit_price),
                unit_price_includes_tax=x.unit_price_includes_tax, amount=money(x.amount),
                tax_rate=exact(x.tax_rate), amount_incl_tax=money(x.amount_incl_tax)) for x in r.lines])
