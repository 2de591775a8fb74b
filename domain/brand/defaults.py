"""The portal pages a utility has not written yet, generated from its identity in the reader's language (Markdown).

Pure: takes the identity (a Tenant or anything with its attributes) and a locale; no database, no Flask.
"""
from __future__ import annotations

import re

from domain.i18n import translations

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~-])")


def md(value) -> str:
    """A value the utility typed, shown as written (Markdown punctuation escaped)."""
    return _SPECIAL.sub(r"\\\1", str(value or "").strip())


def _tel(phone: str) -> str:
    """A phone number as a link that dials it (digits and a leading + only in the address)."""
    number = re.sub(r"[^0-9+]", "", phone)
    return f"[{md(phone)}](tel:{number})" if number else md(phone)


def _lines(value) -> list[str]:
    return [md(part) for part in re.split(r"[\n;]", value or "") if part.strip()]


def _block(lines: list[str]) -> str:
    """Lines of an address kept apart (Markdown hard breaks)."""
    return "  \n".join(line for line in lines if line)


def title(page: str, locale: str) -> str:
    _ = translations(locale).gettext
    return {
        "legal-notice": _("Legal notice"), "privacy": _("Privacy notice"), "cookies": _("Cookie notice"),
        "accessibility": _("Accessibility statement"), "contact": _("Contact us"), "help": _("Help and FAQ"),
    }[page]


def contact_lines(identity, locale: str, *, activities=None) -> list[str]:
    """Customer service and emergency numbers, one Markdown line each (contact page, legal notice)."""
    _ = translations(locale).gettext
    lines = []
    if identity.support_phone:
        phone = _tel(identity.support_phone)
        if identity.support_hours:
            lines.append(_("Customer service: %(phone)s (%(hours)s)") % {
                "phone": phone, "hours": md(identity.support_hours)})
        else:
            lines.append(_("Customer service: %(phone)s") % {"phone": phone})
    if identity.support_email:
        email = identity.support_email.strip()
        lines.append(_("E-mail: %(email)s") % {"email": f"[{md(email)}](mailto:{email})"})
    from domain.billing.document_data import activity_label  # the activity names bills use (no import cycle)

    emergency = identity.emergency_phones or {}
    for activity in activities if activities is not None else (identity.activities or ()):
        if emergency.get(activity):
            lines.append(_("Emergencies (%(activity)s), day and night: %(phone)s") % {
                "activity": activity_label(activity, _).lower(), "phone": _tel(emergency[activity])})
    return lines


def _legal_notice(identity, _, locale: str, platform: str) -> str:
    name = md(identity.legal_name or identity.name)
    parts = ["## " + _("Publisher"), _("This portal is published by %(name)s.") % {"name": name}]
    office = _lines(identity.registered_office or identity.postal_address)
    if office:
        parts.append(_block(["**" + _("Registered office") + "**", *office]))
    facts = []
    if identity.company_registration:
        facts.append(_("Company registration: %(number)s") % {"number": md(identity.company_registration)})
    if identity.vat_number:
        facts.append(_("VAT number: %(number)s") % {"number": md(identity.vat_number)})
    if facts:
        parts.append(_block(facts))
    contact = contact_lines(identity, locale, activities=())
    if contact:
        parts.append(_block(contact))
    parts += ["## " + _("Hosting"),
              _("The portal is hosted and operated for %(name)s by %(platform)s, on servers in the European "
                "Union.") % {"name": name, "platform": md(platform)}]
    return "\n\n".join(parts)


def _privacy(identity, _, locale: str, platform: str) -> str:
    name = md(identity.legal_name or identity.name)
    contact = contact_lines(identity, locale, activities=())
    return "\n\n".join([
        _("%(name)s is responsible for the personal data it processes to supply you and to run this portal.")
        % {"name": name},
        "## " + _("What we process and why"),
        _("Your identity and contact details, your accounts, contracts and delivery points, your meter readings "
          "and consumption, your bills and payments, and the requests you send us: to perform your supply "
          "contract, to bill you and to meet our legal obligations."),
        "## " + _("How long we keep it"),
        _("As long as your contract runs, then for the periods the law requires (accounting records, limitation "
          "periods)."),
        "## " + _("Who receives it"),
        _("Only our staff who need it, the network operator for your meter, and our service providers (hosting, "
          "payments, mail), bound by contract. We never sell your data."),
        "## " + _("Your rights"),
        _("You may access, correct and erase your data, object to or restrict its processing, and download it "
          "from your profile. To exercise a right, contact us; you may also complain to your data protection "
          "authority."),
        *([_block(contact)] if contact else []),
    ])


