"""A batch of readings from another system judged in memory (domain/readings/bulk.py): exact outcomes."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.billing.engine.model import MeterIn
from domain.readings.bulk import (
    BatchWorld,
    ContractFacts,
    Installation,
    MeterFacts,
    PointFacts,
    RawReading,
    RegisterHistory,
    StoredReading,
    history_summary,
    judge_batch,
    parse_reading,
    resolve,
)

TODAY = date(2026, 11, 21)
# A water meter read at 1 m3 a day for a year: 20 m3 expected between 1 and 21 November.
HISTORY = [(date(2025, 11, 1), Decimal("100")), (date(2026, 11, 1), Decimal("465"))]


def world(*, history=HISTORY, registers=("TOTAL",), same_day=None, annual=None) -> BatchWorld:
    found = BatchWorld()
    inst = Installation(meter_id=1, point_id=10, installed_on=date(2025, 1, 1), removed_on=None)
    meter = MeterFacts(1, "W0001", 5, Decimal(1), "m3", {code: 100 + i for i, code in enumerate(registers)}, [inst])
    point = PointFacts(10, "PDL-1", "water", [inst])
    found.points, found.points_by_id = {"PDL-1": point}, {10: point}
    found.meters, found.meters_by_serial = {1: meter}, {"W0001": meter}
    found.contracts = {10: [ContractFacts(date(2025, 1, 1), None, annual)]}
    found.same_day = same_day or {}
    meter_in = MeterIn("W0001", 5, Decimal(1), "m3", date(2025, 1, 1), None, tuple(registers))
    for code, register_id in meter.registers.items():
        latest, summary = history_summary(history if code == "TOTAL" else [], register_code=code, meter=meter_in)
        found.histories[register_id] = RegisterHistory(latest, summary, (meter_in,), False)
    return found


def judge(readings, the_world=None):
    the_world = the_world or world()
    outcomes = [parse_reading(i, RawReading(**r), today=TODAY) for i, r in enumerate(readings)]
    for outcome in outcomes:
        if outcome.status != "rejected":
            resolve(outcome, the_world)
    judge_batch(outcomes, the_world)
    return outcomes


def brief(outcome):
    return outcome.status, outcome.reason


def reading(value, *, day="2026-11-21", **extra):
    return {"point": "PDL-1", "read_on": day, "value": value, **extra}


def test_plausible_index_is_accepted_with_its_consumption_and_expectation():
    (outcome,) = judge([reading("485")])

    assert brief(outcome) == ("accepted", None)
    assert (outcome.consumption, outcome.expected, outcome.low, outcome.high) == (
        Decimal("20.000"), Decimal("20.000"), Decimal("6.667"), Decimal("60.000"))
    assert (outcome.register_id, outcome.meter, outcome.register) == (100, "W0001", "TOTAL")


def test_implausible_index_is_to_check_and_lower_one_rejected():
    outcomes = judge([reading("600"), reading("90", day="2026-11-20"), reading("480", day="2026-11-19")])

    # The lower index of the 20th is rejected; the 19th's (15 m3 in 18 days, 18 expected) is plausible and then
    # the previous reading of the 21st's, whose 120 m3 in 2 days is far out of bounds.
    assert [brief(o) for o in outcomes] == [("to_check", None), ("rejected", "lower_than_previous"),
                                           ("accepted", None)]
    assert outcomes[1].details == {"previous": Decimal("480")}
    assert (outcomes[0].previous_on, outcomes[0].consumption) == (date(2026, 11, 19), Decimal("120.000"))


def test_rollover_is_accepted_only_when_confirmed_and_possible():
    near_end = [(date(2025, 11, 1), Decimal("99600")), (date(2026, 11, 1), Decimal("99965"))]

    outcomes = judge([reading("5", rollover=True), reading("5", day="2026-11-20"),
                      reading("50000", day="2026-11-19", rollover=True)], world(history=near_end))

    assert [brief(o) for o in outcomes] == [("accepted", None), ("rejected", "lower_than_previous"),
                                           ("rejected", "rollover_not_possible")]
    assert (outcomes[0].consumption, outcomes[0].rolled_over) == (Decimal("40.000"), True)


def test_format_date_source_and_dial_problems_are_rejected():
    outcomes = judge([reading("12,5.3"), reading("485", day="2026-11-31"), reading("485", source="robot"),
                      reading("485", day="2026-11-22"), reading("485", day="2026-09-21"),
                      reading("123456"), {"read_on": "2026-11-21", "value": "1"}, reading(None)])

    assert [o.reason for o in outcomes] == ["not_a_number", "invalid_date", "invalid_source", "future", "too_old",
                                            "too_many_digits", "missing_identifier", "not_a_number"]
    assert all(o.status == "rejected" for o in outcomes)
    assert outcomes[5].details == {"digits": 5}


def test_unknown_point_meter_register_answer_as_such():
    two = world(registers=("TOTAL", "PEAK"))

    outcomes = judge([{"point": "PDL-9", "read_on": "2026-11-21", "value": "1"},
                      {"meter": "W9999", "read_on": "2026-11-21", "value": "1"},
                      {"meter": "W0001", "read_on": "2026-11-21", "value": "485"},
                      {"meter": "W0001", "register": "NIGHT", "read_on": "2026-11-20", "value": "485"},
                      {"point": "PDL-1", "meter": "W0002", "read_on": "2026-11-19", "value": "485"},
                      {"meter": "W0001", "register": "TOTAL", "read_on": "2026-11-21", "value": "485"}], two)

    assert [brief(o) for o in outcomes] == [
        ("rejected", "unknown_point"), ("rejected", "unknown_meter"), ("rejected", "register_required"),
        ("rejected", "unknown_register"), ("rejected", "meter_mismatch"), ("accepted", None)]
    assert outcomes[5].point == "PDL-1"


def test_a_meter_not_yet_installed_is_not_in_service():
    outcomes = judge([{"meter": "W0001", "read_on": "2026-11-21", "value": "485"}], _installed_late())

    assert brief(outcomes[0]) == ("rejected", "not_in_service")


def _installed_late() -> BatchWorld:
    found = world()
    late = Installation(1, 10, date(2026, 11, 22), None)
    found.meters[1].installations = [late]
    found.points_by_id[10].installations = [late]
    return found


def test_duplicates_in_the_batch_and_stored_readings():
    history = [*HISTORY, (date(2026, 11, 10), Decimal("474"))]
    stored = {(100, date(2026, 11, 10)): [StoredReading(Decimal("474"), "valid", "agent")],
              (100, date(2026, 11, 15)): [StoredReading(Decimal("478"), "pending", "customer")],
              (100, date(2026, 11, 19)): [StoredReading(Decimal("483"), "pending", "customer")]}

    outcomes = judge([reading("485"), reading("486"), reading("474", day="2026-11-10"),
                      reading("483", day="2026-11-19"), reading("479", day="2026-11-15"),
                      reading("470", day="2026-11-05")], world(history=history, same_day=stored))

    assert [brief(o) for o in outcomes] == [("accepted", None), ("rejected", "duplicate_in_batch"),
                                           ("accepted", None), ("to_check", None), ("rejected", "conflict"),
                                           ("rejected", "later_reading")]
    assert (outcomes[1].details, outcomes[4].details) == ({"position": 0}, {"value": Decimal("478")})
    assert [o.already_stored for o in outcomes] == [False, False, True, True, False, False]
    assert [o.to_write for o in outcomes] == [True, False, False, False, False, False]
    assert (outcomes[0].previous_on, outcomes[0].consumption) == (date(2026, 11, 10), Decimal("11.000"))


def test_reading_older_than_the_latest_actual_one_is_rejected():
    after = [(date(2025, 11, 1), Decimal("100")), (date(2026, 11, 20), Decimal("484"))]

    (outcome,) = judge([reading("470", day="2026-11-19")], world(history=after))

    assert brief(outcome) == ("rejected", "later_reading")
    assert outcome.details == {"date": date(2026, 11, 20)}


def test_without_history_the_annual_estimate_gives_the_expectation():
    (outcome,) = judge([reading("200")], world(history=[(date(2026, 11, 1), Decimal("100"))], annual=Decimal("365")))

    assert (brief(outcome), outcome.expected) == (("to_check", None), Decimal("20.000"))


def test_history_summary_keeps_the_span_ends_or_asks_for_everything():
    meter = MeterIn("W0001", 5, Decimal(1), "m3", date(2020, 1, 1))
    rows = [(date(2023, 1, 1), Decimal("1")), (date(2025, 6, 1), Decimal("50")), (date(2026, 1, 1), Decimal("60")),
            (date(2026, 6, 1), Decimal("70"))]

    latest, summary = history_summary(rows, register_code="TOTAL", meter=meter)
    _, went_down = history_summary(rows[:2] + [(date(2026, 1, 1), Decimal("40"))], register_code="TOTAL",
                                   meter=meter)

    assert latest == (date(2026, 6, 1), Decimal("70"))
    assert [(r.read_on, r.value) for r in summary] == [(date(2025, 6, 1), Decimal("50")),
                                                       (date(2026, 6, 1), Decimal("70"))]
    assert went_down is None


def test_an_index_lower_than_the_one_before_is_seen_in_the_text_of_the_stored_indexes():
    from domain.readings.batch import _went_down

    assert not _went_down(["0.000", "9.999", "10.000", "100.000", "100.000", "100.001", "9999999999999.999"])
    assert _went_down(["100.000", "100.001", "100.000"])
    assert _went_down(["10.000", "9.999"])  # fewer digits, lower: not a text order
    assert _went_down(["9999999999999.999", "9999999999999.998"])
    assert not _went_down(["99.500"])
