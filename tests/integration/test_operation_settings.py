"""A utility's billing, payment and mail settings on the database: stored with their author in the audit trail,
refused without changing anything, secrets sealed; plans at the frequencies offered; Stripe's connection test
against the fake Stripe server; a test mail through the utility's own SMTP server (aiosmtpd)."""
from __future__ import annotations

import socket
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from domain.audit.actor import Actor, acting_as
from domain.audit.models import AuditEvent
from domain.billing import down_payments as plans
from domain.billing import settings as billing_settings
from domain.billing.models import Bill, BillLine
from domain.communications import mail_settings
from domain.communications.outbound import OutgoingMail
from domain.contracts.models import Contract
from domain.db import db
from domain.payments import settings as payment_settings
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.integration.test_migrations import scratch_urls  # noqa: F401  (fixture)
from tests.stripe_fake import StripeFake

D = Decimal
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
TODAY = date(2026, 11, 28)
ADMIN = Actor("staff", 1, "admin@alpha.test")


@contextmanager
def as_admin(app, data):
    with app.app_context(), tenant_scope(data.tenant_id), acting_as(ADMIN):
        yield db.session.get(Tenant, data.tenant_id)


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _billing_values(**changes) -> dict:
    values = dict(frequencies=["monthly", "quarterly"], default_frequency="quarterly", reading_window_days=10,
                  plausibility_factor="2.5", back_billing_months=14, payment_terms_days=21,
                  plan_options_offered={"monthly": [10, 12], "quarterly": [4]})
    return values | changes


# --- billing and readings -------------------------------------------------------------------------------------------

def test_billing_settings_are_stored_and_audited_with_their_author(app, two_tenants):
    a, b = two_tenants
    with as_admin(app, a) as tenant:
        changes = billing_settings.update_billing_settings(tenant=tenant, now=NOW, **_billing_values())
        db.session.commit()

    with as_admin(app, a) as tenant:
        current = billing_settings.current_settings(tenant)
        (event,) = _events("billing_settings")
    assert current == billing_settings.BillingSettings(
        ("monthly", "quarterly"), "quarterly", 10, D("2.5"), 14, 21, {"monthly": (12, 10), "quarterly": (4,)})
    assert set(changes) == {"billing_frequencies", "default_billing_frequency", "reading_window_days",
                            "plausibility_factor", "back_billing_months", "payment_terms_days",
                            "down_payment_options"}
    assert (event.actor_kind, event.actor_label, event.entity_type) == ("staff", "admin@alpha.test", "Tenant")
    assert event.changes["payment_terms_days"] == {"before": 14, "after": 21}
    with app.app_context(), tenant_scope(b.tenant_id):
        other = db.session.get(Tenant, b.tenant_id)
        assert (other.payment_terms_days, other.billing_frequencies) == (14, None)


def test_saving_the_same_settings_again_changes_and_records_nothing(app, two_tenants):
    a, _b = two_tenants
    with as_admin(app, a) as tenant:
        billing_settings.update_billing_settings(tenant=tenant, now=NOW, **_billing_values())
        again = billing_settings.update_billing_settings(tenant=tenant, now=NOW, **_billing_values())
        assert again == {} and len(_events("billing_settings")) == 1


def test_a_frequency_contracts_bill_at_cannot_be_withdrawn_and_nothing_changes(app, two_tenants):
    a, _b = two_tenants
    with as_admin(app, a) as tenant:
        with pytest.raises(billing_settings.SettingsRefused) as refused:
            billing_settings.update_billing_settings(tenant=tenant, now=NOW, **_billing_values(
                frequencies=["quarterly"], payment_terms_days=30))
        db.session.rollback()
        assert refused.value.code == "in_use" and refused.value.details["in_use"] == {"monthly": 1}
        tenant = db.session.get(Tenant, a.tenant_id)
        assert (tenant.payment_terms_days, tenant.billing_frequencies, _events("billing_settings")) == (14, None, [])


