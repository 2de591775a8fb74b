"""Budget billing from the customer file: propose a plan for a contract, create it, cancel an active one.

The same service as the portal (`domain.billing.down_payments`); staff see its refusals in their own words.
"""
from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField

from app.auth import staff_permission
from app.i18n import _date as format_day
from app.i18n import ACTIVITY_NAMES, money, tenant_today
from app.messages import queue_message
from app.confirmation import confirmed
from app.plan_wording import INSTALMENT_NAMES, PLAN_FREQUENCY_NAMES, count_refusal, plan_choices
from backoffice.views import PlanCancelForm, bp, customer_page
from domain.billing import down_payments as plans
from domain.contracts import services as accounts
from domain.db import utcnow

log = logging.getLogger("backoffice.budget")

STAFF_PLAN_REFUSALS = {
    "already_active": _l("This contract is already on budget billing."),
    "contract_not_live": _l("Budget billing is only for a contract in supply today."),
    "contract_ending": _l("This contract ends before a budget-billing year would be over."),
    "billed_ahead": _l("This contract is already billed beyond today: set up budget billing after its next bill."),
    "not_billed_yet": _l("A billing period of this contract is due and not billed yet: bill it first."),
    "no_tariff": _l("No tariff of this contract's offer is in force today."),
    "estimate": _l("This contract's consumption cannot be estimated (no reading history and no annual estimate)."),
    "nothing_to_spread": _l("The estimated amount is too small for monthly instalments."),
    "count": _l("Choose 10, 11 or 12 instalments."),
    "state": _l("This budget plan is no longer active."),
    "engine": _l("The consumption so far cannot be settled automatically: the plan is not cancelled."),
}


class ConfirmPlanForm(FlaskForm):
    contract = HiddenField()
    instalments = HiddenField()
    shown = HiddenField()  # the schedule staff saw: confirming never creates another one


def _fingerprint(proposal) -> str:
    return (f"{proposal.instalments[0].due_date.isoformat()}|{proposal.estimated_amount}|{proposal.count}"
            + ("" if proposal.frequency == "monthly" else f"|{proposal.frequency}"))


def _refusal(code: str) -> str:
    return count_refusal(g.tenant) if code == "count" else str(STAFF_PLAN_REFUSALS[code])


def _offered(code: str | None) -> tuple[str, int] | None:
    """(frequency, count) of a plan the utility offers, or None."""
    if code not in {choice for choice, _label in plan_choices(g.tenant)}:
        return None
    return plans.parse_plan_option(code)


@bp.context_processor
def _plan_words():
    return {"plan_choices": plan_choices, "plan_frequency": plans.plan_frequency,
            "plan_frequency_names": PLAN_FREQUENCY_NAMES, "instalment_names": INSTALMENT_NAMES}


def _account_or_404(account_number: str):
    found = accounts.account_by_number(account_number=account_number)
    if found is None:
        abort(404)
    return found


def _contract_or_404(account, number: str | None):
    contract = next((c for c in account.contracts if c.contract_number == number), None)
    if contract is None:
        abort(404)
    return contract


def _mail_customer(account, kind: str, subject, **context) -> bool:
    """The account holder's e-mail, in the account's language, after the commit; False if there is no address."""
    email = account.holder.primary("email") if account.holder else None
    if email is None or not email.value:
        log.info("budget plan mail not sent tenant=%s account=%s: no e-mail", g.tenant.id, account.account_number)
        return False
    queue_message(kind=kind, to=email.value, subject=subject, locale=account.locale, account=account, **context)
    return True


def _activity(contract):
    """Lazy, so the mail renders it in the customer's language rather than the staff member's."""
    return ACTIVITY_NAMES.get(contract.delivery_point.activity, contract.delivery_point.activity)


def _unit(contract) -> str:
    unit = plans.consumption_unit(contract.delivery_point.activity)
    return {"m3": "m³"}.get(unit, unit)


def _page(account, contract, *, count: str | None, proposal=None, error=None, status=200):
    confirm = None
    if proposal is not None:
        confirm = ConfirmPlanForm(formdata=None, contract=contract.contract_number,
                                  instalments=plans.plan_option_code(proposal.frequency, proposal.count),
                                  shown=_fingerprint(proposal))
    return render_template("backoffice/budget.html", account=account, contract=contract, proposal=proposal,
                           confirm=confirm, error=error, count=count, counts=plan_choices(g.tenant),
                           unit=plans.consumption_unit(contract.delivery_point.activity)), status


