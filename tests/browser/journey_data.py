"""The customer of the end-to-end journey, built with the factories: a holder with a postal address (the postcode
proves who they are at activation), one electricity contract with a meter read twice by the utility, an older bill
already paid and the latest bill still due. Dates follow today in the tenant's time zone, so the reading window,
the expected consumption and the due date hold whenever the suite runs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.db import db
from tenants.context import tenant_scope
from tests.factories import (
    BillFactory,
    BillLineFactory,
    ContactPointFactory,
    ContractFactory,
    CustomerAccountFactory,
    DeliveryPointFactory,
    LedgerEntryFactory,
    MeterFactory,
    MeterInstallationFactory,
    MeterReadingFactory,
    PartyFactory,
    PartyRoleFactory,
    PaymentAllocationFactory,
    PaymentFactory,
    PremiseFactory,
    RegisterFactory,
    TariffVersionFactory,
    UnitPriceFactory,
)

ANNUAL_KWH = Decimal("3650.000")  # 10 kWh a day: the expected consumption is easy to reason about


@dataclass(frozen=True)
class JourneyCustomer:
    tenant_id: int
    slug: str
    holder_name: str
    account_number: str
    postcode_as_typed: str  # the postcode as a customer types it from the bill's address block
    email: str  # the address the customer activates with; nobody signs in with it yet
    meter_serial: str
    delivery_point: str
    previous_reading: Decimal
    plausible_reading: Decimal  # about what 10 kWh a day since the previous reading gives
    paid_bill_number: str
    latest_bill_number: str
    latest_bill_total: Decimal


def _at_noon(day, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(12, 0), zone).astimezone(UTC)


def build_journey_customer(tenant) -> JourneyCustomer:
    """Commit the journey's customer in `tenant`; returns what the browser needs to know, by public reference."""
    zone = ZoneInfo(tenant.timezone)
    today = datetime.now(zone).date()
    with tenant_scope(tenant.id):
        holder = PartyFactory(first_name="Alice", last_name="Martin")
        ContactPointFactory(party=holder, kind="postal", value=None, address_line1="12 rue des Lilas",
                            postcode="69003", city="Lyon", country="FR")
        # The address on file: with the postcode, the activation link goes there and nowhere else.
        ContactPointFactory(party=holder, kind="email", value="alice.martin@example.test", is_primary=True)
        account = CustomerAccountFactory(holder=holder, opened_on=today - timedelta(days=800))
        PartyRoleFactory(party=holder, account=account, start_date=account.opened_on)

        premise = PremiseFactory(address_line1="12 rue des Lilas", postcode="69003", city="Lyon")
        point = DeliveryPointFactory(premise=premise)
        meter = MeterFactory(digits=6)
        register = RegisterFactory(meter=meter)
        MeterInstallationFactory(meter=meter, delivery_point=point, installed_on=account.opened_on)
        version = TariffVersionFactory(effective_from=account.opened_on)
        UnitPriceFactory(version=version)
        ContractFactory(account=account, delivery_point=point, offer_id=version.offer_id,
                        start_date=account.opened_on, estimated_annual_consumption=ANNUAL_KWH)

        # Two readings by the meter reader, a year apart at 10 kWh a day; the last one 40 days ago.
        last_read_on = today - timedelta(days=40)
        previous = Decimal("24310.000")
        MeterReadingFactory(register=register, read_on=last_read_on - timedelta(days=365),
                            value=previous - Decimal("3650"), source="agent",
                            received_at=_at_noon(last_read_on - timedelta(days=365), zone))
        MeterReadingFactory(register=register, read_on=last_read_on, value=previous, source="agent",
                            received_at=_at_noon(last_read_on, zone))

        paid = _bill(account, zone, issued_on=today - timedelta(days=70), period_end=today - timedelta(days=75),
                     energy_kwh=Decimal("300.000"))
        payment = PaymentFactory(account=account, amount=paid.total_incl_tax, provider="sandbox",
                                 created_at=_at_noon(today - timedelta(days=60), zone),
                                 received_at=_at_noon(today - timedelta(days=60), zone))
        PaymentAllocationFactory(payment=payment, bill=paid, amount=paid.total_incl_tax)
        LedgerEntryFactory(account=account, booked_on=today - timedelta(days=60), direction="credit",
                           amount=paid.total_incl_tax, description="Card payment", payment_id=payment.id,
                           created_at=payment.received_at)

        latest = _bill(account, zone, issued_on=today - timedelta(days=5), period_end=today - timedelta(days=10),
                       energy_kwh=Decimal("288.000"))
        db.session.commit()
        return JourneyCustomer(
            tenant_id=tenant.id, slug=tenant.slug, holder_name="Alice Martin",
            account_number=account.account_number, postcode_as_typed="69 003",
            email="alice.martin@example.test", meter_serial=meter.serial_number,
            delivery_point=point.identifier, previous_reading=previous,
            plausible_reading=previous + Decimal((today - last_read_on).days * 10),
            paid_bill_number=paid.number, latest_bill_number=latest.number,
            latest_bill_total=latest.total_incl_tax,
        )


def _bill(account, zone: ZoneInfo, *, issued_on, period_end, energy_kwh: Decimal):
    """An issued monthly bill with an energy line and a standing charge, totals consistent with its lines,
    debited to the account's ledger."""
    period_start = period_end - timedelta(days=30)
    energy = (energy_kwh * Decimal("0.250000")).quantize(Decimal("0.01"))
    standing = (Decimal("30") * Decimal("0.45000")).quantize(Decimal("0.01"))
    tax = (energy * Decimal("0.20")).quantize(Decimal("0.01")) + (standing * Decimal("0.055")).quantize(
        Decimal("0.01"))
    bill = BillFactory(account=account, period_start=period_start, period_end=period_end,
                       issued_at=_at_noon(issued_on, zone), due_date=issued_on + timedelta(days=15),
                       total_excl_tax=energy + standing, total_tax=tax, total_incl_tax=energy + standing + tax)
    BillLineFactory(bill=bill, position=1, component="energy", description="energy", quantity=energy_kwh,
                    unit="kWh", unit_price=Decimal("0.250000"), amount=energy, tax_rate=Decimal("0.20"),
                    period_start=period_start, period_end=period_end)
    BillLineFactory(bill=bill, position=2, component="standing_charge", description="standing_charge",
                    quantity=Decimal("30.000"), unit="day", unit_price=Decimal("0.450000"), amount=standing,
                    tax_rate=Decimal("0.055"), period_start=period_start, period_end=period_end)
    LedgerEntryFactory(account=account, booked_on=issued_on, direction="debit", amount=bill.total_incl_tax,
                       description=f"Bill {bill.number}", bill_id=bill.id, created_at=bill.issued_at)
    return bill