def test_a_new_contract_gets_the_default_frequency_or_one_offered(app, two_tenants):
    a, _b = two_tenants
    with as_admin(app, a) as tenant:
        assert billing_settings.frequency_for_new_contract(tenant) == "monthly"
        billing_settings.update_billing_settings(tenant=tenant, now=NOW, **_billing_values())
        assert billing_settings.frequency_for_new_contract(tenant) == "quarterly"
        assert billing_settings.frequency_for_new_contract(tenant, "monthly") == "monthly"
        with pytest.raises(billing_settings.SettingsRefused):
            billing_settings.frequency_for_new_contract(tenant, "annual")


# --- down-payment plans at the frequencies offered ------------------------------------------------------------------

@pytest.fixture
def plan_world(app, two_tenants):
    """Tenant A's contract billed until 2026-11-01, without a plan; A offers 4 quarterly or 2 half-yearly only."""
    a, _b = two_tenants
    with as_admin(app, a) as tenant:
        for plan in db.session.scalars(select(plans.DownPaymentPlan)):
            for instalment in plan.instalments:
                db.session.delete(instalment)
            db.session.delete(plan)
        db.session.scalar(select(Contract)).billed_until = date(2026, 11, 1)
        tenant.down_payment_options = {"quarterly": [4], "biannual": [2]}
        db.session.commit()
    return a


def test_only_the_plans_the_utility_offers_can_be_proposed(app, plan_world):
    with as_admin(app, plan_world):
        contract = db.session.scalar(select(Contract))
        with pytest.raises(plans.PlanRefused) as monthly:
            plans.propose_plan(contract=contract, count=12, as_of=TODAY)
        with pytest.raises(plans.PlanRefused) as three:
            plans.propose_plan(contract=contract, count=3, frequency="quarterly", as_of=TODAY)
    assert monthly.value.code == three.value.code == "count"


def test_a_quarterly_plan_spreads_the_year_over_four_instalments_three_months_apart(app, plan_world):
    with as_admin(app, plan_world):
        contract = db.session.scalar(select(Contract))
        proposal = plans.propose_plan(contract=contract, count=4, frequency="quarterly", as_of=TODAY)
        plan = plans.create_plan(contract=contract, count=4, frequency="quarterly", as_of=TODAY, now=NOW)
        db.session.commit()
        total = proposal.estimated_amount
        regular = (total / 4).quantize(D("0.01"), rounding="ROUND_DOWN")

        assert [(i.number, i.due_date, i.amount) for i in proposal.instalments] == [
            (1, date(2026, 12, 1), regular), (2, date(2027, 3, 1), regular), (3, date(2027, 6, 1), regular),
            (4, date(2027, 9, 1), total - 3 * regular)]
        assert (plan.instalment_count, plan.instalment_months, plan.true_up_on) == (4, 3, date(2027, 12, 1))
        assert [(i.due_on, i.amount) for i in plan.instalments] == [
            (i.due_date, i.amount) for i in proposal.instalments]

        ids = plans.issue_due_instalments(billing_date=date(2026, 12, 1), now=NOW)
        db.session.commit()
        bill = db.session.get(Bill, ids[0])
        line = db.session.scalar(select(BillLine).where(BillLine.bill_id == bill.id))
        assert len(ids) == 1 and bill.total_incl_tax == regular
        assert (bill.period_start, bill.period_end) == (date(2026, 12, 1), date(2027, 3, 1))
        assert (line.period_start, line.period_end) == (date(2026, 12, 1), date(2027, 3, 1))


def test_exact_quarterly_and_half_yearly_amounts_of_a_known_estimate(app, plan_world):
    with as_admin(app, plan_world):
        contract = db.session.scalar(select(Contract))
        quarterly = plans.propose_plan(contract=contract, count=4, frequency="quarterly", as_of=TODAY)
        half = plans.propose_plan(contract=contract, count=2, frequency="biannual", as_of=TODAY)

    assert quarterly.estimated_amount == half.estimated_amount == ESTIMATE
    assert [i.amount for i in quarterly.instalments] == QUARTERLY
    assert [(i.due_date, i.amount) for i in half.instalments] == [(date(2026, 12, 1), HALF[0]),
                                                                  (date(2027, 6, 1), HALF[1])]


