"""`flask demo seed`: two isolated demo utilities with customers, contracts, readings and known logins."""
from __future__ import annotations

from itertools import groupby

import pytest
from sqlalchemy import func, select

from demo.catalogue import DEMO_PASSWORD
from demo.seed import seed_demo
from domain.contracts.models import Contract, CustomerAccount
from domain.contracts.services import accounts_of_customer
from domain.db import db
from domain.identity.models import CustomerUser, PlatformOperator, StaffUser
from domain.identity.passwords import verify_password
from domain.offers.models import Offer, TariffVersion
from domain.readings.models import MeterReading
from domain.sites.models import Meter, Register
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant

CUSTOMERS = 5
MONTHS = 3


def _quiet(*args, **kwargs):
    pass


def _tenants() -> dict[str, Tenant]:
    with platform_scope("test: demo tenants"):
        tenants = {t.slug: t for t in db.session.scalars(select(Tenant))}
        db.session.commit()
    return tenants


def _count(tenant: Tenant, column) -> int:
    with tenant_scope(tenant.id):
        count = db.session.scalar(select(func.count(column)))
        db.session.commit()
    return count


def _snapshot() -> dict:
    """How many rows of each kind each tenant has, plus platform rows."""
    counts = {}
    for slug, tenant in _tenants().items():
        for column in (CustomerAccount.id, Contract.id, MeterReading.id, StaffUser.id, CustomerUser.id):
            counts[slug, column.class_.__name__] = _count(tenant, column)
    with platform_scope("test: operators"):
        counts["operators"] = db.session.scalar(select(func.count(PlatformOperator.id)))
        db.session.commit()
    return counts


@pytest.fixture
def seeded(ctx):
    seed_demo(customers=CUSTOMERS, months=MONTHS, if_empty=False, echo=_quiet)
    return _tenants()


def test_creates_a_water_and_a_multi_energy_utility(seeded):
    aquaville, lumen = seeded["aquaville"], seeded["lumen"]

    assert set(seeded) == {"aquaville", "lumen"}
    assert aquaville.activities == ["water"]
    assert lumen.activities == ["electricity", "gas", "heating"]
    assert (aquaville.default_locale, lumen.default_locale) == ("fr", "en")
    assert aquaville.primary_colour != lumen.primary_colour
    assert aquaville.accent_colour != lumen.accent_colour


def test_each_utility_has_its_accounts_with_contracts_and_monthly_readings(seeded):
    for tenant in seeded.values():
        with tenant_scope(tenant.id):
            accounts = list(db.session.scalars(select(CustomerAccount)))
            with_contracts = all(account.contracts for account in accounts)
            # One reading date per month; the billing runs add estimates on dates that already have one.
            reading_days_per_register = dict(db.session.execute(
                select(Register.id, func.count(func.distinct(MeterReading.read_on)))
                .outerjoin(MeterReading, MeterReading.register_id == Register.id)
                .group_by(Register.id)
            ).all())
            db.session.commit()

        assert len(accounts) == CUSTOMERS
        assert with_contracts
        assert set(reading_days_per_register.values()) == {MONTHS + 1}


def test_every_offer_has_two_tariff_versions_joined_at_the_price_change(seeded):
    for tenant in seeded.values():
        with tenant_scope(tenant.id):
            offers = list(db.session.scalars(select(Offer)))

            for offer in offers:
                first, second = offer.versions
                assert first.effective_to == second.effective_from
                assert second.effective_to is None
                assert first.prices and len(first.prices) == len(second.prices)
            assert {o.kind for o in offers} == {"regulated", "market"}
            db.session.commit()


def test_readings_rise_except_when_a_meter_wraps_past_its_digits(seeded):
    for tenant in seeded.values():
        with tenant_scope(tenant.id):
            rows = db.session.execute(
                select(MeterReading.register_id, MeterReading.value, MeterReading.rollover_confirmed, Meter.digits)
                .join(Register, Register.id == MeterReading.register_id)
                .join(Meter, Meter.id == Register.meter_id)
                # Actual indexes only: estimates made by the billing runs sit between them.
                .where(MeterReading.source != "estimated", MeterReading.status == "valid")
                .order_by(MeterReading.register_id, MeterReading.read_on)
            ).all()
            db.session.commit()
        wraps = 0

        for _register, readings in groupby(rows, key=lambda r: r.register_id):
            readings = list(readings)
            maximum = 10 ** readings[0].digits
            assert all(0 <= r.value < maximum for r in readings)
            for previous, current in zip(readings, readings[1:], strict=False):
                if current.value < previous.value:
                    wraps += 1
                    assert current.rollover_confirmed
                    assert current.value + maximum - previous.value < maximum / 10  # a month's use, not a drop
                else:
                    assert not current.rollover_confirmed

        assert wraps >= 1, f"no meter of {tenant.slug} rolls over"


