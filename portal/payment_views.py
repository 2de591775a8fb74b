"""Paying by card: choose bills or the whole balance, the provider's checkout (Stripe or sandbox), the
return page that only shows the status, and the signed webhook that alone fulfils a payment."""
from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal

from flask import abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DecimalField
from wtforms.validators import InputRequired, StopValidation

from app.auth import customer_required
from app.extensions import csrf
from app.i18n import money
from app.messages import queue_message
from domain.communications import pipeline
from app.security import CSP
from domain.billing import bills as bill_service
from domain.contracts import services as accounts
from domain.db import db, utcnow
from domain.payments import mandates
from domain.payments import services as payments
from domain.payments import receipts, webhooks
from domain.payments.providers import (
    BadSignature,
    CheckoutLine,
    CheckoutRequest,
    ProviderError,
    SandboxProvider,
    StripeProvider,
    card_provider_kind,
    encode_event,
    minor_units,
    sandbox_event,
    sandbox_secret,
    sign_payload,
)
from app.i18n import tenant_today
from tenants.operation_settings import payment_methods
from portal.bill_views import PAYMENT_STATUS_NAMES
from portal.blueprint import bp

log = logging.getLogger("portal.payments")

STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"
REFUSALS = {
    "nothing_selected": _l("Choose at least one bill to pay, or pay the whole balance."),
    "unknown_bill": _l("One of the bills chosen is not yours or has nothing left to pay. Nothing was charged."),
    "mixed_accounts": _l("Choose bills of one account at a time."),
    "unknown_account": _l("This account is not one of yours."),
    "nothing_due": _l("There is nothing to pay on this account."),
    "direct_debit_submitted": _l("This is already being collected by direct debit: your bank will be debited on "
                                 "the date shown. Nothing was charged to your card."),
    "being_confirmed": _l("A card payment for these bills is being confirmed. Nothing more was charged: check its "
                          "status before paying again."),
}


def card_provider_name(tenant) -> str | None:
    """"stripe", "sandbox" or None: in production the sandbox only for a demo tenant (set by the operator)."""
    return card_provider_kind(has_stripe_keys=tenant.has_stripe_keys,
                              production=current_app.config.get("ENV_NAME") == "production",
                              demo=bool(tenant.payments_demo))


def card_offered(tenant) -> bool:
    """Whether customers may start a card payment: a card checkout exists and the administrator offers cards.
    Payments already started still finish (status pages, webhooks) whatever the administrator changes."""
    return card_provider_name(tenant) is not None and "card" in payment_methods(tenant)


@bp.app_context_processor
def _card_payments():
    tenant = g.get("tenant")
    return {"card_payments": tenant is not None and card_offered(tenant)}


def _stripe_api_base() -> str:
    return current_app.config.get("STRIPE_API_BASE") or current_app.config["SETTINGS"].stripe_api_base


def _provider(tenant, payment_public_id: str | None = None):
    """The tenant's provider: Stripe with its own keys, else the sandbox (test mode) where allowed, else None."""
    kind = card_provider_name(tenant)
    if kind is None:
        return None
    if kind == "stripe":
        return StripeProvider(secret_key=tenant.stripe_secret_key, webhook_secret=tenant.stripe_webhook_secret,
                              api_base=_stripe_api_base())
    checkout_url = url_for("portal.sandbox_checkout", public_id=payment_public_id, _external=True) \
        if payment_public_id else ""
    return SandboxProvider(webhook_secret=sandbox_secret(app_secret=current_app.config["SECRET_KEY"],
                                                         tenant_id=tenant.id), checkout_url=checkout_url)


def _sweep(provider, account_ids: list[int]) -> None:
    """Checkouts of these accounts left open past their expiry are ended before the customer reads them."""
    try:
        payments.expire_stale_checkouts(now=utcnow(), provider=provider, account_ids=account_ids)
    except Exception:  # never keep a customer from their page because of a sweep
        log.exception("checkout sweep failed tenant=%s", g.tenant.id)
        db.session.rollback()


