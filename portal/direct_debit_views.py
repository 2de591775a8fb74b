"""Direct debit: the customer gives an IBAN and accepts a SEPA mandate; budget billing with its schedule."""
from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from app.plan_wording import INSTALMENT_NAMES, count_refusal, plan_choices
from tenants.operation_settings import plan_options
from app.auth import customer_required
from app.confirmation import confirm_form, confirmed
from app.messages import queue_message
from domain.billing import down_payments as plans
from domain.contracts import services as accounts
from domain.db import utcnow
from domain.payments import mandates
from app.i18n import tenant_today
from portal.blueprint import bp

log = logging.getLogger("portal.direct_debit")

IBAN_MESSAGES = {
    "empty": _l("Enter your IBAN."),
    "characters": _l("An IBAN has only letters and digits, for example FR76 3000 6000 0112 3456 7890 189."),
    "country": _l("This IBAN's country does not take part in SEPA direct debit. Check the first two letters."),
    "length": _l("This IBAN does not have the right number of characters for its country."),
    "checksum": _l("This IBAN is not valid: check for a mistyped character."),
}
PLAN_REFUSALS = {
    "already_active": _l("This contract is already on budget billing."),
    "contract_not_live": _l("Budget billing is only available for a contract in supply."),
    "contract_ending": _l("This contract ends before a budget-billing year would be over."),
    "billed_ahead": _l("This contract is already billed beyond today: choose budget billing after your next bill."),
    "not_billed_yet": _l("Your latest bill is not issued yet: choose budget billing once you have received it."),
    "no_tariff": _l("No price is in force for this contract today. Please contact us."),
    "estimate": _l("We cannot estimate this contract's consumption yet. Please contact us."),
    "nothing_to_spread": _l("The estimated amount is too small for monthly instalments."),
    "count": _l("Choose 10, 11 or 12 instalments."),
    "state": _l("This budget plan is no longer active."),
    "engine": _l("Your consumption so far cannot be settled automatically. Please contact us."),
}


def _iban(form, field):
    try:
        field.data = mandates.normalise_iban(field.data)
    except mandates.InvalidIban as exc:
        raise ValidationError(str(IBAN_MESSAGES[exc.code])) from exc


class MandateForm(FlaskForm):
    holder_name = StringField(_l("Account holder's name"), validators=[
        DataRequired(_l("Enter the name of the bank account's holder.")),
        Length(max=140, message=_l("Use at most 140 characters.")),
    ])
    iban = StringField(_l("IBAN"), validators=[_iban])
    accept = BooleanField(_l("I accept the SEPA direct-debit mandate above."), validators=[
        DataRequired(_l("Tick the box to accept the mandate: without it, nothing is saved.")),
    ])


class PostForm(FlaskForm):
    """A button that changes something: CSRF only."""


class ProposalForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that only shows a proposal

    contract = SelectField(_l("Contract"), validate_choice=False)

    def validate_contract(self, field):
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(str(_l("Choose one of the contracts listed.")))
    # The plans the utility offers (tenants/operation_settings.py), set per request by `_plan_form`.
    instalments = RadioField(_l("Instalments"), choices=[], validate_choice=False)

    def validate_instalments(self, field):
        if field.data not in {choice[0] for choice in field.choices}:
            raise ValidationError(count_refusal(g.tenant))


def _plan_form(formdata=None) -> ProposalForm:
    form = ProposalForm(formdata) if formdata is not None else ProposalForm(formdata=None)
    form.instalments.choices = plan_choices(g.tenant)
    if formdata is None and form.instalments.choices:
        form.instalments.data = form.instalments.choices[0][0]
    return form


class ConfirmPlanForm(FlaskForm):
    contract = HiddenField()
    instalments = HiddenField()
    shown = HiddenField()  # the schedule the customer saw: confirming never accepts another one


def _fingerprint(proposal) -> str:
    return (f"{proposal.instalments[0].due_date.isoformat()}|{proposal.estimated_amount}|{proposal.count}"
            + ("" if proposal.frequency == "monthly" else f"|{proposal.frequency}"))


def _refusal(code: str) -> str:
    return count_refusal(g.tenant) if code == "count" else str(PLAN_REFUSALS[code])


def _account(account_number: str):
    found = accounts.account_of_customer(customer_user_id=current_user.user.id, account_number=account_number)
    if found is None:
        abort(404)
    return found


def _creditor() -> dict:
    tenant = g.tenant
    return {"name": mandates.creditor_name(tenant), "identifier": mandates.creditor_identifier(tenant),
            "address": tenant.postal_address}


def _mail(kind: str, subject, **context) -> None:
    user = current_user.user
    queue_message(kind=kind, to=user.email, subject=subject, locale=user.locale, customer_user=user, **context)


