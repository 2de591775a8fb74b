"""Gas calorific values with effective dates: each part of a period is converted with the value in force then
(the volume apportioned by days, like a tariff change), and re-billing a past period uses that period's values.
Also: a customer who prevented readings is not protected by the back-billing limit from that day."""
from dataclasses import replace
from datetime import date

from domain.billing.engine import CalorificValueIn, GasConversion, PriorCharge, compute_bill

from .inputs import D, contract, meter, price, reading, tariff

JAN, JAN_11, JAN_21, FEB = date(2026, 1, 1), date(2026, 1, 11), date(2026, 1, 21), date(2026, 2, 1)
VALUES = (CalorificValueIn(date(2025, 1, 1), D("38.0")), CalorificValueIn(JAN_11, D("40.0")))


def _gas(*tariffs, readings, values=VALUES, base=None):
    subject = contract(activity="gas", meters=(meter(unit="m3", digits=5),), readings=readings,
                       tariffs=tariffs or (tariff(price("energy", "0.10")),), correction="1.02", calorific=base)
    return replace(subject, gas_calorific_values=values)


def test_a_calorific_value_change_mid_period_converts_each_part_with_its_own_value():
    subject = _gas(readings=(reading(JAN, "10000"), reading(FEB, "10310")))

    result = compute_bill(contract=subject, period_start=JAN, period_end=FEB)

    # 310 m3 over 31 days: 10 days at 38.0 get 310 x 10/31 = 100 m3, the 21 days at 40.0 the remaining 210 m3.
    # 100 x 1.02 x 38.0 / 3.6 = 1076.6666... -> 1076.667 kWh; 210 x 1.02 x 40.0 / 3.6 = 2380.000 kWh
    assert result.gas_conversions == (
        GasConversion("TOTAL", JAN, JAN_11, D("100.000"), D("1.02"), D("38.0"), D("1076.667")),
        GasConversion("TOTAL", JAN_11, FEB, D("210.000"), D("1.02"), D("40.0"), D("2380.000")),
    )
    assert result.consumption[0].quantity == D("310.000")
    assert result.consumption[0].billed_quantity == D("3456.667")
    energy = [(line.quantity, line.amount) for line in result.lines if line.component == "energy"]
    assert energy == [(D("3456.667"), D("345.67"))]  # x 0.10 = 345.6667
    # VAT 20 %: 69.134 -> 69.13
    assert (result.total_excl_tax, result.total_tax, result.total_incl_tax) == (D("345.67"), D("69.13"), D("414.80"))


def test_a_tariff_change_and_a_calorific_value_change_on_other_days_share_the_energy_by_days():
    old = tariff(price("energy", "0.10"), effective_to=JAN_21, name="old")
    new = tariff(price("energy", "0.12"), effective_from=JAN_21, name="new")
    subject = _gas(old, new, readings=(reading(JAN, "10000"), reading(FEB, "10310")))

    result = compute_bill(contract=subject, period_start=JAN, period_end=FEB)

    energy = [(line.period_start, line.quantity, line.amount) for line in result.lines if line.component == "energy"]
    # Old tariff (1-20 Jan): all 1076.667 kWh of 1-10 Jan, and 2380 x 10/21 = 1133.333 of 11-20 Jan = 2210.000;
    # new tariff (21-31 Jan): the remaining 1246.667. 2210 x 0.10 = 221.00; 1246.667 x 0.12 = 149.60004 -> 149.60
    assert energy == [(JAN, D("2210.000"), D("221.00")), (JAN_21, D("1246.667"), D("149.60"))]
    assert (result.total_excl_tax, result.total_tax, result.total_incl_tax) == (D("370.60"), D("74.12"), D("444.72"))


