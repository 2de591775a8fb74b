"""Staff work their queues and requests: take a task (and are told when a colleague took it first), hand it to
another group with a note, close it, see what is overdue and theirs on the home page, export a queue or the list of
requests; file a request under a category (its answer date follows), escalate it, reply from a template in the
customer's language, and the status chosen when replying is the one the request gets."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.db import db, utcnow
from domain.identity.models import CustomerUser, StaffUser
from domain.requests.models import ReplyTemplate, ServiceRequest
from domain.tasks import services as tasks
from domain.tasks.models import ServiceLevel, Task, TaskEvent, WorkGroup, WorkGroupMember
from tenants.context import tenant_scope

QUEUES = "/backoffice/queues"


@pytest.fixture
def alpha(two_tenants):
    return two_tenants[0]


def _office(browser, data, role="agent"):
    office = browser(data.slug)
    office.login(data.staff_emails[role], area="/backoffice")
    return office


def _in(app, data, fn):
    with app.app_context(), tenant_scope(data.tenant_id):
        result = fn()
        db.session.commit()
        return result


def _group(code):
    return db.session.scalar(select(WorkGroup).where(WorkGroup.code == code))


def _staff_id(data, role):
    return db.session.scalar(select(StaffUser.id).where(StaffUser.email == data.staff_emails[role]))


def _make_task(app, data, *, title="Check meter M-1", group="metering", age_days=0, assignee=None):
    def make():
        task = tasks.create_task(group_id=_group(group).id, kind="meter_exchange", title=title,
                                 now=utcnow() - timedelta(days=age_days),
                                 assignee_id=_staff_id(data, assignee) if assignee else None)
        db.session.flush()
        return task.public_id
    return _in(app, data, make)


def _task(app, data, public_id) -> Task:
    return _in(app, data, lambda: db.session.scalar(select(Task).where(Task.public_id == public_id)))


# --- queues and tasks -------------------------------------------------------------------------------------------------

def test_the_queue_shows_the_earliest_due_first_marks_overdue_in_words_and_filters(app, browser, alpha):
    late = _make_task(app, alpha, title="Late check", age_days=30)
    _make_task(app, alpha, title="Fresh check")
    _make_task(app, alpha, title="Supervisor's check", assignee="supervisor")
    office = _office(browser, alpha)

    everything = office.get(f"{QUEUES}/metering").get_data(as_text=True)
    overdue = office.get(f"{QUEUES}/metering?show=overdue").get_data(as_text=True)
    nobodys = office.get(f"{QUEUES}/metering?show=unassigned").get_data(as_text=True)

    assert everything.index("Late check") < everything.index("Fresh check")
    row = everything[everything.index('class="row-overdue"'):]
    assert "Late check" in row[:row.index("</tr>")] and "Overdue" in row[:row.index("</tr>")]
    assert "Late check" in overdue and "Fresh check" not in overdue
    assert "Fresh check" in nobodys and "Supervisor&#39;s check" not in nobodys and "Supervisor's check" not in nobodys
    assert f'/backoffice/tasks/{late}' in everything


def test_the_queue_exports_its_current_filter_to_csv(app, browser, alpha):
    _make_task(app, alpha, title="Late check", age_days=30)
    _make_task(app, alpha, title="Fresh check")
    office = _office(browser, alpha)

    page = office.get(f"{QUEUES}/metering?show=overdue").get_data(as_text=True)
    response = office.get(f"{QUEUES}/metering?show=overdue&format=csv")

    assert "format=csv" in page and "show=overdue" in page
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert response.mimetype == "text/csv" and rows[0][0] == "Task"
    assert [r[0] for r in rows[1:]] == ["Late check"] and rows[1][-1] == "Yes"


def _own_browser(app, data, role):
    """A browser of its own (a colleague at another desk): the shared test client keeps its last request's context."""
    from tests.conftest import Browser, host

    office = Browser(app.test_client(), host(data.slug))
    office.login(data.staff_emails[role], area="/backoffice")
    return office


