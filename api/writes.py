"""`POST /requests` and `POST /payments`: the writes a utility's other systems need, through the same domain
services as the portal and the back office (domain/requests/services.py, domain/collections/manual_payments.py)."""
from __future__ import annotations

from flask import g
from flask_babel import lazy_gettext as _l

from api.errors import ApiError
from api.registry import operation
from api.schemas.payments import PaymentOut
from api.schemas.writes import PaymentIn, ServiceRequestIn, ServiceRequestOut
from app.i18n import tenant_today, tenant_zone
from domain.accounting.api_queries import payment_record
from domain.collections import manual_payments
from domain.db import db, utcnow
from domain.requests import services as requests_service

REQUEST_REFUSALS = {
    "account": (404, "not_found", _l("No customer account has this number.")),
    "kind": (422, "invalid_kind", _l("This kind of request cannot be opened here.")),
    "category": (422, "invalid_category", _l("This category does not belong to this kind of request.")),
    "point": (422, "invalid_point", _l("This point of delivery is not one of the account's.")),
    "date_missing": (422, "date_missing", _l("A move in needs the date it takes effect (effective_on).")),
    "subject": (422, "invalid_subject", _l("Enter a subject of 1 to 200 characters.")),
}
PAYMENT_REFUSALS = {
    "account": (404, "not_found", _l("No customer account has this number.")),
    "currency": (422, "invalid_currency", _l("The currency must be the account's currency.")),
    "amount": (422, "invalid_amount", _l("Enter a positive amount with at most two decimals.")),
    "reference": (422, "invalid_reference", _l("Enter a reference of 1 to 100 characters.")),
    "date": (422, "invalid_date", _l("The date the money was received cannot be in the future.")),
    "method": (422, "invalid_method", _l("The method must be transfer, cheque or cash.")),
    "bill": (422, "invalid_bill", _l("This bill is not an open bill of this account.")),
    "reference_taken": (409, "reference_taken", _l("This reference was recorded with another account, amount or "
                                                  "currency. Use a new reference for a new payment.")),
}


def _refused(table: dict, code: str, field: str | None = None) -> ApiError:
    status, error_code, message = table[code]
    return ApiError(status, error_code, str(message), details={"field": field} if field else None)


@operation("POST", "/requests", scope="requests:write", body=ServiceRequestIn, response=ServiceRequestOut,
           status=201, tags=["Service requests"], summary="Open a service request for a customer account",
           description="A complaint or request a customer made through another system (a call to your CRM): checked "
                       "as in the portal, given a reference, a task and the service level's due date. Send an "
                       "`Idempotency-Key` to make a retry open nothing more.",
           errors=(404, 409, 422), idempotent=True)
def create_service_request(*, body: ServiceRequestIn, query=None) -> tuple[ServiceRequestOut, int]:
    new = requests_service.NewRequest(
        kind=body.kind, account_number=body.account_number, subject=body.subject.strip(),
        description=body.description.strip(), point_identifier=body.point_identifier or None,
        category=body.category or None, effective_on=body.effective_on)
    try:
        created = requests_service.open_request_for_account(
            new=new, now=utcnow(), today=tenant_today(), answer_days=g.tenant.request_answer_days,
            zone=tenant_zone(), tenant_id=g.tenant.id)
    except requests_service.RequestRefused as exc:
        db.session.rollback()
        raise _refused(REQUEST_REFUSALS, exc.code if exc.code in REQUEST_REFUSALS else "kind") from exc
    return ServiceRequestOut(reference=created.reference, account_number=body.account_number, kind=created.kind,
                             category=created.category, status=created.status, subject=created.subject,
                             opened_at=created.opened_at, due_at=created.due_at), 201


@operation("POST", "/payments", scope="payments:write", body=PaymentIn, response=PaymentOut, status=201,
           tags=["Payments"], summary="Record a payment received elsewhere",
           description="Money your bank or cash desk received for a customer account: allocated like any payment "
                       "(the bill named, else the oldest due bills first; what is left stays as credit) and "
                       "credited to the account. Idempotent by your `reference`: the same reference with the same "
                       "account, amount and currency answers the first payment again and records nothing more; "
                       "with another account, amount or currency it is refused (409 `reference_taken`).",
           errors=(404, 409, 422))
def record_payment(*, body: PaymentIn, query=None) -> tuple[PaymentOut, int]:
    try:
        recorded = manual_payments.record_external_payment(
            account_number=body.account_number, amount=body.amount, currency=body.currency, received_on=body.date,
            reference=body.reference, method=body.method, bill_number=body.bill_number, now=utcnow(),
            today=tenant_today())
    except manual_payments.PaymentNotRecorded as exc:
        db.session.rollback()
        raise _refused(PAYMENT_REFUSALS, exc.code) from exc
    # A known reference answers what the first call answered (201 and the same payment): nothing is added.
    # Answered as `GET /payments/{public_id}` reads it: one shape per resource, read by the sync list's own query.
    return PaymentOut.of(payment_record(public_id=recorded.payment.public_id)), 201
