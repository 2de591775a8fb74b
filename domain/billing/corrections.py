"""Cancel and re-bill: a credit note for the original bill and a corrective bill at the prices of the time.

The corrective bill comes from the same engine and the same input loaders as a billing
run; the original keeps its number and is marked cancelled, the credit note and the
corrective bill get numbers of their own, and the ledger receives a credit and a debit.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from domain.billing.chunk import prior_charges_since
from domain.billing.chunk_inputs import (
    calorific_values,
    contract_for_period,
    contract_input,
    estimated_bills_by_contract,
    meters_by_delivery_point,
    readings_of_contract,
    tariffs_by_offer,
)
from domain.billing.drafts import draft_row
from domain.billing.engine import BillLine as EngineLine
from domain.billing.engine import compute_bill, credit_note_lines, prepare_tariff, regularisation_start
from domain.billing.issuing import issue_new
from domain.billing.models import Bill, BillLine
from domain.db import db
from tenants.models import Tenant


class CorrectionRefused(ValueError):
    """The bill cannot be corrected; `code` says why (nothing was changed)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class _Totals:
    """The negated totals of the original, shaped like an engine result for `draft_row`."""

    def __init__(self, bill: Bill):
        self.total_excl_tax = -bill.total_excl_tax
        self.total_tax = -bill.total_tax
        self.total_incl_tax = -bill.total_incl_tax
        self.estimated = False
        self.consumption = ()


def _engine_lines(bill_id: int) -> tuple[EngineLine, ...]:
    lines = db.session.scalars(select(BillLine).where(BillLine.bill_id == bill_id).order_by(BillLine.position))
    return tuple(EngineLine(
        component=line.component, description=line.description, period_start=line.period_start,
        period_end=line.period_end, quantity=line.quantity, unit=line.unit, unit_price=line.unit_price,
        amount=line.amount, tax_rate=line.tax_rate, unit_price_includes_tax=line.unit_price_includes_tax,
        amount_incl_tax=line.amount_incl_tax, register_code=line.register_code) for line in lines)


def cancel_and_rebill(*, number: str, issued_at: datetime, issue_date: date) -> tuple[Bill, Bill]:
    """Credit the bill `number` in full and re-bill its period; returns (credit note, corrective bill)."""
    original = db.session.scalar(select(Bill).where(Bill.number == number).with_for_update())
    if original is None:
        raise CorrectionRefused("not_found", f"no bill {number}")
    if original.status != "issued" or original.kind not in ("periodic", "final", "corrective"):
        raise CorrectionRefused("state", "only an issued consumption bill can be cancelled and re-billed")
    if original.contract_id is None:
        raise CorrectionRefused("state", "this bill has no contract to re-bill")
    tenant = db.session.get(Tenant, original.tenant_id)
    tenant_id = tenant.id
    kind = "final" if original.kind == "final" else "corrective"
    item = contract_for_period(tenant_id=tenant_id, contract_id=original.contract_id, kind=kind,
                               period_start=original.period_start, period_end=original.period_end)
    meters = meters_by_delivery_point(tenant_id, [item.delivery_point_id]).get(item.delivery_point_id, [])
    readings = readings_of_contract(tenant_id, meters, period_start=item.period_start, period_end=item.period_end)
    versions = tariffs_by_offer(tenant_id, [item.offer_id]).get(item.offer_id, ())
    # The calorific values are dated: a past period is converted with the values in force then.
    contract = contract_input(item, meters=meters, readings=readings,
                              tariffs=tuple(prepare_tariff(v) for v in versions),
                              gas_calorific_value=tenant.gas_calorific_value,
                              gas_calorific_values=calorific_values(tenant_id, item.calorific_zone)
                              if item.activity == "gas" else ())

    original.status = "cancelled"  # before looking for estimated bills: it is no longer one of them
    original.cancelled_at = issued_at
    db.session.flush()
    prior = ()
    estimated = estimated_bills_by_contract(tenant_id, [item.contract_id]).get(item.contract_id)
    if estimated:
        start = regularisation_start(contract=contract, period_start=item.period_start, period_end=item.period_end)
        if start is not None:
            prior = prior_charges_since(tenant_id, estimated, start)
    result = compute_bill(contract=contract, period_start=item.period_start, period_end=item.period_end,
                          kind=kind, prior_charges=prior, bill_date=issue_date,
                          back_billing_limit_months=tenant.back_billing_months,
                          back_billing_exempt_from=item.readings_prevented_from)
    if not result.ok:
        db.session.rollback()
        problems = "; ".join(p.message for p in result.problems)
        raise CorrectionRefused("engine", f"the bill cannot be recomputed: {problems}")

    credit = draft_row(tenant_id=tenant_id, account_id=original.account_id, contract_id=original.contract_id,
                       kind="credit_note", period_start=original.period_start, period_end=original.period_end,
                       currency=original.currency, result=_Totals(original), corrects_bill_id=original.id)
    corrective = draft_row(tenant_id=tenant_id, account_id=original.account_id, contract_id=original.contract_id,
                           kind="corrective", period_start=item.period_start, period_end=item.period_end,
                           currency=tenant.currency, result=result, corrects_bill_id=original.id)
    credit_lines = credit_note_lines(_engine_lines(original.id))
    credit_id, corrective_id = issue_new(
        tenant_id=tenant_id, drafts=[(credit, credit_lines), (corrective, result.lines)],
        issued_at=issued_at, issue_date=issue_date, payment_terms_days=tenant.payment_terms_days)
    db.session.expire_all()
    return db.session.get(Bill, credit_id), db.session.get(Bill, corrective_id)