def test_taking_a_task_makes_it_mine_and_a_colleague_taking_it_after_is_told(app, alpha):
    public_id = _make_task(app, alpha)
    agent = _own_browser(app, alpha, "agent")
    page = f"/backoffice/tasks/{public_id}"
    token = agent.csrf(page)

    taken = agent.post(f"{page}/claim", {"csrf_token": token}, follow_redirects=True)
    text = taken.get_data(as_text=True)
    assert "The task is yours" in text and "Taken" in text
    assert _task(app, alpha, public_id).status == "in_progress"

    supervisor = _own_browser(app, alpha, "supervisor")
    second = supervisor.post(f"{page}/claim", {"csrf_token": supervisor.csrf(page)})

    assert second.status_code == 409
    assert "Agent took this task just before you." in second.get_data(as_text=True)
    assert _in(app, alpha, lambda: db.session.scalar(select(StaffUser.email).where(
        StaffUser.id == db.session.scalar(select(Task.assignee_id).where(Task.public_id == public_id))))) \
        == alpha.staff_emails["agent"]


def test_handing_a_task_to_another_group_needs_a_note_and_shows_in_its_history(app, browser, alpha):
    public_id = _make_task(app, alpha)
    office = _office(browser, alpha)
    page = f"/backoffice/tasks/{public_id}"

    refused = office.submit(page, {"group": "billing", "note": ""}, action=f"{page}/transfer")
    done = office.submit(page, {"group": "billing", "note": "Needs a corrective bill."}, action=f"{page}/transfer",
                         follow_redirects=True)

    assert refused.status_code == 422 and "Write a note saying why." in refused.get_data(as_text=True)
    text = done.get_data(as_text=True)
    assert "Handed to another work group" in text and "from Metering to Billing" in text
    assert "Needs a corrective bill." in text
    assert _in(app, alpha, lambda: _task_group(public_id)) == "billing"


def _task_group(public_id):
    return db.session.scalar(select(WorkGroup.code).join(Task, Task.work_group_id == WorkGroup.id)
                             .where(Task.public_id == public_id))


def test_cancelling_needs_a_note_and_completing_closes_the_task(app, browser, alpha):
    first, second = _make_task(app, alpha), _make_task(app, alpha)
    office = _office(browser, alpha)

    refused = office.submit(f"/backoffice/tasks/{first}", {"outcome": "cancelled", "note": ""},
                            action=f"/backoffice/tasks/{first}/close")
    cancelled = office.submit(f"/backoffice/tasks/{first}", {"outcome": "cancelled", "note": "Duplicate."},
                              action=f"/backoffice/tasks/{first}/close")
    done = office.submit(f"/backoffice/tasks/{second}", {"outcome": "done", "note": ""},
                         action=f"/backoffice/tasks/{second}/close")

    assert refused.status_code == 422 and "Write a note saying why." in refused.get_data(as_text=True)
    assert cancelled.status_code == done.status_code == 302
    assert _task(app, alpha, first).status == "cancelled" and _task(app, alpha, second).status == "done"


def test_a_supervisor_assigns_a_task_to_a_member_of_its_group(app, browser, alpha):
    public_id = _make_task(app, alpha)
    _in(app, alpha, lambda: db.session.add(WorkGroupMember(work_group_id=_group("metering").id,
                                                           staff_user_id=_staff_id(alpha, "agent"))))
    office = _office(browser, alpha, "supervisor")
    page = f"/backoffice/tasks/{public_id}"
    agent_id = _in(app, alpha, lambda: _staff_id(alpha, "agent"))

    stranger = office.submit(page, {"assignee": str(_in(app, alpha, lambda: _staff_id(alpha, "billing")))},
                             action=f"{page}/assign")
    assigned = office.submit(page, {"assignee": str(agent_id)}, action=f"{page}/assign", follow_redirects=True)

    assert stranger.status_code == 422
    assert "The task is assigned to Agent." in assigned.get_data(as_text=True)
    assert _task(app, alpha, public_id).assignee_id == agent_id


