"""Regularisation of estimated bills when an actual reading arrives, and the back-billing limit."""
from datetime import date

from domain.billing.engine import PriorCharge, back_billing_cutoff, compute_bill, regularisation_start

from .inputs import D, contract, price, reading, tariff

JAN, FEB, MAR, APR = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1)


def _prior(start, end, quantity, amount, unit_price="0.2516"):
    return PriorCharge("energy", "energy", start, end, D(quantity), "kWh", D(unit_price), D(amount), D("0.20"))


ESTIMATED_HISTORY = (
    reading(JAN, "11400"),  # the latest actual reading
    reading(FEB, "11750", estimated=True),  # stored by the January bill
    reading(MAR, "12080", estimated=True),  # stored by the February bill
    reading(APR, "12398"),  # the actual reading that arrives
)
# January bill: 350 x 0.2516 = 88.06; February bill: 330 x 0.2516 = 83.028 -> 83.03
PRIORS = (_prior(JAN, FEB, "350", "88.06"), _prior(FEB, MAR, "330", "83.03"))


def test_an_actual_reading_after_estimates_charges_actual_consumption_and_credits_the_estimates():
    subject = contract(readings=ESTIMATED_HISTORY, tariffs=(tariff(price("energy", "0.2516"), standing="0.4512"),))

    result = compute_bill(contract=subject, period_start=MAR, period_end=APR, prior_charges=PRIORS)

    got = [(line.description, line.period_start, line.period_end, line.quantity, line.amount) for line in result.lines]
    assert got == [
        ("standing_charge", MAR, APR, D("31.000"), D("13.99")),  # March only: 31 x 0.4512 = 13.9872
        ("energy", JAN, APR, D("998.000"), D("251.10")),  # 12398 - 11400 = 998 x 0.2516 = 251.0968
        ("regularisation_credit", JAN, FEB, D("-350.000"), D("-88.06")),
        ("regularisation_credit", FEB, MAR, D("-330.000"), D("-83.03")),
    ]
    assert result.regularised_from == JAN and not result.estimated
    assert result.consumption[0].period_start == JAN and result.consumption[0].quantity == D("998.000")
    # 20 %: (251.10 - 88.06 - 83.03) = 80.01 x 0.20 = 16.002 -> 16.00; 5.5 %: 13.99 x 0.055 -> 0.77
    assert (result.total_excl_tax, result.total_tax, result.total_incl_tax) == (D("94.00"), D("16.77"), D("110.77"))


def test_regularised_consumption_is_priced_with_the_tariffs_in_force_at_the_time():
    old = tariff(price("energy", "0.24"), effective_to=FEB, name="2023")
    new = tariff(price("energy", "0.2516"), effective_from=FEB, name="2024")
    subject = contract(readings=ESTIMATED_HISTORY, tariffs=(old, new))

    result = compute_bill(contract=subject, period_start=MAR, period_end=APR, prior_charges=PRIORS)

    charges = [(line.period_start, line.quantity, line.amount) for line in result.lines if line.description == "energy"]
    # 998 kWh over 91 days, 31 before the change: 998 x 31/91 = 339.978 x 0.24 = 81.59472 -> 81.59;
    # then 998 - 339.978 = 658.022 x 0.2516 = 165.5583352 -> 165.56
    assert charges == [(JAN, D("339.978"), D("81.59")), (FEB, D("658.022"), D("165.56"))]


def test_a_prior_charge_reaching_before_the_latest_actual_reading_is_credited_for_its_days_after_it():
    subject = contract(readings=ESTIMATED_HISTORY, tariffs=(tariff(price("energy", "0.25")),))
    straddling = _prior(date(2023, 12, 15), FEB, "480", "120.00", "0.25")

    result = compute_bill(contract=subject, period_start=MAR, period_end=APR,
                          prior_charges=(straddling, _prior(FEB, MAR, "330", "82.50", "0.25")))

    credit = result.lines[1]
    # 48 days, 31 of them from 1 January: 480 x 31/48 = 310; 120.00 x 31/48 = 77.50
    assert (credit.period_start, credit.period_end, credit.quantity, credit.amount) == (
        JAN, FEB, D("-310.000"), D("-77.50"))


