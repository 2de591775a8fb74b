"""Customer accounts, points of delivery and contracts for a utility's CRM: lists to sync (`updated_since`,
cursor) and one by its public identifier (scope `customers:read`)."""
from __future__ import annotations

from flask_babel import gettext as _

from api.errors import ApiError
from api.pagination import PageQuery, page_model
from api.registry import operation
from api.schemas.customers import AccountListQuery, AccountOut, ContractListQuery, ContractOut, DeliveryPointOut
from api.schemas.sync import SYNC_CONTRACT, next_cursor, position_of
from domain.contracts import api_queries as accounts
from domain.search.services import search_accounts
from domain.sites import api_queries as points

SEARCH_LIMIT = 500


@operation("GET", "/accounts", scope="customers:read", response=page_model(AccountOut), query=AccountListQuery,
           tags=["Customers"], summary="Customer accounts, to sync or search", errors=(422,),
           description="Each account with its holder (person or organisation), the holder's e-mail addresses, "
                       "phones and postal addresses, and its contracts. " + SYNC_CONTRACT)
def list_accounts(*, query: AccountListQuery):
    numbers = None
    if query.q is not None:
        numbers = [hit.account_number for hit in search_accounts(query=query.q, limit=SEARCH_LIMIT)]
    page = accounts.account_page(after=position_of(query.cursor, "accounts"), updated_since=query.updated_since,
                                 limit=query.limit, account_numbers=numbers)
    return page_model(AccountOut)(data=[AccountOut.of(r) for r in page.items],
                                  next_cursor=next_cursor(page, "accounts"))


@operation("GET", "/accounts/<account_number>", scope="customers:read", response=AccountOut, tags=["Customers"],
           summary="One customer account by its number", errors=(404,))
def get_account(account_number: str):
    record = accounts.account_record(account_number=account_number)
    if record is None:
        raise ApiError(404, "not_found", _("No customer account has this number."))
    return AccountOut.of(record)


@operation("GET", "/delivery-points", scope="customers:read", response=page_model(DeliveryPointOut),
           query=PageQuery, tags=["Customers"], summary="Points of delivery with their meters, to sync",
           errors=(422,),
           description="Each point of delivery with its premise's address and the meters installed over time "
                       "with their registers. " + SYNC_CONTRACT)
def list_delivery_points(*, query: PageQuery):
    page = points.delivery_point_page(after=position_of(query.cursor, "delivery-points"),
                                      updated_since=query.updated_since, limit=query.limit)
    return page_model(DeliveryPointOut)(data=[DeliveryPointOut.of(r) for r in page.items],
                                        next_cursor=next_cursor(page, "delivery-points"))


@operation("GET", "/delivery-points/<identifier>", scope="customers:read", response=DeliveryPointOut,
           tags=["Customers"], summary="One point of delivery by its identifier", errors=(404,))
def get_delivery_point(identifier: str):
    record = points.delivery_point_record(identifier=identifier)
    if record is None:
        raise ApiError(404, "not_found", _("No point of delivery has this identifier."))
    return DeliveryPointOut.of(record)


@operation("GET", "/contracts", scope="customers:read", response=page_model(ContractOut), query=ContractListQuery,
           tags=["Customers"], summary="Contracts, to sync", errors=(422,),
           description="Each contract with its account, point of delivery and offer. " + SYNC_CONTRACT)
def list_contracts(*, query: ContractListQuery):
    page = accounts.contract_page(after=position_of(query.cursor, "contracts"), updated_since=query.updated_since,
                                  limit=query.limit, account_number=query.account_number)
    return page_model(ContractOut)(data=[ContractOut.of(r) for r in page.items],
                                   next_cursor=next_cursor(page, "contracts"))


@operation("GET", "/contracts/<contract_number>", scope="customers:read", response=ContractOut, tags=["Customers"],
           summary="One contract by its number", errors=(404,))
def get_contract(contract_number: str):
    record = accounts.contract_record(contract_number=contract_number)
    if record is None:
        raise ApiError(404, "not_found", _("No contract has this number."))
    return ContractOut.of(record)