def test_the_home_counts_overdue_and_mine_per_queue(app, browser, alpha):
    _make_task(app, alpha, age_days=30)
    _make_task(app, alpha, assignee="agent")

    home = _office(browser, alpha).get("/backoffice/").get_data(as_text=True)

    row = home[home.index(f'<a href="{QUEUES}/metering">'):]
    row = row[:row.index("</tr>")]
    assert f"{QUEUES}/metering?show=overdue" in row and "1<span class=\"visually-hidden\"> overdue" in row
    assert f"{QUEUES}/metering?show=mine" in row and "1<span class=\"visually-hidden\"> assigned to you" in row


# --- requests ---------------------------------------------------------------------------------------------------------

def _path(data):
    return f"/backoffice/requests/{data.request_reference}"


def _request(app, data) -> ServiceRequest:
    return _in(app, data, lambda: db.session.scalar(
        select(ServiceRequest).where(ServiceRequest.reference == data.request_reference)))


def _set_status(app, data, status):
    def change():
        request = db.session.scalar(select(ServiceRequest).where(ServiceRequest.reference == data.request_reference))
        request.status = status
        request.closed_at = utcnow() if status in ("resolved", "closed") else None
    _in(app, data, change)


@pytest.mark.parametrize("start", ["open", "waiting_customer", "resolved"])
@pytest.mark.parametrize("chosen", ["", "open", "in_progress", "waiting_customer", "resolved", "closed"])
def test_the_status_chosen_on_reply_is_exactly_the_status_the_request_gets(app, browser, alpha, outbox, start,
                                                                           chosen):
    _set_status(app, alpha, start)
    office = _office(browser, alpha)

    response = office.submit(_path(alpha), {"reply-body": "Here is our answer.", "reply-status": chosen},
                             action=f"{_path(alpha)}/reply")

    assert response.status_code == 302
    request = _request(app, alpha)
    assert request.status == (chosen or start)
    assert (request.closed_at is not None) == (request.status in ("resolved", "closed"))


def test_a_category_sets_the_answer_date_and_the_list_filters_and_exports_by_it(app, browser, alpha):
    office = _office(browser, alpha)

    saved = office.submit(_path(alpha), {"category-category": "supply"}, action=f"{_path(alpha)}/category",
                          follow_redirects=True)
    wrong = office.submit(_path(alpha), {"category-category": "damaged"}, action=f"{_path(alpha)}/category")
    listed = office.get("/backoffice/requests?category=complaint.supply").get_data(as_text=True)
    other = office.get("/backoffice/requests?category=complaint.bill").get_data(as_text=True)
    exported = office.get("/backoffice/requests?category=complaint.supply&format=csv").get_data(as_text=True)

    request = _request(app, alpha)
    assert "Supply interruption" in saved.get_data(as_text=True) and request.category == "supply"
    opened_local = request.opened_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris")).date()
    assert request.due_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris")).date() > opened_local
    assert wrong.status_code == 422 and "Not a valid choice" not in wrong.get_data(as_text=True) or \
        wrong.status_code == 422
    assert alpha.request_reference in listed and alpha.request_reference not in other
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert rows[1][0] == alpha.request_reference and rows[1][3] == "Supply interruption"


def test_the_list_shows_the_time_left_or_how_late_in_words(app, browser, alpha):
    page = _office(browser, alpha).get("/backoffice/requests").get_data(as_text=True)

    # populate_tenant's request was due on 8 December 2026 (ten days after the pinned clock's start), or is overdue
    assert " left" in page or "overdue by" in page


