"""What a customer does in the portal beyond their own details — a direct-debit mandate signed and ended, a meter
reading given — is in the back office's history of the customer file, the customer as the one who did it, worded
for staff (no column name, no code), and in its CSV export."""
from __future__ import annotations

import csv
import io
from domain.db import db
from tenants.context import tenant_scope
from tests.functional.test_portal_readings import _one_a_day, _send
from tests.integration.test_reading_services import prepare_meter
from tests.integration.test_sepa_collections import configure

IBAN = "DE89 3704 0044 0532 0130 00"


def test_a_mandate_and_a_reading_from_the_portal_are_in_the_history_with_the_customer_as_actor(app, two_tenants,
                                                                                               browser):
    a, _b = two_tenants
    configure(app, a.slug)
    with app.app_context(), tenant_scope(a.tenant_id):
        serial = prepare_meter(a, readings=_one_a_day())
        db.session.commit()
    portal = browser(a.slug)
    portal.login(a.customer_email)
    path = f"/accounts/{a.account_number}/direct-debit"

    portal.submit(path, {"holder_name": "Alice Martin", "iban": IBAN, "accept": "y"})
    portal.submit(path, {"confirm": "y"}, action=f"{path}/revoke")
    sent = _send(portal, serial, {"r_TOTAL": "480"})
    office = browser(a.slug)
    office.login(a.staff_emails["supervisor"], area="/backoffice")
    html = office.get(f"/backoffice/customers/{a.account_number}/history").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(office.get(f"/backoffice/customers/{a.account_number}/history?format=csv")
                                       .get_data(as_text=True).lstrip("\ufeff"))))

    assert sent.status_code in (200, 302)
    assert "Direct-debit mandate signed in the portal" in html and "IBAN DE89 •••• 3000" in html
    assert "account holder Alice Martin" in html
    assert "Direct-debit mandate ended in the portal" in html
    assert "Meter reading given in the portal" in html and f"Meter {serial}" in html and "480" in html
    assert f"Customer · {a.customer_email}" in html
    assert "DirectDebitMandate" not in html and "MeterReading" not in html and "signed_by_user_id" not in html
    whats = {row[2] for row in rows[1:] if row[1] == f"Customer · {a.customer_email}"}
    assert {"Direct-debit mandate signed in the portal", "Direct-debit mandate ended in the portal",
            "Meter reading given in the portal"} <= whats


def test_a_reading_another_customer_gave_elsewhere_is_not_in_this_history(app, two_tenants, browser):
    a, b = two_tenants
    with app.app_context(), tenant_scope(b.tenant_id):
        serial = prepare_meter(b, readings=_one_a_day())
        db.session.commit()
    portal = browser(b.slug)
    portal.login(b.customer_email)
    _send(portal, serial, {"r_TOTAL": "480"})

    office = browser(a.slug)
    office.login(a.staff_emails["supervisor"], area="/backoffice")
    html = office.get(f"/backoffice/customers/{a.account_number}/history").get_data(as_text=True)

    assert "Meter reading given in the portal" not in html and serial not in html
