"""Actions that cannot be undone ask first, without JavaScript: a box to tick, checked by the server; an unticked
request answers 422, says what is missing and changes nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from domain.billing.models import Bill
from domain.billing.plan_models import DownPaymentPlan
from domain.db import db
from domain.identity.models import CustomerUser
from domain.payments.models import DirectDebitMandate
from tenants.context import tenant_scope
from tests.functional.test_pages import _operator


def _in(app, tenant_id, fn):
    with app.app_context(), tenant_scope(tenant_id):
        return fn()


def _mandate_status(app, a):
    return _in(app, a.tenant_id, lambda: db.session.scalar(select(DirectDebitMandate.status)))


def test_ending_a_mandate_asks_first_and_an_unticked_request_ends_nothing(app, two_tenants, browser, outbox):
    a, _b = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)
    path = f"/accounts/{a.account_number}/direct-debit"

    page = portal.get(path).get_data(as_text=True)
    refused = portal.submit(path, {}, action=f"{path}/revoke")

    assert '<details class="confirm-action">' in page and 'name="confirm" value="y" required' in page
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Tick the box to confirm that the mandate ends." in text and 'href="#confirm-revoke"' in text
    assert '<details class="confirm-action" open>' in text  # shown again unfolded, with its error
    assert _mandate_status(app, a) == "active" and outbox() == []

    ended = portal.submit(path, {"confirm": "y"}, action=f"{path}/revoke")

    assert ended.status_code == 302 and _mandate_status(app, a) == "revoked"


def test_suspending_a_utility_asks_on_a_page_of_its_own(app, two_tenants, browser):
    a, b = two_tenants
    _operator(app)
    console = browser("localhost")
    console.login("ops@platform.example.com", area="/console")

    home = console.get("/console/").get_data(as_text=True)
    page = console.get(f"/console/tenants/{b.slug}/suspend").get_data(as_text=True)
    refused = console.submit(f"/console/tenants/{b.slug}/suspend", {},
                             action=f"/console/tenants/{b.slug}/status/suspended")

    assert f'href="/console/tenants/{b.slug}/suspend"' in home
    assert "Bravo Utility" in page and "No data is deleted." in page and 'name="confirm"' in page
    assert refused.status_code == 422
    assert "Tick the box to confirm that the utility is to be suspended." in refused.get_data(as_text=True)
    assert browser(b.slug).get("/login").status_code == 200  # still open

    done = console.submit(f"/console/tenants/{b.slug}/suspend", {"confirm": "y"},
                          action=f"/console/tenants/{b.slug}/status/suspended")
    reactivated = console.submit("/console/", {}, action=f"/console/tenants/{b.slug}/status/active")

    assert done.status_code == 302 and reactivated.status_code == 302  # reactivating undoes it: no question
    assert browser(b.slug).get("/login").status_code == 200


def test_an_unticked_request_to_close_the_access_answers_422(app, two_tenants, browser):
    a, _b = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)

    refused = portal.submit("/profile/close", {})

    assert refused.status_code == 422 and "Tick the box to confirm." in refused.get_data(as_text=True)
    assert _in(app, a.tenant_id, lambda: db.session.scalar(select(CustomerUser.closure_requested_at))) is None


def test_cancel_and_rebill_without_the_ticked_box_issues_nothing(app, two_tenants, browser):
    a, _b = two_tenants
    office = browser(a.slug)
    office.login(a.staff_emails["billing"], area="/backoffice")
    path = f"/backoffice/customers/{a.account_number}"
    bills_before = _in(app, a.tenant_id, lambda: db.session.scalar(select(func.count(Bill.id))))

    refused = office.submit(path, {}, action=f"/backoffice/bills/{a.bill_number}/correct")

    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Tick the box to confirm that the bill is to be cancelled and re-billed." in text
    assert f'href="#confirm-rebill-{a.bill_number}"' in text and f'id="confirm-rebill-{a.bill_number}"' in text
    assert _in(app, a.tenant_id, lambda: db.session.scalar(select(func.count(Bill.id)))) == bills_before


def test_cancelling_a_budget_plan_without_the_ticked_box_keeps_it(app, two_tenants, browser):
    a, _b = two_tenants
    office = browser(a.slug)
    office.login(a.staff_emails["billing"], area="/backoffice")
    path = f"/backoffice/customers/{a.account_number}"
    public_id = _in(app, a.tenant_id, lambda: db.session.scalar(select(DownPaymentPlan.public_id)))

    refused = office.submit(path, {}, action=f"{path}/budget/{public_id}/cancel")

    assert refused.status_code == 422
    assert "Tick the box to confirm that the budget plan is to be cancelled." in refused.get_data(as_text=True)
    assert _in(app, a.tenant_id, lambda: db.session.scalar(select(DownPaymentPlan.status))) == "active"


def test_a_confirmation_without_its_csrf_token_is_refused(app, two_tenants, browser):
    a, _b = two_tenants
    portal = browser(a.slug)
    portal.login(a.customer_email)

    response = portal.post(f"/accounts/{a.account_number}/direct-debit/revoke", {"confirm": "y"})

    assert response.status_code == 400 and _mandate_status(app, a) == "active"