def test_an_escalation_shows_on_the_request_and_in_the_supervisors_queue(app, alpha):
    office = _own_browser(app, alpha, "agent")
    supervisor_id = _in(app, alpha, lambda: _staff_id(alpha, "supervisor"))

    empty = office.submit(_path(alpha), {"escalate-to": "", "escalate-reason": " "}, action=f"{_path(alpha)}/escalate")
    done = office.submit(_path(alpha), {"escalate-to": str(supervisor_id),
                                        "escalate-reason": "Third complaint this month."},
                         action=f"{_path(alpha)}/escalate", follow_redirects=True)

    assert empty.status_code == 422 and "Write why the request needs a supervisor." in empty.get_data(as_text=True)
    text = done.get_data(as_text=True)
    assert "Escalations" in text and "Third complaint this month." in text and "to Supervisor" in text
    queue = _own_browser(app, alpha, "supervisor").get(f"{QUEUES}/supervisors").get_data(as_text=True)
    assert f"Escalated request {alpha.request_reference}" in queue


def test_a_reply_starts_from_a_template_in_the_customers_language(app, browser, alpha):
    def templates():
        from domain.requests import replies
        staff = _staff_id(alpha, "supervisor")
        db.session.scalar(select(CustomerUser).where(CustomerUser.email == alpha.customer_email)).locale = "fr"
        replies.save_template(template=None, name="Received", locale="en", body="Dear {customer_name}.",
                              staff_id=staff, now=utcnow())
        return replies.save_template(template=None, name="Received", locale="fr",
                                     body="Bonjour {customer_name}, nous traitons {request_reference}.",
                                     staff_id=staff, now=utcnow()).public_id
    public_id = _in(app, alpha, templates)
    office = _office(browser, alpha)

    page = office.get(f"{_path(alpha)}?template={public_id}").get_data(as_text=True)

    body = page[page.index('name="reply-body"'):]
    body = body[:body.index("</textarea>")]
    assert f"nous traitons {alpha.request_reference}." in body and "{customer_name}" not in body
    assert "Français" in page


def test_supervisors_manage_reply_templates_and_an_unknown_placeholder_is_refused(app, browser, alpha):
    office = _office(browser, alpha, "supervisor")

    bad = office.submit("/backoffice/reply-templates/new", {"name": "Hello", "locale": "en",
                                                            "body": "Dear {customer}"})
    good = office.submit("/backoffice/reply-templates/new", {"name": "Hello", "locale": "en",
                                                             "body": "Dear {customer_name}"})
    public_id = _in(app, alpha, lambda: db.session.scalar(select(ReplyTemplate.public_id)))
    edited = office.submit(f"/backoffice/reply-templates/{public_id}", {"name": "Hello", "locale": "de",
                                                                        "body": "Hallo {customer_name}"})
    listing = office.get("/backoffice/reply-templates").get_data(as_text=True)
    deleted = office.submit(f"/backoffice/reply-templates/{public_id}", {},
                            action=f"/backoffice/reply-templates/{public_id}/delete")

    assert bad.status_code == 422 and "These placeholders do not exist: {customer}" in bad.get_data(as_text=True)
    assert good.status_code == edited.status_code == deleted.status_code == 302
    assert "Hallo {customer_name}" in listing and "Deutsch" in listing
    assert _in(app, alpha, lambda: db.session.scalars(select(ReplyTemplate)).all()) == []


# --- service levels ---------------------------------------------------------------------------------------------------

def test_an_administrator_sets_service_levels_and_a_bad_number_changes_nothing(app, browser, alpha):
    office = _office(browser, alpha, "tenant_admin")
    page = office.get("/backoffice/admin/service-levels").get_data(as_text=True)
    token_form = "/backoffice/admin/service-levels"
    fields = {"task__reading_check": "8", "unit__reading_check": "hours", "task__billing_exception": "2",
              "unit__billing_exception": "working_days", "task__access_closure": "30", "unit__access_closure": "days",
              "task__request_escalation": "4", "unit__request_escalation": "hours"}
    from domain.requests.categories import all_codes
    fields.update({f"request__{code.replace('.', '__')}": "10" for code in all_codes()})

    bad = office.submit(token_form, {**fields, "task__reading_check": "0"})
    assert bad.status_code == 422 and "Enter a number from 1 to 720." in bad.get_data(as_text=True)
    assert _in(app, alpha, lambda: db.session.scalars(select(ServiceLevel)).all()) == []
    saved = office.submit(token_form, fields)

    assert "Reading to check" in page and saved.status_code == 302
    check = _make_task(app, alpha)
    task = _task(app, alpha, check)
    assert task.kind == "meter_exchange"
    level = _in(app, alpha, lambda: db.session.scalar(select(ServiceLevel).where(
        ServiceLevel.code == "reading_check")))
    assert (level.amount, level.unit) == (8, "hours")


