"""French status words agree with the noun they qualify: a bill (facture) is "payée", a payment (paiement) "payé";
a request (demande) "clôturée", an account "clôturé"; a budget plan (plan) and a batch (lot) "annulé", a run
(campagne) "annulée". One English word with two French forms has a context (pgettext)."""
from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from domain.db import db
from domain.identity.models import CustomerUser
from tenants.context import tenant_scope


def _words(names: dict) -> dict:
    return {key: str(value) for key, value in names.items()}


@pytest.fixture
def french(app):
    with app.test_request_context(), force_locale("fr"):
        yield


def test_bill_and_payment_statuses_agree_with_facture_and_paiement(french):
    from app.i18n import BILL_PAYMENT_STATUS_NAMES, BILL_STATUS_NAMES
    from portal.bill_views import PAYMENT_STATUS_NAMES

    bill, bill_status, payment = (_words(BILL_PAYMENT_STATUS_NAMES), _words(BILL_STATUS_NAMES),
                                  _words(PAYMENT_STATUS_NAMES))

    assert (bill["paid"], bill["partly_paid"], bill["cancelled"]) == ("Payée", "Partiellement payée", "Annulée")
    assert (bill_status["issued"], bill_status["cancelled"]) == ("émise", "annulée")
    assert (payment["succeeded"], payment["cancelled"], payment["failed"], payment["refunded"]) == (
        "Payé", "Annulé", "Échoué", "Remboursé")


def test_request_statuses_agree_with_demande(french):
    from portal.request_views import REQUEST_STATUS_NAMES

    words = _words(REQUEST_STATUS_NAMES)

    assert (words["open"], words["resolved"], words["closed"]) == ("ouverte", "résolue", "clôturée")


def test_plan_batch_run_and_reading_statuses_agree_with_their_nouns(french):
    from app.i18n import PLAN_STATUS_NAMES, RUN_STATUS_NAMES, STATUS_NAMES
    from backoffice.collection_views import BATCH_STATUS_NAMES
    from portal.reading_views import READING_STATUS_NAMES

    assert _words(PLAN_STATUS_NAMES) == {"active": "actif", "completed": "terminé", "cancelled": "annulé"}  # plan
    assert _words(BATCH_STATUS_NAMES) == {"prepared": "préparé", "submitted": "transmis à la banque",
                                          "settled": "réglé", "cancelled": "annulé"}  # lot
    run = _words(RUN_STATUS_NAMES)  # campagne
    assert (run["simulated"], run["completed"], run["cancelled"]) == ("simulée", "terminée", "annulée")
    assert _words(READING_STATUS_NAMES)["valid"] == "Accepté" and _words(READING_STATUS_NAMES)["rejected"] == "Refusé"
    account = _words(STATUS_NAMES)  # compte, contrat, distributeur
    assert (account["active"], account["closed"], account["suspended"], account["ended"]) == (
        "actif", "clôturé", "suspendu", "terminé")


def test_the_history_names_what_happened_without_a_participle_to_agree(french):
    from app.i18n import ACTION_NAMES

    assert _words(ACTION_NAMES) == {"insert": "création", "update": "modification", "delete": "suppression",
                                    "portal_update": "modification dans l’espace client"}


def test_the_french_bills_page_says_facture_payee_and_paiement_paye(app, two_tenants, browser):
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        db.session.scalar(select(CustomerUser).where(CustomerUser.email == a.customer_email)).locale = "fr"
        db.session.commit()
    portal = browser(a.slug)
    portal.login(a.customer_email)

    html = portal.get(f"/bills/{a.bill_number}").get_data(as_text=True)

    assert "Payée" in html  # the bill
    assert 'payment-status-succeeded">Payé<' in html  # its payment
