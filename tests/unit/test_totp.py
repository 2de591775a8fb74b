"""The TOTP and recovery-code rules (domain/identity/totp.py): pure, on explicit moments."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp

from domain.identity import totp

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# 2026-11-28 09:00:10 UTC: 10 seconds into its 30-second step.
AT = datetime(2026, 11, 28, 9, 0, 10, tzinfo=UTC)
STEP = int(AT.timestamp()) // 30


def _code(at: datetime) -> str:
    return pyotp.TOTP(SECRET).at(at)


def test_the_code_an_app_shows_now_is_accepted_for_the_current_step():
    check = totp.check_code(SECRET, _code(AT), at=AT, latest_used_step=None)

    assert check.accepted and check.step == STEP
    assert totp.code_for_step(SECRET, STEP) == _code(AT)


def test_a_wrong_code_is_refused():
    wrong = f"{(int(_code(AT)) + 1) % 1_000_000:06d}"

    check = totp.check_code(SECRET, wrong, at=AT, latest_used_step=None)

    assert not check.accepted and not check.replayed


def test_the_previous_and_the_next_steps_codes_are_accepted_but_not_two_steps_away():
    previous = totp.check_code(SECRET, _code(AT - timedelta(seconds=30)), at=AT, latest_used_step=None)
    following = totp.check_code(SECRET, _code(AT + timedelta(seconds=30)), at=AT, latest_used_step=None)
    too_old = totp.check_code(SECRET, _code(AT - timedelta(seconds=60)), at=AT, latest_used_step=None)
    too_new = totp.check_code(SECRET, _code(AT + timedelta(seconds=60)), at=AT, latest_used_step=None)

    assert (previous.step, following.step) == (STEP - 1, STEP + 1)
    assert not too_old.accepted and not too_new.accepted


def test_a_code_of_a_step_already_used_is_refused_as_replayed():
    same_step = totp.check_code(SECRET, _code(AT), at=AT + timedelta(seconds=15), latest_used_step=STEP)
    earlier_step = totp.check_code(SECRET, _code(AT - timedelta(seconds=30)), at=AT, latest_used_step=STEP)
    next_step = totp.check_code(SECRET, _code(AT + timedelta(seconds=30)), at=AT + timedelta(seconds=30),
                                latest_used_step=STEP)

    assert same_step.replayed and not same_step.accepted
    assert earlier_step.replayed and not earlier_step.accepted
    assert next_step.accepted and next_step.step == STEP + 1


def test_spaces_in_a_typed_code_do_not_matter_and_other_shapes_are_refused():
    code = _code(AT)

    assert totp.check_code(SECRET, f" {code[:3]} {code[3:]} ", at=AT, latest_used_step=None).accepted
    assert not totp.check_code(SECRET, code[:5], at=AT, latest_used_step=None).accepted
    assert not totp.check_code(SECRET, "abcdef", at=AT, latest_used_step=None).accepted
    assert not totp.check_code(SECRET, None, at=AT, latest_used_step=None).accepted


def test_recovery_codes_are_ten_distinct_codes_found_again_by_digest_however_typed():
    codes = totp.new_recovery_codes()

    assert len(codes) == 10 == len(set(codes))
    assert all(len(c) == 19 and c.count("-") == 3 and totp.looks_like_recovery_code(c) for c in codes)
    typed = codes[0].upper().replace("-", " ")
    assert totp.recovery_code_digest(typed) == totp.recovery_code_digest(codes[0])
    assert totp.recovery_code_digest(codes[1]) != totp.recovery_code_digest(codes[0])
    assert not totp.looks_like_recovery_code("123456")


def test_new_secrets_are_random_base32_and_the_provisioning_uri_names_account_and_issuer():
    secret = totp.new_secret()

    uri = totp.provisioning_uri(secret, account="admin@alpha.test", issuer="Alpha Utility")

    assert len(secret) == 32 and secret != totp.new_secret()
    assert uri.startswith("otpauth://totp/Alpha%20Utility:admin%40alpha.test?")
    assert f"secret={secret}" in uri and "issuer=Alpha%20Utility" in uri
    assert totp.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"