def test_one_value_in_force_converts_the_whole_volume_at_once_as_before():
    subject = _gas(readings=(reading(FEB, "10000"), reading(date(2026, 3, 1), "10280")))

    result = compute_bill(contract=subject, period_start=FEB, period_end=date(2026, 3, 1))

    # 280 x 1.02 x 40.0 / 3.6 = 3173.333
    assert result.gas_conversions == (
        GasConversion("TOTAL", FEB, date(2026, 3, 1), D("280.000"), D("1.02"), D("40.0"), D("3173.333")),)
    assert result.consumption[0].billed_quantity == D("3173.333")


def test_re_billing_a_past_period_uses_the_calorific_value_in_force_then():
    subject = _gas(readings=(reading(date(2025, 10, 1), "9000"), reading(date(2025, 11, 1), "9180")))

    result = compute_bill(contract=subject, period_start=date(2025, 10, 1), period_end=date(2025, 11, 1),
                          kind="corrective")

    # October 2025: 38.0 was in force (40.0 only from 11 January 2026): 180 x 1.02 x 38.0 / 3.6 = 1938.000 kWh
    assert [(c.calorific_value, c.energy) for c in result.gas_conversions] == [(D("38.0"), D("1938.000"))]
    assert (result.total_excl_tax, result.total_tax, result.total_incl_tax) == (D("193.80"), D("38.76"), D("232.56"))


def test_the_base_value_is_in_force_until_the_first_dated_one():
    subject = _gas(readings=(reading(JAN, "10000"), reading(FEB, "10310")),
                   values=(CalorificValueIn(JAN_11, D("40.0")),), base="38.0")

    result = compute_bill(contract=subject, period_start=JAN, period_end=FEB)

    assert [c.calorific_value for c in result.gas_conversions] == [D("38.0"), D("40.0")]
    assert result.consumption[0].billed_quantity == D("3456.667")


def test_a_part_of_the_period_without_a_calorific_value_is_reported_not_guessed():
    subject = _gas(readings=(reading(JAN, "10000"), reading(FEB, "10310")),
                   values=(CalorificValueIn(JAN_11, D("40.0")),))

    result = compute_bill(contract=subject, period_start=JAN, period_end=FEB)

    assert [problem.code for problem in result.problems] == ["missing_conversion_factor"]


START, JULY, AUGUST = date(2025, 1, 1), date(2026, 7, 1), date(2026, 8, 1)


def _prevented_case(exempt_from):
    water = contract(activity="water", meters=(meter(unit="m3"),), start=START,
                     tariffs=(tariff(price("water", "2.0000", "0.055"), effective_from=START),),
                     readings=(reading(START, "1000"), reading(JULY, "1546", estimated=True),
                               reading(AUGUST, "1865.5")))
    estimates = PriorCharge("water", "water", START, JULY, D("546.000"), "m3", D("2.0000"), D("1092.00"), D("0.055"))
    return compute_bill(contract=water, period_start=JULY, period_end=AUGUST, prior_charges=(estimates,),
                        bill_date=AUGUST, back_billing_limit_months=12, back_billing_exempt_from=exempt_from)


def test_readings_prevented_from_a_day_lifts_the_back_billing_limit_from_that_day_only():
    limited, prevented_after_april = _prevented_case(None), _prevented_case(date(2025, 4, 1))

    # Limit only (cutoff 1 August 2025): 865.5 m3 x 212/577 = 318 m3 (636.00) against 212 m3 of estimates
    # (1092.00 x 212/546 = 424.00): 212.00 taken off.
    assert [line.amount for line in limited.lines if line.component == "back_billing_limit"] == [D("-212.00")]
    assert limited.total_excl_tax == D("427.00")
    # Prevented from 1 April 2025: only January-March stays limited: 865.5 x 90/577 = 135 m3 (270.00) against
    # 90 m3 of estimates (180.00): 90.00 taken off; 1731.00 - 1092.00 - 90.00 = 549.00
    assert [line.amount for line in prevented_after_april.lines if line.component == "back_billing_limit"] == [
        D("-90.00")]
    assert prevented_after_april.total_excl_tax == D("549.00")