def _cookies(identity, _, locale: str, platform: str) -> str:
    return "\n\n".join([
        _("This portal only sets the cookies it needs to work. It sets no advertising or tracking cookie and loads "
          "nothing from other sites."),
        "\n".join("- " + item for item in (
            _("A session cookie keeps you signed in and protects the forms you send; it ends when you sign out or "
              "when the session expires."),
            _("The language you choose is remembered in the same session."))),
        _("These cookies are strictly necessary: they need no consent, and the portal does not work without them."),
    ])


def _accessibility(identity, _, locale: str, platform: str) -> str:
    name = md(identity.legal_name or identity.name)
    contact = contact_lines(identity, locale, activities=())
    return "\n\n".join([
        _("%(name)s wants its portal to be usable by everyone. The portal is designed to meet the Web Content "
          "Accessibility Guidelines (WCAG) 2.1, level AA, and is checked with automated tests on every page.")
        % {"name": name},
        "## " + _("Feedback and contact"),
        _("If you cannot use a page or a document, tell us: we will give you the information another way and "
          "correct the page."),
        *([_block(contact)] if contact else []),
        "## " + _("Enforcement"),
        _("If our answer does not satisfy you, you may refer the matter to the authority in charge of "
          "accessibility in your country."),
    ])


def _contact(identity, _, locale: str, platform: str) -> str:
    parts = []
    lines = contact_lines(identity, locale)
    if lines:
        parts += ["## " + _("Customer service"), _block(lines)]
    letters = _lines(identity.postal_address or identity.registered_office)
    if letters:
        parts += ["## " + _("By post"), _block([md(identity.legal_name or identity.name), *letters])]
    if identity.dispute_contact or identity.ombudsman:
        parts.append("## " + _("Complaints"))
        if identity.dispute_contact:
            parts.append(_("Send your complaint first to %(contact)s.") % {"contact": md(identity.dispute_contact)})
        if identity.ombudsman:
            parts.append(_block([
                _("If our answer does not satisfy you, or if you have none within two months, you can refer the "
                  "dispute free of charge to %(ombudsman)s.") % {"ombudsman": md(identity.ombudsman)},
                *_lines(identity.ombudsman_contact)]))
    if not parts:
        parts.append(_("Use the Requests page of your account to write to us."))
    return "\n\n".join(parts)


def _help(identity, _, locale: str, platform: str) -> str:
    qa = [
        (_("How do I give a meter reading?"),
         _("Sign in and open Meter readings: enter the figures on your meter's display, without decimals.")),
        (_("Where are my bills?"),
         _("Sign in and open Bills: every bill is there as a PDF, with what is still to pay.")),
        (_("How can I pay?"),
         _("By bank transfer, by card from the Bills page where the utility offers it, or by direct debit.")),
        (_("How do I change my contact details or my language?"), _("Sign in and open Profile.")),
        (_("Something is wrong with my bill. What do I do?"),
         _("Open a request from the Requests page, or contact customer service.")),
    ]
    parts = []
    for question, answer in qa:
        parts += [f"## {question}", answer]
    contact = contact_lines(identity, locale)
    if contact:
        parts += ["## " + _("Still need help?"), _block(contact)]
    return "\n\n".join(parts)


_BUILDERS = {"legal-notice": _legal_notice, "privacy": _privacy, "cookies": _cookies,
             "accessibility": _accessibility, "contact": _contact, "help": _help}


def default_page(page: str, identity, locale: str, *, platform: str) -> str:
    """The generated Markdown of `page` for the identity, in `locale`; `platform` names the hosting operator."""
    return _BUILDERS[page](identity, translations(locale).gettext, locale, platform)
