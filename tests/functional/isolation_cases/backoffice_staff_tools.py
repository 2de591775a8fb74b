"""Isolation cases of the staff tools: readings to check (queue, photo, decisions), budget billing and activation
codes from the customer file. Tenant B's readings, photos, accounts, contracts and plans do nothing on A's host."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from domain.billing.plan_models import DownPaymentPlan
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db, utcnow
from domain.readings.models import MeterReading
from domain.readings.photos import photo_token, store_photo
from domain.sites.models import DeliveryPoint
from tenants.context import tenant_scope
from tests.isolation import MISSING, _same_as_missing

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
QUEUE = "/backoffice/readings"


def _office(browser, a, role="tenant_admin"):
    office = browser(a.slug)
    office.login(a.staff_emails[role], area="/backoffice")
    return office


def _pending_reading(app, data, *, photo=False) -> tuple[int, str | None]:
    """A pending reading of the customer's meter (with a stored photo when asked): (id, photo token)."""
    with app.app_context(), tenant_scope(data.tenant_id):
        dp = db.session.scalar(select(DeliveryPoint).where(DeliveryPoint.identifier == data.delivery_point_identifier))
        reading = MeterReading(register_id=dp.current_meter.registers[0].id, read_on=date(2026, 11, 20),
                               value=Decimal("99999"), source="customer", status="pending", received_at=utcnow())
        if photo:
            reading.photo_path = store_photo(tenant_id=data.tenant_id, data=PNG)
        db.session.add(reading)
        db.session.commit()
        return reading.id, photo_token(reading.photo_path)


def _status(app, data, reading_id: int) -> str:
    with app.app_context(), tenant_scope(data.tenant_id):
        return db.session.scalar(select(MeterReading.status).where(MeterReading.id == reading_id))


def _ref(app, tenant_id: int, reading_id: int) -> str:
    return URLSafeSerializer(app.config["SECRET_KEY"], salt=f"backoffice-reading:{tenant_id}").dumps(reading_id)


def case_backoffice_reading_queue(app, browser, a, b):
    _pending_reading(app, b)
    text = _office(browser, a).get(QUEUE).get_data(as_text=True)
    assert "No reading to check." in text and b.account_number not in text and "99,999" not in text


def case_backoffice_reading_queue_photo(app, browser, a, b):
    _id, token = _pending_reading(app, b, photo=True)
    _same_as_missing(_office(browser, a), f"{QUEUE}/photos/{token}", f"{QUEUE}/photos/{MISSING}", token)
    assert _office(browser, b).get(f"{QUEUE}/photos/{token}").data == PNG


def _decision_refused(app, browser, a, b, action: str, fields: dict):
    reading_id, _token = _pending_reading(app, b)
    office = _office(browser, a)
    for ref in (_ref(app, b.tenant_id, reading_id), _ref(app, a.tenant_id, reading_id), MISSING):
        response = office.submit(QUEUE, fields, action=f"{QUEUE}/{ref}/{action}")
        assert response.status_code == 404
    assert _status(app, b, reading_id) == "pending"


def case_backoffice_reading_accept(app, browser, a, b):
    _decision_refused(app, browser, a, b, "accept", {})


def case_backoffice_reading_reject(app, browser, a, b):
    _decision_refused(app, browser, a, b, "reject", {"reason": "Not yours"})


def case_backoffice_reading_correct(app, browser, a, b):
    _decision_refused(app, browser, a, b, "correct", {"value": "100000"})


def _contract_number(app, data) -> str:
    with app.app_context(), tenant_scope(data.tenant_id):
        return db.session.scalar(select(Contract.contract_number))


def case_backoffice_customer_budget(app, browser, a, b):
    office = _office(browser, a)
    b_contract = _contract_number(app, b)
    _same_as_missing(office, f"/backoffice/customers/{b.account_number}/budget?contract={b_contract}&instalments=12",
                     f"/backoffice/customers/{MISSING}/budget?contract={b_contract}&instalments=12", b.account_number)
    # A's own account with B's contract number: the contract is not found either.
    assert office.get(f"/backoffice/customers/{a.account_number}/budget?contract={b_contract}&instalments=12") \
        .status_code == 404


