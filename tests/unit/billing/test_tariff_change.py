"""A tariff change inside the period: consumption split pro rata by days, each part at the prices then in force."""
from datetime import date

from domain.billing.engine import compute_bill

from .inputs import D, contract, meter, price, reading, tariff

MARCH, CHANGE, APRIL = date(2024, 3, 1), date(2024, 3, 16), date(2024, 4, 1)


def _peak_offpeak(peak, offpeak, **kwargs):
    return tariff(price("energy", peak, register="PEAK"), price("energy", offpeak, register="OFFPEAK"), **kwargs)


def test_consumption_is_split_by_days_on_each_side_of_the_change():
    old = _peak_offpeak("0.27", "0.20", effective_to=CHANGE, name="2023")
    new = _peak_offpeak("0.28", "0.21", effective_from=CHANGE, name="2024")
    readings = (reading(MARCH, "3000", "PEAK"), reading(MARCH, "5000", "OFFPEAK"),
                reading(APRIL, "3210", "PEAK"), reading(APRIL, "5180", "OFFPEAK"))

    result = compute_bill(contract=contract(meters=(meter(registers=("PEAK", "OFFPEAK")),), readings=readings,
                                            tariffs=(old, new)), period_start=MARCH, period_end=APRIL)

    got = [(line.description, line.period_start, line.quantity, line.unit_price, line.amount) for line in result.lines]
    # 15 of 31 days before the change. Peak 210 x 15/31 = 101.6129 -> 101.613, after: 210 - 101.613 = 108.387.
    # Off-peak 180 x 15/31 = 87.0967 -> 87.097, after 92.903.
    assert got == [
        ("energy_peak", MARCH, D("101.613"), D("0.27"), D("27.44")),  # 27.43551
        ("energy_offpeak", MARCH, D("87.097"), D("0.20"), D("17.42")),  # 17.4194
        ("energy_peak", CHANGE, D("108.387"), D("0.28"), D("30.35")),  # 30.34836
        ("energy_offpeak", CHANGE, D("92.903"), D("0.21"), D("19.51")),  # 19.50963
    ]
    assert [line.period_end for line in result.lines] == [CHANGE, CHANGE, APRIL, APRIL]


def test_the_parts_of_a_split_consumption_always_sum_to_the_measured_consumption():
    old = tariff(price("energy", "0.20"), effective_to=CHANGE, name="2023")
    new = tariff(price("energy", "0.21"), effective_from=CHANGE, name="2024")
    readings = (reading(MARCH, "0"), reading(APRIL, "365"))

    result = compute_bill(contract=contract(readings=readings, tariffs=(old, new)), period_start=MARCH,
                          period_end=APRIL)

    # 365 x 15/31 = 176.6129 -> 176.613; the later part takes the remainder 188.387
    assert [line.quantity for line in result.lines] == [D("176.613"), D("188.387")]
    assert sum(line.quantity for line in result.lines) == D("365.000")


def test_tiers_are_prorated_to_each_part_of_a_split_period():
    blocks = (price("water", "1.00", "0", tier_from=0, tier_to=30), price("water", "2.00", "0", tier_from=30))
    old = tariff(*blocks, effective_to=CHANGE, name="2023")
    new = tariff(*blocks, effective_from=CHANGE, name="2024")
    readings = (reading(MARCH, "0"), reading(APRIL, "31"))

    result = compute_bill(contract=contract(activity="water", meters=(meter(unit="m3"),), readings=readings,
                                            tariffs=(old, new)), period_start=MARCH, period_end=APRIL)

    # consumption 15 m3 then 16 m3; first-block allowance 30 x 15/365 = 1.233, then 30 x 16/365 = 1.315
    got = [(line.description, line.period_start, line.quantity) for line in result.lines]
    assert got == [
        ("water_tier1", MARCH, D("1.233")), ("water_tier2", MARCH, D("13.767")),
        ("water_tier1", CHANGE, D("1.315")), ("water_tier2", CHANGE, D("14.685")),
    ]