def test_the_regularisation_start_tells_the_caller_which_estimated_bills_to_credit():
    subject = contract(readings=ESTIMATED_HISTORY, tariffs=(tariff(price("energy", "0.25")),))

    assert regularisation_start(contract=subject, period_start=MAR, period_end=APR) == JAN
    assert regularisation_start(contract=subject, period_start=JAN, period_end=FEB) is None


def test_a_regularisation_without_the_estimated_bills_is_reported_not_double_charged():
    subject = contract(readings=ESTIMATED_HISTORY, tariffs=(tariff(price("energy", "0.25")),))

    result = compute_bill(contract=subject, period_start=MAR, period_end=APR)

    assert not result.ok and [problem.code for problem in result.problems] == ["missing_prior_charges"]
    assert result.lines == ()


def test_regularisation_can_be_turned_off_to_bill_from_the_estimated_index():
    subject = contract(readings=ESTIMATED_HISTORY, tariffs=(tariff(price("energy", "0.25")),))

    result = compute_bill(contract=subject, period_start=MAR, period_end=APR, regularise=False)

    # 12398 - 12080 = 318 from the estimated start: the bill is based on an estimate
    assert result.regularised_from is None and result.estimated
    assert result.consumption[0].quantity == D("318.000")


def test_back_billing_cutoff_counts_calendar_months_back_from_the_bill_date():
    assert back_billing_cutoff(bill_date=date(2024, 4, 10), limit_months=12) == date(2023, 4, 10)
    assert back_billing_cutoff(bill_date=date(2024, 4, 30), limit_months=14) == date(2023, 2, 28)


def test_consumption_older_than_the_back_billing_limit_is_not_charged():
    subject = contract(start=date(2022, 10, 1), tariffs=(tariff(price("energy", "0.25")),),
                       readings=(reading(date(2022, 10, 1), "0"), reading(APR, "5480")))

    result = compute_bill(contract=subject, period_start=date(2022, 10, 1), period_end=APR,
                          bill_date=date(2024, 4, 10), back_billing_limit_months=12)

    cutoff = date(2023, 4, 10)
    got = [(line.description, line.period_start, line.period_end, line.quantity, line.amount) for line in result.lines]
    # 5480 kWh over 548 days, 191 of them before the cutoff: 5480 x 191/548 = 1910 x 0.25 = 477.50 not charged;
    # the 3570 kWh since the cutoff x 0.25 = 892.50 are.
    assert got == [
        ("energy", date(2022, 10, 1), cutoff, D("1910.000"), D("477.50")),
        ("energy", cutoff, APR, D("3570.000"), D("892.50")),
        ("back_billing_limit", date(2022, 10, 1), cutoff, D("1.000"), D("-477.50")),
    ]
    assert result.total_excl_tax == D("892.50")


def _late_regularisation(estimated_quantity, estimated_amount, limit):
    readings = (reading(date(2023, 1, 1), "1000"), reading(JAN, "5000", estimated=True), reading(APR, "3000"))
    subject = contract(start=date(2023, 1, 1), readings=readings, tariffs=(tariff(price("energy", "0.25")),))
    prior = _prior(date(2023, 1, 1), JAN, estimated_quantity, estimated_amount, "0.25")
    return compute_bill(contract=subject, period_start=JAN, period_end=APR, prior_charges=(prior,), bill_date=APR,
                        back_billing_limit_months=limit)


def test_an_overestimate_older_than_the_back_billing_limit_is_still_refunded():
    result = _late_regularisation("4000", "1000.00", 12)

    # actual 2000 kWh over 456 days, 90 before the cutoff (1 April 2023): 2000 x 90/456 = 394.737 x 0.25 -> 98.68
    # and 1605.263 x 0.25 -> 401.32. The 2023 estimate is split at the cutoff too: 90/365 of 4000 kWh = 986.301,
    # of 1000.00 = 246.58; the rest 3013.699 and 753.42. Old net 98.68 - 246.58 < 0: a refund, not capped.
    got = [(line.description, line.period_end, line.quantity, line.amount) for line in result.lines]
    assert got == [
        ("energy", date(2023, 4, 1), D("394.737"), D("98.68")),
        ("energy", APR, D("1605.263"), D("401.32")),
        ("regularisation_credit", date(2023, 4, 1), D("-986.301"), D("-246.58")),
        ("regularisation_credit", JAN, D("-3013.699"), D("-753.42")),
    ]
    # (2000 - 4000) kWh x 0.25 = -500.00
    assert result.total_excl_tax == D("-500.00")


