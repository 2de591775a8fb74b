"""What a bill says, on the portal page and in the PDF, in the customer's four languages (issue 12, section 2).

Bills here are computed by the engine from the database (the loaders a billing run uses) and issued as a run
issues them; the PDF is rendered from the same document data the stored file is made of.
"""
from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from domain.billing.document_data import build_bill_document
from domain.billing.document_pdf import render_bill_pdf
from domain.billing.down_payments import _engine_contract
from domain.billing.drafts import draft_row
from domain.billing.engine import compute_bill
from domain.billing.issuing import issue_new
from domain.billing.models import Bill
from domain.contracts.models import CustomerAccount
from domain.db import db
from domain.i18n import translator
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests import factories as f

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
LOCALES = ("en", "fr", "de", "es")
YEAR_START, YEAR_END = date(2025, 10, 1), date(2026, 10, 1)  # 365 days: annual tier bounds apply as they are
# An internal key: lower-case words joined by underscores ("water_tier1", "standing_charge", "instalments_billed").
INTERNAL_CODE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


class _VisibleText(HTMLParser):
    """The text a reader sees: no tags, attributes, scripts or styles."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def _supply(account, activity: str, unit: str, offer_version, readings, **dp):
    premise = f.PremiseFactory()
    point = f.DeliveryPointFactory(premise=premise, activity=activity, **dp)
    meter = f.MeterFactory(activity=activity, unit=unit)
    register = f.RegisterFactory(meter=meter)
    f.MeterInstallationFactory(meter=meter, delivery_point=point, installed_on=date(2024, 1, 1))
    for read_on, value in readings:
        f.MeterReadingFactory(register=register, read_on=read_on, value=Decimal(value), source="agent")
    return f.ContractFactory(account=account, delivery_point=point, offer_id=offer_version.offer_id,
                             start_date=date(2024, 1, 1), estimated_annual_consumption=Decimal("40.000"))


def _issue(tenant_id: int, contract, start: date, end: date) -> Bill:
    """The contract's bill for [start, end), computed by the engine from the database and issued."""
    tenant = db.session.get(Tenant, tenant_id)
    _item, engine_contract, _registers = _engine_contract(tenant, contract, period_start=start, period_end=end,
                                                          kind="periodic")
    result = compute_bill(contract=engine_contract, period_start=start, period_end=end, kind="periodic")
    assert result.ok, result.problems
    row = draft_row(tenant_id=tenant_id, account_id=contract.account_id, contract_id=contract.id, kind="periodic",
                    period_start=start, period_end=end, currency=tenant.currency, result=result)
    (bill_id,) = issue_new(tenant_id=tenant_id, drafts=[(row, result.lines)], issued_at=NOW, issue_date=end,
                           payment_terms_days=14)
    db.session.flush()
    return db.session.get(Bill, bill_id)


