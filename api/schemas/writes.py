"""Bodies and answers of the API's writes: a service request opened, a payment received elsewhere recorded."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.schemas.common import MoneyText

# Identifiers and text as PostgreSQL stores them: no NUL anywhere, and no control character in an identifier.
NO_CONTROL = r"^[^\x00-\x1f\x7f]+$"
NO_NUL = r"^[^\x00]+$"


class ServiceRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_number: str = Field(min_length=1, max_length=20, pattern=NO_CONTROL,
                                description="The customer account it is about.")
    kind: Literal["complaint", "move_in", "offer_change", "meter_problem", "other"] = Field(
        description="What the customer asks for (a move out needs its final readings: the portal or staff).")
    category: str | None = Field(None, max_length=32, pattern=NO_CONTROL,
                                 description="What it is about within its kind (optional).")
    subject: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    description: str = Field(min_length=1, max_length=5000, pattern=NO_NUL,
                             description="The customer's words: the first message.")
    point_identifier: str | None = Field(None, max_length=40, pattern=NO_CONTROL,
                                         description="The point of delivery it is about (optional).")
    effective_on: dt.date | None = Field(None, description="A move in: the date it takes effect (required then).")


class ServiceRequestOut(BaseModel):
    reference: str = Field(description="The request's reference, as staff and the customer see it.")
    account_number: str
    kind: str
    category: str | None
    status: str
    subject: str
    opened_at: AwareDatetime
    due_at: AwareDatetime | None = Field(description="When an answer is due (the utility's service level).")


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_number: str = Field(min_length=1, max_length=20, pattern=NO_CONTROL)
    amount: MoneyText = Field(description="A positive amount with two decimals, as text.")
    currency: str = Field(min_length=3, max_length=3, description="The account's currency (ISO 4217).")
    date: dt.date = Field(description="The day the money was received (not in the future).")
    reference: str = Field(min_length=1, max_length=100, pattern=NO_CONTROL,
                           description="Your reference: sending it again records nothing more (idempotent).")
    method: Literal["transfer", "cheque", "cash"] = Field("transfer", description="How the money came.")
    bill_number: str | None = Field(None, max_length=24, pattern=NO_CONTROL,
                                    description="The bill it pays (optional: else the oldest due bills first).")