# The populated contract's estimate over 2026-11-01 .. 2027-12-01 at today's tariff (tests/factories.py).
ESTIMATE = D("1339.85")
QUARTERLY = [D("334.96"), D("334.96"), D("334.96"), D("334.97")]  # 1339.85 / 4 = 334.9625: the last takes 0.01
HALF = [D("669.92"), D("669.93")]


# --- payments -------------------------------------------------------------------------------------------------------

@pytest.fixture
def stripe_api(app, monkeypatch):
    fake = StripeFake().start()
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", fake.url)
    yield fake
    fake.stop()


SECRET = "sk_test_51AlphaSecretKey4242"
WEBHOOK = "whsec_AlphaWebhookSigningSecret"


def test_stripe_keys_are_sealed_in_the_database_and_never_in_the_audit_trail(app, two_tenants):
    a, _b = two_tenants
    with as_admin(app, a) as tenant:
        payment_settings.set_stripe_keys(tenant=tenant, secret_key=SECRET, webhook_secret=WEBHOOK, now=NOW)
        db.session.commit()

    with as_admin(app, a) as tenant:
        raw = db.session.execute(text("SELECT stripe_secret_key, stripe_webhook_secret FROM tenants WHERE id = :id"),
                                 {"id": a.tenant_id}).one()
        trail = " ".join(str(e.changes) for e in _events("stripe_keys_set"))
        assert (tenant.stripe_secret_key, tenant.stripe_webhook_secret) == (SECRET, WEBHOOK)
        assert tenant.stripe_keys_set_at == NOW
        assert SECRET not in "".join(raw) and WEBHOOK not in "".join(raw)
        assert trail and SECRET not in trail and "4242" not in trail
        assert payment_settings.remove_stripe_keys(tenant=tenant, now=NOW) is True
        assert (tenant.has_stripe_keys, tenant.stripe_webhook_secret) == (False, None)
        assert len(_events("stripe_keys_removed")) == 1


def test_the_connection_test_asks_stripe_with_the_utility_s_key(app, two_tenants, stripe_api):
    a, _b = two_tenants
    with as_admin(app, a) as tenant:
        assert payment_settings.test_stripe_connection(tenant=tenant, api_base=stripe_api.url).code == "no_keys"
        payment_settings.set_stripe_keys(tenant=tenant, secret_key=SECRET, webhook_secret=WEBHOOK, now=NOW)
        passed = payment_settings.test_stripe_connection(tenant=tenant, api_base=stripe_api.url)
        stripe_api.revoked_keys.add(SECRET)
        refused = payment_settings.test_stripe_connection(tenant=tenant, api_base=stripe_api.url)

    assert (passed.ok, passed.code, passed.livemode) == (True, "ok", False)
    assert (refused.ok, refused.code) == (False, "refused")
    asked = [r for r in stripe_api.requests if r["path"] == "/v1/balance"]
    assert len(asked) == 2 and asked[0]["headers"]["Authorization"] == f"Bearer {SECRET}"


def test_an_unreachable_stripe_is_told_apart_from_a_refused_key(app, two_tenants):
    a, _b = two_tenants
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with as_admin(app, a) as tenant:
        payment_settings.set_stripe_keys(tenant=tenant, secret_key=SECRET, webhook_secret=WEBHOOK, now=NOW)
        check = payment_settings.test_stripe_connection(tenant=tenant, api_base=f"http://127.0.0.1:{closed_port}")
    assert (check.ok, check.code) == (False, "unreachable")


def test_payment_methods_offered_follow_the_setup(app, two_tenants):
    a, _b = two_tenants
    with as_admin(app, a) as tenant:
        with pytest.raises(payment_settings.PaymentSettingsRefused):
            payment_settings.update_payment_methods(tenant=tenant, methods=["direct_debit"], card_possible=True,
                                                    now=NOW)
        tenant.sepa_creditor_id = "FR72ZZZ123456"
        assert payment_settings.update_payment_methods(tenant=tenant, methods=["direct_debit", "transfer"],
                                                       card_possible=True, now=NOW) is True
        assert payment_settings.offered_methods(tenant, card_possible=True) == ("direct_debit", "transfer")
        tenant.sepa_creditor_id = None  # removed afterwards: direct debit is no longer offered
        assert payment_settings.offered_methods(tenant, card_possible=True) == ("transfer",)
        (event,) = _events("payment_methods")
        assert event.changes["payment_methods"] == {"before": ["card", "direct_debit", "transfer"],
                                                    "after": ["direct_debit", "transfer"]}


