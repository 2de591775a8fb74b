"""Issue 13's whole journey, through the real pages only: an operator creates an electricity utility in France; its
first administrator accepts the invitation, enrols two-step sign-in, sets up the legal identity, an offer with two
tariff versions, payments, mail and staff; a customer base arrives; the utility goes live; a customer activates online
access and reads the meter; a billing run bills that customer with the configured prices, on a PDF that carries the
configured legal identity."""
from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyotp
from pypdf import PdfReader
from sqlalchemy import select

from domain.billing.models import Bill, BillLine
from domain.db import db
from domain.identity import services as identity
from domain.imports.spec import KINDS
from tenants.context import platform_scope, tenant_scope
from tenants.go_live import checklist, registered_checks
from tenants.models import Tenant
from tests.conftest import TEST_PASSWORD, Browser
from tests.functional.conftest import ServerLikeClient
from tests.integration.test_billing_runs import _jobs_in_process  # noqa: F401  (runs and imports run here)

SLUG = "lumiere"
HOST = f"{SLUG}.localhost"
ADMIN = "camille@lumiere.example.fr"
CUSTOMER = "customer1@example.com"  # the electricity customer of the example files
WIZARD = "/console/tenants/new"
ADMIN_PASSWORD = "camille-lumiere-2026"
CUSTOMER_PASSWORD = "claire-lumiere-2026"
OFFERS = "/backoffice/admin/offers"
FIRST, SECOND = f"{OFFERS}/ELEC-BASE/versions/2026-01-01", f"{OFFERS}/ELEC-BASE/versions/2026-11-14"
RUNS = "/backoffice/billing/runs"
LEGAL = {"legal_name": "Lumière Énergie SAS", "company_registration": "RCS Lyon 552 081 317",
         "vat_number": "", "registered_office": "8 quai Saint-Antoine\n69002 Lyon", "website": ""}
NOTICE_ADDITIONS = {"privacy": "Délégué à la protection des données : dpo@lumiere.example.fr",
                    "legal-notice": "Directrice de la publication : Camille Durand"}
_LINK = re.compile(r"https?://[^/\s]+(/\S+)")
_SECRET = re.compile(r'<code class="totp-secret" id="totp-secret">([A-Z2-7 ]+)</code>')


def _session(app, host: str, language: str = "en") -> Browser:
    """A browser of its own (its own cookies, its language): the operator, the administrator and the customer are
    three people."""
    client = ServerLikeClient(app, app.response_class, use_cookies=True)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    return Browser(client, host)


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _words(response) -> str:
    """The page's text as a reader sees it: without tags, every run of spaces one space."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", _text(response)))


def _link(mail) -> str:
    return _LINK.search(mail.get_body(("plain",)).get_content()).group(1)


def _mails_to(outbox, address: str) -> list:
    return [mail for mail in outbox() if mail["To"] == address]


def _tenant(app) -> Tenant:
    with app.app_context(), platform_scope("test: read the tenant"):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
        db.session.expunge(tenant)
        return tenant


# --- 1. the operator creates the utility ---------------------------------------------------------------------------

def _operator_creates_the_utility(app, outbox):
    with app.app_context(), platform_scope("test operator"):
        identity.create_operator(email="ops@platform.example.com", full_name="Ops", password=TEST_PASSWORD)
        db.session.commit()
    console = _session(app, "localhost")
    console.login("ops@platform.example.com", area="/console")
    carried = {"name": "Lumière Énergie", "slug": SLUG, "custom_domain": "", "activities": ["electricity"],
               "country": "FR"}
    settings = _text(console.submit(WIZARD, {**carried, "step": "utility", "go": "next"}))
    assert "Regional settings" in settings and 'value="Europe/Paris"' in settings
    carried |= {"defaults_for": "FR", "default_locale": "fr", "currency": "EUR", "timezone": "Europe/Paris"}
    admin = {"admin_name": "Camille Durand", "admin_email": ADMIN, "admin_locale": "en"}
    review = console.submit(WIZARD, {**carried, **admin, "step": "administrator", "go": "next"})
    assert "Check and create" in _text(review) and HOST in _text(review)
    created = console.submit(WIZARD, {**carried, **admin, "step": "review", "go": "create"})
    assert created.status_code == 302
    assert "Lumière Énergie" in _text(console.get("/console/"))
    [invitation] = _mails_to(outbox, ADMIN)
    return _link(invitation)


# --- 2. the administrator joins and enrols two-step sign-in -------------------------------------------------------

def _administrator_joins(app, invitation_path: str) -> Browser:
    office = _session(app, HOST)
    assert ADMIN in _text(office.get(invitation_path))
    joined = office.submit(invitation_path, {"password": ADMIN_PASSWORD, "confirm": ADMIN_PASSWORD})
    assert joined.status_code == 302 and joined.headers["Location"].endswith("/backoffice/login/second-factor")
    enrol = _text(office.get("/backoffice/login/second-factor"))
    assert "Set up two-step sign-in" in enrol
    secret = _SECRET.search(enrol).group(1).replace(" ", "")
    codes = office.submit("/backoffice/login/second-factor", {"code": pyotp.TOTP(secret).now()})
    assert codes.status_code == 200 and len(re.findall(r"<li><code>[a-z0-9-]{19}</code></li>", _text(codes))) == 10
    home = office.get("/backoffice/")
    assert home.status_code == 200 and "Camille Durand" in _text(home)
    office.totp = pyotp.TOTP(secret)  # the administrator's phone app
    return office


def _administrator_signs_in_again(office) -> None:
    """Days later: the session has ended; password, then the code the phone app shows."""
    assert office.get("/backoffice/").status_code == 302
    asked = office.submit("/backoffice/login", {"email": ADMIN, "password": ADMIN_PASSWORD})
    assert asked.headers["Location"].endswith("/backoffice/login/code")
    signed_in = office.submit("/backoffice/login/code", {"code": office.totp.now()})
    assert signed_in.status_code == 302 and office.get("/backoffice/").status_code == 200


# --- 3. identity, portal pages -----------------------------------------------------------------------------------

def _problems(response) -> str:
    """What the page says is wrong (its error summary and field errors), for the assertion's message."""
    return " | ".join(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found)) for found in re.findall(
        r'class="(?:error-summary|field-error|error-message|notice)[^"]*"[^>]*>(.*?)</', _text(response), re.S))