@bp.get("/customers/<account_number>/budget")
@staff_permission("customers.view", "billing.run")
def customer_budget(account_number: str):
    account = _account_or_404(account_number)
    contract = _contract_or_404(account, request.args.get("contract"))
    count = request.args.get("instalments", "")
    option = _offered(count)
    if option is None:
        return _page(account, contract, count=None, error=_refusal("count"), status=422)
    try:
        proposal = plans.propose_plan(contract=contract, count=option[1], frequency=option[0], as_of=tenant_today())
    except plans.PlanRefused as exc:
        return _page(account, contract, count=count, error=_refusal(exc.code), status=422)
    return _page(account, contract, count=count, proposal=proposal)


@bp.post("/customers/<account_number>/budget")
@staff_permission("customers.view", "billing.run")
def customer_budget_create(account_number: str):
    account = _account_or_404(account_number)
    form = ConfirmPlanForm()
    if not form.validate_on_submit():
        abort(400)
    contract = _contract_or_404(account, form.contract.data)
    count = form.instalments.data
    option = _offered(count)
    if option is None:
        return _page(account, contract, count=None, error=_refusal("count"), status=422)
    (frequency, number), today = option, tenant_today()
    try:
        proposal = plans.propose_plan(contract=contract, count=number, frequency=frequency, as_of=today)
        if _fingerprint(proposal) != form.shown.data:
            return _page(account, contract, count=count, proposal=proposal, status=409,
                         error=_("The schedule has changed since it was shown: check it again before creating it."))
        plan = plans.create_plan(contract=contract, count=number, frequency=frequency, as_of=today, now=utcnow(),
                                 created_by="staff")
    except plans.PlanRefused as exc:
        return _page(account, contract, count=count, error=_refusal(exc.code), status=422)
    log.info("budget plan created by staff tenant=%s account=%s contract=%s plan=%s staff=%s", g.tenant.id,
             account.account_number, contract.contract_number, plan.public_id, current_user.user.id)
    _mail_customer(account, "budget_plan_confirmation", _l("Your budget billing schedule"), plan=plan,
                   contract=contract, unit=_unit(contract), activity=_activity(contract))
    flash(_("Budget billing is set up for contract %(contract)s: %(count)s instalments of %(amount)s from %(date)s.",
            contract=contract.contract_number, count=plan.instalment_count,
            amount=money(plan.instalment_amount, plan.currency),
            date=format_day(min(i.due_on for i in plan.instalments))), "success")
    return redirect(url_for("backoffice.customer", account_number=account.account_number) + "#budget")


@bp.post("/customers/<account_number>/budget/<public_id>/cancel")
@staff_permission("customers.view", "billing.run")
def customer_budget_cancel(account_number: str, public_id: str):
    account = _account_or_404(account_number)
    plan = plans.plan_by_public_id(public_id=public_id)
    if plan is None or plan.account_id != account.id:
        abort(404)
    form = PlanCancelForm()
    if not confirmed(form):  # not confirmed: the plan goes on, no settlement bill
        return customer_page(account, refused_form=form, refused=f"plan:{public_id}", status=422)
    back = redirect(url_for("backoffice.customer", account_number=account.account_number) + "#budget")
    today = tenant_today()
    try:
        settlement = plans.cancel_plan(plan=plan, on=today, now=utcnow())
    except plans.PlanRefused as exc:
        flash(str(STAFF_PLAN_REFUSALS.get(exc.code, STAFF_PLAN_REFUSALS["state"])), "error")
        return back
    log.info("budget plan cancelled by staff tenant=%s plan=%s settlement=%s staff=%s", g.tenant.id, public_id,
             settlement.number if settlement else None, current_user.user.id)
    contract = next((c for c in account.contracts if c.id == plan.contract_id), None)
    if contract is not None:
        _mail_customer(account, "budget_plan_cancelled", _l("Your budget billing has ended"), plan=plan,
                       contract=contract, activity=_activity(contract), settlement=settlement, ended_on=today)
    if settlement is None:
        flash(_("The budget plan is cancelled. No instalment was billed, so no settlement bill is needed: periodic "
                "bills resume from %(date)s.", date=format_day(plan.start_on)), "success")
    else:
        flash(_("The budget plan is cancelled. Settlement bill %(number)s (%(amount)s) settles the consumption "
                "so far against the instalments billed.", number=settlement.number,
                amount=money(settlement.total_incl_tax, settlement.currency)), "success")
    return back
