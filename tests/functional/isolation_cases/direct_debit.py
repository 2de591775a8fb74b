"""Isolation cases of the direct-debit and budget-billing pages: tenant B's account and plan answer like missing
ones, and nothing of B's changes."""
from __future__ import annotations

from sqlalchemy import select

from domain.billing.plan_models import DownPaymentPlan
from domain.db import db
from domain.payments.models import DirectDebitMandate
from tenants.context import tenant_scope
from tests.isolation import _TOKEN, MISSING, _same_as_missing


def _signed_in(browser, a):
    portal = browser(a.slug)
    portal.login(a.customer_email)
    return portal


def _b_state(app, b):
    with app.app_context(), tenant_scope(b.tenant_id):
        mandates = [(m.id, m.status, m.iban) for m in db.session.scalars(select(DirectDebitMandate))]
        plans = [(p.id, p.status, p.instalment_count) for p in db.session.scalars(select(DownPaymentPlan))]
        return mandates, plans


def _b_plan(app, b) -> str:
    with app.app_context(), tenant_scope(b.tenant_id):
        return db.session.scalar(select(DownPaymentPlan.public_id).where(DownPaymentPlan.status == "active"))


def _post_same_as_missing(portal, a, path_foreign: str, path_missing: str, foreign_ref, data: dict):
    """A POST to B's object is answered exactly like a POST to a missing one (with A's valid CSRF token)."""
    token = portal.csrf(f"/accounts/{a.account_number}/direct-debit")
    foreign = portal.post(path_foreign, {**data, "csrf_token": token})
    missing = portal.post(path_missing, {**data, "csrf_token": token})
    assert foreign.status_code == missing.status_code == 404
    foreign_text = _TOKEN.sub("", foreign.get_data(as_text=True))
    for ref in (foreign_ref,) if isinstance(foreign_ref, str) else foreign_ref:
        foreign_text = foreign_text.replace(ref, MISSING)
    assert foreign_text == _TOKEN.sub("", missing.get_data(as_text=True))


def case_portal_direct_debit(app, browser, a, b):
    portal = _signed_in(browser, a)
    before = _b_state(app, b)
    _same_as_missing(portal, f"/accounts/{b.account_number}/direct-debit", f"/accounts/{MISSING}/direct-debit",
                     b.account_number)
    _post_same_as_missing(portal, a, f"/accounts/{b.account_number}/direct-debit",
                          f"/accounts/{MISSING}/direct-debit", b.account_number,
                          {"holder_name": "Mallory", "iban": "DE89370400440532013000", "accept": "y"})
    assert _b_state(app, b) == before
    assert portal.get(f"/accounts/{a.account_number}/direct-debit").status_code == 200


def case_portal_revoke_direct_debit(app, browser, a, b):
    portal = _signed_in(browser, a)
    before = _b_state(app, b)
    _post_same_as_missing(portal, a, f"/accounts/{b.account_number}/direct-debit/revoke",
                          f"/accounts/{MISSING}/direct-debit/revoke", b.account_number, {})
    assert _b_state(app, b) == before


def case_portal_budget(app, browser, a, b):
    portal = _signed_in(browser, a)
    _same_as_missing(portal, f"/accounts/{b.account_number}/budget", f"/accounts/{MISSING}/budget",
                     b.account_number)
    _same_as_missing(portal, f"/accounts/{b.account_number}/budget?contract=K1&instalments=12",
                     f"/accounts/{MISSING}/budget?contract=K1&instalments=12", b.account_number)
    assert portal.get(f"/accounts/{a.account_number}/budget").status_code == 200


def case_portal_confirm_budget(app, browser, a, b):
    portal = _signed_in(browser, a)
    before = _b_state(app, b)
    _post_same_as_missing(portal, a, f"/accounts/{b.account_number}/budget", f"/accounts/{MISSING}/budget",
                          b.account_number, {"contract": "K1", "instalments": "12"})
    assert _b_state(app, b) == before


def case_portal_cancel_budget(app, browser, a, b):
    portal = _signed_in(browser, a)
    before = _b_state(app, b)
    plan = _b_plan(app, b)
    # B's plan under B's account, and B's plan under A's own account: both missing.
    _post_same_as_missing(portal, a, f"/accounts/{b.account_number}/budget/{plan}/cancel",
                          f"/accounts/{MISSING}/budget/{MISSING}/cancel", (b.account_number, plan), {})
    _post_same_as_missing(portal, a, f"/accounts/{a.account_number}/budget/{plan}/cancel",
                          f"/accounts/{a.account_number}/budget/{MISSING}/cancel", plan, {})
    assert _b_state(app, b) == before
