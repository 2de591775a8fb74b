"""factory_boy factories for every model; each builds a small, valid graph in the current tenant."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, UTC
from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory

from domain.accounting.models import LedgerEntry, Payment, PaymentAllocation
from domain.billing.models import Bill, BillLine
from domain.billing.plan_models import DownPaymentInstalment, DownPaymentPlan
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.identity.models import (
    CustomerAccess,
    CustomerUser,
    EmailVerification,
    OperatorSecondFactor,
    StaffRoleGrant,
    StaffSecondFactor,
    StaffUser,
)
from domain.identity.passwords import hash_password
from domain.offers.models import Offer, TariffVersion, UnitPrice
from domain.parties.models import ContactPoint, Party, PartyRole
from domain.payments.models import DirectDebitMandate, PaymentEvent
from domain.readings.models import MeterReading
from domain.requests.models import RequestAttachment, RequestMessage, ServiceRequest
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation, Premise, Register
from domain.tasks.models import Task, WorkGroup
from tenants.context import tenant_scope
from tenants.secrets import seal

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
PASSWORD = "correct-horse-battery"
# The TOTP secret of every user the factories enrol in a second factor (administrators, operators): tests compute
# its codes with pyotp (tests/two_step.py), on the pinned clock.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_HASH: dict[str, str] = {}


def password_hash() -> str:
    if PASSWORD not in _HASH:
        _HASH[PASSWORD] = hash_password(PASSWORD)
    return _HASH[PASSWORD]


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session = db.session
        sqlalchemy_session_persistence = "flush"


class PartyFactory(Base):
    class Meta:
        model = Party

    party_number = factory.Sequence(lambda n: f"P{n:07d}")
    kind = "person"
    first_name = factory.Iterator(["Alice", "Bruno", "Chloé", "David", "Emma"])
    last_name = factory.Iterator(["Martin", "Bernard", "Dubois", "Thomas", "Robert"])


class ContactPointFactory(Base):
    class Meta:
        model = ContactPoint

    party_id = factory.LazyAttribute(lambda o: o.party.id)
    kind = "email"
    value = factory.Sequence(lambda n: f"contact{n}@example.test")
    is_primary = True

    class Params:
        party = factory.SubFactory(PartyFactory)


class PremiseFactory(Base):
    class Meta:
        model = Premise

    address_line1 = factory.Sequence(lambda n: f"{n + 1} rue des Lilas")
    postcode = "69001"
    city = "Lyon"
    country = "FR"


class DeliveryPointFactory(Base):
    class Meta:
        model = DeliveryPoint

    premise_id = factory.LazyAttribute(lambda o: o.premise.id)
    activity = "electricity"
    identifier = factory.Sequence(lambda n: f"PDL{n:011d}")

    class Params:
        premise = factory.SubFactory(PremiseFactory)


class MeterFactory(Base):
    class Meta:
        model = Meter

    serial_number = factory.Sequence(lambda n: f"M{n:08d}")
    activity = "electricity"
    digits = 6
    multiplier = Decimal("1")
    unit = "kWh"


class RegisterFactory(Base):
    class Meta:
        model = Register

    meter_id = factory.LazyAttribute(lambda o: o.meter.id)
    code = "TOTAL"
    label = "Total"

    class Params:
        meter = factory.SubFactory(MeterFactory)


class MeterInstallationFactory(Base):
    class Meta:
        model = MeterInstallation

    meter_id = factory.LazyAttribute(lambda o: o.meter.id)
    delivery_point_id = factory.LazyAttribute(lambda o: o.delivery_point.id)
    installed_on = date(2024, 1, 1)

    class Params:
        meter = factory.SubFactory(MeterFactory)
        delivery_point = factory.SubFactory(DeliveryPointFactory)


class OfferFactory(Base):
    class Meta:
        model = Offer

    code = factory.Sequence(lambda n: f"OFFER{n}")
    name = factory.Sequence(lambda n: f"Base offer {n}")
    activity = "electricity"
    kind = "regulated"


class TariffVersionFactory(Base):
    class Meta:
        model = TariffVersion

    offer_id = factory.LazyAttribute(lambda o: o.offer.id)
    effective_from = date(2024, 1, 1)
    standing_charge_per_day = Decimal("0.45000")
    standing_charge_tax_rate = Decimal("0.055")

    class Params:
        offer = factory.SubFactory(OfferFactory)


class UnitPriceFactory(Base):
    class Meta:
        model = UnitPrice

    tariff_version_id = factory.LazyAttribute(lambda o: o.version.id)
    component = "energy"
    price = Decimal("0.251600")
    tax_rate = Decimal("0.20")

    class Params:
        version = factory.SubFactory(TariffVersionFactory)


class CustomerAccountFactory(Base):
    class Meta:
        model = CustomerAccount

    account_number = factory.Sequence(lambda n: f"C{n:08d}")
    holder_party_id = factory.LazyAttribute(lambda o: o.holder.id)
    opened_on = date(2024, 1, 1)

    class Params:
        holder = factory.SubFactory(PartyFactory)


class PartyRoleFactory(Base):
    class Meta:
        model = PartyRole

    party_id = factory.LazyAttribute(lambda o: o.party.id)
    account_id = factory.LazyAttribute(lambda o: o.account.id)
    role = "holder"
    start_date = date(2024, 1, 1)

    class Params:
        party = factory.SubFactory(PartyFactory)
        account = factory.SubFactory(CustomerAccountFactory)


class ContractFactory(Base):
    class Meta:
        model = Contract

    contract_number = factory.Sequence(lambda n: f"K{n:08d}")
    account_id = factory.LazyAttribute(lambda o: o.account.id)
    delivery_point_id = factory.LazyAttribute(lambda o: o.delivery_point.id)
    offer_id = factory.LazyAttribute(lambda o: o.offer.id)
    start_date = date(2024, 1, 1)
    estimated_annual_consumption = Decimal("3500.000")

    class Params:
        account = factory.SubFactory(CustomerAccountFactory)
        delivery_point = factory.SubFactory(DeliveryPointFactory)
        offer = factory.SubFactory(OfferFactory)


class MeterReadingFactory(Base):
    class Meta:
        model = MeterReading

    register_id = factory.LazyAttribute(lambda o: o.register.id)
    read_on = date(2026, 10, 1)
    value = Decimal("1234.000")
    source = "customer"
    status = "valid"
    received_at = NOW

    class Params:
        register = factory.SubFactory(RegisterFactory)


class BillFactory(Base):
    class Meta:
        model = Bill

    account_id = factory.LazyAttribute(lambda o: o.account.id)
    number = factory.Sequence(lambda n: f"F2026-{n:06d}")
    kind = "periodic"
    status = "issued"
    period_start = date(2026, 9, 1)
    period_end = date(2026, 10, 1)
    issued_at = NOW
    due_date = date(2026, 11, 15)
    currency = "EUR"
    total_excl_tax = Decimal("50.00")
    total_tax = Decimal("10.00")
    total_incl_tax = Decimal("60.00")

    class Params:
        account = factory.SubFactory(CustomerAccountFactory)


class BillLineFactory(Base):
    class Meta:
        model = BillLine

    bill_id = factory.LazyAttribute(lambda o: o.bill.id)
    position = factory.Sequence(lambda n: n + 1)
    component = "energy"
    description = "Energy"
    quantity = Decimal("200.000")
    unit = "kWh"
    unit_price = Decimal("0.250000")
    amount = Decimal("50.00")
    tax_rate = Decimal("0.20")

    class Params:
        bill = factory.SubFactory(BillFactory)


class PaymentFactory(Base):
    class Meta:
        model = Payment

    account_id = factory.LazyAttribute(lambda o: o.account.id)
    amount = Decimal("60.00")
    currency = "EUR"
    method = "card"
    status = "succeeded"
    provider = "sandbox"
    provider_reference = factory.Sequence(lambda n: f"sbx_{n}")
    created_at = NOW
    received_at = NOW

    class Params:
        account = factory.SubFactory(CustomerAccountFactory)


class PaymentAllocationFactory(Base):
    class Meta:
        model = PaymentAllocation

    payment_id = factory.LazyAttribute(lambda o: o.payment.id)
    bill_id = factory.LazyAttribute(lambda o: o.bill.id)
    amount = Decimal("60.00")

    class Params:
        payment = factory.SubFactory(PaymentFactory)
        bill = factory.SubFactory(BillFactory)


class LedgerEntryFactory(Base):
    class Meta:
        model = LedgerEntry

    account_id = factory.LazyAttribute(lambda o: o.account.id)
    booked_on = date(2026, 10, 1)
    created_at = NOW
    direction = "debit"
    amount = Decimal("60.00")
    currency = "EUR"
    description = "Bill"

    class Params:
        account = factory.SubFactory(CustomerAccountFactory)


class ServiceRequestFactory(Base):
    class Meta:
        model = ServiceRequest

    reference = factory.Sequence(lambda n: f"R{n:07d}")
    account_id = factory.LazyAttribute(lambda o: o.account.id)
    kind = "complaint"
    subject = "Bill too high"
    opened_at = NOW
    due_at = NOW + timedelta(days=10)

    class Params:
        account = factory.SubFactory(CustomerAccountFactory)


class RequestMessageFactory(Base):
    class Meta:
        model = RequestMessage

    request_id = factory.LazyAttribute(lambda o: o.request.id)
    author_kind = "customer"
    body = "My bill looks too high."
    sent_at = NOW

    class Params:
        request = factory.SubFactory(ServiceRequestFactory)


class WorkGroupFactory(Base):
    class Meta:
        model = WorkGroup

    code = factory.Sequence(lambda n: f"group{n}")
    name = factory.Sequence(lambda n: f"Group {n}")


class TaskFactory(Base):
    class Meta:
        model = Task

    work_group_id = factory.LazyAttribute(lambda o: o.work_group.id)
    kind = "reading_check"
    title = "Check a reading"
    created_at = NOW

    class Params:
        work_group = factory.SubFactory(WorkGroupFactory)


class StaffUserFactory(Base):
    class Meta:
        model = StaffUser

    email = factory.Sequence(lambda n: f"staff{n}@utility.test")
    full_name = factory.Sequence(lambda n: f"Staff {n}")
    password_hash = factory.LazyFunction(password_hash)


class StaffSecondFactorFactory(Base):
    """A confirmed second factor with the test secret; no code used yet."""

    class Meta:
        model = StaffSecondFactor

    staff_user_id = factory.LazyAttribute(lambda o: o.user.id)
    secret_sealed = factory.LazyFunction(lambda: seal(TOTP_SECRET))
    created_at = NOW
    confirmed_at = NOW

    class Params:
        user = factory.SubFactory(StaffUserFactory)


class OperatorSecondFactorFactory(Base):
    class Meta:
        model = OperatorSecondFactor

    operator_id = factory.LazyAttribute(lambda o: o.operator.id)
    secret_sealed = factory.LazyFunction(lambda: seal(TOTP_SECRET))
    created_at = NOW
    confirmed_at = NOW

    class Params:
        operator = None


class StaffRoleGrantFactory(Base):
    class Meta:
        model = StaffRoleGrant

    staff_user_id = factory.LazyAttribute(lambda o: o.user.id)
    role = "agent"

    class Params:
        user = factory.SubFactory(StaffUserFactory)


class CustomerUserFactory(Base):
    class Meta:
        model = CustomerUser

    email = factory.Sequence(lambda n: f"customer{n}@example.test")
    password_hash = factory.LazyFunction(password_hash)
    party_id = factory.LazyAttribute(lambda o: o.party.id)
    email_verified_at = NOW

    class Params:
        party = factory.SubFactory(PartyFactory)


class CustomerAccessFactory(Base):
    class Meta:
        model = CustomerAccess

    customer_user_id = factory.LazyAttribute(lambda o: o.user.id)
    account_id = factory.LazyAttribute(lambda o: o.account.id)

    class Params:
        user = factory.SubFactory(CustomerUserFactory)
        account = factory.SubFactory(CustomerAccountFactory)


class EmailVerificationFactory(Base):
    class Meta:
        model = EmailVerification

    token_hash = factory.Sequence(lambda n: f"{n:064d}")
    purpose = "activation"
    email = factory.Sequence(lambda n: f"new{n}@example.test")
    party_id = factory.LazyAttribute(lambda o: o.party.id)
    created_at = NOW
    expires_at = NOW + timedelta(hours=24)

    class Params:
        party = factory.SubFactory(PartyFactory)


class PaymentEventFactory(Base):
    class Meta:
        model = PaymentEvent

    provider = "sandbox"
    event_id = factory.Sequence(lambda n: f"evt_{n}")
    event_type = "checkout.session.completed"
    payment_id = factory.LazyAttribute(lambda o: o.payment.id)
    received_at = NOW
    outcome = "applied"

    class Params:
        payment = factory.SubFactory(PaymentFactory)


class DirectDebitMandateFactory(Base):
    class Meta:
        model = DirectDebitMandate

    account_id = factory.LazyAttribute(lambda o: o.account.id)
    reference = factory.Sequence(lambda n: f"MDT-{n:08d}")
    iban = "FR7630006000011234567890189"
    holder_name = "Alice Martin"
    signed_at = NOW

    class Params:
        account = factory.SubFactory(CustomerAccountFactory)


class DownPaymentPlanFactory(Base):
    class Meta:
        model = DownPaymentPlan

    contract_id = factory.LazyAttribute(lambda o: o.contract.id)
    account_id = factory.LazyAttribute(lambda o: o.contract.account_id)
    start_on = date(2026, 1, 1)
    true_up_on = date(2027, 1, 1)
    instalment_count = 11
    instalment_amount = Decimal("60.00")
    estimated_consumption = Decimal("3500.000")
    estimated_amount = Decimal("660.00")
    currency = "EUR"
    created_at = NOW
    created_by = "customer"

    class Params:
        contract = factory.SubFactory(ContractFactory)


class DownPaymentInstalmentFactory(Base):
    class Meta:
        model = DownPaymentInstalment

    plan_id = factory.LazyAttribute(lambda o: o.plan.id)
    sequence = factory.Sequence(lambda n: n + 1)
    due_on = date(2026, 2, 5)
    amount = Decimal("60.00")

    class Params:
        plan = factory.SubFactory(DownPaymentPlanFactory)


class RequestAttachmentFactory(Base):
    class Meta:
        model = RequestAttachment

    request_id = factory.LazyAttribute(lambda o: o.request.id)
    filename = "meter.jpg"
    content_type = "image/jpeg"
    size_bytes = 1024
    storage_key = factory.Sequence(lambda n: f"requests/{n}/meter.jpg")
    uploaded_by_kind = "customer"
    uploaded_at = NOW

    class Params:
        request = factory.SubFactory(ServiceRequestFactory)


@dataclass
class TenantData:
    """What `populate_tenant` made, by public reference."""

    tenant_id: int
    slug: str
    account_number: str
    customer_email: str
    staff_emails: dict[str, str]
    delivery_point_identifier: str
    bill_number: str
    request_reference: str


def make_live(tenant) -> None:
    """Open the tenant's portal (as if its administrator had gone live), unless it is live already."""
    from tenants.context import platform_scope
    from tenants.models import Tenant

    with platform_scope("tests: a live tenant"):
        row = db.session.get(Tenant, tenant.id)
        if row.live_at is None:
            row.live_at = NOW
            db.session.commit()
        tenant.live_at = row.live_at


