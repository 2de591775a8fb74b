"""Seeds the two demo utilities (water; electricity, gas and heating) with customers, offers, readings and logins."""
from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import click
from sqlalchemy import insert, select

from demo.catalogue import (
    DEMO_PASSWORD,
    DEMO_UTILITIES,
    DEV_HOST,
    OPERATOR_EMAIL,
    OPERATOR_NAME,
    STAFF_ROLES,
    DemoUtility,
    OfferSpec,
)
from demo.plan import (
    GAS_CALORIFIC_VALUE,
    METER_UNITS,
    AccountPlan,
    PartyPlan,
    SupplyPlan,
    account_number,
    earliest_contract_start,
    plan_customers,
)
from demo.access import give_activation_codes
from demo.api_keys import create_demo_key, demo_tokens
from demo.billing_history import bill_history
from demo.requests import seed_requests
from demo.payments import pay_bill_history
from demo.budget import seed_budget_billing
from demo.readings import add_months, history_dates, meter_readings, month_start
from domain.audit.actor import Actor, acting_as
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db, utcnow
from domain.identity.models import CustomerAccess, CustomerUser, PlatformOperator, StaffRoleGrant, StaffUser
from domain.identity.passwords import hash_password
from domain.identity.services import create_operator
from domain.offers.models import Offer, TariffVersion, UnitPrice
from domain.payments.creditor import check_digits
from domain.parties.models import ContactPoint, Party, PartyRole
from domain.readings.models import MeterReading
from domain.requests.models import RequestMessage, ServiceRequest
from domain.requests.numbering import reserve_reference
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation, Premise, Register
from domain.tasks.models import WorkGroup
from domain.tasks.services import create_task
from tenants.context import platform_scope, tenant_scope
from tenants.models import Tenant
from tenants.services import create_tenant

SEED_ACTOR = Actor("system", None, "demo seed")
BATCH_SIZE = 100  # parties per flush: few round trips, bounded statement sizes
REGISTER_LABELS = {
    "fr": {"TOTAL": "Total", "PEAK": "Heures pleines", "OFFPEAK": "Heures creuses"},
    "en": {"TOTAL": "Total", "PEAK": "Peak hours", "OFFPEAK": "Off-peak hours"},
}
REQUESTS_WITH_POINT = ("meter_problem", "intervention", "move_in", "move_out")

Echo = Callable[..., None]


@dataclass
class _Created:
    """ORM rows made for one utility, by public reference, so later steps can point at them."""

    parties: dict[str, Party] = field(default_factory=dict)
    accounts: dict[str, CustomerAccount] = field(default_factory=dict)
    users_by_account: dict[str, CustomerUser] = field(default_factory=dict)
    readings: int = 0
    bills: int = 0
    billing_exceptions: int = 0


def seed_demo(*, customers: int = 300, months: int = 24, if_empty: bool = False, echo: Echo = print,
              host: str = DEV_HOST) -> None:
    """Create the demo utilities unless they exist, then print the demo logins."""
    if customers < 1 or months < 1:
        raise click.UsageError("--customers and --months must be at least 1")
    existing = _existing_demo_tenants()
    if existing:
        if if_empty:
            echo("Demo data already present: nothing to do.")
        else:
            echo(f"The demo utilities already exist ({', '.join(existing)}): nothing was created. "
                 "Seed an empty database to start again.")
        _echo_logins(echo, host)
        return
    # "Today" is fixed once here and passed down, so every date of the run agrees.
    today = date.today()
    now = utcnow()
    started = time.perf_counter()
    password_hash = hash_password(DEMO_PASSWORD)  # argon2id is slow by design: hash once, share it
    with acting_as(SEED_ACTOR):
        for utility in DEMO_UTILITIES:
            accounts = max(customers, utility.known_account_count)
            created = _seed_utility(utility, accounts=accounts, months=months, today=today, now=now,
                                    password_hash=password_hash)
            echo(f"{utility.name}: {len(created.accounts)} accounts, {created.readings} meter readings, "
                 f"{created.bills} bills issued ({created.billing_exceptions} billing exceptions).")
        _ensure_operator()
    echo(f"Demo data created in {time.perf_counter() - started:.1f} s.")
    _echo_logins(echo, host)


