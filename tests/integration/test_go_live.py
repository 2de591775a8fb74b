"""The go-live checklist says what a new utility still lacks; going live needs every check done and is audited."""
from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from domain.audit.actor import Actor, acting_as
from domain.audit.models import AuditEvent
from domain.db import db, utcnow
from domain.identity.models import StaffUser
from tenants import go_live
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant
from tests.factories import OfferFactory, TariffVersionFactory, make_ready_for_go_live, populate_tenant

TODAY = date(2026, 11, 28)


def _tenant(tenant_id: int) -> Tenant:
    return db.session.get(Tenant, tenant_id)


def _set(tenant_id: int, **values) -> None:
    with platform_scope("tests: tenant settings"):
        tenant = _tenant(tenant_id)
        for key, value in values.items():
            setattr(tenant, key, value)
        db.session.commit()


def _ready(make_tenant) -> int:
    """A utility with everything the checks ask for (electricity and gas), not live yet."""
    tenant = make_tenant("fresh", live=False)
    populate_tenant(tenant, live=False)  # staff of every role, a customer, an electricity offer in force
    with tenant_scope(tenant.id):
        TariffVersionFactory(offer=OfferFactory(activity="gas"))
        db.session.commit()
    make_ready_for_go_live(tenant.id)
    return tenant.id


def _checks(tenant_id: int, today: date = TODAY) -> dict[str, go_live.Check]:
    with tenant_scope(tenant_id), force_locale("en"):
        found = {check.key: check for check in go_live.checklist(_tenant(tenant_id), today=today)}
        db.session.rollback()
    return found


def _missing(check: go_live.Check) -> list[str]:
    with force_locale("en"):
        return [str(what) for what in check.missing]


def test_a_new_utility_lacks_everything_but_its_administrator(ctx, make_tenant):
    tenant = make_tenant("fresh", live=False)

    checks = _checks(tenant.id)

    assert list(checks) == ["offers", "legal_identity", "portal_pages", "payments", "mail", "staff",
                            "customers"]
    assert not any(check.done for check in checks.values())
    assert _missing(checks["offers"]) == ["Gas: no offer with a tariff in force today.",
                                          "Electricity: no offer with a tariff in force today."]
    assert _missing(checks["legal_identity"]) == [
        "The legal name of the utility.", "The company registration number.",
        "The registered office or the postal address.", "A customer-service phone number or e-mail address.",
        "The ombudsman or mediator customers can turn to.", "Gas: the emergency number.",
        "Electricity: the emergency number."]
    assert _missing(checks["portal_pages"]) == ["Review and save the privacy notice.",
                                                "Review and save the legal notice."]
    assert _missing(checks["staff"]) == [f"No active staff member has the role “{role}”." for role in (
        "Customer service agent", "Billing", "Collections", "Supervisor")]
    assert checks["customers"].endpoint == "admin.imports"
    assert _missing(checks["payments"]) == ["Choose the ways customers may pay."]
    assert _missing(checks["mail"]) == ["Send a test e-mail from the mail settings: it must go through."]


def test_a_configured_utility_passes_every_check(ctx, make_tenant):
    tenant_id = _ready(make_tenant)

    checks = _checks(tenant_id)

    assert all(check.done and check.missing == () for check in checks.values())


def test_a_tariff_must_be_in_force_today_not_only_later_or_before(ctx, make_tenant):
    tenant_id = _ready(make_tenant)
    with tenant_scope(tenant_id):
        OfferFactory(activity="gas")  # an offer without any version does not count
        for version in db.session.scalars(select(go_live.TariffVersion).join(go_live.Offer).where(
                go_live.Offer.activity == "gas")):
            version.effective_from = date(2027, 1, 1)  # a price list that starts next year
        db.session.commit()

    later = _checks(tenant_id)
    in_force_then = _checks(tenant_id, today=date(2027, 1, 1))

    assert _missing(later["offers"]) == ["Gas: no offer with a tariff in force today."]
    assert in_force_then["offers"].done


def test_a_deactivated_staff_member_does_not_hold_a_role(ctx, make_tenant):
    tenant_id = _ready(make_tenant)
    with tenant_scope(tenant_id):
        db.session.scalar(select(StaffUser).where(StaffUser.email == "billing@fresh.test")).is_active = False
        db.session.commit()

    assert _missing(_checks(tenant_id)["staff"]) == ["No active staff member has the role “Billing”."]


def test_going_live_is_refused_while_a_check_is_missing(ctx, make_tenant):
    tenant_id = _ready(make_tenant)
    _set(tenant_id, ombudsman=" ")

    with tenant_scope(tenant_id), pytest.raises(go_live.NotReady) as refused:
        go_live.go_live(tenant=_tenant(tenant_id), today=TODAY, now=utcnow())
    db.session.rollback()

    assert [check.key for check in refused.value.missing] == ["legal_identity"]
    with tenant_scope(tenant_id):
        assert _tenant(tenant_id).live_at is None


def test_going_live_opens_the_portal_and_is_audited_with_its_author(ctx, make_tenant):
    tenant_id = _ready(make_tenant)
    now = utcnow()

    with tenant_scope(tenant_id), acting_as(Actor("staff", 7, "admin@fresh.test")):
        go_live.go_live(tenant=_tenant(tenant_id), today=TODAY, now=now)
        db.session.commit()
        event = db.session.execute(select(
            AuditEvent.actor_kind, AuditEvent.actor_label, AuditEvent.entity_type, AuditEvent.entity_id).where(
            AuditEvent.action == "tenant_went_live")).one()
        with pytest.raises(go_live.AlreadyLive):
            go_live.go_live(tenant=_tenant(tenant_id), today=TODAY, now=now)
        db.session.rollback()

    with tenant_scope(tenant_id):
        assert _tenant(tenant_id).live_at == now
    assert tuple(event) == ("staff", "admin@fresh.test", "Tenant", tenant_id)


def test_a_part_registers_its_own_check(ctx, make_tenant, monkeypatch):
    monkeypatch.setattr(go_live, "_REGISTRY", list(go_live._REGISTRY))
    tenant_id = _ready(make_tenant)

    @go_live.go_live_check("meter_reading_app", "Meter reading app paired")
    def _app(tenant, today):
        return False, ["No meter reading app is paired yet."], "admin.home"

    checks = _checks(tenant_id)
    with pytest.raises(ValueError):
        go_live.go_live_check("meter_reading_app", "again")(_app)

    assert list(checks)[-1] == "meter_reading_app" and not checks["meter_reading_app"].done
    with tenant_scope(tenant_id), pytest.raises(go_live.NotReady):
        go_live.go_live(tenant=_tenant(tenant_id), today=TODAY, now=utcnow())


def test_payments_need_a_way_to_pay_that_is_set_up(ctx, make_tenant):
    tenant_id = _ready(make_tenant)
    _set(tenant_id, payment_methods=["card", "transfer"], iban=None)

    assert _missing(_checks(tenant_id)["payments"]) == [
        "Card payments need the utility's Stripe keys.", "Bank transfers need the utility's IBAN, printed on bills."]

    _set(tenant_id, payments_demo=True, iban="FR7630006000011234567890189")
    assert _checks(tenant_id)["payments"].done


def test_mail_settings_changed_after_their_test_need_a_new_test(ctx, make_tenant):
    tenant_id = _ready(make_tenant)
    _set(tenant_id, mail_tested_at=None)  # what saving other mail settings does

    assert not _checks(tenant_id)["mail"].done