def test_an_underestimate_older_than_the_back_billing_limit_is_not_caught_up():
    result = _late_regularisation("1000", "250.00", 12)

    # old part: charge 98.68, credit 1000 x 90/365 = 246.575 kWh, 250.00 x 90/365 = 61.64: net 37.04 taken off.
    # recent part: 401.32 - 188.36 = 212.96 is charged.
    cap = result.lines[-1]
    assert (cap.description, cap.period_start, cap.period_end, cap.amount) == (
        "back_billing_limit", date(2023, 1, 1), date(2023, 4, 1), D("-37.04"))
    assert result.total_excl_tax == D("212.96")


def test_without_a_back_billing_limit_the_whole_underestimate_is_caught_up():
    result = _late_regularisation("1000", "250.00", None)

    # (2000 - 1000) kWh x 0.25 = 250.00
    assert [line.description for line in result.lines] == ["energy", "regularisation_credit"]
    assert result.total_excl_tax == D("250.00")


def test_a_recent_period_is_untouched_by_the_back_billing_limit():
    subject = contract(tariffs=(tariff(price("energy", "0.25")),), readings=(reading(MAR, "0"), reading(APR, "100")))

    limited = compute_bill(contract=subject, period_start=MAR, period_end=APR, bill_date=APR,
                           back_billing_limit_months=12)
    unlimited = compute_bill(contract=subject, period_start=MAR, period_end=APR)

    assert limited == unlimited


def test_a_period_entirely_older_than_the_back_billing_limit_charges_no_consumption():
    subject = contract(tariffs=(tariff(price("energy", "0.25"), standing="0.10"),),
                       readings=(reading(date(2022, 3, 1), "0"), reading(date(2022, 4, 1), "100")))

    result = compute_bill(contract=subject, period_start=date(2022, 3, 1), period_end=date(2022, 4, 1),
                          bill_date=APR, back_billing_limit_months=12)

    # 100 x 0.25 = 25.00 charged then taken off; the standing charge (31 x 0.10 = 3.10) is not consumption
    cap = result.lines[-1]
    assert (cap.description, cap.period_end, cap.amount) == ("back_billing_limit", date(2022, 4, 1), D("-25.00"))
    assert result.total_excl_tax == D("3.10")


def test_a_regularisation_at_tax_included_prices_keeps_the_total_the_sum_of_tax_included_amounts():
    readings = (reading(date(2023, 1, 1), "1000"), reading(JAN, "5000", estimated=True), reading(APR, "3000"))
    subject = contract(start=date(2023, 1, 1), readings=readings,
                       tariffs=(tariff(price("energy", "0.30"), include_tax=True),))
    prior = PriorCharge("energy", "energy", date(2023, 1, 1), JAN, D("1000"), "kWh", D("0.30"), D("250.00"),
                        D("0.20"), True, D("300.00"))

    result = compute_bill(contract=subject, period_start=JAN, period_end=APR, prior_charges=(prior,), bill_date=APR,
                          back_billing_limit_months=12)

    # charged 394.737 x 0.30 = 118.42 and 1605.263 x 0.30 = 481.58 incl. tax; credited 300.00 x 90/365 = 73.97 and
    # the remaining 226.03; the old part nets 118.42 - 73.97 = 44.45 incl. tax, taken off by the limit line
    assert [line.amount_incl_tax for line in result.lines] == [
        D("118.42"), D("481.58"), D("-73.97"), D("-226.03"), D("-44.45")]
    # 481.58 - 226.03 = 255.55 incl. tax; tax 255.55 x 0.2/1.2 = 42.591... -> 42.59
    assert (result.total_incl_tax, result.total_tax, result.total_excl_tax) == (D("255.55"), D("42.59"), D("212.96"))