def _existing_demo_tenants() -> list[str]:
    slugs = [u.slug for u in DEMO_UTILITIES]
    with platform_scope("demo seed: look for the demo tenants"):
        found = sorted(db.session.scalars(select(Tenant.slug).where(Tenant.slug.in_(slugs))))
        db.session.commit()
    return found


def _seed_utility(utility: DemoUtility, *, accounts: int, months: int, today: date, now: datetime,
                  password_hash: str) -> _Created:
    tenant = create_tenant(
        slug=utility.slug, name=utility.name, activities=list(utility.activities), default_locale=utility.locale,
        currency=utility.currency, timezone=utility.timezone, admin_email=utility.admin_email,
        admin_name="Demo Administrator", admin_password=DEMO_PASSWORD, primary_colour=utility.primary_colour,
        now=now,
    )
    _finish_branding(tenant.id, utility)
    dates = history_dates(today=today, months=months)
    plan = plan_customers(utility, accounts=accounts, history_start=dates[0],
                          rng=random.Random(f"demo:{utility.slug}:customers"))
    reading_rng = random.Random(f"demo:{utility.slug}:readings")
    created = _Created()
    with tenant_scope(tenant.id):
        staff = _create_staff(utility, password_hash=password_hash, now=now)
        offers = _create_offers(utility, since=earliest_contract_start(dates[0]),
                                change_on=add_months(month_start(today), -12))
        for batch in _batches(plan, BATCH_SIZE):
            supplies = _create_customers(batch, offers=offers, created=created, now=now)
            created.readings += _insert_readings(supplies, tenant_id=tenant.id, dates=dates, now=now,
                                                 rng=reading_rng)
        _create_online_access(plan, created=created, password_hash=password_hash, now=now)
        _create_requests(utility, plan=plan, created=created, agent=staff["agent"], now=now,
                         rng=random.Random(f"demo:{utility.slug}:requests"))
        seed_requests(utility, tenant=tenant, created=created, agent=staff["agent"], now=now)
        _create_reading_checks(now=now)
        give_activation_codes()
        create_demo_key(slug=utility.slug)  # demo/api_keys.py: printed with the logins
        db.session.commit()
    created.bills, created.billing_exceptions = bill_history(tenant_id=tenant.id, dates=dates, now=now)
    pay_bill_history(tenant_id=tenant.id, today=today)
    seed_budget_billing(tenant_id=tenant.id, today=today, now=now)  # demo/budget.py
    return created


def _finish_branding(tenant_id: int, utility: DemoUtility) -> None:
    """What `create_tenant` does not take: the accent colour and the support address."""
    with platform_scope("demo seed: branding"):
        tenant = db.session.get(Tenant, tenant_id)
        tenant.accent_colour = utility.accent_colour
        tenant.support_email = f"support@{utility.slug}.example.com"
        # Billing settings: French-style back-billing limit, bank details for the transfer QR code.
        tenant.back_billing_months = 14
        tenant.payment_terms_days = 15
        tenant.gas_calorific_value = GAS_CALORIFIC_VALUE
        tenant.legal_name = f"{utility.name} SA"
        tenant.postal_address = "10 place de la République, 69002 Lyon"
        tenant.iban = "FR7630006000011234567890189"
        tenant.bic = "AGRIFRPP"
        if tenant.currency == "EUR":  # SEPA direct debit: shown on mandates, carried by the collection files
            tenant.sepa_creditor_id = _demo_creditor_id(utility.slug)
        tenant.dispute_contact = f"support@{utility.slug}.example.com"
        tenant.live_at = tenant.created_at  # the demo utilities serve their customers from the start
        db.session.commit()


def _demo_creditor_id(slug: str) -> str:
    """A French-style SEPA creditor identifier per demo utility, with valid check digits."""
    national = f"{zlib.crc32(slug.encode()) % 1_000_000:06d}"
    return f"FR{check_digits(country='FR', national_id=national)}ZZZ{national}"


def _batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# Staff and offers