# --- mail -----------------------------------------------------------------------------------------------------------

class SmtpServer:
    """aiosmtpd on a free local port, with AUTH PLAIN/LOGIN (no TLS: local test only) for one user."""

    def __init__(self, user: str = "billing", password: str = "s3cret-Pass"):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.received = []
        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):
                server.received.append(envelope)
                return "250 OK"

        def authenticator(smtp, session, envelope, mechanism, auth_data):
            ok = auth_data.login == user.encode() and auth_data.password == password.encode()
            return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, authenticator=authenticator,
                                     auth_require_tls=False)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def wait(self, count: int = 1) -> list:
        deadline = time.time() + 5
        while len(self.received) < count and time.time() < deadline:
            time.sleep(0.05)
        return self.received


def _own_server(tenant, port: int, password: str = "s3cret-Pass"):
    return mail_settings.update_mail_settings(
        tenant=tenant, sender_name="Alpha Billing", sender_address="billing@alpha.example", own_server=True,
        host="127.0.0.1", port=port, security="none", username="billing", password=password, now=NOW)


def _mail(tenant) -> OutgoingMail:
    name, address = mail_settings.sender_of(tenant, platform_domain="localhost")
    return OutgoingMail(to="admin@alpha.test", subject="Test", text="Body", sender_name=name,
                        sender_address=address, tenant_id=tenant.id)


def test_a_test_mail_goes_through_the_utility_s_own_server_and_marks_the_settings_tested(app, two_tenants):
    a, _b = two_tenants
    with SmtpServer() as smtp, as_admin(app, a) as tenant:
        _own_server(tenant, smtp.port)
        raw = db.session.execute(text("SELECT smtp_password FROM tenants WHERE id = :id"), {"id": a.tenant_id})
        assert "s3cret-Pass" not in (raw.scalar() or "") and tenant.smtp_password == "s3cret-Pass"
        assert "s3cret-Pass" not in str([e.changes for e in _events("mail_settings")])

        kind = mail_settings.send_test_mail(tenant=tenant, mail=_mail(tenant),
                                            transport=mail_settings.tenant_transport(tenant), now=NOW)

        (received,) = smtp.wait()
        assert kind == "smtp" and received.rcpt_tos == ["admin@alpha.test"]
        assert b"From: Alpha Billing <billing@alpha.example>" in received.content
        assert tenant.mail_tested_at == NOW and len(_events("mail_test_passed")) == 1


def test_a_refused_password_fails_the_test_and_marks_nothing(app, two_tenants):
    a, _b = two_tenants
    with SmtpServer() as smtp, as_admin(app, a) as tenant:
        _own_server(tenant, smtp.port, password="wrong")
        with pytest.raises(mail_settings.MailTestFailed) as failed:
            mail_settings.send_test_mail(tenant=tenant, mail=_mail(tenant),
                                         transport=mail_settings.tenant_transport(tenant), now=NOW)
        assert failed.value.code == "auth" and tenant.mail_tested_at is None and smtp.received == []


def test_an_unreachable_server_fails_the_test(app, two_tenants):
    a, _b = two_tenants
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with as_admin(app, a) as tenant:
        _own_server(tenant, closed_port)
        with pytest.raises(mail_settings.MailTestFailed) as failed:
            mail_settings.send_test_mail(tenant=tenant, mail=_mail(tenant),
                                         transport=mail_settings.tenant_transport(tenant, timeout=3), now=NOW)
        assert failed.value.code == "unreachable"


def test_a_change_of_settings_asks_for_a_new_test(app, two_tenants):
    a, _b = two_tenants
    with as_admin(app, a) as tenant:
        tenant.mail_tested_at = NOW
        assert mail_settings.update_mail_settings(tenant=tenant, sender_name=None, sender_address=None,
                                                  own_server=False, now=NOW) == {}
        assert tenant.mail_tested_at == NOW
        mail_settings.update_mail_settings(tenant=tenant, sender_name="Alpha", sender_address=None,
                                           own_server=False, now=NOW)
        assert tenant.mail_tested_at is None