# What the go-live checklist asks of a utility's settings (tenants/go_live.py), besides offers, staff and customers.
READY_SETTINGS = dict(
    legal_name="Fresh Energy SA", company_registration="RCS Paris 552 081 317",
    postal_address="1 rue de la Paix, 75002 Paris", support_phone="+33 1 23 45 67 89",
    ombudsman="Médiateur national de l'énergie",
    emergency_phones={"electricity": "+33 9 72 67 50 75", "gas": "+33 8 00 47 33 33"},
    payment_methods=["transfer"], iban="FR7630006000011234567890189", mail_tested_at=NOW,
)


def make_ready_for_go_live(tenant_id: int, locale: str = "en") -> None:
    """Give a utility (electricity and gas) every setting the checklist asks for and its own privacy and legal
    notices in `locale`, as its administrator would from the administration pages."""
    from domain.brand.models import PortalPage
    from tenants.context import platform_scope, tenant_scope
    from tenants.models import Tenant

    with platform_scope("tests: a utility ready to go live"):
        row = db.session.get(Tenant, tenant_id)
        for key, value in READY_SETTINGS.items():
            setattr(row, key, value)
        db.session.commit()
    with tenant_scope(tenant_id):
        for page in ("privacy", "legal-notice"):
            db.session.add(PortalPage(page=page, locale=locale, body=f"Our {page}.", updated_at=NOW,
                                      updated_by="admin@fresh.test"))
        db.session.commit()