# --- direct debit ---------------------------------------------------------------------------------------------------

@bp.app_context_processor
def _direct_debit_offered():
    tenant = g.get("tenant")
    return {"direct_debit_offered": tenant is not None and mandates.offers_mandates(tenant)}


@bp.route("/accounts/<account_number>/direct-debit", methods=["GET", "POST"])
@customer_required
def direct_debit(account_number: str):
    account = _account(account_number)
    offered = mandates.offers_mandates(g.tenant)
    form = MandateForm()
    if request.method == "GET" and not form.holder_name.data:
        form.holder_name.data = account.holder.display_name
    if request.method == "POST" and not offered:
        # No mandate can be signed here: the page says so and how else to pay (an active one can still be ended).
        return render_template("portal/direct_debit/mandate.html", account=account, form=form,
                               mandate=mandates.active_mandate(account_id=account.id),
                               history=mandates.mandates_of(account_id=account.id), creditor=_creditor(),
                               revoke_form=RevokeForm(formdata=None), mask=mandates.mask_iban, offered=False), 409
    if form.validate_on_submit():
        mandate = mandates.sign_mandate(tenant=g.tenant, account=account, iban=form.iban.data,
                                        holder_name=form.holder_name.data, accepted=form.accept.data,
                                        signed_at=utcnow(), signed_by_user_id=current_user.user.id)
        _mail("mandate_confirmation", _l("Your direct-debit mandate %(reference)s", reference=mandate.reference),
              mandate=mandate, account=account, creditor=_creditor(), masked=mandates.mask_iban(mandate.iban))
        flash(_("Your direct-debit mandate %(reference)s is active. A copy has been sent to you by e-mail.",
                reference=mandate.reference), "success")
        return redirect(url_for("portal.direct_debit", account_number=account.account_number))
    return _mandate_page(account, form=form, status=422 if form.errors else 200)


# Ending a mandate cannot be undone (a new one needs new bank details and a new acceptance): a ticked box first.
RevokeForm = confirm_form(_l("Tick the box to confirm that the mandate ends."))


def _mandate_page(account, *, form, revoke_form=None, status=200):
    return render_template("portal/direct_debit/mandate.html", account=account, form=form,
                           mandate=mandates.active_mandate(account_id=account.id),
                           history=mandates.mandates_of(account_id=account.id), creditor=_creditor(),
                           revoke_form=revoke_form or RevokeForm(formdata=None), mask=mandates.mask_iban,
                           offered=mandates.offers_mandates(g.tenant)), status


@bp.post("/accounts/<account_number>/direct-debit/revoke")
@customer_required
def revoke_direct_debit(account_number: str):
    account = _account(account_number)
    form = RevokeForm()
    if not confirmed(form):  # not confirmed: the mandate stays
        return _mandate_page(account, form=MandateForm(formdata=None, holder_name=account.holder.display_name),
                             revoke_form=form, status=422)
    try:
        mandate = mandates.revoke_mandate(account=account, revoked_at=utcnow())
    except mandates.MandateRefused:
        flash(_("This account has no active direct-debit mandate."), "error")
    else:
        _mail("mandate_revoked", _l("Your direct-debit mandate %(reference)s has ended", reference=mandate.reference),
              mandate=mandate, account=account, creditor=_creditor(), masked=mandates.mask_iban(mandate.iban))
        flash(_("Your direct-debit mandate has ended. Your bills are now to be paid by bank transfer."), "success")
    return redirect(url_for("portal.direct_debit", account_number=account.account_number))


# --- budget billing -------------------------------------------------------------------------------------------------

def _eligible(account, today) -> list:
    return [c for c in account.contracts if c.status == "active" and c.is_live_on(today)]


# Ending budget billing cannot be undone (a new plan starts from a new proposal): a ticked box first.
CancelBudgetForm = confirm_form(_l("Tick the box to confirm that budget billing ends."))


def _budget_page(account, *, form=None, proposal=None, confirm=None, error=None, status=200, refused_cancel=None):
    today = tenant_today()
    eligible = _eligible(account, today)
    current = plans.plans_of_account(account_id=account.id)
    on_plan = {p.contract_id for p in current if p.status == "active"}
    choosable = [c for c in eligible if c.id not in on_plan]
    if form is None:
        form = _plan_form()
    form.contract.choices = [SelectChoice(c.contract_number, f"{activity_label(c)} — {c.delivery_point.identifier}")
                             for c in choosable]
    bills = {p.id: plans.bills_of_plan(p) for p in current}
    contracts = {c.id: c for c in account.contracts}
    return render_template("portal/direct_debit/budget.html", account=account, plans=current, bills=bills,
                           instalment_names=INSTALMENT_NAMES,
                           monthly_only=set(plan_options(g.tenant)) == {"monthly"},
                           contracts=contracts, form=form, proposal=proposal, confirm=confirm, error=error,
                           choosable=choosable, cancel_form=CancelBudgetForm(formdata=None),
                           refused_cancel=refused_cancel or (None, None), unit_of=_unit_of,
                           mandate=mandates.active_mandate(account_id=account.id),
                           proposed_contract=contracts.get(proposal.contract_id) if proposal else None), status