@pytest.fixture
def bills(app, two_tenants):
    """Tenant A's customer (who has an online access) with a water, a gas and a tax-included electricity bill."""
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        tenant = db.session.get(Tenant, a.tenant_id)
        tenant.gas_calorific_value = Decimal("11.2")
        account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == a.account_number))

        water_tariff = f.TariffVersionFactory(offer=f.OfferFactory(activity="water"),
                                              standing_charge_per_day=Decimal("0.085000"))
        for tier_from, tier_to, price in (("0", "30", "1.45"), ("30", None, "2.25")):
            f.UnitPriceFactory(version=water_tariff, component="water", price=Decimal(price),
                               tax_rate=Decimal("0.055"), tier_from=Decimal(tier_from),
                               tier_to=Decimal(tier_to) if tier_to else None)
        f.UnitPriceFactory(version=water_tariff, component="sewerage", price=Decimal("1.85"), tax_rate=Decimal("0.10"))
        water = _supply(account, "water", "m3", water_tariff,
                        [(date(2024, 10, 1), "960.000"), (YEAR_START, "1000.000"), (YEAR_END, "1040.958")])

        gas_tariff = f.TariffVersionFactory(offer=f.OfferFactory(activity="gas"),
                                            standing_charge_per_day=Decimal("0.320000"))
        f.UnitPriceFactory(version=gas_tariff, component="energy", price=Decimal("0.115"), tax_rate=Decimal("0.20"))
        gas = _supply(account, "gas", "m3", gas_tariff,
                      [(date(2024, 10, 1), "4900.000"), (YEAR_START, "5000.000"), (YEAR_END, "5100.000")],
                      gas_correction_factor=Decimal("0.98"))

        included_tariff = f.TariffVersionFactory(standing_charge_per_day=Decimal("0.541400"),
                                                 prices_include_tax=True)
        f.UnitPriceFactory(version=included_tariff, component="energy", price=Decimal("0.3019"),
                           tax_rate=Decimal("0.20"))
        included = _supply(account, "electricity", "kWh", included_tariff,
                           [(date(2026, 8, 1), "11700.000"), (date(2026, 9, 1), "12034.000"),
                            (YEAR_END, "12398.000")])
        two_rates = f.TariffVersionFactory()
        for code, amount in (("PEAK", "0.2700"), ("OFFPEAK", "0.2068")):
            f.UnitPriceFactory(version=two_rates, component="energy", register_code=code, price=Decimal(amount))
        f.UnitPriceFactory(version=two_rates, component="levy", price=Decimal("0.012"))
        point = f.DeliveryPointFactory(premise=f.PremiseFactory(), activity="electricity")
        meter = f.MeterFactory()
        f.MeterInstallationFactory(meter=meter, delivery_point=point, installed_on=date(2024, 1, 1))
        for code, values in (("PEAK", ("1000", "1800", "2600")), ("OFFPEAK", ("500", "900", "1300"))):
            register = f.RegisterFactory(meter=meter, code=code, label=code.title())
            for read_on, value in zip((date(2024, 10, 1), YEAR_START, YEAR_END), values, strict=True):
                f.MeterReadingFactory(register=register, read_on=read_on, value=Decimal(value), source="agent")
        peak_offpeak = f.ContractFactory(account=account, delivery_point=point, offer_id=two_rates.offer_id,
                                         start_date=date(2024, 1, 1))
        found = {
            "peak_offpeak": _issue(a.tenant_id, peak_offpeak, YEAR_START, YEAR_END).number,
            "water": _issue(a.tenant_id, water, YEAR_START, YEAR_END).number,
            "gas": _issue(a.tenant_id, gas, YEAR_START, YEAR_END).number,
            "included": _issue(a.tenant_id, included, date(2026, 9, 1), YEAR_END).number,
        }
        db.session.commit()
    return a, found


def _document(app, a, number: str, locale: str = "en"):
    with app.app_context(), tenant_scope(a.tenant_id):
        account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == a.account_number))
        account.locale = locale
        db.session.commit()
        bill = db.session.scalar(select(Bill).where(Bill.number == number))
        doc = build_bill_document(bill_id=bill.id)
    return doc, pdf_text(render_bill_pdf(doc, _=translator(doc.locale)))


def test_a_water_bill_shows_the_volume_the_meter_measured_not_water_plus_sewerage(app, bills):
    a, numbers = bills

    doc, text = _document(app, a, numbers["water"])

    # The meter went from 1,000 to 1,040.958 m³: 40.958 m³, charged for water and again for sewerage.
    (pod,) = [pod for pod in doc.consumption if pod.unit == "m³" and pod.conversion is None]
    assert pod.quantity == Decimal("40.958")
    assert "Consumption measured: 40.958 m³" in text and "81.916" not in text
    # Same basis a year earlier (960 -> 1,000 m³): +2 %, not +105 %.
    (comparison,) = doc.comparisons
    assert (comparison.this_year, comparison.last_year) == (Decimal("40.958"), Decimal("40.000"))
    assert "+2%" in text


def test_a_gas_bill_shows_the_volume_in_m3_and_its_conversion_to_kwh_with_each_factor(app, bills):
    a, numbers = bills

    doc, text = _document(app, a, numbers["gas"])

    # 100 m³ x 0.98 x 11.2 MJ/m³ / 3.6 = 304.8888... -> 304.889 kWh, the quantity the energy line charges.
    (pod,) = doc.consumption
    assert (pod.quantity, pod.unit) == (Decimal("100.000"), "m³")
    assert (pod.conversion.correction_factor, pod.conversion.calorific_value, pod.conversion.energy) == (
        Decimal("0.98"), Decimal("11.2"), Decimal("304.889"))
    assert ("Converted to energy: 100 m³ × correction factor 0.98 × calorific value 11.2 MJ/m³ ÷ 3.6 = "
            "304.889 kWh") in text
    assert "Consumption measured: 100 m³" in text
    assert "304.889 kWh" in text and "304.889 m³" not in text
    energy = [line for line in doc.lines if line.unit == "kWh"]
    assert [line.quantity for line in energy] == [Decimal("304.889")]
    assert "0%" in text  # the same 100 m³ as the year before


