"""Forms of the administration's webhook subscriptions (validation only; domain/webhooks/services.py decides)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

from app.confirmation import confirm_form
from backoffice.admin_settings_forms import MultiCheckboxField
from domain.webhooks.models import EVENT_TYPES

EVENT_NAMES = {
    "bill.issued": _l("A bill is issued"),
    "payment.received": _l("A payment is received"),
    "reading.accepted": _l("A meter reading is accepted"),
    "reading.rejected": _l("A meter reading is rejected"),
    "request.updated": _l("A customer request changes status or gets a reply"),
    "customer.updated": _l("A customer's details change"),
    "webhook.test": _l("Test event"),
}


class SubscriptionForm(FlaskForm):
    url = StringField(_l("Address (URL) receiving the events"), validators=[
        DataRequired(_l("Enter the address that receives the events.")),
        Length(max=2000, message=_l("Enter an address of at most 2,000 characters."))])
    description = StringField(_l("Description (optional)"), validators=[
        Optional(), Length(max=200, message=_l("Enter a description of at most 200 characters."))])
    event_types = MultiCheckboxField(_l("Events sent"), choices=[(name, name) for name in EVENT_TYPES],
                                     validate_choice=False)

    def label_events(self) -> None:
        self.event_types.choices = [(name, f"{name} — {EVENT_NAMES[name]}") for name in EVENT_TYPES]


DeleteSubscriptionForm = confirm_form(_l("Tick the box to confirm that the subscription is deleted."))
RollSecretForm = confirm_form(_l("Tick the box to confirm that the signing secret is replaced."))
