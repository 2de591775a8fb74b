"""The back-off of temporary mail failures, and the list of message kinds (pure: no database)."""
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.communications.kinds import KINDS, MARKETING, kind_of, required_customer_kinds, switchable_kinds
from domain.communications.retry import MAX_ATTEMPTS, MOST_DELAY, next_attempt_at, retry_delay

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "mail"


def test_each_failed_attempt_doubles_the_wait_from_one_minute():
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]


def test_the_wait_is_capped():
    assert retry_delay(30) == MOST_DELAY == timedelta(hours=4)
    assert retry_delay(9) == MOST_DELAY  # 256 min would be more than 4 h


def test_the_next_attempt_is_the_wait_after_now_until_the_attempts_are_used_up():
    assert next_attempt_at(attempts=1, now=NOW) == NOW + timedelta(minutes=1)
    assert next_attempt_at(attempts=MAX_ATTEMPTS - 1, now=NOW) == NOW + retry_delay(MAX_ATTEMPTS - 1)
    assert next_attempt_at(attempts=MAX_ATTEMPTS, now=NOW) is None
    assert next_attempt_at(attempts=3, now=NOW, max_attempts=3) is None


def test_attempts_count_from_one():
    with pytest.raises(ValueError):
        retry_delay(0)


def test_a_customer_may_switch_off_only_optional_non_marketing_kinds():
    switchable = {k.name for k in switchable_kinds()}

    assert "payment_received" in switchable and "reading_rejected" in switchable
    for required in ("password_reset", "activation", "bill_available", "payment_failed", "request_reply",
                     "collection_returned"):
        assert required not in switchable
        assert kind_of(required) in required_customer_kinds()
    assert all(k.category != MARKETING for k in switchable_kinds())


def test_every_kind_has_its_templates_and_a_known_category():
    for kind in KINDS.values():
        assert kind.category in ("transactional", "service", "marketing")
        assert (TEMPLATES / f"{kind.template}.txt").exists(), kind.name
        assert (TEMPLATES / f"{kind.template}.html").exists(), kind.name


def test_an_unknown_kind_is_refused():
    from domain.communications.kinds import UnknownKind

    with pytest.raises(UnknownKind):
        kind_of("newsletter_of_the_week")
