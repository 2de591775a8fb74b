"""Events as webhooks send them, and as `GET /events` lists them."""
from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

from api.pagination import PageQuery
from api.schemas.common import MoneyText, QuantityText

EventType = Literal["bill.issued", "payment.received", "reading.accepted", "reading.rejected", "request.updated",
                    "customer.updated"]


class EventOut(BaseModel):
    """The body of a webhook delivery, signed in the `Webhook-Signature` header: `t=<unix time>,v1=<hex HMAC-SHA256
    of "<t>.<body>" with the subscription's secret>` (as Stripe signs). Check the signature and that `t` is
    recent (a few minutes) before trusting it; the same event may come twice (retries): `id` tells."""

    model_config = ConfigDict(title="Event")

    id: str = Field(description="The event's identifier: the same on every retry and replay.")
    type: EventType
    created: int = Field(description="When it happened, in Unix seconds.")
    data: dict[str, Any] = Field(description="The object the event is about: each type's fields are described under "
                                             "`webhooks` in this OpenAPI description (the names the read endpoints "
                                             "use; every field present, null when it has no value).")


class EventQuery(PageQuery):
    type: EventType | None = Field(None, description="Only events of this type.")


# --- each event type's `data`, as webhooks send it (OpenAPI `webhooks`; the same names as the read endpoints) --------
# Every field is always present (null when it has no value): `extra="forbid"` and no defaults, so the tests that
# check published events against these models fail on a field added, dropped or renamed on either side.

class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BillIssuedData(_Data):
    """A bill just issued: `GET /bills/{number}` gives its lines."""

    model_config = ConfigDict(title="BillIssuedData")
    public_id: str = Field(description="The bill's UUID.")
    number: str = Field(description="The bill's public number.")
    account_number: str
    kind: str = Field(description="invoice, credit_note, instalment, true_up... as `GET /bills` gives it.")
    period_start: date | None
    period_end: date | None = Field(description="Exclusive.")
    issued_at: AwareDatetime
    due_date: date | None
    currency: str
    total_excl_tax: MoneyText
    total_tax: MoneyText
    total_incl_tax: MoneyText
    status: Literal["issued"]


class AllocationData(_Data):
    model_config = ConfigDict(title="PaymentAllocationData")
    bill_number: str
    amount: MoneyText


class PaymentReceivedData(_Data):
    """Money received (a card payment, a direct debit settled, a transfer or cheque recorded): `GET /payments/{id}`
    gives the rest."""

    model_config = ConfigDict(title="PaymentReceivedData")
    public_id: str = Field(description="The payment's identifier (UUID).")
    account_number: str | None
    amount: MoneyText
    currency: str
    method: str = Field(description="card, direct_debit, transfer, cash, cheque...")
    status: str
    reference: str | None = Field(description="The payment provider's or the bank's reference.")
    received_at: AwareDatetime | None
    allocations: list[AllocationData] = Field(description="The bills it paid and how much of each.")


class ReadingData(_Data):
    """A meter reading accepted (stored valid) or rejected, whoever sent it: your batch, a customer in the portal,
    staff entering or reviewing one. A reading to check is published once staff accept or reject it."""

    model_config = ConfigDict(title="ReadingData")
    point: str | None = Field(description="The point of delivery's identifier (as sent, for a reading of a batch "
                                          "rejected before its point was found).")
    meter: str | None = Field(description="The meter's serial number.")
    # `register` on the wire (the attribute's name would shadow BaseModel.register).
    register_code: str | None = Field(alias="register", description="The register's code.")
    read_on: date | None
    value: QuantityText | None = Field(description="The index read.")
    source: str | None = Field(description="smart_meter, agent, customer...")
    status: Literal["accepted", "rejected"]
    reason: str | None = Field(description="Why it was rejected: a batch's reason code (see `POST /readings/batch`) "
                                           "or `rejected_by_staff`; null when accepted.")
    reason_text: str | None = Field(description="Staff's words when they rejected or corrected it (what the "
                                                "customer is shown); null otherwise.")
    external_id: str | None = Field(description="Your identifier, for a reading you sent in a batch.")
    received_at: AwareDatetime | None


class RequestUpdatedData(_Data):
    """A service request whose status changed or that staff answered: `GET /requests/{reference}` gives the
    conversation."""

    model_config = ConfigDict(title="RequestUpdatedData")
    reference: str
    account_number: str | None
    kind: str
    category: str | None
    status: str
    subject: str
    opened_at: AwareDatetime
    due_at: AwareDatetime | None
    closed_at: AwareDatetime | None
    effective_on: date | None


class PostalAddressData(_Data):
    model_config = ConfigDict(title="PostalAddressData")
    address_line1: str | None
    address_line2: str | None
    postcode: str | None
    city: str | None
    country: str | None


class CustomerUpdatedData(_Data):
    """A customer whose details changed (staff's edit, the customer's own profile)."""

    model_config = ConfigDict(title="CustomerUpdatedData")
    party_number: str
    kind: str = Field(description="person or organisation.")
    title: str | None
    first_name: str | None
    last_name: str | None
    organisation_name: str | None
    email: str | None
    phone: str | None
    postal_address: PostalAddressData | None
    account_numbers: list[str]


class WebhookTestData(_Data):
    """Sent by "Send a test event" in the back office, to this subscription only."""

    model_config = ConfigDict(title="WebhookTestData")
    subscription: str = Field(description="The subscription's identifier.")


EVENT_DATA: dict[str, type[BaseModel]] = {
    "bill.issued": BillIssuedData, "payment.received": PaymentReceivedData, "reading.accepted": ReadingData,
    "reading.rejected": ReadingData, "request.updated": RequestUpdatedData, "customer.updated": CustomerUpdatedData,
    "webhook.test": WebhookTestData,
}


def _event_model(event_type: str, data: type[BaseModel]) -> type[BaseModel]:
    name = "".join(part.capitalize() for part in event_type.replace(".", "_").split("_")) + "Event"
    return create_model(name, __base__=EventOut, __doc__=f"The body of a `{event_type}` delivery.",
                        type=(Literal[event_type], ...), data=(data, ...))


# The body of each type's delivery (EventOut with its `type` fixed and its `data` described).
EVENT_BODIES: dict[str, type[BaseModel]] = {name: _event_model(name, data) for name, data in EVENT_DATA.items()}
