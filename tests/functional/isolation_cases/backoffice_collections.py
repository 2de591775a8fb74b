"""Isolation cases of the SEPA collection pages: tenant B's batches, items and settings answer like missing ones
from tenant A, and nothing of B's changes."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from domain.db import db, utcnow
from domain.payments import sepa_collections as collections
from domain.payments.collection_models import CollectionBatch, CollectionItem
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.integration.test_payments import add_bill
from tests.integration.test_sepa_collections import configure
from tests.isolation import MISSING, _same_as_missing


def _b_batch(app, b, *, submitted: bool = False) -> tuple[str, str, str, str]:
    """B's prepared (or submitted) batch of one due bill: (public id, end-to-end id, bill number, message id)."""
    configure(app, b.slug, creditor_id="AT92ZZZ00000012345")
    today = utcnow().date()
    with app.app_context(), tenant_scope(b.tenant_id):
        bill = add_bill(b.account_number, "77.00", due=today + timedelta(days=2))
        batch, _added = collections.prepare_batch(tenant=db.session.get(Tenant, b.tenant_id),
                                                  collection_date=today + timedelta(days=5), today=today,
                                                  now=utcnow(), prepared_by="B staff")
        if submitted:
            collections.submit_batch(batch=batch, now=utcnow(), today=today, by="B staff")
        db.session.commit()
        e2e = db.session.scalar(select(CollectionItem.end_to_end_id).where(CollectionItem.batch_id == batch.id))
        return batch.public_id, e2e, bill.number, batch.message_id


def _b_state(app, b):
    with app.app_context(), tenant_scope(b.tenant_id):
        return ([(x.public_id, x.status) for x in db.session.scalars(select(CollectionBatch))],
                [(i.end_to_end_id, i.status, i.payment_id) for i in db.session.scalars(select(CollectionItem))])


def _office(app, browser, a):
    configure(app, a.slug)
    office = browser(a.slug)
    office.login(a.staff_emails["collections"], area="/backoffice")
    return office


def case_collections_batch_list(app, browser, a, b):
    public_id, _e2e, _bill, _message_id = _b_batch(app, b)
    page = _office(app, browser, a).get("/backoffice/collections/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert public_id not in text and "No collection yet." in text


def case_collections_preview(app, browser, a, b):
    configure(app, b.slug, creditor_id="AT92ZZZ00000012345")
    with app.app_context(), tenant_scope(b.tenant_id):
        bill = add_bill(b.account_number, "77.00", due=utcnow().date() + timedelta(days=2))
        db.session.commit()
        number = bill.number
    on = (utcnow().date() + timedelta(days=5)).isoformat()
    page = _office(app, browser, a).get(f"/backoffice/collections/preview?collection_date={on}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert number not in text and "No bill is due for collection by this date." in text


def case_collections_prepare(app, browser, a, b):
    configure(app, a.slug)
    configure(app, b.slug, creditor_id="AT92ZZZ00000012345")
    on = utcnow().date() + timedelta(days=5)
    with app.app_context(), tenant_scope(b.tenant_id):
        add_bill(b.account_number, "77.00", due=utcnow().date() + timedelta(days=2))
        db.session.commit()
        shown = collections.preview(collection_date=on).fingerprint
    office = _office(app, browser, a)
    response = office.submit("/backoffice/collections/", {"collection_date": on.isoformat(), "shown": shown},
                             action="/backoffice/collections/prepare")
    assert response.status_code in (409, 422)
    assert _b_state(app, b) == ([], [])
    assert _b_state(app, a) == ([], [])


def case_collections_batch_detail(app, browser, a, b):
    public_id, *_rest = _b_batch(app, b)
    _same_as_missing(_office(app, browser, a), f"/backoffice/collections/{public_id}",
                     f"/backoffice/collections/{MISSING}", public_id)


def case_collections_batch_xml(app, browser, a, b):
    public_id, *_rest = _b_batch(app, b)
    _same_as_missing(_office(app, browser, a), f"/backoffice/collections/{public_id}.xml",
                     f"/backoffice/collections/{MISSING}.xml", public_id)


def _action_refused(app, browser, a, b, action, *, submitted=False):
    public_id, *_rest = _b_batch(app, b, submitted=submitted)
    before = _b_state(app, b)
    office = _office(app, browser, a)
    foreign = office.submit("/backoffice/collections/", {}, action=f"/backoffice/collections/{public_id}/{action}")
    missing = office.submit("/backoffice/collections/", {}, action=f"/backoffice/collections/{MISSING}/{action}")
    assert foreign.status_code == missing.status_code == 404
    assert _b_state(app, b) == before


def case_collections_batch_submit(app, browser, a, b):
    _action_refused(app, browser, a, b, "submit")


def case_collections_batch_settle(app, browser, a, b):
    _action_refused(app, browser, a, b, "settle", submitted=True)


def case_collections_batch_cancel(app, browser, a, b):
    _action_refused(app, browser, a, b, "cancel")


def case_collections_item_return(app, browser, a, b):
    public_id, e2e, _bill, _message = _b_batch(app, b, submitted=True)
    before = _b_state(app, b)
    office = _office(app, browser, a)
    foreign = office.submit("/backoffice/collections/", {"reason": "AM04"},
                            action=f"/backoffice/collections/{public_id}/items/{e2e}/return")
    missing = office.submit("/backoffice/collections/", {"reason": "AM04"},
                            action=f"/backoffice/collections/{MISSING}/items/{e2e}/return")
    assert foreign.status_code == missing.status_code == 404
    assert _b_state(app, b) == before


def case_collections_settings(app, browser, a, b):
    configure(app, b.slug, creditor_id="AT92ZZZ00000012345")
    admin = browser(a.slug)
    admin.login(a.staff_emails["tenant_admin"], area="/backoffice")
    page = admin.get("/backoffice/collections/settings").get_data(as_text=True)
    assert "AT92ZZZ00000012345" not in page
    saved = admin.submit("/backoffice/collections/settings", {"creditor_id": "FR72ZZZ123456",
                                                              "iban": "FR7630006000011234567890189"})
    assert saved.status_code == 302
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.get(Tenant, b.tenant_id).sepa_creditor_id == "AT92ZZZ00000012345"
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.get(Tenant, a.tenant_id).sepa_creditor_id == "FR72ZZZ123456"