def test_gas_conversion_reads_in_french_with_french_numbers(app, bills):
    a, numbers = bills

    _doc, text = _document(app, a, numbers["gas"], "fr")

    assert ("Conversion en énergie : 100 m³ × coefficient de correction 0,98 × pouvoir calorifique 11,2 MJ/m³ "
            "÷ 3,6 = 304,889 kWh") in text


WATER_NAMES = {
    "en": ("Water supply, first 30 m³ a year", "Water supply, above 30 m³ a year", "Sewerage", "Standing charge"),
    "fr": ("Distribution de l'eau, premiers 30 m³ par an", "Distribution de l'eau, au-delà de 30 m³ par an",
           "Assainissement", "Abonnement"),
    "de": ("Wasserversorgung, erste 30 m³ pro Jahr", "Wasserversorgung, über 30 m³ pro Jahr", "Abwasser",
           "Grundpreis"),
    "es": ("Suministro de agua, primeros 30 m³ al año", "Suministro de agua, por encima de 30 m³ al año",
           "Alcantarillado", "Término fijo"),
}


PEAK_NAMES = {
    "en": ("Energy consumption, peak hours", "Energy consumption, off-peak hours", "Levy"),
    "fr": ("Consommation d'énergie, heures pleines", "Consommation d'énergie, heures creuses", "Redevance"),
    "de": ("Energieverbrauch", "Abgabe"),
    "es": ("Consumo de energía", "Tasa"),
}