def populate_tenant(tenant, live: bool = True) -> TenantData:
    """One customer with an online access, an account, a contract, a meter, a bill; staff of every role."""
    if live:
        make_live(tenant)
    with tenant_scope(tenant.id):
        party = PartyFactory()
        ContactPointFactory(party=party, value=f"{tenant.slug}.customer@example.test")
        account = CustomerAccountFactory(holder=party)
        PartyRoleFactory(party=party, account=account)
        premise = PremiseFactory()
        dp = DeliveryPointFactory(premise=premise)
        meter = MeterFactory()
        register = RegisterFactory(meter=meter)
        MeterInstallationFactory(meter=meter, delivery_point=dp)
        version = TariffVersionFactory()
        UnitPriceFactory(version=version)
        contract = ContractFactory(account=account, delivery_point=dp, offer_id=version.offer_id)
        MeterReadingFactory(register=register, read_on=date(2024, 1, 1), value=Decimal("1000.000"), source="agent")
        MeterReadingFactory(register=register)
        bill = BillFactory(account=account)
        BillLineFactory(bill=bill)
        LedgerEntryFactory(account=account, bill_id=bill.id)
        payment = PaymentFactory(account=account)
        PaymentAllocationFactory(payment=payment, bill=bill)
        request = ServiceRequestFactory(account=account)
        RequestMessageFactory(request=request)
        RequestAttachmentFactory(request=request)
        PaymentEventFactory(payment=payment)
        DirectDebitMandateFactory(account=account)
        DownPaymentInstalmentFactory(plan=DownPaymentPlanFactory(contract=contract))
        EmailVerificationFactory(party=party)
        TaskFactory()
        user = CustomerUserFactory(party=party, email=f"customer@{tenant.slug}.test")
        CustomerAccessFactory(user=user, account=account)
        staff = {}
        for role in ("agent", "billing", "collections", "supervisor"):
            member = StaffUserFactory(email=f"{role}@{tenant.slug}.test", full_name=role.title())
            StaffRoleGrantFactory(user=member, role=role)
            staff[role] = member.email
        staff["tenant_admin"] = f"admin@{tenant.slug}.test"
        db.session.commit()
        return TenantData(
            tenant_id=tenant.id, slug=tenant.slug, account_number=account.account_number,
            customer_email=user.email, staff_emails=staff, delivery_point_identifier=dp.identifier,
            bill_number=bill.number, request_reference=request.reference,
        )


def make_webhook_subscription(*, url: str = "https://hooks.example.test/in", event_types=("bill.issued",),
                              secret: str = "whsec_test", status: str = "active"):
    """A webhook subscription in the current tenant, written as the service would (secret sealed), flushed."""
    from domain.webhooks.models import WebhookSubscription

    subscription = WebhookSubscription(url=url, event_types=list(event_types), secret_sealed=seal(secret),
                                       status=status, created_at=NOW, updated_at=NOW)
    db.session.add(subscription)
    db.session.flush()
    return subscription
