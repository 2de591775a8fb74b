"""Bill kinds: final (move-out), corrective (re-bill the same period), credit notes."""
from datetime import date

import pytest

from domain.billing.engine import compute_bill, credit_note, credit_note_lines

from .inputs import D, contract, price, reading, tariff

MARCH, MOVE_OUT, APRIL = date(2024, 3, 1), date(2024, 3, 20), date(2024, 4, 1)
PRICED = tariff(price("energy", "0.2516"), standing="0.4512")


def test_a_final_bill_ends_on_the_contract_end_with_the_final_reading():
    subject = contract(end=MOVE_OUT, tariffs=(PRICED,), readings=(reading(MARCH, "12034"), reading(MOVE_OUT, "12200")))

    result = compute_bill(contract=subject, period_start=MARCH, period_end=MOVE_OUT, kind="final")

    # 19 days x 0.4512 = 8.5728 -> 8.57; 166 kWh x 0.2516 = 41.7656 -> 41.77
    assert result.kind == "final" and [line.amount for line in result.lines] == [D("8.57"), D("41.77")]


def test_a_final_bill_must_end_on_the_contract_end():
    subject = contract(end=MOVE_OUT, tariffs=(PRICED,), readings=(reading(MARCH, "0"), reading(APRIL, "1")))

    with pytest.raises(ValueError, match="contract's end date"):
        compute_bill(contract=subject, period_start=MARCH, period_end=APRIL, kind="final")


def test_a_corrective_bill_recomputes_the_period_with_the_prices_in_force_at_the_time():
    old = tariff(price("energy", "0.20"), effective_to=date(2024, 3, 16), name="2023")
    new = tariff(price("energy", "0.30"), effective_from=date(2024, 3, 16), effective_to=date(2024, 6, 1), name="2024")
    later = tariff(price("energy", "0.99"), effective_from=date(2024, 6, 1), name="2025")
    subject = contract(tariffs=(old, new, later), readings=(reading(MARCH, "0"), reading(APRIL, "310")))

    original = compute_bill(contract=subject, period_start=MARCH, period_end=APRIL)
    corrective = compute_bill(contract=subject, period_start=MARCH, period_end=APRIL, kind="corrective")

    # 310 kWh over 31 days: 150 x 0.20 = 30.00 and 160 x 0.30 = 48.00; the later 0.99 price plays no part
    assert corrective.kind == "corrective" and [line.amount for line in corrective.lines] == [D("30.00"), D("48.00")]
    assert corrective.lines == original.lines and corrective.total_incl_tax == original.total_incl_tax


def test_credit_note_lines_negate_quantities_and_amounts_and_keep_prices():
    subject = contract(tariffs=(PRICED,), readings=(reading(MARCH, "12034"), reading(APRIL, "12398")))
    original = compute_bill(contract=subject, period_start=MARCH, period_end=APRIL)

    lines = credit_note_lines(original.lines)

    assert [(line.description, line.quantity, line.unit_price, line.amount) for line in lines] == [
        ("standing_charge", D("-31.000"), D("0.4512"), D("-13.99")),
        ("energy", D("-364.000"), D("0.2516"), D("-91.58")),
    ]


def test_a_credit_note_cancels_the_original_bill_exactly():
    published = tariff(price("energy", "0.3019"), standing="0.5414", include_tax=True)
    subject = contract(tariffs=(published,), readings=(reading(MARCH, "12034"), reading(APRIL, "12398")))
    original = compute_bill(contract=subject, period_start=MARCH, period_end=APRIL)

    credit = credit_note(original)

    assert credit.kind == "credit_note"
    assert (credit.total_excl_tax, credit.total_tax, credit.total_incl_tax) == (
        -original.total_excl_tax, -original.total_tax, -original.total_incl_tax)
    assert sum(line.amount for line in credit.lines + original.lines) == 0
    assert sum(line.amount_incl_tax for line in credit.lines + original.lines) == 0
    assert [total.tax for total in credit.tax_totals] == [-total.tax for total in original.tax_totals]


def test_a_bill_with_problems_cannot_be_credited():
    subject = contract(tariffs=(), readings=(reading(MARCH, "0"), reading(APRIL, "1")))
    failed = compute_bill(contract=subject, period_start=MARCH, period_end=APRIL)

    with pytest.raises(ValueError):
        credit_note(failed)


def test_credit_notes_are_not_computed_from_readings():
    subject = contract(tariffs=(PRICED,), readings=(reading(MARCH, "0"), reading(APRIL, "1")))

    with pytest.raises(ValueError, match="credit_note"):
        compute_bill(contract=subject, period_start=MARCH, period_end=APRIL, kind="credit_note")
