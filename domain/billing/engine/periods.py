"""Calendar helpers for half-open periods [start, end): month arithmetic and cutting a period at tariff changes."""
from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def segments_in_force(versions, start: date, end: date) -> tuple[list[tuple[date, date, object]], list[tuple]]:
    """Cut `[start, end)` where the version in force changes.

    `versions` have `effective_from` and `effective_to` (None: open-ended). Returns the segments
    `(segment_start, segment_end, version)` in date order, and the uncovered or doubly covered stretches as
    `(kind, from, to)` with kind "gap" or "overlap", so the caller can report them instead of guessing.
    """
    found = []
    for version in versions:
        effective_to = version.effective_to
        seg_start = version.effective_from if version.effective_from > start else start
        seg_end = end if effective_to is None or effective_to > end else effective_to
        if seg_start < seg_end:
            found.append((seg_start, seg_end, version))
    if len(found) == 1:
        seg_start, seg_end, _ = found[0]
        if seg_start == start and seg_end == end:
            return found, []
    found.sort(key=lambda segment: segment[0])
    faults = []
    cursor = start
    for seg_start, seg_end, _ in found:
        if seg_start > cursor:
            faults.append(("gap", cursor, seg_start))
        elif seg_start < cursor:
            faults.append(("overlap", seg_start, min(cursor, seg_end)))
        cursor = max(cursor, seg_end)
    if cursor < end:
        faults.append(("gap", cursor, end))
    return found, faults


def split_segments_at(segments: list[tuple[date, date, object]], cut: date) -> list[tuple[date, date, object]]:
    """The same segments with the one containing `cut` split in two at `cut`."""
    result = []
    for seg_start, seg_end, version in segments:
        if seg_start < cut < seg_end:
            result.append((seg_start, cut, version))
            result.append((cut, seg_end, version))
        else:
            result.append((seg_start, seg_end, version))
    return result