def _saved(response, page: str) -> None:
    assert response.status_code == 302, f"{page}: {response.status_code} {_problems(response)}"


def _identity(office) -> None:
    page = "/backoffice/admin/identity"
    _saved(office.submit(page, LEGAL, action=f"{page}/legal"), page)
    _saved(office.submit(page, {"postal_address": "BP 12, 69001 Lyon", "support_email": "service@lumiere.example.fr",
                                "support_phone": "04 72 00 00 00", "support_hours": "Mon-Fri 8:00-18:00",
                                "emergency_electricity": "09 72 67 50 69"}, action=f"{page}/service"), page)
    _saved(office.submit(page, {"dispute_contact": "Service réclamations, BP 12, 69001 Lyon",
                                "ombudsman": "Médiateur national de l'énergie",
                                "ombudsman_contact": "Libre réponse 59252, 75443 Paris Cedex 09"},
                         action=f"{page}/ombudsman"), page)
    assert "Lumière Énergie SAS" in _text(office.get(page))
    for notice in ("privacy", "legal-notice"):  # reviewed in the utility's language: the generated text, completed
        path = f"/backoffice/admin/pages/{notice}/fr"
        generated = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', _text(office.get(path)), re.S)
        body = f"{generated.group(1).strip()}\n\n{NOTICE_ADDITIONS[notice]}"
        _saved(office.submit(path, {"body": body, "action": "save"}), path)


# --- 4. the offer and its two tariff versions --------------------------------------------------------------------

def _offer(office) -> None:
    _saved(office.submit(OFFERS, {"code": "elec-base", "name": "Électricité Base", "activity": "electricity",
                                  "kind": "market"}), OFFERS)
    _saved(office.submit(f"{OFFERS}/ELEC-BASE", {"effective_from": "2026-01-01"},
                         action=f"{OFFERS}/ELEC-BASE/versions"), OFFERS)
    _saved(office.submit(FIRST, {"prices_include_tax": "", "standing_charge_per_day": "0.50",
                                 "standing_charge_tax": "20", "name_fr": "Abonnement Base",
                                 "name_en": "Base subscription"}), FIRST)
    _saved(office.submit(FIRST, {"component": "energy", "price": "0.20", "tax": "20", "name_fr": "Énergie Base",
                                 "name_en": "Base energy"}, action=f"{FIRST}/prices"), FIRST)
    # The price change from 14 November: a copy of the first version's lines, the energy price replaced.
    _saved(office.submit(f"{OFFERS}/ELEC-BASE", {"effective_from": "2026-11-14"},
                         action=f"{OFFERS}/ELEC-BASE/versions"), OFFERS)
    _saved(office.submit(SECOND, {}, action=f"{SECOND}/lines/energy/remove"), SECOND)
    _saved(office.submit(SECOND, {"component": "energy", "price": "0.25", "tax": "20", "name_fr": "Énergie Base",
                                  "name_en": "Base energy"}, action=f"{SECOND}/prices"), SECOND)
    listing = _text(office.get(f"{OFFERS}/ELEC-BASE"))
    assert "Électricité Base" in listing
    second = _text(office.get(SECOND))
    assert "Abonnement Base" in second and "Énergie Base" in second and "0.25" in second


