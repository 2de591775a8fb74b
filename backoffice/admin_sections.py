"""The tenant administrator's settings sections, as the administration home lists them.

Each section is one line: (endpoint, title, what it sets), in the order a new utility sets them up. A part of the
administration area adds its line here and registers its views on the `admin` blueprint (backoffice/admin_views.py)
in a module of its own.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

SECTIONS: list[tuple[str, object, object]] = [
    ("admin.identity_page", _l("Identity and legal details"),
     _l("Legal name, registration and VAT numbers, customer service, emergency numbers, ombudsman, logo and "
        "colours: what bills, e-mails and the portal show.")),
    ("admin.portal_pages", _l("Portal pages"),
     _l("Privacy and cookie notices, legal notice, accessibility statement, contact and help pages, per language.")),
    ("admin.offers", _l("Offers and tariffs"),
     _l("Offers per activity, their prices from a date, the names customers read on bills, a typical bill.")),
    ("admin.billing_settings_page", _l("Billing and readings"),
     _l("Billing cycles, reading window, plausibility check, back-billing limit, payment terms and the "
        "down-payment plans offered.")),
    ("admin.payment_settings_page", _l("Payments"),
     _l("Stripe keys for card payments, SEPA direct debit, and the payment methods customers are offered.")),
    ("admin.dunning_settings_page", _l("Dunning and payment arrangements"),
     _l("Reminder, second reminder and formal notice: their delay after the due date, fee, letter or e-mail; what "
        "customers may arrange alone in the portal.")),
    ("admin.mail_settings_page", _l("Mail"),
     _l("The sender of the utility's e-mails, its own SMTP server or the platform's, and a test e-mail.")),
    ("admin.staff", _l("Staff"), _l("Invite staff by e-mail, give roles and work groups, deactivate an access.")),
    ("admin.service_levels_page", _l("Service levels"),
     _l("How long each kind of task and each category of customer request may wait before it is overdue.")),
    ("admin.imports", _l("Import of customers"),
     _l("Load your existing customers, premises, meters, contracts, balances and readings from CSV or XLSX files.")),
    ("admin.api_keys", _l("API keys"),
     _l("Keys your other systems use to call the integration API, what each may do, and the log of their calls.")),
]


def sections():
    return list(SECTIONS)

