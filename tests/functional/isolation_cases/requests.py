"""Tenant-isolation cases of complaints and requests (portal and back office)."""
from __future__ import annotations

from sqlalchemy import func, select

from domain.db import db, utcnow
from domain.requests import attachments as files
from domain.requests.models import RequestMessage, ServiceRequest
from tenants.context import tenant_scope
from tests.isolation import MISSING, _same_as_missing, same_page

PDF = b"%PDF-1.4\n% test\n%%EOF\n"


def stored_attachment(app, tenant_id: int, reference: str) -> str:
    """A real file attached to the tenant's request; returns its public id."""
    with app.app_context(), tenant_scope(tenant_id):
        request = db.session.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
        checked = files.check_uploads([files.Upload(filename="scan.pdf", data=PDF)])
        row = files.store(request=request, message=None, uploads=checked, uploaded_by_kind="customer",
                          now=utcnow())[0]
        db.session.commit()
        return row.public_id


def _messages_of(app, tenant_id: int, reference: str) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count(RequestMessage.id)).join(
            ServiceRequest, ServiceRequest.id == RequestMessage.request_id).where(
            ServiceRequest.reference == reference))


def _status_of(app, tenant_id: int, reference: str) -> str:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(ServiceRequest.status).where(ServiceRequest.reference == reference))


def _portal(browser, a):
    portal = browser(a.slug)
    portal.login(a.customer_email)
    return portal


def _office(browser, a):
    office = browser(a.slug)
    office.login(a.staff_emails["agent"], area="/backoffice")
    return office


def case_portal_requests(app, browser, a, b):
    text = _portal(browser, a).get("/requests").get_data(as_text=True)
    assert a.request_reference in text and b.request_reference not in text


def case_portal_new_request(app, browser, a, b):
    portal = _portal(browser, a)
    with app.app_context(), tenant_scope(b.tenant_id):
        before_b = db.session.scalar(select(func.count(ServiceRequest.id)))
    refused = portal.submit("/requests/new?kind=complaint",
                            {"account": b.account_number, "subject": "x", "description": "y"})
    foreign_point = portal.get(f"/requests/new?kind=move_out&point={b.delivery_point_identifier}")
    missing_point = portal.get(f"/requests/new?kind=move_out&point={MISSING}")
    assert refused.status_code == 400 and b.account_number not in refused.get_data(as_text=True)
    assert foreign_point.status_code == missing_point.status_code == 404
    assert same_page(foreign_point, missing_point, b.delivery_point_identifier)
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(func.count(ServiceRequest.id))) == before_b


def case_portal_request(app, browser, a, b):
    portal = _portal(browser, a)
    _same_as_missing(portal, f"/requests/{b.request_reference}", f"/requests/{MISSING}", b.request_reference)
    assert portal.get(f"/requests/{a.request_reference}").status_code == 200


def case_portal_request_reply(app, browser, a, b):
    portal = _portal(browser, a)
    before = _messages_of(app, b.tenant_id, b.request_reference)
    response = portal.submit(f"/requests/{a.request_reference}", {"body": "Hello"},
                             action=f"/requests/{b.request_reference}/reply")
    assert response.status_code == 404
    assert _messages_of(app, b.tenant_id, b.request_reference) == before


def case_portal_request_attachment(app, browser, a, b):
    foreign = stored_attachment(app, b.tenant_id, b.request_reference)
    own = stored_attachment(app, a.tenant_id, a.request_reference)
    portal = _portal(browser, a)
    _same_as_missing(portal, f"/requests/{b.request_reference}/files/{foreign}",
                     f"/requests/{MISSING}/files/{foreign}", b.request_reference)
    # A's own request with B's file id: still missing.
    assert portal.get(f"/requests/{a.request_reference}/files/{foreign}").status_code == 404
    assert portal.get(f"/requests/{a.request_reference}/files/{own}").data == PDF


def case_backoffice_requests(app, browser, a, b):
    text = _office(browser, a).get("/backoffice/requests").get_data(as_text=True)
    assert a.request_reference in text and b.request_reference not in text


def case_backoffice_request_detail(app, browser, a, b):
    office = _office(browser, a)
    _same_as_missing(office, f"/backoffice/requests/{b.request_reference}", f"/backoffice/requests/{MISSING}",
                     b.request_reference)
    assert office.get(f"/backoffice/requests/{a.request_reference}").status_code == 200


def _office_post_refused(app, browser, a, b, action: str, data: dict):
    office = _office(browser, a)
    before = (_messages_of(app, b.tenant_id, b.request_reference), _status_of(app, b.tenant_id, b.request_reference))
    response = office.submit(f"/backoffice/requests/{a.request_reference}", data,
                             action=f"/backoffice/requests/{b.request_reference}/{action}")
    assert response.status_code == 404
    after = (_messages_of(app, b.tenant_id, b.request_reference), _status_of(app, b.tenant_id, b.request_reference))
    assert after == before


def case_backoffice_request_reply(app, browser, a, b):
    _office_post_refused(app, browser, a, b, "reply", {"reply-body": "Hello", "reply-status": "resolved"})


def case_backoffice_request_note(app, browser, a, b):
    _office_post_refused(app, browser, a, b, "note", {"note-note": "Internal"})


def case_backoffice_request_status(app, browser, a, b):
    _office_post_refused(app, browser, a, b, "status", {"status-new_status": "closed"})


def case_backoffice_request_attachment(app, browser, a, b):
    foreign = stored_attachment(app, b.tenant_id, b.request_reference)
    own = stored_attachment(app, a.tenant_id, a.request_reference)
    office = _office(browser, a)
    _same_as_missing(office, f"/backoffice/requests/{b.request_reference}/files/{foreign}",
                     f"/backoffice/requests/{MISSING}/files/{foreign}", b.request_reference)
    assert office.get(f"/backoffice/requests/{a.request_reference}/files/{foreign}").status_code == 404
    assert office.get(f"/backoffice/requests/{a.request_reference}/files/{own}").data == PDF
