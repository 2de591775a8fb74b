"""Tenant-isolation cases of case work: tenant B's tasks, reply templates and requests answer like missing ones on
tenant A's host (pages and every step), A's queues, lists, exports and service levels never show or change B's."""
from __future__ import annotations

from sqlalchemy import select

from domain.db import db, utcnow
from domain.requests import replies
from domain.requests.models import ReplyTemplate, ServiceRequest
from domain.tasks import services as tasks
from domain.tasks.models import ServiceLevel, Task, TaskEvent, WorkGroup
from tenants.context import tenant_scope
from tests.isolation import MISSING, _same_as_missing


def _office(browser, a, role="supervisor"):
    office = browser(a.slug)
    office.login(a.staff_emails[role], area="/backoffice")
    return office


def _task_of(app, data) -> str:
    """A task of `data`'s tenant in its metering queue; its public id."""
    with app.app_context(), tenant_scope(data.tenant_id):
        group = db.session.scalar(select(WorkGroup).where(WorkGroup.code == "metering"))
        task = tasks.create_task(group_id=group.id, kind="meter_exchange", title=f"Task of {data.slug}",
                                 now=utcnow())
        db.session.commit()
        return task.public_id


def _task_state(app, data, public_id: str):
    with app.app_context(), tenant_scope(data.tenant_id):
        task = db.session.scalar(select(Task).where(Task.public_id == public_id))
        events = db.session.scalars(select(TaskEvent).where(TaskEvent.task_id == task.id)).all()
        return task.status, task.assignee_id, task.work_group_id, len(events)


def _template_of(app, data) -> str:
    with app.app_context(), tenant_scope(data.tenant_id):
        template = replies.save_template(template=None, name=f"Template of {data.slug}", locale="en",
                                         body="Hello {customer_name}", staff_id=None, now=utcnow())
        db.session.commit()
        return template.public_id


def case_backoffice_task_detail(app, browser, a, b):
    b_task = _task_of(app, b)
    _same_as_missing(_office(browser, a), f"/backoffice/tasks/{b_task}", f"/backoffice/tasks/{MISSING}", b_task)


def _step_refused(app, browser, a, b, step: str, data: dict | None = None):
    b_task = _task_of(app, b)
    before = _task_state(app, b, b_task)
    office = _office(browser, a)
    token = office.csrf(f"/backoffice/tasks/{_task_of(app, a)}")
    foreign = office.post(f"/backoffice/tasks/{b_task}/{step}", {"csrf_token": token, **(data or {})})
    missing = office.post(f"/backoffice/tasks/{MISSING}/{step}", {"csrf_token": token, **(data or {})})
    assert foreign.status_code == missing.status_code == 404
    assert _task_state(app, b, b_task) == before


def case_backoffice_task_claim(app, browser, a, b):
    _step_refused(app, browser, a, b, "claim")


def case_backoffice_task_release(app, browser, a, b):
    _step_refused(app, browser, a, b, "release")


def case_backoffice_task_assign(app, browser, a, b):
    _step_refused(app, browser, a, b, "assign", {"assignee": "1"})


def case_backoffice_task_transfer(app, browser, a, b):
    _step_refused(app, browser, a, b, "transfer", {"group": "billing", "note": "Taken over"})


def case_backoffice_task_close(app, browser, a, b):
    _step_refused(app, browser, a, b, "close", {"outcome": "done", "note": ""})


def case_backoffice_reply_templates(app, browser, a, b):
    _template_of(app, b)
    page = _office(browser, a).get("/backoffice/reply-templates")
    assert page.status_code == 200 and "Template of bravo" not in page.get_data(as_text=True)


def case_backoffice_reply_template_new(app, browser, a, b):
    _template_of(app, b)
    office = _office(browser, a)
    # B's name is free on A's host: A's own template of that name is saved, B's is untouched.
    response = office.submit("/backoffice/reply-templates/new", {"name": "Template of bravo", "locale": "en",
                                                                "body": "Ours"})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(b.tenant_id):
        assert [t.body for t in db.session.scalars(select(ReplyTemplate))] == ["Hello {customer_name}"]


def case_backoffice_reply_template_edit(app, browser, a, b):
    b_template = _template_of(app, b)
    office = _office(browser, a)
    _same_as_missing(office, f"/backoffice/reply-templates/{b_template}", f"/backoffice/reply-templates/{MISSING}",
                     b_template)
    token = office.csrf("/backoffice/reply-templates/new")
    response = office.post(f"/backoffice/reply-templates/{b_template}",
                           {"csrf_token": token, "name": "Taken", "locale": "en", "body": "x"})
    assert response.status_code == 404
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(ReplyTemplate.name)) == "Template of bravo"


def case_backoffice_reply_template_delete(app, browser, a, b):
    b_template = _template_of(app, b)
    office = _office(browser, a)
    token = office.csrf("/backoffice/reply-templates/new")
    foreign = office.post(f"/backoffice/reply-templates/{b_template}/delete", {"csrf_token": token})
    missing = office.post(f"/backoffice/reply-templates/{MISSING}/delete", {"csrf_token": token})
    assert foreign.status_code == missing.status_code == 404
    with app.app_context(), tenant_scope(b.tenant_id):
        assert db.session.scalar(select(ReplyTemplate.public_id)) == b_template


def _request_state(app, data):
    with app.app_context(), tenant_scope(data.tenant_id):
        request = db.session.scalar(select(ServiceRequest).where(ServiceRequest.reference == data.request_reference))
        escalations = db.session.scalars(select(Task).where(Task.kind == "request_escalation")).all()
        return request.category, request.due_at, len(escalations)


def _request_step_refused(app, browser, a, b, step: str, data: dict):
    before = _request_state(app, b)
    office = _office(browser, a)
    token = office.csrf(f"/backoffice/requests/{a.request_reference}")
    foreign = office.post(f"/backoffice/requests/{b.request_reference}/{step}", {"csrf_token": token, **data})
    missing = office.post(f"/backoffice/requests/{MISSING}/{step}", {"csrf_token": token, **data})
    assert foreign.status_code == missing.status_code == 404
    assert _request_state(app, b) == before


def case_backoffice_request_category(app, browser, a, b):
    _request_step_refused(app, browser, a, b, "category", {"category-category": "supply"})


def case_backoffice_request_escalate(app, browser, a, b):
    _request_step_refused(app, browser, a, b, "escalate", {"escalate-to": "", "escalate-reason": "Help"})


def case_admin_service_levels_page(app, browser, a, b):
    with app.app_context(), tenant_scope(b.tenant_id):
        db.session.add(ServiceLevel(scope="task", code="reading_check", amount=3, unit="hours"))
        db.session.commit()
    office = _office(browser, a, "tenant_admin")
    page = office.get("/backoffice/admin/service-levels").get_data(as_text=True)
    # A sees the default (5 working days), not B's 3 hours.
    field = page[page.index('id="task__reading_check"') - 200:page.index('id="task__reading_check"') + 200]
    assert 'value="5"' in field and 'value="3"' not in field
    with app.app_context(), tenant_scope(a.tenant_id):
        assert db.session.scalars(select(ServiceLevel)).all() == []