def test_the_demo_customer_with_two_homes_sees_both_accounts(seeded):
    with tenant_scope(seeded["lumen"].id):
        user = db.session.scalar(select(CustomerUser).where(CustomerUser.email == "customer@lumen.example.com"))
        accounts = accounts_of_customer(customer_user_id=user.id)
        db.session.commit()

    assert [a.account_number for a in accounts] == ["LU00001001", "LU00001002"]
    assert {a.holder_party_id for a in accounts} == {user.party_id}
    assert verify_password(user.password_hash, DEMO_PASSWORD)


def test_staff_of_every_role_and_a_platform_operator_can_sign_in(seeded):
    with tenant_scope(seeded["aquaville"].id):
        staff = {u.email: u.roles for u in db.session.scalars(select(StaffUser))}
        db.session.commit()
    with platform_scope("test: operators"):
        operator = db.session.scalar(select(PlatformOperator))
        db.session.commit()

    assert staff == {
        "admin@aquaville.example.com": {"tenant_admin"},
        "agent@aquaville.example.com": {"agent"},
        "billing@aquaville.example.com": {"billing"},
        "collections@aquaville.example.com": {"collections"},
        "supervisor@aquaville.example.com": {"supervisor"},
    }
    assert operator.email == "operator@platform.example.com"
    assert verify_password(operator.password_hash, DEMO_PASSWORD)


def test_a_utility_sees_none_of_the_other_utilitys_rows(seeded):
    aquaville = seeded["aquaville"]

    with tenant_scope(aquaville.id):
        accounts = db.session.scalar(select(func.count(CustomerAccount.id)))
        activities = set(db.session.scalars(select(Offer.activity)))
        reading_tenants = set(db.session.scalars(select(MeterReading.tenant_id).distinct()))
        versions_tenants = set(db.session.scalars(select(TariffVersion.tenant_id).distinct()))
        db.session.commit()

    assert accounts == CUSTOMERS
    assert activities == {"water"}
    assert reading_tenants == versions_tenants == {aquaville.id}


def test_seeding_again_with_if_empty_creates_nothing(seeded):
    before = _snapshot()
    lines = []

    seed_demo(customers=CUSTOMERS, months=MONTHS, if_empty=True, echo=lines.append)

    assert _snapshot() == before
    assert "Demo data already present: nothing to do." in lines
    assert any("customer@lumen.example.com" in line for line in lines)


def test_seeding_again_without_if_empty_refuses_to_duplicate(seeded):
    before = _snapshot()
    lines = []

    seed_demo(customers=CUSTOMERS, months=MONTHS, if_empty=False, echo=lines.append)

    assert _snapshot() == before
    assert any("already exist" in line for line in lines)


def test_cli_seeds_and_prints_the_demo_logins(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed", "--customers", "3", "--months", "2"])

    assert result.exit_code == 0, result.output
    for text in ("http://aquaville.localhost:5000/", "http://lumen.localhost:5000/backoffice/",
                 "http://localhost:5000/console/", "customer@lumen.example.com", "admin@aquaville.example.com",
                 "operator@platform.example.com", DEMO_PASSWORD):
        assert text in result.output


def test_the_history_is_billed_month_by_month_through_billing_runs(seeded):
    from domain.accounting.models import LedgerEntry
    from domain.billing.models import Bill
    from domain.billing.run_models import BillingException, BillingRun

    for tenant in seeded.values():
        with tenant_scope(tenant.id):
            runs = db.session.scalars(select(BillingRun.status)).all()
            issued = db.session.scalar(select(func.count(Bill.id)).where(Bill.status == "issued",
                                                                         Bill.billing_run_id.isnot(None)))
            debits = db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.direction == "debit"))
            exceptions = db.session.scalar(select(func.count(BillingException.id)))
            db.session.commit()

        assert runs == ["completed"] * MONTHS
        assert issued >= CUSTOMERS  # every contract billed at least once over the history
        assert debits >= issued - 5  # zero-amount bills post nothing
        assert exceptions == 0


