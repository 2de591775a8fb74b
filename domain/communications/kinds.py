"""Every kind of message the platform sends: its category, whether a customer may switch it off, its template and
the variables its template is given. Add a new notification here first, then queue it with
`app.messages.queue_message(kind=...)`.

Categories: `transactional` (caused by something the person did or that happened to their account: a link to
activate, a receipt), `service` (information the utility must give all customers concerned: a regulated price
change), `marketing` (campaigns, only with consent). A kind that is not `optional` cannot be switched off: the law
or the person's own request requires it (a bill when paperless, a failed payment, a direct-debit pre-notification,
password reset...). Every template also gets `tenant` (branding, name, contact) and ends with the utility's footer.
"""
from __future__ import annotations

from dataclasses import dataclass

TRANSACTIONAL, SERVICE, MARKETING = "transactional", "service", "marketing"


@dataclass(frozen=True)
class Kind:
    name: str
    category: str
    optional: bool  # the customer may switch it off in their profile
    template: str  # templates/mail/<template>.txt and .html
    variables: tuple[str, ...]  # what the template is given besides `tenant`
    audience: str = "customer"  # "customer" or "staff"

    @property
    def switchable(self) -> bool:
        return self.optional and self.audience == "customer" and self.category != MARKETING


def _kind(name: str, category: str = TRANSACTIONAL, *, optional: bool = False, template: str | None = None,
          variables: tuple[str, ...] = (), audience: str = "customer") -> Kind:
    return Kind(name, category, optional, template or name, variables, audience)


KINDS: dict[str, Kind] = {k.name: k for k in (
    # Online access
    _kind("activation", variables=("link", "account_number", "existing")),
    _kind("link_account", template="activation", variables=("link", "account_number", "existing")),
    _kind("access_created", variables=("account_number", "email_masked", "created_at")),
    _kind("password_reset", variables=("link",)),
    _kind("verify_email", variables=("link",)),
    _kind("email_changed", variables=("changed", "new_email_masked")),
    _kind("access_address_changed", variables=("account_number", "email_masked", "changed_at")),
    _kind("access_closure", variables=("days",)),
    _kind("staff_invitation", variables=("user", "link", "inviter", "until", "ink"), audience="staff"),
    # Bills and payments
    _kind("bill_available", variables=("bill", "account", "holder_name", "link", "attached")),
    _kind("payment_received", optional=True, template="payment_receipt", variables=("receipt", "method")),
    _kind("credit_refund", variables=("notice",)),
    _kind("payment_failed", variables=("amount", "currency", "payment_reference", "link", "account")),
    _kind("payment_reversal", variables=("notice",)),
    _kind("collection_returned", variables=("notice", "reason", "portal_url")),
    _kind("mandate_confirmation", variables=("mandate", "account", "creditor")),
    _kind("mandate_revoked", variables=("mandate", "account", "creditor")),
    _kind("budget_plan_confirmation", variables=("plan", "account", "contract", "activity", "instalments")),
    _kind("budget_plan_cancelled", variables=("plan", "account", "contract", "activity", "settlement")),
    # Required by the SEPA Core rulebook before each debit: amount, date, mandate reference, creditor identifier.
    _kind("direct_debit_prenotification", variables=(
        "account", "amount", "currency", "collection_date", "bill_number", "mandate_reference",
        "creditor_identifier", "creditor_name", "link")),
    # Collections: dunning notices (e-mail, or the text of a letter), payment arrangements
    _kind("dunning_reminder", template="dunning_notice", variables=(
        "account", "bill", "level", "outstanding", "fee", "to_pay", "currency", "due_date", "pay_by", "holder_name",
        "letter_date", "link")),
    _kind("dunning_second_reminder", template="dunning_notice", variables=(
        "account", "bill", "level", "outstanding", "fee", "to_pay", "currency", "due_date", "pay_by", "holder_name",
        "letter_date", "link")),
    _kind("dunning_formal_notice", template="dunning_notice", variables=(
        "account", "bill", "level", "outstanding", "fee", "to_pay", "currency", "due_date", "pay_by", "holder_name",
        "letter_date", "link")),
    _kind("arrangement_confirmation", variables=("account", "arrangement", "states", "paid", "left", "link")),
    _kind("arrangement_broken", variables=("account", "arrangement", "states", "paid", "left", "link")),
    # Readings and requests
    _kind("reading_rejected", optional=True, variables=(
        "reading", "meter", "register_name", "unit", "corrected", "link", "account")),
    _kind("request_reply", variables=("link", "req", "body", "kind_name", "status_name")),
    _kind("reading_to_check", optional=True, variables=("serial", "read_on", "link")),
    _kind("reading_accepted", optional=True, variables=("serial", "read_on", "value", "unit", "link", "account")),
    _kind("reading_window_open", optional=True, variables=(
        "account", "activity", "serial", "address", "window_end", "link")),
    _kind("move_out_confirmed", variables=("account", "activity", "address", "move_out_on", "readings", "link")),
)}


class UnknownKind(LookupError):
    pass


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError as exc:
        raise UnknownKind(name) from exc


def switchable_kinds() -> list[Kind]:
    """The kinds a customer may switch off, in the order above."""
    return [k for k in KINDS.values() if k.switchable]


def required_customer_kinds() -> list[Kind]:
    """The customer notifications that are always sent (shown as such in the profile)."""
    return [k for k in KINDS.values() if k.audience == "customer" and not k.switchable]
