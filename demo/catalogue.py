"""What the two demo utilities are: branding, offers and prices, known logins and sample requests."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from demo.names import AQUAVILLE_TOWNS, LUMEN_TOWNS

DEMO_PASSWORD = "demo-password-2026"
OPERATOR_EMAIL = "operator@platform.example.com"
OPERATOR_NAME = "Platform Operator"
DEV_HOST = "localhost:5000"  # `make run` serves on port 5000; *.localhost reaches this machine
STAFF_ROLES = ("agent", "billing", "collections", "supervisor")


@dataclass(frozen=True)
class PriceSpec:
    """One unit price of a tariff version (per kWh or m3; `subscribed_power` is per kW and year)."""

    component: str
    price: Decimal
    tax_rate: Decimal
    register_code: str | None = None
    tier_from: Decimal | None = None
    tier_to: Decimal | None = None


@dataclass(frozen=True)
class OfferSpec:
    code: str
    name: str
    activity: str
    kind: str  # regulated or market
    standing_charge_per_day: Decimal
    standing_charge_tax_rate: Decimal
    prices: tuple[PriceSpec, ...]
    increase: Decimal  # relative price change of the second tariff version
    registers: tuple[str, ...] = ("TOTAL",)  # the register layouts this offer can price
    share: int = 1  # relative weight when customers are spread over offers


@dataclass(frozen=True)
class KnownHome:
    label: str
    activities: tuple[str, ...]
    address_line1: str
    postcode: str
    city: str
    peak_offpeak: bool = False


@dataclass(frozen=True)
class KnownCustomer:
    """A customer with an online login whose e-mail the logins list prints."""

    email: str
    title: str | None
    first_name: str | None
    last_name: str | None
    homes: tuple[KnownHome, ...]
    organisation_name: str | None = None


@dataclass(frozen=True)
class RequestSpec:
    kind: str
    status: str
    subject: str
    days_ago: int
    sla_days: int
    messages: tuple[tuple[str, bool, str], ...]  # (author kind, internal, body)


@dataclass(frozen=True)
class DemoUtility:
    slug: str
    name: str
    activities: tuple[str, ...]
    locale: str
    primary_colour: str
    accent_colour: str
    prefix: str  # of account, party and contract numbers
    phone_area: str
    towns: tuple[tuple[str, str], ...]
    offers: tuple[OfferSpec, ...]
    known_customers: tuple[KnownCustomer, ...]
    requests: tuple[RequestSpec, ...]
    staff_names: dict[str, str] = field(default_factory=dict)
    currency: str = "EUR"
    timezone: str = "Europe/Paris"

    @property
    def admin_email(self) -> str:
        return f"admin@{self.slug}.example.com"

    def staff_email(self, role: str) -> str:
        return f"{role}@{self.slug}.example.com"

    @property
    def known_account_count(self) -> int:
        return sum(len(c.homes) for c in self.known_customers)


D = Decimal
VAT = D("0.20")
VAT_REDUCED = D("0.055")
VAT_INTERMEDIATE = D("0.10")

WATER_OFFERS = (
    OfferSpec(
        "EAU-COMMUNAL", "Eau potable – tarif communal", "water", "regulated", D("0.0850"), VAT_REDUCED,
        (
            # A social first block: the first 30 m3 a year are cheaper.
            PriceSpec("water", D("1.4500"), VAT_REDUCED, tier_from=D("0"), tier_to=D("30")),
            PriceSpec("water", D("2.2500"), VAT_REDUCED, tier_from=D("30")),
            PriceSpec("sewerage", D("1.8500"), VAT_INTERMEDIATE),
        ),
        increase=D("0.045"), share=7,
    ),
    OfferSpec(
        "EAU-SERENITE", "Eau Sérénité (prix fixe)", "water", "market", D("0.0650"), VAT_REDUCED,
        (
            PriceSpec("water", D("2.1900"), VAT_REDUCED),
            PriceSpec("sewerage", D("1.8500"), VAT_INTERMEDIATE),
        ),
        increase=D("0.030"), share=3,
    ),
)

ELECTRICITY_OFFERS = (
    OfferSpec(
        "ELEC-REG-BASE", "Regulated base tariff", "electricity", "regulated", D("0.4380"), VAT_REDUCED,
        (PriceSpec("energy", D("0.2516"), VAT),),
        increase=D("0.060"), share=6,
    ),
    OfferSpec(
        "ELEC-REG-HPHC", "Regulated peak / off-peak tariff", "electricity", "regulated", D("0.4520"), VAT_REDUCED,
        (
            PriceSpec("energy", D("0.2700"), VAT, register_code="PEAK"),
            PriceSpec("energy", D("0.2068"), VAT, register_code="OFFPEAK"),
        ),
        increase=D("0.060"), registers=("PEAK", "OFFPEAK"),
    ),
    OfferSpec(
        "ELEC-GREEN", "Lumen Green Fixed", "electricity", "market", D("0.4100"), VAT_REDUCED,
        (PriceSpec("energy", D("0.2390"), VAT),),
        increase=D("0.025"), share=4,
    ),
)

GAS_OFFERS = (
    OfferSpec(
        "GAS-REF", "Gas reference price", "gas", "regulated", D("0.3200"), VAT_REDUCED,
        (PriceSpec("energy", D("0.1150"), VAT),),
        increase=D("0.080"), share=11,
    ),
    OfferSpec(
        "GAS-FIXED", "Lumen Gas Fixed 2 years", "gas", "market", D("0.3000"), VAT_REDUCED,
        (PriceSpec("energy", D("0.1090"), VAT),),
        increase=D("0.020"), share=9,
    ),
)

HEATING_OFFERS = (
    # Urban heating bills its standing part per subscribed kW and year rather than per day.
    OfferSpec(
        "HEAT-NETWORK", "Urban heating network", "heating", "regulated", D("0"), VAT_REDUCED,
        (
            PriceSpec("subscribed_power", D("48.50"), VAT_REDUCED),
            PriceSpec("energy", D("0.0890"), VAT_REDUCED),
        ),
        increase=D("0.040"), share=4,
    ),
    OfferSpec(
        "HEAT-GREEN", "Green heat (renewable)", "heating", "market", D("0"), VAT_REDUCED,
        (
            PriceSpec("subscribed_power", D("45.00"), VAT_REDUCED),
            PriceSpec("energy", D("0.0950"), VAT_REDUCED),
        ),
        increase=D("0.020"), share=1,
    ),
)

AQUAVILLE = DemoUtility(
    slug="aquaville",
    name="Aquaville Water",
    activities=("water",),
    locale="fr",
    primary_colour="#0e6ba8",
    accent_colour="#00a6a6",
    prefix="AQ",
    phone_area="2",
    towns=AQUAVILLE_TOWNS,
    offers=WATER_OFFERS,
    known_customers=(
        KnownCustomer(
            "customer@aquaville.example.com", "Mme", "Camille", "Durand",
            (KnownHome("home", ("water",), "12 rue des Mouettes", "44500", "La Baule-Escoublac"),),
        ),
        KnownCustomer(
            "business@aquaville.example.com", None, None, None,
            (KnownHome("campsite", ("water",), "3 route de la Côte", "44420", "La Turballe"),),
            organisation_name="Camping des Dunes",
        ),
    ),
    requests=(
        RequestSpec("complaint", "in_progress", "Facture d'eau plus élevée que d'habitude", 6, 15, (
            ("customer", False, "Bonjour, ma dernière facture est deux fois plus élevée que d'habitude. "
                                "Pouvez-vous vérifier mon relevé ?"),
            ("staff", True, "Index client cohérent avec le compteur ; suspicion de fuite après compteur."),
            ("staff", False, "Bonjour, votre consommation a fortement augmenté depuis mars. Nous vous conseillons "
                             "de vérifier l'absence de fuite (chasse d'eau, robinet extérieur)."),
        )),
        RequestSpec("meter_problem", "open", "Compteur illisible (buée sous la vitre)", 2, 10, (
            ("customer", False, "Je ne peux plus lire mon compteur, la vitre est pleine de buée."),
        )),
        RequestSpec("move_out", "closed", "Résiliation suite à déménagement", 40, 5, (
            ("customer", False, "Je quitte le logement le 30 du mois, merci de clôturer mon contrat."),
            ("staff", False, "C'est noté, un relevé de sortie sera fait par notre technicien."),
        )),
        RequestSpec("offer_change", "waiting_customer", "Passage à l'offre Sérénité", 9, 10, (
            ("customer", False, "Je souhaite passer à l'offre à prix fixe."),
            ("staff", False, "Merci de nous confirmer la date souhaitée pour le changement."),
        )),
        RequestSpec("intervention", "resolved", "Fuite sur le regard de comptage", 20, 3, (
            ("customer", False, "Il y a de l'eau qui s'écoule du regard devant la maison."),
            ("staff", False, "Notre équipe est intervenue et a remplacé le joint du robinet avant compteur."),
        )),
    ),
    staff_names={"agent": "Nadia Benali", "billing": "Yves Le Bihan", "collections": "Sandrine Caradec",
                 "supervisor": "Marc Guillou"},
)

LUMEN = DemoUtility(
    slug="lumen",
    name="Lumen Energy",
    activities=("electricity", "gas", "heating"),
    locale="en",
    primary_colour="#5b2a86",
    accent_colour="#f4a259",
    prefix="LU",
    phone_area="4",
    towns=LUMEN_TOWNS,
    offers=ELECTRICITY_OFFERS + GAS_OFFERS + HEATING_OFFERS,
    known_customers=(
        KnownCustomer(
            "customer@lumen.example.com", "Mr", "Alex", "Moreau",
            (
                KnownHome("home", ("electricity", "gas"), "8 cours Lafayette", "69003", "Lyon", peak_offpeak=True),
                KnownHome("holiday home", ("electricity",), "21 chemin des Chalets", "74400", "Chamonix-Mont-Blanc"),
            ),
        ),
        KnownCustomer(
            "heating@lumen.example.com", "Ms", "Sophie", "Laurent",
            (KnownHome("home", ("electricity", "heating"), "45 rue Émile Zola", "69100", "Villeurbanne"),),
        ),
    ),
    requests=(
        RequestSpec("complaint", "in_progress", "Estimated bill much higher than usual", 5, 15, (
            ("customer", False, "My last bill was estimated and is far higher than my real use. "
                                "I have sent a reading today."),
            ("staff", True, "Estimate based on last winter; the customer reading looks plausible."),
            ("staff", False, "Thank you, we have received your reading and will issue a corrected bill."),
        )),
        RequestSpec("meter_problem", "open", "Smart meter display is blank", 1, 10, (
            ("customer", False, "The screen of my meter has been blank since yesterday."),
        )),
        RequestSpec("offer_change", "waiting_customer", "Switch to peak / off-peak", 8, 10, (
            ("customer", False, "I charge an electric car at night; would peak / off-peak suit me better?"),
            ("staff", False, "It should. Please confirm and we will switch you from the next billing period."),
        )),
        RequestSpec("move_in", "resolved", "Moving in: start gas and electricity", 30, 5, (
            ("customer", False, "I am moving in on the 1st, please start both supplies."),
            ("staff", False, "Done: both contracts start on the 1st. Please send us your opening readings."),
        )),
        RequestSpec("intervention", "closed", "Heating substation noise", 60, 7, (
            ("customer", False, "The heating substation in the basement makes a loud noise at night."),
            ("staff", False, "Our technician replaced a faulty pump on the substation."),
        )),
        RequestSpec("other", "open", "Paper bills for my landlord", 3, 15, (
            ("customer", False, "Can a copy of each bill be posted to my landlord?"),
        )),
    ),
    staff_names={"agent": "Jordan Blake", "billing": "Priya Shah", "collections": "Tom Reynolds",
                 "supervisor": "Morgan Lee"},
)

DEMO_UTILITIES = (AQUAVILLE, LUMEN)


def offers_for(utility: DemoUtility, activity: str, registers: tuple[str, ...]) -> list[OfferSpec]:
    """The offers of an activity that can price a meter with these registers."""
    return [o for o in utility.offers if o.activity == activity and o.registers == registers]
