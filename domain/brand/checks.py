"""Pure checks of the identity a utility enters: VAT numbers by country, phone numbers, colours (WCAG contrast)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from tenants.contrast import AA, WHITE, contrast, text_shade

# EU VAT identification numbers (and the UK's, Switzerland's, Norway's) by their country prefix: the format of the
# national part, as the European Commission's VIES describes it. Only the shape is checked, plus France's key.
VAT_FORMATS = {
    "AT": r"U\d{8}", "BE": r"[01]\d{9}", "BG": r"\d{9,10}", "CY": r"\d{8}[A-Z]", "CZ": r"\d{8,10}",
    "DE": r"\d{9}", "DK": r"\d{8}", "EE": r"\d{9}", "EL": r"\d{9}", "ES": r"[A-Z0-9]\d{7}[A-Z0-9]",
    "FI": r"\d{8}", "FR": r"[A-HJ-NP-Z0-9]{2}\d{9}", "HR": r"\d{11}", "HU": r"\d{8}",
    "IE": r"\d{7}[A-W][A-I]?|\d[A-Z+*]\d{5}[A-W]",
    "IT": r"\d{11}", "LT": r"\d{9}|\d{12}", "LU": r"\d{8}", "LV": r"\d{11}", "MT": r"\d{8}", "NL": r"\d{9}B\d{2}",
    "PL": r"\d{10}", "PT": r"\d{9}", "RO": r"[1-9]\d{1,9}", "SE": r"\d{12}", "SI": r"\d{8}", "SK": r"\d{10}",
    "XI": r"\d{9}|\d{12}|GD\d{3}|HA\d{3}", "GB": r"\d{9}|\d{12}|GD\d{3}|HA\d{3}", "CH": r"E\d{9}(MWST|TVA|IVA)?",
    "NO": r"\d{9}(MVA)?",
}
_PHONE = re.compile(r"^\+?[0-9(][0-9 ().\-/]{2,24}[0-9]$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def normalise_vat(value: str) -> str:
    """"fr 40 303 265 045" -> "FR40303265045" (spaces, dots and dashes are only presentation)."""
    return re.sub(r"[\s.\-]", "", value or "").upper()


def vat_problem(value: str) -> str | None:
    """None when `value` (normalised) is a VAT number of a known country in its format; else "country" (no known
    prefix), "format" (the national part has the wrong shape) or "key" (France: the check key does not match)."""
    country, national = value[:2], value[2:]
    if country == "GR":
        country = "EL"
    pattern = VAT_FORMATS.get(country)
    if pattern is None:
        return "country"
    if not re.fullmatch(pattern, national):
        return "format"
    if country == "FR" and national[:2].isdigit():
        siren = int(national[2:])
        if int(national[:2]) != (12 + 3 * (siren % 97)) % 97:
            return "key"
    return None


def is_phone(value: str) -> bool:
    """A phone number as people write it: digits, spaces, dots, dashes, brackets, a leading +; 4 to 20 digits."""
    digits = sum(ch.isdigit() for ch in value)
    return bool(_PHONE.match(value)) and 4 <= digits <= 20


@dataclass(frozen=True)
class ContrastShortfall:
    colour: str
    ratio: float  # white text on `colour`
    needed: float
    suggestion: str  # the same hue darkened just enough

    @property
    def short_by(self) -> float:
        return round(self.needed - self.ratio, 2)


def white_text_shortfall(colour: str) -> ContrastShortfall | None:
    """None when white text on `colour` reaches WCAG AA (4.5:1, normal text); else by how much it falls short and
    a darker shade that reaches it (buttons and the header bar print white text on the primary colour)."""
    ratio = contrast(WHITE, colour)
    if ratio >= AA:
        return None
    # Rounded down: a ratio of 4.497 must not read as "4.5" while it fails.
    return ContrastShortfall(colour=colour.lower(), ratio=math.floor(ratio * 100) / 100, needed=AA,
                             suggestion=text_shade(colour, on=WHITE))