def _pay_page(*, error: str | None = None, status: int = 200, selected: set[str] | None = None,
              only_account: str | None = None):
    user_id = current_user.user.id
    customer_accounts = accounts.accounts_of_customer(customer_user_id=user_id)
    if only_account:
        customer_accounts = [a for a in customer_accounts if a.account_number == only_account] or customer_accounts
    provider = _provider(g.tenant)
    if provider is not None:
        _sweep(provider, [a.id for a in customer_accounts])
    if not card_offered(g.tenant):
        provider = None
    open_views = bill_service.open_bills(account_ids=[a.id for a in customer_accounts], today=tenant_today())
    by_account: dict[int, list] = {}
    for view in open_views:
        by_account.setdefault(view.bill.account_id, []).append(view)
    debits = payments.pending_debits([view.bill.id for view in open_views])
    balances = payments.balances_payable_by_card(
        accounts.balances(account_ids=[a.id for a in customer_accounts]), open_views, debits)
    page = render_template(
        "portal/payments/pay.html", accounts=customer_accounts, by_account=by_account, balances=balances,
        debits=debits, submitted_ids={bill_id for bill_id, d in debits.items() if d.submitted},
        transfer_iban=g.tenant.iban if "transfer" in payment_methods(g.tenant) else None,
        creditor=g.tenant.legal_name or g.tenant.name,
        direct_debit_offered=mandates.offers_mandates(g.tenant),
        selected=selected or set(), error=error, form=FlaskForm(), card_provider=provider and provider.name,
        test_mode=provider is not None and provider.name == "sandbox")
    response = current_app.make_response((page, status))
    if g.tenant.has_stripe_keys:
        # The form's POST is answered by a redirect to Stripe's hosted page: allow that form target.
        response.headers["Content-Security-Policy"] = CSP.replace(
            "form-action 'self'", f"form-action 'self' {STRIPE_CHECKOUT_ORIGIN}")
    return response


@bp.get("/pay")
@customer_required
def pay():
    return _pay_page(selected=set(request.args.getlist("bill")), only_account=request.args.get("account"))


@bp.post("/pay")
@customer_required
def pay_submit():
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    tenant = g.tenant
    user = current_user.user
    provider = _provider(tenant) if card_offered(tenant) else None
    if provider is None:  # no card payment offered: the page says how else to pay
        return _pay_page(status=409)
    mode = request.form.get("mode")
    bill_numbers = request.form.getlist("bill") if mode == "bills" else []
    account_number = request.form.get("account") if mode == "balance" else None
    now = utcnow()
    try:
        plan = payments.plan_payment(customer_user_id=user.id, currency=tenant.currency, today=tenant_today(),
                                     bill_numbers=bill_numbers, account_number=account_number)
        payments.replace_open_checkouts(plan=plan, provider=provider, now=now)
    except payments.PaymentRefused as refused:
        log.info("payment refused tenant=%s user=%s code=%s", tenant.id, user.id, refused.code)
        return _pay_page(error=str(REFUSALS[refused.code]), status=409 if refused.code == "being_confirmed" else 400,
                         selected={n for n in bill_numbers if n})
    except ProviderError:
        log.exception("checkout could not be replaced tenant=%s user=%s", tenant.id, user.id)
        return _pay_page(error=_("The payment service cannot be reached just now. Nothing was charged: "
                                 "please try again in a few minutes."), status=502)
    payment = payments.start_payment(plan=plan, provider=provider.name, customer_user_id=user.id, now=now)
    if provider.name == "sandbox":
        provider = _provider(tenant, payment.public_id)
    lines = [CheckoutLine(label=_("Bill %(number)s", number=bill.number), amount=amount)
             for bill, amount in plan.allocations]
    if plan.unallocated > 0:
        lines.append(CheckoutLine(label=_("Account %(number)s balance", number=plan.account.account_number),
                                  amount=plan.unallocated))
    status_url = url_for("portal.payment", public_id=payment.public_id, _external=True)
    checkout_request = CheckoutRequest(
        tenant_id=tenant.id, payment_public_id=payment.public_id, currency=plan.currency, lines=tuple(lines),
        success_url=status_url + "?return=success", cancel_url=status_url + "?return=cancel",
        customer_email=user.email, locale=(user.locale or None), expires_at=payment.expires_at)
    try:
        checkout = provider.create_checkout(checkout_request)
    except ProviderError:
        log.exception("checkout failed tenant=%s payment=%s", tenant.id, payment.public_id)
        # 502: the request rolls back, so the pending payment is not kept.
        return _pay_page(error=_("The payment service cannot be reached just now. Nothing was charged: "
                                 "please try again in a few minutes."), status=502)
    payments.attach_checkout(payment=payment, reference=checkout.reference, expires_at=checkout.expires_at)
    return redirect(checkout.url, code=303)


