"""Which card checkout a tenant offers, and webhook signatures dated in the future: pure, no database."""
from __future__ import annotations

import time

import pytest

from domain.payments.providers import (
    SIGNATURE_TOLERANCE_SECONDS,
    BadSignature,
    card_provider_kind,
    encode_event,
    parse_event,
    sign_payload,
)

SECRET = "whsec_unit_test"


@pytest.mark.parametrize(("keys", "production", "demo", "expected"), [
    (True, True, False, "stripe"),
    (True, False, False, "stripe"),
    (False, False, False, "sandbox"),
    (False, True, True, "sandbox"),
    (False, True, False, None),  # production, no keys, not a demo: no card payment at all
])
def test_the_sandbox_is_never_offered_in_production_unless_the_tenant_is_a_demo(keys, production, demo, expected):
    assert card_provider_kind(has_stripe_keys=keys, production=production, demo=demo) == expected


def _event() -> bytes:
    return encode_event({"id": "evt_unit", "object": "event", "created": int(time.time()), "type": "ping",
                         "data": {"object": {}}})


@pytest.mark.parametrize("offset", [-SIGNATURE_TOLERANCE_SECONDS - 60, SIGNATURE_TOLERANCE_SECONDS + 60])
def test_a_signature_outside_the_tolerance_either_way_is_refused(offset):
    payload = _event()

    with pytest.raises(BadSignature):
        parse_event(payload, sign_payload(payload, SECRET, timestamp=int(time.time()) + offset), SECRET)


def test_a_signature_within_the_tolerance_is_read():
    payload = _event()

    event = parse_event(payload, sign_payload(payload, SECRET, timestamp=int(time.time()) + 30), SECRET)

    assert event.id == "evt_unit"
