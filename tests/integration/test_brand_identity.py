"""The identity services: each group checked before anything is saved, refusals name the field and the reason,
every change is one audit event and one version, and a bill reads the identity in force when it was issued."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.audit.actor import Actor, acting_as
from domain.audit.models import AuditEvent
from domain.brand import identity, pages
from domain.brand.logo import LogoRefused
from domain.brand.models import IdentityVersion
from domain.db import db, utcnow
from tenants.context import tenant_scope

AUTHOR = "admin@alpha.test"


@pytest.fixture
def alpha(ctx, make_tenant):
    tenant = make_tenant("alpha", activities=("electricity", "gas"))
    with tenant_scope(tenant.id), acting_as(Actor("staff", 1, AUTHOR)):
        yield tenant


def _refused(group, values) -> identity.IdentityRefused:
    with pytest.raises(identity.IdentityRefused) as refused:
        identity.save_group(group=group, values=values, author=AUTHOR, now=utcnow())
    db.session.rollback()
    return refused.value


def test_vat_numbers_are_checked_by_their_country(alpha):
    assert _refused("legal", {"legal_name": "A", "vat_number": "XX123"}).problems == {"vat_number": "vat_country"}
    assert _refused("legal", {"legal_name": "A", "vat_number": "DE12345"}).problems == {"vat_number": "vat_format"}
    assert _refused("legal", {"legal_name": "A", "vat_number": "FR41303265045"}).problems == {"vat_number": "vat_key"}
    assert identity.current_tenant().vat_number is None


def test_a_light_primary_colour_is_refused_with_its_shortfall(alpha):
    refused = _refused("colours", {"primary_colour": "#F2A900", "accent_colour": "#0b5cad"})

    assert refused.problems == {"primary_colour": "contrast"}
    assert (refused.shortfall.colour, refused.shortfall.ratio, refused.shortfall.short_by) == ("#f2a900", 2.0, 2.5)
    assert identity.current_tenant().primary_colour == "#0b5cad"


def test_emergency_numbers_only_for_the_utilitys_activities(alpha):
    refused = _refused("service", {"emergency_phones": {"water": "0800 00 00 00", "gas": "0800 47 33 33"}})

    assert refused.problems == {"emergency_water": "activity"}
    assert identity.current_tenant().emergency_phones is None


def test_a_logo_of_another_type_is_refused_and_nothing_changes(alpha):
    with pytest.raises(LogoRefused) as refused:
        identity.save_logo(filename="logo.jpg", data=b"\xff\xd8\xff\xe0" + b"\0" * 64, author=AUTHOR, now=utcnow())

    assert refused.value.code == "type" and identity.current_tenant().logo_path is None


def test_a_change_is_one_audit_event_with_its_author_and_nothing_changed_records_nothing(alpha):
    values = {"legal_name": "Alpha SA", "vat_number": "fr 40 303 265 045"}
    changes = identity.save_group(group="legal", values=values, author=AUTHOR, now=utcnow())
    again = identity.save_group(group="legal", values=values, author=AUTHOR, now=utcnow())
    db.session.commit()

    events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "Tenant")).all()
    assert set(changes) == {"legal_name", "vat_number"} and again == {}
    assert [(e.action, e.actor_label) for e in events] == [("identity_update", AUTHOR)]
    assert events[0].changes["changes"]["legal_name"] == {"before": None, "after": "Alpha SA"}


def test_the_identity_in_force_at_a_moment(alpha):
    start = utcnow()
    identity.save_group(group="legal", values={"legal_name": "First SA"}, author=AUTHOR, now=start)
    identity.save_group(group="legal", values={"legal_name": "Second SA"}, author=AUTHOR,
                        now=start + timedelta(days=10))
    db.session.commit()
    tenant = identity.current_tenant()

    before_any = identity.identity_at(tenant=tenant, at=start - timedelta(days=1))
    first = identity.identity_at(tenant=tenant, at=start + timedelta(days=1))
    latest = identity.identity_at(tenant=tenant, at=start + timedelta(days=11))

    assert before_any.legal_name is None and first.legal_name == "First SA" and latest.legal_name == "Second SA"
    assert first.iban == tenant.iban and first.slug == "alpha"  # fields outside the identity: as they are now
    assert len(db.session.scalars(select(IdentityVersion)).all()) == 3  # the state before the first change too


def test_a_page_falls_back_to_the_default_locale_then_to_the_generated_text(alpha):
    tenant = identity.current_tenant()
    generated = pages.page_content(tenant=tenant, page="cookies", locale="de", platform="platform.example")
    pages.save_page(page="cookies", locale="en", body="Our own cookie notice.", author=AUTHOR, now=utcnow())
    pages.save_page(page="cookies", locale="fr", body="Notre politique.", author=AUTHOR, now=utcnow())

    german = pages.page_content(tenant=tenant, page="cookies", locale="de", platform="platform.example")
    french = pages.page_content(tenant=tenant, page="cookies", locale="fr", platform="platform.example")

    assert generated.source == "generated" and generated.locale == "de" and "Cookie" in generated.title
    assert (german.source, german.locale, german.markdown) == ("fallback", "en", "Our own cookie notice.")
    assert (french.source, french.markdown) == ("written", "Notre politique.")
    with pytest.raises(pages.PageRefused):
        pages.save_page(page="cookies", locale="es", body=" \n ", author=AUTHOR, now=utcnow())