def _create_staff(utility: DemoUtility, *, password_hash: str, now: datetime) -> dict[str, StaffUser]:
    staff = {}
    for role in STAFF_ROLES:
        user = StaffUser(email=utility.staff_email(role), full_name=utility.staff_names[role],
                         password_hash=password_hash, locale=utility.locale, created_at=now)
        user.role_grants.append(StaffRoleGrant(role=role))
        db.session.add(user)
        staff[role] = user
    db.session.flush()
    return staff


def _create_offers(utility: DemoUtility, *, since: date, change_on: date) -> dict[str, Offer]:
    """Each offer with two tariff versions: the old prices until `change_on`, the new ones from it."""
    offers = {}
    for spec in utility.offers:
        offer = Offer(code=spec.code, name=spec.name, activity=spec.activity, kind=spec.kind)
        offer.versions.append(_tariff_version(spec, start=since, end=change_on, factor=Decimal("1")))
        offer.versions.append(_tariff_version(spec, start=change_on, end=None, factor=1 + spec.increase))
        db.session.add(offer)
        offers[spec.code] = offer
    db.session.flush()
    return offers


def _tariff_version(spec: OfferSpec, *, start: date, end: date | None, factor: Decimal) -> TariffVersion:
    version = TariffVersion(
        effective_from=start, effective_to=end, standing_charge_per_day=_scaled(spec.standing_charge_per_day, factor),
        standing_charge_tax_rate=spec.standing_charge_tax_rate, prices_include_tax=False,
    )
    for price in spec.prices:
        version.prices.append(UnitPrice(
            component=price.component, register_code=price.register_code, tier_from=price.tier_from,
            tier_to=price.tier_to, price=_scaled(price.price, factor), tax_rate=price.tax_rate,
        ))
    return version


def _scaled(value: Decimal, factor: Decimal) -> Decimal:
    """A price times a factor, kept to the precision the price was quoted with."""
    return (value * factor).quantize(value)


# Customers


def _create_customers(batch: list[PartyPlan], *, offers: dict[str, Offer], created: _Created,
                      now: datetime) -> list[tuple[SupplyPlan, dict[str, int]]]:
    """Parties, premises, points of delivery, meters, accounts and contracts of a batch; returns register ids."""
    rows: list = []
    meters: list[tuple[SupplyPlan, Meter]] = []
    holders: list[tuple[Party, AccountPlan, CustomerAccount]] = []
    for party_plan in batch:
        party = _party(party_plan, now=now)
        rows.append(party)
        created.parties[party_plan.party_number] = party
        for account_plan in party_plan.accounts:
            account = CustomerAccount(
                account_number=account_plan.account_number, holder=party, opened_on=account_plan.opened_on,
                payment_method=account_plan.payment_method, paperless=account_plan.paperless,
                locale=account_plan.locale, created_at=now,
            )
            premise = _premise(account_plan)
            rows += [account, premise]
            created.accounts[account_plan.account_number] = account
            holders.append((party, account_plan, account))
            for supply in account_plan.supplies:
                meter = _supply(supply, account=account, premise=premise, offer=offers[supply.offer_code],
                                labels=REGISTER_LABELS[account_plan.locale], rows=rows)
                meters.append((supply, meter))
    db.session.add_all(rows)
    db.session.flush()
    # The holder role points at the account by id, which only exists after the flush.
    db.session.add_all([
        PartyRole(party_id=party.id, role="holder", account_id=account.id, start_date=account_plan.opened_on)
        for party, account_plan, account in holders
    ])
    db.session.flush()
    return [(supply, {r.code: r.id for r in meter.registers}) for supply, meter in meters]


def _party(plan: PartyPlan, *, now: datetime) -> Party:
    party = Party(
        party_number=plan.party_number, kind=plan.kind, title=plan.title, first_name=plan.first_name,
        last_name=plan.last_name, organisation_name=plan.organisation_name,
        registration_number=plan.registration_number, birth_date=plan.birth_date, created_at=now,
    )
    # Known demo customers confirmed their e-mail when they signed up online.
    verified = now if plan.login_email else None
    postal = plan.postal
    party.contact_points.extend([
        ContactPoint(kind="email", value=plan.email, is_primary=True, verified_at=verified),
        ContactPoint(kind="phone", value=plan.phone, is_primary=True),
        ContactPoint(kind="postal", address_line1=postal.line1, address_line2=postal.line2,
                     postcode=postal.postcode, city=postal.city, country=postal.country, is_primary=True),
    ])
    return party


