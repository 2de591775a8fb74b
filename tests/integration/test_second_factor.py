"""The second factor's services on the database: enrolment, the secret sealed at rest, codes used once, recovery
codes, reset by another administrator (domain/identity/second_factor.py)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select, text

from domain.audit.models import AuditEvent
from domain.db import db
from domain.identity import second_factor
from domain.identity import services as identity
from domain.identity.models import LoginSession, StaffUser
from tenants import secrets
from tenants.context import platform_scope, tenant_scope
from tests.factories import TOTP_SECRET, StaffRoleGrantFactory, StaffUserFactory

NOW = datetime(2026, 11, 28, 9, 0, 5, tzinfo=UTC)  # 5 s into a 30-second step


@pytest.fixture
def alpha(app, make_tenant):
    tenant = make_tenant("alpha")
    with app.app_context(), tenant_scope(tenant.id):
        yield tenant
        db.session.rollback()


def _staff(role: str = "agent") -> StaffUser:
    user = StaffUserFactory()
    StaffRoleGrantFactory(user=user, role=role)
    db.session.flush()
    return user


def _enrolled(user, at=NOW) -> tuple[str, list[str]]:
    secret = second_factor.start_enrolment(kind="staff", user=user, now=at)
    codes = second_factor.confirm_enrolment(kind="staff", user=user, code=pyotp.TOTP(secret).at(at), now=at)
    return secret, codes


def _events(user) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "StaffUser", AuditEvent.entity_id == user.id).order_by(AuditEvent.id)))


def test_enrolment_is_confirmed_only_by_a_right_code_and_the_secret_is_sealed_at_rest(alpha, owner_engine):
    user = _staff()
    secret = second_factor.start_enrolment(kind="staff", user=user, now=NOW)
    again = second_factor.start_enrolment(kind="staff", user=user, now=NOW + timedelta(minutes=1))

    with pytest.raises(second_factor.WrongCode):
        second_factor.confirm_enrolment(kind="staff", user=user, code="000000", now=NOW)
    pending = user.has_second_factor
    codes = second_factor.confirm_enrolment(kind="staff", user=user, code=pyotp.TOTP(secret).at(NOW), now=NOW)
    db.session.commit()
    with owner_engine.connect() as conn:
        mine = {"user": user.id}
        stored = conn.execute(text("SELECT secret_sealed FROM staff_second_factors WHERE staff_user_id = :user"),
                              mine).scalar_one()
        hashes = list(conn.execute(text("SELECT code_hash FROM staff_recovery_codes WHERE staff_user_id = :user"),
                                   mine).scalars())

    assert again == secret  # a page reloaded shows the QR code already scanned
    assert pending is False and user.has_second_factor is True
    assert secret not in stored and secrets.is_sealed(stored)
    assert len(codes) == 10 and len(hashes) == 10 and not set(codes) & set(hashes)
    assert _events(user)[-1] == second_factor.ENROLLED
    assert second_factor.sign_in_step(kind="staff", user=user) == "code"


def test_a_code_is_accepted_once_then_the_next_steps_code(alpha):
    user = _staff()
    secret, _codes = _enrolled(user, NOW - timedelta(minutes=5))
    code = pyotp.TOTP(secret).at(NOW)

    second_factor.verify(kind="staff", user=user, code=code, now=NOW)
    with pytest.raises(second_factor.CodeAlreadyUsed):
        second_factor.verify(kind="staff", user=user, code=code, now=NOW + timedelta(seconds=10))
    later = NOW + timedelta(seconds=30)
    result = second_factor.verify(kind="staff", user=user, code=pyotp.TOTP(secret).at(later), now=later)

    assert result.by_recovery_code is False
    with pytest.raises(second_factor.WrongCode):
        second_factor.verify(kind="staff", user=user, code="12345x", now=later)


def test_a_recovery_code_works_once_and_is_audited(alpha):
    user = _staff()
    _secret, codes = _enrolled(user)

    first = second_factor.verify(kind="staff", user=user, code=codes[3].upper(), now=NOW)
    with pytest.raises(second_factor.WrongCode):
        second_factor.verify(kind="staff", user=user, code=codes[3], now=NOW)

    assert first.by_recovery_code and first.recovery_codes_left == 9
    assert _events(user)[-1] == second_factor.RECOVERY_CODE_USED


def test_new_recovery_codes_replace_the_old_ones(alpha):
    user = _staff()
    secret, old = _enrolled(user, NOW - timedelta(minutes=1))

    new = second_factor.renew_recovery_codes(kind="staff", user=user, code=pyotp.TOTP(secret).at(NOW), now=NOW)

    with pytest.raises(second_factor.WrongCode):
        second_factor.verify(kind="staff", user=user, code=old[0], now=NOW)
    assert second_factor.verify(kind="staff", user=user, code=new[0], now=NOW).recovery_codes_left == 9
    assert second_factor.RECOVERY_CODES_RENEWED in _events(user)


def test_administrators_must_enrol_other_staff_may(alpha):
    admin, agent = _staff("tenant_admin"), _staff("agent")

    assert second_factor.sign_in_step(kind="staff", user=admin) == "enrol"
    assert second_factor.sign_in_step(kind="staff", user=agent) is None
    assert second_factor.sign_in_step(kind="customer", user=agent) is None


def test_reset_by_another_administrator_clears_the_factor_ends_sessions_and_is_audited(alpha):
    admin = db.session.scalar(select(StaffUser).where(StaffUser.email == "admin@alpha.test"))
    agent = _staff()
    _enrolled(agent)
    identity.open_session(user_kind="staff", user_id=agent.id, now=NOW, lifetime=timedelta(hours=8))
    db.session.flush()

    with pytest.raises(second_factor.CannotResetOwnSecondFactor):
        second_factor.reset_second_factor(admin, by=admin, now=NOW)
    second_factor.reset_second_factor(agent, by=admin, now=NOW)
    db.session.flush()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == second_factor.RESET))

    assert agent.has_second_factor is False
    assert second_factor.recovery_codes_left(kind="staff", user=agent) == 0
    assert db.session.scalar(select(LoginSession).where(LoginSession.user_id == agent.id)) is None
    assert (event.entity_id, event.actor_kind, event.actor_id) == (agent.id, "staff", admin.id)
    assert second_factor.sign_in_step(kind="staff", user=agent) is None


def test_operators_must_enrol_and_are_reset_too(app):
    with app.app_context(), platform_scope("test: operator"):
        operator = identity.create_operator(email="ops@platform.example.com", full_name="Ops",
                                            password="operator-password")
        db.session.flush()
        required = second_factor.sign_in_step(kind="operator", user=operator)
        secret = second_factor.start_enrolment(kind="operator", user=operator, now=NOW)
        second_factor.confirm_enrolment(kind="operator", user=operator, code=pyotp.TOTP(secret).at(NOW), now=NOW)
        enrolled = operator.has_second_factor
        second_factor.reset_operator_second_factor(operator, now=NOW)

        assert required == "enrol" and enrolled is True
        assert operator.has_second_factor is False
        db.session.rollback()


def test_key_rotation_reseals_the_totp_secrets_too(app, owner_engine, make_tenant):
    from cryptography.fernet import Fernet

    tenant = make_tenant("rotor")
    old_keys = app.config["SETTINGS"].secrets_keys
    new_key = Fernet.generate_key().decode()
    try:
        secrets.configure_secrets([new_key, *old_keys])
        result = app.test_cli_runner().invoke(args=["tenants", "reseal-secrets"])
        secrets.configure_secrets([new_key])
        with owner_engine.connect() as conn:
            stored = conn.execute(text("SELECT secret_sealed FROM staff_second_factors WHERE tenant_id = :t"),
                                  {"t": tenant.id}).scalar_one()
        opened = secrets.open_sealed(stored)
    finally:
        secrets.configure_secrets(old_keys)

    assert result.exit_code == 0, result.output
    assert opened == TOTP_SECRET  # the administrator's, sealed again with the new key alone
