"""Who a campaign reaches: one statement per question (how many, a sample, the recipients to record).

Every statement filters `tenant_id` itself on every table (and row-level security backs it on PostgreSQL), so a
campaign of one utility never reaches another's customers. A recipient is a customer account:
- a marketing campaign reaches the accounts with an online access that consented to marketing e-mail (its address),
  never one that unsubscribed in one click;
- service information (a regulated price change) reaches every account concerned: the address of its online access,
  else the holder's e-mail contact point; one with no address at all is recorded as skipped.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, exists, func, literal, select

from domain.accounting.models import Payment, PaymentAllocation
from domain.billing.models import Bill
from domain.campaigns.criteria import Criteria
from domain.campaigns.models import MarketingOptOut
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.identity.models import CustomerAccess, CustomerUser
from domain.offers.models import Offer
from domain.parties.models import ContactPoint, Party
from domain.sites.models import DeliveryPoint, Premise
from tenants.guard import TENANT_FILTERED

SAMPLE_SIZE = 10


@dataclass(frozen=True)
class SegmentCount:
    reachable: int  # accounts a message will go to
    without_email: int  # accounts concerned that have no address (service information only; recorded as skipped)


def _user_email(tenant_id: int, account, *, consenting: bool):
    user, access = CustomerUser.__table__.c, CustomerAccess.__table__.c
    condition = [access.tenant_id == tenant_id, access.account_id == account.id, user.tenant_id == tenant_id,
                 user.id == access.customer_user_id, user.is_active.is_(True)]
    if consenting:
        condition.append(user.marketing_consent.is_(True))
    return (select(user.email).select_from(CustomerUser.__table__.join(
        CustomerAccess.__table__, and_(user.tenant_id == access.tenant_id, user.id == access.customer_user_id)))
        .where(*condition).order_by(user.id).limit(1).scalar_subquery())


def _user_locale(tenant_id: int, account):
    user, access = CustomerUser.__table__.c, CustomerAccess.__table__.c
    return (select(user.locale).select_from(CustomerUser.__table__.join(
        CustomerAccess.__table__, and_(user.tenant_id == access.tenant_id, user.id == access.customer_user_id)))
        .where(access.tenant_id == tenant_id, access.account_id == account.id, user.locale.isnot(None))
        .order_by(user.id).limit(1).scalar_subquery())


def _contact_email(tenant_id: int, account):
    point = ContactPoint.__table__.c
    return (select(point.value).where(point.tenant_id == tenant_id, point.party_id == account.holder_party_id,
                                      point.kind == "email", point.value.isnot(None))
            .order_by(point.is_primary.desc(), point.id).limit(1).scalar_subquery())


def _consented(tenant_id: int, account):
    user, access = CustomerUser.__table__.c, CustomerAccess.__table__.c
    return exists().where(access.tenant_id == tenant_id, access.account_id == account.id,
                          user.tenant_id == tenant_id, user.id == access.customer_user_id,
                          user.is_active.is_(True), user.marketing_consent.is_(True))


def _opted_out(tenant_id: int, account):
    out = MarketingOptOut.__table__.c
    return exists().where(out.tenant_id == tenant_id, out.account_id == account.id)


def _overdue(tenant_id: int, account, today: date):
    bill, alloc, payment = Bill.__table__.c, PaymentAllocation.__table__.c, Payment.__table__.c
    paid = (select(func.coalesce(func.sum(alloc.amount), 0))
            .select_from(PaymentAllocation.__table__.join(
                Payment.__table__, and_(payment.tenant_id == alloc.tenant_id, payment.id == alloc.payment_id)))
            .where(alloc.tenant_id == tenant_id, alloc.bill_id == bill.id, payment.status == "succeeded")
            .scalar_subquery())
    return exists().where(bill.tenant_id == tenant_id, bill.account_id == account.id, bill.status == "issued",
                          bill.kind != "credit_note", bill.total_incl_tax > 0, bill.due_date < today,
                          bill.total_incl_tax > paid)


def _contract_condition(tenant_id: int, account, criteria: Criteria):
    """One active contract of the account matches every contract criterion (a gas contract in that town)."""
    if not (criteria.activity or criteria.offer or criteria.postcode or criteria.town):
        return None
    contract, point, premise, offer = (Contract.__table__.c, DeliveryPoint.__table__.c, Premise.__table__.c,
                                       Offer.__table__.c)
    conditions = [contract.tenant_id == tenant_id, contract.account_id == account.id, contract.status == "active",
                  point.tenant_id == tenant_id, point.id == contract.delivery_point_id]
    if criteria.activity:
        conditions.append(point.activity == criteria.activity)
    if criteria.postcode or criteria.town:
        conditions += [premise.tenant_id == tenant_id, premise.id == point.premise_id]
        if criteria.postcode:
            conditions.append(func.replace(premise.postcode, " ", "").like(criteria.postcode.replace(" ", "") + "%"))
        if criteria.town:
            conditions.append(func.lower(premise.city) == criteria.town.lower())
    if criteria.offer:
        conditions += [offer.tenant_id == tenant_id, offer.id == contract.offer_id, offer.code == criteria.offer]
    return exists().where(*conditions)


def segment_select(*, tenant_id: int, purpose: str, criteria: Criteria, default_locale: str, today: date):
    """SELECT account_id, account_number, email, name, locale of every account the campaign concerns (email None:
    no address), in account order."""
    account = CustomerAccount.__table__.c
    party = Party.__table__.c
    marketing = purpose == "marketing"
    email = (_user_email(tenant_id, account, consenting=True) if marketing else
             func.coalesce(_user_email(tenant_id, account, consenting=False), _contact_email(tenant_id, account)))
    locale = func.coalesce(_user_locale(tenant_id, account), account.locale, literal(default_locale))
    full_name = func.coalesce(party.first_name, "") + literal(" ") + func.coalesce(party.last_name, "")
    name = case((party.kind == "organisation", func.coalesce(party.organisation_name, "")), else_=func.trim(full_name))
    conditions = [account.tenant_id == tenant_id, account.status == "active"]
    if marketing or criteria.consent == "yes":
        conditions.append(_consented(tenant_id, account))
    elif criteria.consent == "no":
        conditions.append(~_consented(tenant_id, account))
    if marketing:
        conditions.append(~_opted_out(tenant_id, account))
    contract_condition = _contract_condition(tenant_id, account, criteria)
    if contract_condition is not None:
        conditions.append(contract_condition)
    if criteria.payment_method:
        conditions.append(account.payment_method == criteria.payment_method)
    if criteria.paperless:
        conditions.append(account.paperless.is_(criteria.paperless == "yes"))
    if criteria.overdue == "yes":
        conditions.append(_overdue(tenant_id, account, today))
    elif criteria.overdue == "no":
        conditions.append(~_overdue(tenant_id, account, today))
    if criteria.language:
        conditions.append(locale == criteria.language)
    return (select(account.id.label("account_id"), account.account_number.label("account_number"),
                   email.label("email"), name.label("name"), locale.label("locale"))
            .select_from(CustomerAccount.__table__.join(
                Party.__table__, and_(party.tenant_id == account.tenant_id, party.id == account.holder_party_id)))
            .where(*conditions).order_by(account.id))


def _run(statement):
    return db.session.execute(statement.execution_options(**{TENANT_FILTERED: True}))


def count(*, tenant_id: int, purpose: str, criteria: Criteria, default_locale: str, today: date) -> SegmentCount:
    inner = segment_select(tenant_id=tenant_id, purpose=purpose, criteria=criteria, default_locale=default_locale,
                           today=today).order_by(None).subquery()
    row = _run(select(func.count(), func.count(inner.c.email))).one()
    total, with_email = row[0], row[1]
    return SegmentCount(reachable=with_email, without_email=total - with_email)


def sample(*, tenant_id: int, purpose: str, criteria: Criteria, default_locale: str, today: date,
           size: int = SAMPLE_SIZE) -> list:
    """The first reachable accounts of the segment: (account_id, account_number, email, name, locale) rows."""
    inner = segment_select(tenant_id=tenant_id, purpose=purpose, criteria=criteria, default_locale=default_locale,
                           today=today).subquery()
    return list(_run(select(inner).where(inner.c.email.isnot(None)).order_by(inner.c.account_id).limit(size)))