# --- 5. payments and mail ----------------------------------------------------------------------------------------

def _payments_and_mail(app, office, outbox) -> None:
    # Bank transfers only: the IBAN printed on bills, and no SEPA creditor identifier (no direct debit).
    _saved(office.submit("/backoffice/admin/payments", {"methods": ["transfer"]},
                         action="/backoffice/admin/payments/methods"), "payments")
    _saved(office.submit("/backoffice/collections/settings", {
        "creditor_id": "", "iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "agrifrpp", "lead_days": ""}),
        "collections")
    _saved(office.submit("/backoffice/admin/mail", {"sender_name": "Lumière Énergie",
                                                    "sender_address": "", "server": "platform"}), "mail")
    _saved(office.submit("/backoffice/admin/mail", {}, action="/backoffice/admin/mail/test"), "mail test")
    assert _mails_to(outbox, ADMIN)[-1]["Subject"] == "Test e-mail from Lumière Énergie"
    tenant = _tenant(app)
    assert (tenant.iban, tenant.payment_methods) == ("FR7630006000011234567890189", ["transfer"])


# --- 6. staff -------------------------------------------------------------------------------------------------

STAFF = {"agent": "agent@lumiere.example.fr", "billing": "billing@lumiere.example.fr",
         "collections": "collections@lumiere.example.fr", "supervisor": "supervisor@lumiere.example.fr"}


def _staff(office, outbox) -> None:
    for role, email in STAFF.items():
        _saved(office.submit("/backoffice/admin/staff/invite", {
            "full_name": f"{role.title()} Lumière", "email": email, "locale": "fr", "roles": [role],
            "work_groups": []}), role)
    listed = _text(office.get("/backoffice/admin/staff"))
    assert all(email in listed for email in STAFF.values()) and listed.count("Invited") >= 4
    assert sorted(mail["To"] for mail in outbox() if mail["To"] in STAFF.values()) == sorted(STAFF.values())


# --- 7. the customer base ------------------------------------------------------------------------------------------

def _import_the_examples(app, office) -> str:
    """The example files the import page offers (built from this utility's offer), sent back as they are; returns
    the account number of the electricity customer they hold."""
    files = {}
    for kind in KINDS:
        example = office.get(f"/backoffice/admin/imports/examples/{kind}.csv")
        assert example.status_code == 200
        files[kind] = (io.BytesIO(example.data), f"{kind}.csv")
    token = office.csrf("/backoffice/admin/imports")
    sent = office.post("/backoffice/admin/imports", data={"csrf_token": token, **files},
                       content_type="multipart/form-data")
    assert sent.status_code == 302, _problems(sent)
    report = _text(office.get(sent.headers["Location"]))
    assert "Completed" in report and "What was imported" in report
    found = _words(office.get("/backoffice/customers?q=customer1%40example.com"))
    assert "EX00001" in found and "Claire Martin" in found, found[:3000]
    return "EX00001"


# --- 8. going live -----------------------------------------------------------------------------------------------

def _go_live(app, office) -> None:
    tenant = _tenant(app)
    with app.app_context(), tenant_scope(tenant.id):
        today = datetime.now(ZoneInfo(tenant.timezone)).date()
        undone = [check.key for check in checklist(db.session.get(Tenant, tenant.id), today=today) if not check.done]
    assert undone == []
    home = _text(office.get("/backoffice/admin/"))
    assert home.count("is-done") == len(registered_checks()) and "is-missing" not in home
    assert _session(app, HOST).get("/").status_code == 503  # "coming soon" until the switch
    live = office.submit("/backoffice/admin/", {"confirm": "y"}, action="/backoffice/admin/go-live",
                         follow_redirects=True)
    assert "Lumière Énergie is live: customers can use the portal now." in _text(live)
    assert _tenant(app).live_at is not None


# --- 9. the customer activates online access and reads the meter -------------------------------------------------

def _customer_reads_the_meter(app, outbox, account_number: str) -> Browser:
    portal = _session(app, HOST, language="fr")
    asked = portal.submit("/activate", {"account_number": account_number, "postcode": "69003",
                                        "activation_code": "", "email": ""})
    assert asked.status_code == 200 and "c•••@example.com" in _text(asked)  # the address on file, masked
    [mail] = _mails_to(outbox, CUSTOMER)
    link = _link(mail)
    done = portal.submit(link, {"password": CUSTOMER_PASSWORD, "confirm": CUSTOMER_PASSWORD})
    assert done.status_code == 302
    assert account_number in _text(portal.get("/"))
    for notice, addition in NOTICE_ADDITIONS.items():
        assert addition in _text(portal.get(f"/legal/{notice}"))
    readings = _text(portal.get("/readings"))
    assert "EX-M000001" in readings
    token = portal.csrf("/readings/EX-M000001")
    sent = portal.post("/readings/EX-M000001", {"r_TOTAL": "2480", "csrf_token": token},
                       content_type="multipart/form-data")
    assert sent.status_code == 302, _text(sent)[:3000]
    history = _text(portal.get(sent.headers["Location"]))
    assert re.search(r"2\W?480\W?kWh", history), history[history.find("<main"):][:2500]
    return portal


# --- 10. the billing run -------------------------------------------------------------------------------------------

def _pdf_text(response) -> str:
    assert response.headers["Content-Type"] == "application/pdf"
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages))