def _premise(plan: AccountPlan) -> Premise:
    address = plan.premise
    return Premise(public_id=plan.premise_public_id, address_line1=address.line1, address_line2=address.line2,
                   postcode=address.postcode, city=address.city, country=address.country)


def _supply(supply: SupplyPlan, *, account: CustomerAccount, premise: Premise, offer: Offer,
            labels: dict[str, str], rows: list) -> Meter:
    """Point of delivery, meter with registers, installation and contract of one supply (appended to rows)."""
    point = DeliveryPoint(
        premise=premise, activity=supply.activity, identifier=supply.identifier, status="active",
        subscribed_power=supply.subscribed_power, gas_correction_factor=supply.gas_correction_factor,
    )
    meter = Meter(
        serial_number=supply.serial_number, activity=supply.activity, model=supply.meter_model,
        digits=supply.series.digits, multiplier=Decimal("1"), unit=METER_UNITS[supply.activity],
        is_smart=supply.series.is_smart,
    )
    meter.registers.extend(Register(code=code, label=labels[code]) for code in supply.register_codes)
    installation = MeterInstallation(meter=meter, delivery_point=point, installed_on=supply.installed_on)
    contract = Contract(
        contract_number=supply.contract_number, account=account, delivery_point=point, offer_id=offer.id,
        start_date=supply.contract_start, status="active", billing_frequency=supply.billing_frequency,
        estimated_annual_consumption=supply.estimated_annual_consumption,
    )
    rows += [point, meter, installation, contract]
    return meter


def _insert_readings(supplies: list[tuple[SupplyPlan, dict[str, int]]], *, tenant_id: int, dates: list[date],
                     now: datetime, rng: random.Random) -> int:
    """Readings in one bulk insert: tens of thousands of ORM objects (and audit rows) would take minutes."""
    rows = []
    for supply, register_ids in supplies:
        for reading in meter_readings(supply.series, dates=dates, now=now, rng=rng):
            register_id = register_ids[reading.pop("register_code")]
            # A bulk insert bypasses the ORM guard's stamping: the tenant goes into each row here.
            rows.append({**reading, "tenant_id": tenant_id, "register_id": register_id})
    if rows:
        db.session.execute(insert(MeterReading), rows)
    return len(rows)


# Online access, requests and work


def _create_online_access(plan: list[PartyPlan], *, created: _Created, password_hash: str, now: datetime) -> None:
    """A portal login for each known demo customer, seeing every account the customer holds."""
    for party_plan in plan:
        if not party_plan.login_email:
            continue
        user = CustomerUser(
            email=party_plan.login_email, password_hash=password_hash,
            party_id=created.parties[party_plan.party_number].id, locale=party_plan.accounts[0].locale,
            email_verified_at=now, created_at=now,
        )
        for account_plan in party_plan.accounts:
            user.accesses.append(CustomerAccess(account_id=created.accounts[account_plan.account_number].id))
            created.users_by_account[account_plan.account_number] = user
        db.session.add(user)
    db.session.flush()