def _owned_payment_or_404(public_id: str):
    payment = payments.payment_of_customer(customer_user_id=current_user.user.id, public_id=public_id)
    if payment is None:
        abort(404)
    return payment


class AmountField(DecimalField):
    """An amount typed by a person: a decimal comma is accepted; anything else not a number says so in words."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata([v.strip().replace(",", ".") for v in valuelist])
        except ValueError as exc:
            raise ValueError(_l("Enter an amount such as 12.50.")) from exc
        if self.data is not None and not self.data.is_finite():  # NaN, Infinity: Decimal reads them
            self.data = None
            raise ValueError(_l("Enter an amount such as 12.50."))


def _at_least_a_cent(_form, field):
    if field.data is not None and field.data < Decimal("0.01"):  # None: not a number, already said
        raise StopValidation(_l("Enter an amount of at least 0.01."))


class SandboxRefundForm(FlaskForm):
    amount = AmountField(_l("Amount to give back"), places=2, rounding=ROUND_HALF_UP, validators=[
        InputRequired(_l("Enter the amount to give back.")), _at_least_a_cent])


def _status_page(found, *, refund_form=None, status: int = 200):
    numbers = payments.bill_numbers_of([found]).get(found.id, [])
    if refund_form is None and found.provider == "sandbox" and found.status == "succeeded":
        refund_form = SandboxRefundForm(formdata=None, amount=found.amount - found.refunded_amount)
    page = render_template("portal/payments/status.html", payment=found, bill_numbers=numbers,
                           returned=request.args.get("return"), payment_status_names=PAYMENT_STATUS_NAMES,
                           payment_display_status=payments.display_status, refund_form=refund_form)
    return page, status


@bp.get("/payments/<public_id>")
@customer_required
def payment(public_id: str):
    """Where the checkout sends the customer back: it shows the status, it never fulfils (a checkout past its
    expiry is ended first: it shows as not completed)."""
    found = _owned_payment_or_404(public_id)
    if payments.checkout_expired(found, utcnow()):
        _sweep(_provider(g.tenant), [found.account_id])
    return _status_page(found)


def _sandbox_or_404(public_id: str):
    """A sandbox payment of this customer, while the tenant may use the sandbox (never in production unless the
    operator made the tenant a demo)."""
    if card_provider_name(g.tenant) != "sandbox":
        abort(404)
    found = _owned_payment_or_404(public_id)
    if found.provider != "sandbox":
        abort(404)
    return found


@bp.route("/payments/<public_id>/sandbox", methods=["GET", "POST"])
@customer_required
def sandbox_checkout(public_id: str):
    """The sandbox's checkout page (test mode, no real money): its buttons send the events Stripe would."""
    found = _sandbox_or_404(public_id)
    if payments.checkout_expired(found, utcnow()):
        _sweep(_provider(g.tenant), [found.account_id])
    if found.status != "pending":
        return redirect(url_for("portal.payment", public_id=public_id))
    form = FlaskForm()
    if request.method == "GET":
        return render_template("portal/payments/sandbox.html", payment=found, form=form)
    outcome = request.form.get("outcome")
    if not form.validate_on_submit() or outcome not in ("paid", "declined", "abandoned"):
        abort(400)
    event = sandbox_event(outcome=outcome, tenant_id=g.tenant.id, payment_public_id=found.public_id,
                          session_id=found.provider_reference or "", currency=found.currency,
                          amount=minor_units(found.amount, found.currency))
    payload = encode_event(event)
    provider = _provider(g.tenant)
    _receive(provider, payload, sign_payload(payload, provider.webhook_secret))
    target = "cancel" if outcome == "abandoned" else "success"
    return redirect(url_for("portal.payment", public_id=public_id, **{"return": target}))


