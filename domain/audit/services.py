"""Reading the audit trail."""
from __future__ import annotations

from sqlalchemy import and_, or_, select

from domain.audit.models import AuditEvent
from domain.db import db


def history_of(*, entity_type: str, entity_id: int, limit: int = 50) -> list[AuditEvent]:
    return list(db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ))


def history_of_account(*, account, limit: int = 200) -> list[AuditEvent]:
    """Changes to an account, its holder and its contracts, and what the customers with an online access to it
    changed of their own details in the portal, newest first."""
    from domain.identity.models import CustomerAccess, CustomerUser

    parties = {account.holder_party_id} | set(db.session.scalars(
        select(CustomerUser.party_id).join(CustomerAccess, CustomerAccess.customer_user_id == CustomerUser.id)
        .where(CustomerAccess.account_id == account.id)))
    subjects = [("CustomerAccount", account.id)] + [("Party", party_id) for party_id in sorted(parties)]
    subjects += [("Contract", c.id) for c in account.contracts]
    subjects += _entered_subjects(account, parties)
    subjects += _mandate_subjects(account)
    condition = or_(*(and_(AuditEvent.entity_type == t, AuditEvent.entity_id == i) for t, i in subjects),
                    _readings_given_online(account))
    # A customer's own changes of contact points are in the history once, as the portal's summary on the party
    # ("portal_update"); the rows it wrote are shown for staff changes only.
    condition = and_(condition, or_(AuditEvent.entity_type != "ContactPoint", AuditEvent.actor_kind != "customer"))
    return list(db.session.scalars(
        select(AuditEvent).where(condition).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(limit)
    ))


def _mandate_subjects(account) -> list[tuple[str, int]]:
    """The account's direct-debit mandates: signed and ended by the customer in the portal, or by staff."""
    from domain.payments.models import DirectDebitMandate

    return [("DirectDebitMandate", i) for i in db.session.scalars(
        select(DirectDebitMandate.id).where(DirectDebitMandate.account_id == account.id))]


def _readings_given_online(account):
    """The readings the account's customers gave in the portal (their insert, with the customer as the actor), on
    the meters of the account's points of delivery; staff-entered readings are the "reading_entered" events."""
    from domain.identity.models import CustomerAccess
    from domain.readings.models import MeterReading
    from domain.sites.models import MeterInstallation, Register

    point_ids = sorted({c.delivery_point_id for c in account.contracts})
    users = select(CustomerAccess.customer_user_id).where(CustomerAccess.account_id == account.id)
    registers = select(Register.id).join(MeterInstallation, MeterInstallation.meter_id == Register.meter_id).where(
        MeterInstallation.delivery_point_id.in_(point_ids))
    readings = select(MeterReading.id).where(MeterReading.submitted_by_user_id.in_(users),
                                             MeterReading.register_id.in_(registers))
    return and_(AuditEvent.entity_type == "MeterReading", AuditEvent.actor_kind == "customer",
                AuditEvent.entity_id.in_(readings))


def _entered_subjects(account, party_ids: set[int]) -> list[tuple[str, int]]:
    """What staff enter about a customer besides the account, holder and contracts (domain.entry): the holder's
    contact points, and the points of delivery of its contracts with their premises, meters and installations."""
    from domain.parties.models import ContactPoint
    from domain.sites.models import MeterInstallation

    subjects = [("ContactPoint", point_id) for point_id in db.session.scalars(
        select(ContactPoint.id).where(ContactPoint.party_id.in_(sorted(party_ids))))]
    point_ids = sorted({c.delivery_point_id for c in account.contracts})
    premise_ids = sorted({c.delivery_point.premise_id for c in account.contracts})
    subjects += [("DeliveryPoint", i) for i in point_ids] + [("Premise", i) for i in premise_ids]
    if point_ids:
        for installation_id, meter_id in db.session.execute(
                select(MeterInstallation.id, MeterInstallation.meter_id)
                .where(MeterInstallation.delivery_point_id.in_(point_ids))):
            subjects += [("MeterInstallation", installation_id), ("Meter", meter_id)]
    return subjects
