"""Service requests and complaints with their status and the messages the customer sees, for a utility's CRM
(scope `requests:read`)."""
from __future__ import annotations

from flask_babel import gettext as _

from api.errors import ApiError
from api.pagination import page_model
from api.registry import operation
from api.schemas.requests import RequestListQuery, RequestOut
from api.schemas.sync import SYNC_CONTRACT, next_cursor, position_of
from domain.requests import api_queries as requests


@operation("GET", "/requests", scope="requests:read", response=page_model(RequestOut), query=RequestListQuery,
           tags=["Requests"], summary="Service requests and complaints, to sync", errors=(422,),
           description="Each request with its status and the conversation as the customer sees it. "
                       + SYNC_CONTRACT)
def list_requests(*, query: RequestListQuery):
    page = requests.request_page(after=position_of(query.cursor, "requests"), updated_since=query.updated_since,
                                 limit=query.limit, account_number=query.account_number, status=query.status)
    return page_model(RequestOut)(data=[RequestOut.of(r) for r in page.items],
                                  next_cursor=next_cursor(page, "requests"))


@operation("GET", "/requests/<reference>", scope="requests:read", response=RequestOut, tags=["Requests"],
           summary="One request by its reference", errors=(404,))
def get_request(reference: str):
    record = requests.request_record(reference=reference)
    if record is None:
        raise ApiError(404, "not_found", _("No request has this reference."))
    return RequestOut.of(record)