def _create_requests(utility: DemoUtility, *, plan: list[PartyPlan], created: _Created, agent: StaffUser,
                     now: datetime, rng: random.Random) -> None:
    """The sample requests: the first ones on the demo customers' accounts, the rest on random accounts."""
    numbers = [a.account_number for p in plan for a in p.accounts]
    known = numbers[:utility.known_account_count]
    others = numbers[utility.known_account_count:] or numbers
    front_office = db.session.scalar(select(WorkGroup).where(WorkGroup.code == "front_office"))
    for n, spec in enumerate(utility.requests, start=1):
        number = known[n - 1] if n <= min(2, len(known)) else rng.choice(others)
        account = created.accounts[number]
        opened_at = now - timedelta(days=spec.days_ago, hours=rng.randint(1, 8))
        done = spec.status in ("resolved", "closed")
        request = ServiceRequest(
            reference=reserve_reference(tenant_id=account.tenant_id, year=opened_at.year),
            account_id=account.id, kind=spec.kind, status=spec.status,
            subject=spec.subject, opened_at=opened_at, due_at=opened_at + timedelta(days=spec.sla_days),
            delivery_point_id=account.contracts[0].delivery_point_id if spec.kind in REQUESTS_WITH_POINT else None,
            closed_at=opened_at + timedelta(days=max(1, spec.days_ago // 2)) if done else None,
        )
        customer = created.users_by_account.get(number)
        step = (now - opened_at) / (len(spec.messages) + 1)
        for i, (author_kind, internal, body) in enumerate(spec.messages):
            author_id = agent.id if author_kind == "staff" else (customer.id if customer else None)
            request.messages.append(RequestMessage(author_kind=author_kind, author_id=author_id, body=body,
                                                   internal=internal, sent_at=opened_at + step * i))
        db.session.add(request)
        db.session.flush()
        if not done:
            create_task(
                group_id=front_office.id, kind="service_request", title=f"{request.reference}: {spec.subject}",
                status="in_progress" if spec.status == "in_progress" else "open",
                subject_type="service_request", subject_id=request.id,
                assignee_id=agent.id if spec.status == "in_progress" else None,
                now=opened_at, due_at=request.due_at,
            )


def _create_reading_checks(*, now: datetime) -> None:
    """A metering task per pending reading, so the back office has a queue to work on."""
    metering = db.session.scalar(select(WorkGroup).where(WorkGroup.code == "metering"))
    pending = db.session.execute(
        select(MeterReading.id, MeterReading.read_on, MeterReading.received_at, Meter.serial_number)
        .join(Register, Register.id == MeterReading.register_id)
        .join(Meter, Meter.id == Register.meter_id)
        .where(MeterReading.status == "pending")
        .order_by(MeterReading.id)
    )
    for reading_id, read_on, received_at, serial in pending:
        create_task(group_id=metering.id, kind="reading_check", title=f"Check reading of meter {serial} ({read_on})",
                    params={"meter": serial, "day": read_on.isoformat()},
                    subject_type="meter_reading", subject_id=reading_id, now=received_at)
    db.session.flush()


# Platform operator and logins


def _ensure_operator() -> None:
    with platform_scope("demo seed: platform operator"):
        exists = db.session.scalar(select(PlatformOperator.id).where(PlatformOperator.email == OPERATOR_EMAIL))
        if exists is None:
            create_operator(email=OPERATOR_EMAIL, full_name=OPERATOR_NAME, password=DEMO_PASSWORD)
        db.session.commit()


def _echo_logins(echo: Echo, host: str) -> None:
    echo("")
    echo(f"Demo logins (password for every one: {DEMO_PASSWORD})")
    for utility in DEMO_UTILITIES:
        base = f"http://{utility.slug}.{host}"
        echo("")
        echo(f"{utility.name}")
        echo(f"  customer portal  {base}/")
        index = 0
        for customer in utility.known_customers:
            numbers = [account_number(utility, index + i) for i in range(len(customer.homes))]
            index += len(customer.homes)
            homes = ", ".join(f"{home.label} {number}" for home, number in zip(customer.homes, numbers, strict=True))
            echo(f"    {customer.email:<36} {homes}")
        echo(f"  back office      {base}/backoffice/")
        echo(f"    {utility.admin_email:<36} tenant_admin")
        for role in STAFF_ROLES:
            echo(f"    {utility.staff_email(role):<36} {role}")
    tokens = demo_tokens()
    if tokens:
        echo("")
        echo(f"Integration API (reference: http://{host}/api/v1/reference), one key per demo utility with every scope:")
        for utility in DEMO_UTILITIES:
            if utility.slug in tokens:
                echo(f"    {utility.slug:<12} {tokens[utility.slug]}")
        first = next(iter(tokens.values()))
        echo(f'    try: curl -H "Authorization: Bearer {first}" http://{host}/api/v1/key')
    echo("")
    echo(f"Platform console   http://{host}/console/")
    echo(f"    {OPERATOR_EMAIL:<36} operator")
    echo("")
    echo("Administrators and the operator set up two-step sign-in (a TOTP app: FreeOTP, Aegis, Google Authenticator…)")
    echo("at their first sign-in; other staff may from their account page.")
