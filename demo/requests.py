"""Demo request opened through the real service: a complaint with a photo of the meter and a staff reply."""
from __future__ import annotations

import base64
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.requests import attachments as files
from domain.requests import services

# A 1x1 PNG: enough for the portal and the back office to show and serve an attachment.
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
_TEXTS = {
    "fr": ("Index du compteur différent de la facture",
           "L'index indiqué sur ma dernière facture ne correspond pas à mon compteur. Photo jointe.",
           "Merci pour la photo. Nous vérifions l'index avec notre équipe de relève."),
    "en": ("Meter reading on my bill differs from my meter",
           "The reading on my latest bill does not match my meter. Photo attached.",
           "Thank you for the photo. We are checking the reading with our metering team."),
}


def seed_requests(utility, *, tenant, created, agent, now: datetime) -> None:
    """One complaint on the first demo customer's account, with an attachment and an unread staff reply."""
    if not created.users_by_account:
        return
    account_number, customer = next(iter(created.users_by_account.items()))
    subject, body, reply = _TEXTS.get(utility.locale, _TEXTS["en"])
    opened_at = now - timedelta(days=1)
    zone = ZoneInfo(utility.timezone)
    request = services.open_request(
        customer=customer, now=opened_at, today=opened_at.astimezone(zone).date(),
        answer_days=tenant.request_answer_days, zone=zone, tenant_id=tenant.id,
        new=services.NewRequest(kind="complaint", account_number=account_number, subject=subject, description=body,
                                uploads=[files.Upload(filename="meter.png", data=_PNG)]),
    )
    services.staff_message(request=request, staff_id=agent.id, body=reply, internal=False, uploads=[],
                           now=opened_at + timedelta(hours=3), new_status="in_progress")
