"""The pure billing engine: plain inputs in, priced lines and totals out; no database, no Flask, no clock, no I/O.

Entry points: `prepare_tariff` (once per tariff version in a run), `compute_bill`, `credit_note` /
`credit_note_lines`, `regularisation_start`, `instalment_schedule`, `true_up`.
"""
from .bill import DEFAULT_PLAUSIBILITY_FACTOR, compute_bill
from .credit_notes import credit_note, credit_note_lines
from .instalments import instalment_schedule, true_up, true_up_bill
from .model import (
    ACTIVITIES,
    BILL_KINDS,
    COMPONENTS,
    BillingProblem,
    BillLine,
    BillResult,
    CalorificValueIn,
    ContractIn,
    GasConversion,
    IncludedAmount,
    IncludedPartIn,
    Instalment,
    MeterIn,
    PercentLevyIn,
    PriorCharge,
    ReadingIn,
    RegisterConsumption,
    StandingChargeIn,
    TariffIn,
    TaxTotal,
    TrueUp,
    UnitPriceIn,
)
from .money import round_money, round_quantity
from .pricing import PreparedTariff, prepare_tariff, price_keys
from .regularisation import back_billing_cutoff, regularisation_start

__all__ = [
    "ACTIVITIES", "BILL_KINDS", "COMPONENTS", "DEFAULT_PLAUSIBILITY_FACTOR", "BillLine", "BillResult",
    "BillingProblem", "CalorificValueIn", "ContractIn", "GasConversion", "IncludedAmount", "IncludedPartIn",
    "Instalment", "MeterIn", "PercentLevyIn", "PreparedTariff", "PriorCharge", "ReadingIn", "StandingChargeIn",
    "RegisterConsumption", "TariffIn", "TaxTotal", "TrueUp", "UnitPriceIn", "back_billing_cutoff", "compute_bill",
    "credit_note", "credit_note_lines", "instalment_schedule", "prepare_tariff", "price_keys", "regularisation_start",
    "round_money", "round_quantity", "true_up", "true_up_bill",
]
