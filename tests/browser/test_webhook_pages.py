"""The administration's webhook pages (list, a subscription with its secret shown once and its deliveries, and the
list with its errors) pass axe-core at 1280 and 375 px in the four languages and fit a phone. Set
BACKOFFICE_SCREENSHOTS=<folder> to keep a screenshot of each."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app.i18n import LOCALES
from tests.browser.test_backoffice_accessibility import _check
from tests.conftest import TEST_PASSWORD


@pytest.mark.parametrize("language", LOCALES)
def test_webhook_pages_pass_axe_and_fit_a_phone(app, site, make_tenant, language):
    from sqlalchemy import select

    from domain.db import db
    from domain.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent
    from tenants.context import tenant_scope
    from tests.clock import PINNED_AT
    from tests.factories import make_webhook_subscription, populate_tenant

    tenant = make_tenant("alpha")
    with app.app_context():
        data = populate_tenant(tenant)
        with tenant_scope(data.tenant_id):
            subscription = make_webhook_subscription(url="https://erp.example.com/hooks/utility-events",
                                                     event_types=("bill.issued", "payment.received"))
            for number, (status, code) in enumerate([("delivered", 200), ("pending", 503), ("failed", None)]):
                event = WebhookEvent(event_type="bill.issued", occurred_at=PINNED_AT,
                                     payload=f'{{"number":"F-{number}"}}')
                db.session.add(event)
                db.session.flush()
                delivery = WebhookDelivery(subscription_id=subscription.id, event_id=event.id, status=status,
                                           attempts=1, created_at=PINNED_AT, next_attempt_at=PINNED_AT)
                db.session.add(delivery)
                db.session.flush()
                db.session.add(WebhookAttempt(delivery_id=delivery.id, number=1, attempted_at=PINNED_AT,
                                              status_code=code,
                                              response_excerpt="Service unavailable" if code else None,
                                              error=None if code else "ConnectTimeoutError: timed out",
                                              duration_ms=120))
            db.session.commit()
            public_id = db.session.scalar(select(type(subscription).public_id))
    found: list[str] = []
    office = site(data.slug)
    office.goto("/backoffice/login")
    office.page.fill("#email", data.staff_emails["tenant_admin"])
    office.page.fill("#password", TEST_PASSWORD)
    office.page.click("button[type=submit].btn-primary")
    office.page.wait_for_load_state()
    office.second_step(app, data.staff_emails["tenant_admin"])
    assert urlsplit(office.page.url).path == "/backoffice/"
    office.choose_language(language)

    _check(office, app, ["/backoffice/admin/webhooks", f"/backoffice/admin/webhooks/{public_id}"], found, language,
           crawl=False)
    office.goto(f"/backoffice/admin/webhooks/{public_id}")
    office.page.locator("details").first.evaluate("d => d.open = true")
    office.goto("/backoffice/admin/webhooks")
    office.page.fill("#url", "https://127.0.0.1/hooks")
    office.page.click("form[action$='/admin/webhooks'] button[type=submit]")
    office.page.wait_for_load_state()
    assert office.page.locator(".error-summary").count() == 1
    for v in office.axe():
        found.append(f"[{language}] webhooks page with errors: {v['rule']} ({v['impact']}) {v['help']} at {v['nodes']}")
    from tests.browser.test_backoffice_accessibility import SCREENSHOTS, _screenshot
    if SCREENSHOTS:
        _screenshot(office.page, f"{language}/backoffice/admin/webhooks-errors", 1280)

    assert not found, "accessibility problems:\n" + "\n".join(found)