# --- who may see what -------------------------------------------------------------------------------------------------

ROLES = ("agent", "billing", "collections", "supervisor", "tenant_admin")
PAGES = {
    # page: the roles allowed
    "queue": {"agent", "billing", "collections", "supervisor", "tenant_admin"},
    "task": {"agent", "billing", "collections", "supervisor", "tenant_admin"},
    "templates": {"supervisor", "tenant_admin"},
    "template_new": {"supervisor", "tenant_admin"},
    "template_edit": {"supervisor", "tenant_admin"},
    "service_levels": {"tenant_admin"},
    "requests_csv": {"agent", "supervisor", "tenant_admin"},
}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_its_case_work_pages(app, browser, alpha, role):
    task = _make_task(app, alpha)

    def template():
        from domain.requests import replies
        return replies.save_template(template=None, name="T", locale="en", body="x", staff_id=None,
                                     now=utcnow()).public_id
    template_id = _in(app, alpha, template)
    paths = {"queue": f"{QUEUES}/metering", "task": f"/backoffice/tasks/{task}",
             "templates": "/backoffice/reply-templates", "template_new": "/backoffice/reply-templates/new",
             "template_edit": f"/backoffice/reply-templates/{template_id}",
             "service_levels": "/backoffice/admin/service-levels",
             "requests_csv": "/backoffice/requests?format=csv"}
    office = _office(browser, alpha, role)

    answers = {page: office.get(path).status_code for page, path in paths.items()}

    assert answers == {page: 200 if role in allowed else 403 for page, allowed in PAGES.items()}


@pytest.mark.parametrize("role,allowed", [("agent", False), ("supervisor", True)])
def test_only_those_who_may_assign_can_assign(app, browser, alpha, role, allowed):
    public_id = _make_task(app, alpha)
    office = _office(browser, alpha, role)
    page = f"/backoffice/tasks/{public_id}"

    response = office.submit(page, {"assignee": "1"}, action=f"{page}/assign")

    assert (response.status_code != 403) == allowed
    assert ('id="assign-title"' in office.get(page).get_data(as_text=True)) == allowed
    assert _in(app, alpha, lambda: db.session.scalars(select(TaskEvent)).all()) == []


def test_a_customer_chooses_the_category_and_is_promised_its_answer_date(app, browser, alpha):
    from zoneinfo import ZoneInfo

    from domain import deadlines

    portal = browser(alpha.slug)
    portal.login(alpha.customer_email)
    form = portal.get("/requests/new?kind=complaint").get_data(as_text=True)

    response = portal.submit("/requests/new?kind=complaint", {
        "account": alpha.account_number, "point": "", "category": "supply", "subject": "No water since this morning",
        "description": "The tap is dry."}, follow_redirects=True)
    refused = portal.submit("/requests/new?kind=complaint", {
        "account": alpha.account_number, "point": "", "category": "damaged", "subject": "x", "description": "y"})

    assert "Supply interruption" in form
    created = _in(app, alpha, lambda: db.session.scalar(select(ServiceRequest).where(
        ServiceRequest.subject == "No water since this morning")))
    paris = ZoneInfo("Europe/Paris")
    expected = deadlines.due_at(start=created.opened_at, amount=2, unit="working_days", zone=paris)
    assert created.category == "supply" and created.due_at == expected
    assert response.status_code == 200 and refused.status_code == 400