def activity_label(contract) -> str:
    from app.i18n import ACTIVITY_NAMES
    return str(ACTIVITY_NAMES.get(contract.delivery_point.activity, contract.delivery_point.activity))


def _contract_of(account, number: str | None):
    return next((c for c in account.contracts if c.contract_number == number), None)


@bp.get("/accounts/<account_number>/budget")
@customer_required
def budget(account_number: str):
    """The account's plans and their schedules; with `contract` and `instalments`, the proposed schedule."""
    account = _account(account_number)
    if "contract" not in request.args:
        return _budget_page(account)
    form = _plan_form(request.args)
    eligible = [c.contract_number for c in _eligible(account, tenant_today())]
    form.contract.choices = [SelectChoice(number, number) for number in eligible]
    if not form.validate():
        return _budget_page(account, form=form, status=422)
    contract = _contract_of(account, form.contract.data)
    frequency, count = plans.parse_plan_option(form.instalments.data)
    try:
        proposal = plans.propose_plan(contract=contract, count=count, frequency=frequency, as_of=tenant_today())
    except plans.PlanRefused as exc:
        return _budget_page(account, form=form, error=_refusal(exc.code), status=422)
    confirm = ConfirmPlanForm(formdata=None, contract=contract.contract_number, instalments=form.instalments.data,
                              shown=_fingerprint(proposal))
    return _budget_page(account, form=form, proposal=proposal, confirm=confirm)


@bp.post("/accounts/<account_number>/budget")
@customer_required
def confirm_budget(account_number: str):
    account = _account(account_number)
    form = ConfirmPlanForm()
    if not form.validate_on_submit():
        abort(400)
    contract = _contract_of(account, form.contract.data)
    option = plans.parse_plan_option(form.instalments.data)
    if contract is None or option is None:
        return _budget_page(account, error=_refusal("count" if contract else "contract_not_live"), status=422)
    (frequency, count), today = option, tenant_today()
    try:
        proposal = plans.propose_plan(contract=contract, count=count, frequency=frequency, as_of=today)
        if _fingerprint(proposal) != form.shown.data:
            confirm = ConfirmPlanForm(formdata=None, contract=contract.contract_number,
                                      instalments=form.instalments.data, shown=_fingerprint(proposal))
            return _budget_page(account, proposal=proposal, confirm=confirm, status=409,
                                error=_("The schedule has changed since it was shown to you: please check it "
                                        "again before confirming."))
        plan = plans.create_plan(contract=contract, count=count, frequency=frequency, as_of=today, now=utcnow())
    except plans.PlanRefused as exc:
        return _budget_page(account, error=_refusal(exc.code), status=422)
    _mail("budget_plan_confirmation", _l("Your budget billing schedule"), plan=plan, account=account,
          contract=contract, unit=_unit_of(contract),
          activity=activity_label(contract))
    flash(_("Budget billing is set up: your schedule is below and has been sent to you by e-mail."), "success")
    return redirect(url_for("portal.budget", account_number=account.account_number))


@bp.post("/accounts/<account_number>/budget/<public_id>/cancel")
@customer_required
def cancel_budget(account_number: str, public_id: str):
    account = _account(account_number)
    plan = plans.plan_by_public_id(public_id=public_id)
    if plan is None or plan.account_id != account.id:
        abort(404)
    form = CancelBudgetForm()
    if not confirmed(form):  # not confirmed: the plan goes on
        return _budget_page(account, refused_cancel=(plan.public_id, form), status=422)
    try:
        settlement = plans.cancel_plan(plan=plan, on=tenant_today(), now=utcnow())
    except plans.PlanRefused as exc:
        return _budget_page(account, error=PLAN_REFUSALS.get(exc.code, PLAN_REFUSALS["state"]), status=422)
    if settlement is None:
        flash(_("Budget billing has ended. You will receive a bill for each period again."), "success")
    else:
        flash(_("Budget billing has ended. Bill %(number)s settles your consumption so far against the instalments "
                "billed.", number=settlement.number), "success")
    return redirect(url_for("portal.budget", account_number=account.account_number))


def unit_label(unit: str) -> str:
    return {"m3": "m³"}.get(unit, unit)


def _unit_of(contract) -> str:
    return unit_label(plans.consumption_unit(contract.delivery_point.activity))