@pytest.mark.parametrize("locale", LOCALES)
def test_lines_are_named_in_the_customers_language_and_no_internal_code_reaches_the_pdf(app, bills, locale):
    a, numbers = bills

    texts = {kind: _document(app, a, number, locale)[1] for kind, number in numbers.items()}

    for kind, text in texts.items():
        assert INTERNAL_CODE.findall(text) == [], (kind, locale)
    for name in WATER_NAMES[locale]:
        assert name in texts["water"], (name, locale)
    for name in PEAK_NAMES[locale]:
        assert name in texts["peak_offpeak"], (name, locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_bill_page_names_lines_in_the_customers_language_without_internal_codes(app, bills, browser, locale):
    a, numbers = bills
    signed_in = browser(a.slug)
    signed_in.login(a.customer_email)
    signed_in.submit("/bills", {"locale": locale}, action="/language")

    pages = {kind: signed_in.get(f"/bills/{number}") for kind, number in numbers.items()}

    for kind, page in pages.items():
        assert page.status_code == 200
        text = visible_text(page.get_data(as_text=True))
        assert INTERNAL_CODE.findall(text) == [], (kind, locale)
    water = visible_text(pages["water"].get_data(as_text=True))
    for name in WATER_NAMES[locale]:
        assert name in water, (name, locale)


def test_tier_lines_show_their_bounds_over_the_period_and_multiply_out(app, bills):
    a, numbers = bills

    doc, text = _document(app, a, numbers["water"])

    lines = {line.description.replace("\u00a0", " "): line for line in doc.lines}
    first, above = lines["Water supply, first 30 m³ a year"], lines["Water supply, above 30 m³ a year"]
    assert (first.quantity, first.amount, first.detail) == (
        Decimal("30.000"), Decimal("43.50"), "Up to 30\u00a0m³ over these 365 days")
    assert (above.quantity, above.amount) == (Decimal("10.958"), Decimal("24.66"))  # 10.958 x 2.25 = 24.6555
    assert "30 m³ €1.45/m³ 5.5% €43.50" in text and "10.958 m³ €2.25/m³ 5.5% €24.66" in text
    assert "Unit prices and amounts on this bill exclude VAT" in text


def _printed_price(text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.]", "", text.split("/")[0]))


def test_on_a_tariff_with_vat_included_quantity_times_printed_price_is_the_printed_amount(app, bills):
    a, numbers = bills

    doc, text = _document(app, a, numbers["included"])

    assert doc.vat_basis == "incl"
    for line in doc.lines:
        product = (line.quantity * _printed_price(line.unit_price_text)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert product == line.amount_shown, line
    # 364 kWh x 0.3019 = 109.8916 -> 109.89 and 30 days x 0.5414 = 16.242 -> 16.24, both VAT included.
    assert "364 kWh €0.3019/kWh 20% €109.89" in text and "30 days €0.5414/day 5.5% €16.24" in text
    assert "Unit price incl. VAT" in text and "Amount incl. VAT" in text
    assert "Unit prices and amounts on this bill include VAT" in text
    assert doc.total_incl_tax == Decimal("126.13")
    # The VAT per rate is the VAT the tax-included amounts contain, as the engine took it: 109.89 x 0.2 / 1.2 =
    # 18.315 -> 18.32 (not 20 % of the rounded net 91.57 = 18.31), so the subtotals add up to the bill's VAT.
    assert [(t.rate, t.base, t.tax, t.total) for t in doc.tax_totals] == [
        (Decimal("0.055"), Decimal("15.39"), Decimal("0.85"), Decimal("16.24")),
        (Decimal("0.2"), Decimal("91.57"), Decimal("18.32"), Decimal("109.89"))]
    assert sum(t.tax for t in doc.tax_totals) == doc.total_tax == Decimal("19.17")


def test_the_bill_page_states_vat_included_and_shows_amounts_that_multiply_out(app, bills, browser):
    a, numbers = bills
    signed_in = browser(a.slug)
    signed_in.login(a.customer_email)

    text = visible_text(signed_in.get(f"/bills/{numbers['included']}").get_data(as_text=True))

    assert "Unit price incl. VAT" in text and "Amount incl. VAT" in text
    assert "364 kWh €0.3019/kWh 20% €109.89" in text
    assert "Unit prices and amounts on this bill include VAT" in text


def test_a_gbp_tenant_prints_pence_per_kwh_and_pounds_per_m3(app, bills):
    a, numbers = bills
    with app.app_context(), tenant_scope(a.tenant_id):
        for bill in db.session.scalars(select(Bill).where(Bill.number.in_([numbers["gas"], numbers["water"]]))):
            bill.currency = "GBP"
        db.session.commit()

    _doc, gas = _document(app, a, numbers["gas"])
    _doc, water = _document(app, a, numbers["water"])

    assert "304.889 kWh 11.50p/kWh" in gas and "365 days 32.00p/day" in gas
    assert "£1.45/m³" in water


def test_the_bill_page_shows_the_metered_volume_and_the_gas_conversion(app, bills, browser):
    a, numbers = bills
    signed_in = browser(a.slug)
    signed_in.login(a.customer_email)

    water = visible_text(signed_in.get(f"/bills/{numbers['water']}").get_data(as_text=True))
    gas = visible_text(signed_in.get(f"/bills/{numbers['gas']}").get_data(as_text=True))

    assert "Consumption measured: 40.958 m³" in water and "81.916" not in water
    assert "40 m³ → 40.958 m³ (+2%)" in water
    assert "Consumption measured: 100 m³" in gas
    assert ("Converted to energy: 100 m³ × correction factor 0.98 × calorific value 11.2 MJ/m³ ÷ 3.6 = "
            "304.889 kWh") in gas


def test_a_true_up_issued_before_the_fix_reads_with_the_consumptions_own_totals(app, two_tenants):
    """Stored as true-ups were before: one 0 % "instalments_billed" line of -875.12 and a negative net of -4.38."""
    a, _b = two_tenants
    with app.app_context(), tenant_scope(a.tenant_id):
        account = db.session.scalar(select(CustomerAccount).where(CustomerAccount.account_number == a.account_number))
        bill = f.BillFactory(account=account, kind="true_up", total_excl_tax=Decimal("4.38"),
                             total_tax=Decimal("48.37"), total_incl_tax=Decimal("52.75"))
        bill.total_excl_tax = Decimal("879.50") - Decimal("875.12")
        f.BillLineFactory(bill=bill, position=1, component="water", description="water", quantity=Decimal("420.000"),
                          unit="m3", unit_price=Decimal("2.00"), amount=Decimal("840.00"), tax_rate=Decimal("0.055"))
        f.BillLineFactory(bill=bill, position=2, component="standing_charge", description="standing_charge",
                          quantity=Decimal("395.000"), unit="day", unit_price=Decimal("0.10"),
                          amount=Decimal("39.50"), tax_rate=Decimal("0.055"))
        f.BillLineFactory(bill=bill, position=3, component="instalment", description="instalments_billed",
                          quantity=Decimal("12.000"), unit="month", unit_price=Decimal("-72.92667"),
                          amount=Decimal("-875.12"), tax_rate=Decimal("0"))
        db.session.commit()

        doc = build_bill_document(bill_id=bill.id)
    text = pdf_text(render_bill_pdf(doc, _=translator("en")))

    assert [(t.rate, t.base, t.tax) for t in doc.tax_totals] == [(Decimal("0.055"), Decimal("879.50"),
                                                                  Decimal("48.37"))]
    assert (doc.total_excl_tax, doc.gross_total, doc.deducted, doc.total_incl_tax) == (
        Decimal("879.50"), Decimal("927.87"), Decimal("875.12"), Decimal("52.75"))
    assert "Instalments already billed" in text and "Amount to pay €52.75" in text
    assert "0%" not in text and INTERNAL_CODE.findall(text) == []
