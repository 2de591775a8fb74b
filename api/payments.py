"""Payments with their allocations, an account's ledger and balance, for a utility's accounting (scope
`payments:read`)."""
from __future__ import annotations

from flask import g
from flask_babel import gettext as _

from api.errors import ApiError
from api.pagination import PageQuery, page_model
from api.registry import operation
from api.schemas.payments import BalanceOut, LedgerEntryOut, PaymentListQuery, PaymentOut
from api.schemas.sync import SYNC_CONTRACT, next_cursor, position_of
from domain.accounting import api_queries as money
from domain.contracts.api_queries import account_id_by_number


@operation("GET", "/payments", scope="payments:read", response=page_model(PaymentOut), query=PaymentListQuery,
           tags=["Payments"], summary="Payments with their allocations, to sync", errors=(422,),
           description="Every payment (any method and status) with the bills it paid. " + SYNC_CONTRACT)
def list_payments(*, query: PaymentListQuery):
    page = money.payment_page(after=position_of(query.cursor, "payments"), updated_since=query.updated_since,
                              limit=query.limit, account_number=query.account_number)
    return page_model(PaymentOut)(data=[PaymentOut.of(r) for r in page.items],
                                  next_cursor=next_cursor(page, "payments"))


@operation("GET", "/payments/<public_id>", scope="payments:read", response=PaymentOut, tags=["Payments"],
           summary="One payment by its identifier", errors=(404,))
def get_payment(public_id: str):
    record = money.payment_record(public_id=public_id)
    if record is None:
        raise ApiError(404, "not_found", _("No payment has this identifier."))
    return PaymentOut.of(record)


def _account_id(account_number: str) -> int:
    account_id = account_id_by_number(account_number)
    if account_id is None:
        raise ApiError(404, "not_found", _("No customer account has this number."))
    return account_id


@operation("GET", "/accounts/<account_number>/ledger", scope="payments:read", response=page_model(LedgerEntryOut),
           query=PageQuery, tags=["Payments"], summary="An account's ledger entries", errors=(404, 422),
           description="Debits (bills) and credits (payments, credit notes) in the order they were written. Entries "
                       "never change: `updated_since` reads their `created_at`; pass the latest `created_at` you "
                       "received minus a minute (inclusive).")
def account_ledger(account_number: str, *, query: PageQuery):
    page = money.ledger_page(account_id=_account_id(account_number), after=position_of(query.cursor, "ledger"),
                             updated_since=query.updated_since, limit=query.limit)
    return page_model(LedgerEntryOut)(data=[LedgerEntryOut.of(r) for r in page.items],
                                      next_cursor=next_cursor(page, "ledger"))


@operation("GET", "/accounts/<account_number>/balance", scope="payments:read", response=BalanceOut,
           tags=["Payments"], summary="An account's balance", errors=(404,))
def account_balance(account_number: str):
    record = money.balance_of(account_id=_account_id(account_number), account_number=account_number)
    return BalanceOut.of(record, g.tenant.currency)