def _billing_run(app, office) -> Bill:
    started = office.submit(RUNS, {"billing_date": "2026-12-01", "mode": "issue", "activity": "", "cycle": ""})
    assert started.status_code == 302, _text(started)[:3000]
    progress = office.get(started.headers["Location"] + "/progress.json").get_json()
    assert (progress["status"], progress["billed"], progress["exceptions"]) == ("completed", 1, 0), progress
    tenant = _tenant(app)
    with app.app_context(), tenant_scope(tenant.id):
        bill = db.session.scalar(select(Bill).where(Bill.status == "issued"))
        lines = db.session.execute(select(BillLine.description, BillLine.quantity, BillLine.unit_price,
                                          BillLine.amount).where(BillLine.bill_id == bill.id)
                                   .order_by(BillLine.id)).all()
        db.session.expunge(bill)
    bill.line_rows = lines
    return bill


def test_an_operator_s_new_utility_goes_live_and_bills_its_first_customer(app, outbox, clock):
    invitation = _operator_creates_the_utility(app, outbox)
    office = _administrator_joins(app, invitation)
    _identity(office)
    _offer(office)
    _payments_and_mail(app, office, outbox)
    _staff(office, outbox)
    account_number = _import_the_examples(app, office)
    _go_live(app, office)
    # The former system billed up to 1 November; November's bill is due on 1 December, when the customer reads.
    clock.move_to(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    portal = _customer_reads_the_meter(app, outbox, account_number)
    _administrator_signs_in_again(office)

    bill = _billing_run(app, office)

    # The imported reading of 1 October (1 840) and the customer's of 1 December (2 480): 640 kWh, shared between
    # October and November along the electricity profile (domain/billing/engine/estimation.py: a day of
    # October weighs 1.0, of November 1.1): 31 x 1.0 : 30 x 1.1 = 310 : 330 kWh for November. Split by days at the
    # price change of 14 November: 13/30 x 330 = 143 kWh at 0.20, the other 187 kWh at 0.25; the standing charge
    # 0.50 a day over both stretches (13 and 17 days).
    assert bill.line_rows == [("standing_charge", Decimal("13"), Decimal("0.50"), Decimal("6.50")),
                              ("standing_charge", Decimal("17"), Decimal("0.50"), Decimal("8.50")),
                              ("energy", Decimal("143"), Decimal("0.20"), Decimal("28.60")),
                              ("energy", Decimal("187"), Decimal("0.25"), Decimal("46.75"))]
    # Before tax 6.50 + 8.50 + 28.60 + 46.75 = 90.35; VAT 20 % = 18.07; total 108.42.
    assert (bill.total_excl_tax, bill.total_incl_tax) == (Decimal("90.35"), Decimal("108.42"))
    page = _words(portal.get(f"/bills/{bill.number}"))
    assert "Abonnement Base 01/11/2026 – 13/11/2026 13 jours 0,50 €/jour 20% 6,50 €" in page
    assert "Énergie Base 14/11/2026 – 30/11/2026 187 kWh 0,25 €/kWh 20% 46,75 €" in page
    assert "Total TTC 108,42 €" in page
    pdf = _pdf_text(portal.get(f"/bills/{bill.number}.pdf"))
    assert "Énergie Base du 1 nov. 2026 au 13 nov. 2026 143 kWh 0,20 €/kWh 20 % 28,60 €" in pdf
    assert "Total TTC 108,42 €" in pdf and "IBAN FR76 3000 6000 0112 3456 7890 189" in pdf
    assert ("Lumière Énergie SAS · Siège social : 8 quai Saint-Antoine, 69002 Lyon · "
            "Immatriculation : RCS Lyon 552 081 317") in pdf
    assert "Urgences (électricité), jour et nuit : 09 72 67 50 69" in pdf
    assert "par carte" not in pdf  # transfers only: the bill does not send the customer to a card checkout