@bp.post("/payments/<public_id>/sandbox/refund")
@customer_required
def sandbox_refund(public_id: str):
    """Test mode only: give back part or all of a sandbox payment, as a refund or a lost dispute would.

    The page sends the signed events Stripe would send (`charge.refunded` with the new refunded total, or
    `charge.dispute.closed` lost) through the same webhook handler.
    """
    found = _sandbox_or_404(public_id)
    form = SandboxRefundForm()
    outcome = request.form.get("outcome")
    if outcome not in ("refund", "dispute_lost"):
        abort(400)
    if found.status != "succeeded":
        flash(_("Only a payment received and not yet refunded can be given back."), "error")
        return redirect(url_for("portal.payment", public_id=public_id))
    if not form.validate_on_submit():
        return _status_page(found, refund_form=form, status=400)
    left = found.amount - found.refunded_amount
    if form.amount.data > left:
        form.amount.errors.append(_("Give back at most %(amount)s.", amount=money(left, found.currency)))
        return _status_page(found, refund_form=form, status=400)
    event = payments.sandbox_reversal_event(payment=found, tenant_id=g.tenant.id, outcome=outcome,
                                            amount=form.amount.data)
    payload = encode_event(event)
    provider = _provider(g.tenant)
    _receive(provider, payload, sign_payload(payload, provider.webhook_secret))
    log.info("sandbox %s tenant=%s payment=%s amount=%s", outcome, g.tenant.id, public_id, form.amount.data)
    flash(_("Test mode: %(amount)s given back.", amount=money(form.amount.data, found.currency)), "info")
    return redirect(url_for("portal.payment", public_id=public_id))


def _receive(provider, payload: bytes, signature: str | None) -> webhooks.WebhookResult:
    """The one fulfilment path, for Stripe's webhook and the sandbox's buttons alike."""
    result = webhooks.receive(provider=provider, payload=payload, signature_header=signature,
                              tenant_id=g.tenant.id, now=utcnow(), today=tenant_today())
    if result.receipt is not None:
        receipt = result.receipt
        queue_message(kind="payment_received", to=receipt.to, subject=_l("Your payment receipt"),
                      locale=receipt.locale, receipt=receipt,
                      account=accounts.account_by_number(account_number=receipt.account_number))
    notice = result.reversal_notice
    if notice is not None:
        subject = _l("Money given back on your card payment") if notice.kind == "refund" else _l(
            "Your card payment was disputed: money given back")
        queue_message(kind="payment_reversal", to=notice.to, subject=subject, locale=notice.locale, notice=notice,
                      account=accounts.account_by_number(account_number=notice.account_number))
    _tell_failed(result)
    return result


def _tell_failed(result: webhooks.WebhookResult) -> None:
    """A card payment the provider refused: the customer hears of it once (whoever retries the webhook)."""
    payment = result.payment
    if result.outcome != "applied" or payment is None or payment.status != "failed":
        return
    found = receipts.failure_notice(payment=payment)
    if found is None or pipeline.already_recorded(kind="payment_failed", reference=f"payment:{payment.public_id}"):
        return
    account, to, locale = found
    queue_message(kind="payment_failed", to=to, locale=locale, account=account,
                  reference=f"payment:{payment.public_id}", amount=payment.amount, currency=payment.currency,
                  payment_reference=payment.public_id, link=url_for("portal.home", _external=True))


@bp.post("/payments/webhook")
@csrf.exempt
def payment_webhook():
    """Stripe (or the sandbox) tells us what happened: signed with the tenant's webhook secret."""
    provider = _provider(g.tenant)
    if provider is None:
        abort(404)
    try:
        result = _receive(provider, request.get_data(), request.headers.get("Stripe-Signature"))
    except BadSignature as exc:
        log.warning("webhook refused tenant=%s provider=%s reason=%s", g.tenant.id, provider.name, exc)
        return jsonify(error="invalid signature"), 400
    return jsonify(received=True, outcome=result.outcome), 200