def _active_plans(app, data) -> int:
    with app.app_context(), tenant_scope(data.tenant_id):
        return len(list(db.session.scalars(select(DownPaymentPlan).where(DownPaymentPlan.status == "active"))))


def case_backoffice_customer_budget_create(app, browser, a, b):
    office = _office(browser, a)
    before = _active_plans(app, b)
    b_contract = _contract_number(app, b)
    fields = {"contract": b_contract, "instalments": "12", "shown": "x"}
    for account in (b.account_number, a.account_number):
        response = office.submit(f"/backoffice/customers/{a.account_number}", fields,
                                 action=f"/backoffice/customers/{account}/budget")
        assert response.status_code == 404
    assert _active_plans(app, b) == before


def case_backoffice_customer_budget_cancel(app, browser, a, b):
    with app.app_context(), tenant_scope(b.tenant_id):
        plan = db.session.scalar(select(DownPaymentPlan))
        public_id, status = plan.public_id, plan.status
    office = _office(browser, a)
    for account in (b.account_number, a.account_number):
        response = office.submit(f"/backoffice/customers/{a.account_number}", {},
                                 action=f"/backoffice/customers/{account}/budget/{public_id}/cancel")
        assert response.status_code == 404
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(DownPaymentPlan.status).where(DownPaymentPlan.public_id == public_id)) == status


def case_backoffice_customer_activation_code(app, browser, a, b):
    with app.app_context(), tenant_scope(b.tenant_id):
        account = db.session.scalar(select(CustomerAccount))
        account.activation_code = "ABCDE23456"
        db.session.commit()
    office = _office(browser, a)
    foreign = office.submit(f"/backoffice/customers/{a.account_number}", {},
                            action=f"/backoffice/customers/{b.account_number}/activation-code")
    missing = office.submit(f"/backoffice/customers/{a.account_number}", {},
                            action=f"/backoffice/customers/{MISSING}/activation-code")
    assert foreign.status_code == missing.status_code == 404
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(CustomerAccount.activation_code)) == "ABCDE23456"


def case_backoffice_customer_activation_unlock(app, browser, a, b):
    from domain.identity import activation

    with app.app_context(), tenant_scope(b.tenant_id):
        for _ in range(activation.MAX_FAILED_ATTEMPTS):
            activation.record_failure(account_number=b.account_number, now=utcnow())
        db.session.commit()
    office = _office(browser, a)
    foreign = office.submit(f"/backoffice/customers/{a.account_number}", {},
                            action=f"/backoffice/customers/{b.account_number}/activation-lock")
    missing = office.submit(f"/backoffice/customers/{a.account_number}", {},
                            action=f"/backoffice/customers/{MISSING}/activation-lock")
    assert foreign.status_code == missing.status_code == 404
    with app.app_context(), tenant_scope(b.tenant_id):
        assert activation.is_locked(b.account_number)


def case_backoffice_work_queue(app, browser, a, b):
    from domain.tasks.models import Task, WorkGroup

    with app.app_context(), tenant_scope(b.tenant_id):
        group = db.session.scalar(select(WorkGroup).where(WorkGroup.code == "billing"))
        db.session.add(WorkGroup(code="bravo_only", name="Bravo only"))
        db.session.add(Task(work_group_id=group.id, kind="access_closure", created_at=utcnow(),
                            title="Close the online access of someone@bravo.test",
                            params={"email": "someone@bravo.test"}))
        db.session.commit()
    office = _office(browser, a)
    page = office.get("/backoffice/queues/billing").get_data(as_text=True)
    assert "No task to do in this queue." in page and "someone@bravo.test" not in page
    _same_as_missing(office, "/backoffice/queues/bravo_only", f"/backoffice/queues/{MISSING}", "bravo_only")