def test_going_back_to_the_platform_server_forgets_the_password(app, two_tenants):
    a, _b = two_tenants
    with as_admin(app, a) as tenant:
        _own_server(tenant, 2525)
        changes = mail_settings.update_mail_settings(tenant=tenant, sender_name="Alpha Billing",
                                                     sender_address="billing@alpha.example", own_server=False,
                                                     now=NOW)
        assert changes["smtp_password"] == {"before": "[redacted]", "after": None}
        assert (tenant.smtp_host, tenant.smtp_username, tenant.smtp_password_sealed) == (None, None, None)
        assert mail_settings.tenant_transport(tenant) is None


def test_the_utility_s_e_mails_leave_through_its_own_server_with_its_sender(app, two_tenants):
    """Any mail of the tenant (the mail pipeline, app/messages.py), not only the test mail."""
    from app.messages import queue_message
    from domain.communications.pipeline import dispatch_committed
    from domain.jobs import inline_jobs

    a, _b = two_tenants
    with SmtpServer() as smtp:
        with as_admin(app, a) as tenant:
            _own_server(tenant, smtp.port)
            db.session.commit()
        with app.test_request_context(base_url=f"http://{a.slug}.localhost"), tenant_scope(a.tenant_id):
            tenant = db.session.get(Tenant, a.tenant_id)
            queue_message(kind="password_reset", tenant=tenant, to="customer@example.com", subject="Hello",
                          template="settings_test", locale="en", server=None)
            db.session.commit()
            with inline_jobs():  # the sending job in-process, even when REDIS_URL is set
                dispatch_committed()
        (received,) = smtp.wait()
    assert received.rcpt_tos == ["customer@example.com"]
    assert b"From: Alpha Billing <billing@alpha.example>" in received.content


# --- the migration --------------------------------------------------------------------------------------------------

def test_migration_0018_keeps_plans_and_instalments_both_ways_and_refuses_to_lose_a_quarterly_one(
        scratch_urls, tmp_path):  # noqa: F811  (the fixture imported above)
    """Down to 0017 and up again with a tenant, its contract and a plan whose instalments point at it (SQLite
    rebuilds the plans' table there, foreign keys enforced), then a quarterly plan the older schema cannot hold."""
    import os

    from flask_migrate import downgrade, upgrade

    from app import create_app
    from app.settings import load_settings
    from domain.billing.plan_models import DownPaymentInstalment, DownPaymentPlan
    from domain.db import utcnow
    from tenants.services import create_tenant
    from tests.factories import populate_tenant

    app_url, owner_url = scratch_urls
    scratch = create_app(load_settings({
        "APP_ENV": "test", "DATABASE_URL": app_url, "MIGRATION_DATABASE_URL": owner_url,
        "INSTANCE_DIR": str(tmp_path), "APP_DB_ROLE": os.environ.get("APP_DB_ROLE", "utility_app"),
    }))

    def plans_and_instalments(tenant_id):
        with tenant_scope(tenant_id):
            found = ([(p.status, p.instalment_count) for p in db.session.scalars(select(DownPaymentPlan))],
                     len(list(db.session.scalars(select(DownPaymentInstalment)))))
            db.session.remove()
            return found

    with scratch.app_context():
        upgrade()
        tenant = create_tenant(slug="legacy", name="Legacy Water", activities=["water"], default_locale="en",
                               currency="EUR", timezone="Europe/Paris", admin_email="admin@legacy.test",
                               admin_name="Admin", admin_password="a-long-password-2026", now=utcnow())
        tenant_id = tenant.id
        populate_tenant(tenant)
        db.session.remove()
        before = plans_and_instalments(tenant_id)
        downgrade(revision="0017")
        upgrade()
        after = plans_and_instalments(tenant_id)
        with tenant_scope(tenant_id):
            plan = db.session.scalar(select(DownPaymentPlan))
            plan.instalment_count, plan.instalment_months = 4, 3
            db.session.commit()
            db.session.remove()
        with pytest.raises(SystemExit):  # flask-migrate logs the migration's RuntimeError and exits
            downgrade(revision="0017")

    assert before == after and before[0] and before[1] > 0
