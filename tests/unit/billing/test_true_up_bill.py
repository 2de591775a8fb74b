"""The true-up bill: the consumption with its own totals, then the instalments deducted at their gross amount."""
from datetime import date

from domain.billing.engine import Instalment, compute_bill, true_up_bill

from .inputs import D, contract, meter, price, reading, tariff

START, END = date(2024, 1, 1), date(2025, 1, 1)


def _consumption(used: str):
    water = tariff(price("water", "2.00", "0.055"), standing="0.10", standing_tax="0.055")
    readings = (reading(START, "0"), reading(END, used))
    return compute_bill(contract=contract(activity="water", meters=(meter(unit="m3"),), readings=readings,
                                          tariffs=(water,)), period_start=START, period_end=END)


def _instalments(count: int, amount: str):
    return [Instalment(number, date(2024, number, 5), D(amount)) for number in range(1, count + 1)]


def test_the_consumption_keeps_its_net_vat_and_gross_and_instalments_are_deducted_gross():
    # 300 m3 x 2.00 = 600.00 and 366 days x 0.10 = 36.60: net 636.60, VAT 5.5 % 35.01, gross 671.61.
    consumption = _consumption("300")

    bill = true_up_bill(consumption=consumption, instalments=_instalments(3, "220.00"))

    assert (bill.total_excl_tax, bill.total_tax) == (D("636.60"), D("35.01"))
    assert bill.total_excl_tax + bill.total_tax == D("671.61")
    assert bill.total_incl_tax == D("11.61")  # 671.61 - 3 x 220.00: what is left to pay
    assert [(t.tax_rate, t.base, t.tax) for t in bill.tax_totals] == [(D("0.055"), D("636.60"), D("35.01"))]
    deductions = [line for line in bill.lines if line.component == "instalment"]
    assert [(line.period_start, line.quantity, line.unit_price, line.amount, line.amount_incl_tax)
            for line in deductions] == [
        (date(2024, month, 5), D("1.000"), D("220.00"), D("-220.00"), D("-220.00")) for month in (1, 2, 3)]
    charged = [line for line in bill.lines if line.component != "instalment"]
    assert sum(line.amount for line in charged) == bill.total_excl_tax
    assert bill.kind == "true_up" and bill.consumption == consumption.consumption


def test_instalments_above_the_consumption_end_on_a_refund_with_a_positive_net():
    consumption = _consumption("300")

    bill = true_up_bill(consumption=consumption, instalments=_instalments(12, "60.00"))

    assert bill.total_excl_tax == D("636.60") and bill.total_tax == D("35.01")
    assert bill.total_incl_tax == D("-48.39")  # 671.61 - 720.00: refunded
    assert all(total.tax_rate != 0 for total in bill.tax_totals)


def test_without_instalments_the_true_up_is_the_consumption_bill():
    consumption = _consumption("300")

    bill = true_up_bill(consumption=consumption, instalments=[])

    assert bill.lines == consumption.lines and bill.total_incl_tax == consumption.total_incl_tax == D("671.61")
