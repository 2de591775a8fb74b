"""What a billing run made, contract by contract, for staff to check before issuing: its bills (drafts of a
simulation) with their totals, and the exceptions of the contracts it could not bill or billed with a problem.

One row per bill of the run, and one per contract with exceptions but no bill; narrowed to the contracts with
exceptions, or to a customer or contract number; paged in the database (a run has up to a million contracts)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, null, or_, select, union_all
from sqlalchemy.orm import selectinload

from domain.billing.models import Bill
from domain.billing.run_models import BillingException, BillingRun
from domain.contracts.models import Contract, CustomerAccount
from domain.db import db
from domain.paging import Page, page_of
from tenants.context import require_tenant_id
from tenants.guard import TENANT_FILTERED

FILTERS = ("all", "exceptions")


@dataclass(frozen=True)
class RunRow:
    contract: Contract | None
    account: CustomerAccount
    bill: Bill | None
    exceptions: tuple[BillingException, ...]


def _rows_statement(run: BillingRun, *, exceptions_only: bool, number: str | None):
    tenant_id = require_tenant_id()
    bills = select(Bill.contract_id.label("contract_id"), Bill.account_id.label("account_id"),
                   Bill.id.label("bill_id")).where(Bill.tenant_id == tenant_id, Bill.billing_run_id == run.id)
    billed = select(Bill.contract_id).where(Bill.tenant_id == tenant_id, Bill.billing_run_id == run.id,
                                            Bill.contract_id.is_not(None))
    unbilled = (select(BillingException.contract_id.label("contract_id"), Contract.account_id.label("account_id"),
                       null().label("bill_id"))
                .join(Contract, and_(Contract.tenant_id == BillingException.tenant_id,
                                     Contract.id == BillingException.contract_id))
                .where(BillingException.tenant_id == tenant_id, BillingException.run_id == run.id,
                       BillingException.contract_id.not_in(billed))
                .group_by(BillingException.contract_id, Contract.account_id))
    rows = union_all(bills, unbilled).subquery()
    statement = select(rows.c.contract_id, rows.c.account_id, rows.c.bill_id)
    if exceptions_only:
        statement = statement.where(rows.c.contract_id.in_(
            select(BillingException.contract_id).where(BillingException.tenant_id == tenant_id,
                                                       BillingException.run_id == run.id)))
    if number:
        accounts = select(CustomerAccount.id).where(CustomerAccount.tenant_id == tenant_id,
                                                    CustomerAccount.account_number == number)
        contracts = select(Contract.id).where(Contract.tenant_id == tenant_id, Contract.contract_number == number)
        statement = statement.where(or_(rows.c.account_id.in_(accounts), rows.c.contract_id.in_(contracts)))
    return statement


def run_rows(run: BillingRun, *, exceptions_only: bool = False, number: str | None = None,
             requested_page: str | None = None, size: int | None = 50) -> tuple[Page, list[RunRow]]:
    """One page of the run's rows in contract order (`size` None: all of them, for an export)."""
    statement = _rows_statement(run, exceptions_only=exceptions_only, number=(number or "").strip() or None)
    options = {TENANT_FILTERED: True}
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())
                              .execution_options(**options)) or 0
    page = page_of(requested=requested_page, total=total, size=size or max(total, 1))
    found = db.session.execute(statement.order_by(statement.selected_columns.contract_id,
                                                  statement.selected_columns.bill_id)
                               .offset(page.offset).limit(page.size).execution_options(**options)).all()
    return page, _loaded(run, found)


def _loaded(run: BillingRun, found) -> list[RunRow]:
    contract_ids = {c for c, _a, _b in found if c is not None}
    account_ids = {a for _c, a, _b in found}
    bill_ids = {b for _c, _a, b in found if b is not None}
    contracts = {c.id: c for c in db.session.scalars(select(Contract).where(Contract.id.in_(contract_ids)))
                 } if contract_ids else {}
    accounts = {a.id: a for a in db.session.scalars(select(CustomerAccount).where(CustomerAccount.id.in_(account_ids))
                                                     .options(selectinload(CustomerAccount.holder)))
                } if account_ids else {}
    bills = {b.id: b for b in db.session.scalars(select(Bill).where(Bill.id.in_(bill_ids)))} if bill_ids else {}
    exceptions: dict[int, list[BillingException]] = {}
    if contract_ids:
        for exception in db.session.scalars(select(BillingException).where(
                BillingException.run_id == run.id, BillingException.contract_id.in_(contract_ids))
                .order_by(BillingException.id)):
            exceptions.setdefault(exception.contract_id, []).append(exception)
    return [RunRow(contracts.get(c), accounts[a], bills.get(b) if b is not None else None,
                   tuple(exceptions.get(c, ()))) for c, a, b in found]


def draft_of_run(run: BillingRun, public_id: str) -> Bill | None:
    """A draft bill the run made, by its public id (None when it is not a draft of this run)."""
    return db.session.scalar(select(Bill).where(Bill.billing_run_id == run.id, Bill.public_id == public_id,
                                                Bill.status == "draft")
                             .options(selectinload(Bill.lines), selectinload(Bill.account)))