def test_each_month_is_issued_on_its_own_date_and_paid_once_due(seeded):
    """The history reads like a utility's past: bills dated in their month, paid when due, the latest not due."""
    from datetime import date, timedelta

    from domain.accounting.models import PaymentAllocation
    from domain.billing.models import Bill
    from domain.billing.run_models import BillingRun

    today = date.today()
    for tenant in seeded.values():
        with tenant_scope(tenant.id):
            runs = {r.id: r for r in db.session.scalars(select(BillingRun))}
            bills = db.session.scalars(select(Bill).where(Bill.billing_run_id.isnot(None))).all()
            paid = {bill_id: amount for bill_id, amount in db.session.execute(
                select(PaymentAllocation.bill_id, func.sum(PaymentAllocation.amount))
                .group_by(PaymentAllocation.bill_id))}
            db.session.commit()
        latest_date = max(r.billing_date for r in runs.values())
        assert len({r.started_at.date() for r in runs.values()}) == MONTHS  # each run on a day of its own
        for bill in bills:
            billing_date = runs[bill.billing_run_id].billing_date
            issued_on = bill.issued_at.date()
            if billing_date == latest_date:
                assert issued_on == max(billing_date, today - timedelta(days=1))
                assert bill.due_date > today - timedelta(days=1)
                assert bill.id not in paid  # not due yet: the portal has something to pay
            else:
                assert issued_on == billing_date + timedelta(days=1)
                assert bill.due_date == issued_on + timedelta(days=tenant.payment_terms_days)
        past_due = [b for b in bills if b.due_date < today and b.total_incl_tax > 0]
        unpaid = [b for b in past_due if paid.get(b.id) != b.total_incl_tax]
        assert past_due and len(unpaid) <= len({b.account_id for b in past_due}) // 7 + 1  # a few late payers
        assert all(b.account_id % 7 == 0 for b in unpaid)


def test_utcnow_runs_from_the_clock_set_for_a_replay():
    from datetime import UTC, datetime, timedelta

    from domain.db import clock_from, utcnow

    moment = datetime(2025, 3, 2, 6, 0, tzinfo=UTC)
    with clock_from(moment):
        inside = utcnow()
    assert moment <= inside < moment + timedelta(seconds=5)
    assert utcnow() > datetime(2026, 1, 1, tzinfo=UTC)  # back to the real clock
    with pytest.raises(ValueError):
        with clock_from(datetime(2025, 3, 2, 6, 0)):
            pass


def test_the_demos_requests_are_numbered_in_one_format_from_one_gapless_sequence(seeded):
    import re

    from domain.requests.models import ServiceRequest
    from domain.requests.numbering import parse_reference

    for tenant in seeded.values():
        with tenant_scope(tenant.id):
            references = list(db.session.scalars(select(ServiceRequest.reference)))
            db.session.commit()
        assert references and all(re.fullmatch(r"R\d{4}-\d{6}", r) for r in references), references
        numbers = sorted(parse_reference(r) for r in references)
        for _year, group in groupby(numbers, key=lambda n: n[0]):
            in_year = [n for _y, n in group]
            assert in_year == list(range(1, len(in_year) + 1))  # no gap, no repeat


def test_each_demo_utility_gets_an_api_key_printed_with_the_logins(app, seeded):
    from demo.api_keys import demo_tokens

    lines = []
    seed_demo(customers=CUSTOMERS, months=MONTHS, if_empty=True, echo=lines.append)
    tokens = demo_tokens()

    assert set(tokens) == {"aquaville", "lumen"}
    assert any(tokens["lumen"] in line for line in lines)
    answer = app.test_client().get("/api/v1/key", base_url="http://localhost",
                                   headers={"Authorization": f"Bearer {tokens['aquaville']}"})
    assert answer.status_code == 200 and answer.get_json()["utility"] == seeded["aquaville"].name
