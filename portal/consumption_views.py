"""Monthly consumption per point of delivery against the same months a year earlier; for a smart meter sending
interval data, its daily totals over the latest days too."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from flask import abort, g, render_template, request
from flask_login import current_user

from app.i18n import UNIT_LABELS
from app.auth import customer_required
from app.i18n import format_day, signed_percent, tenant_today
from domain.readings import services as reading_service
from portal.blueprint import bp


# Chart geometry, in the SVG's own units (it scales to the width of its box).
WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 34, 44  # room above the top grid line for the unit


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # current or previous
    estimated: bool


@dataclass(frozen=True)
class Tick:
    y: float
    value: Decimal


@dataclass(frozen=True)
class MonthLabel:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[MonthLabel]
    baseline: float


def _nice_step(maximum: Decimal) -> Decimal:
    """A round step (1, 2 or 5 x 10^n) giving about four grid lines up to `maximum`."""
    raw = maximum / 4
    exponent = Decimal(10) ** (len(str(int(raw))) - 1) if raw >= 1 else Decimal(1)
    for factor in (1, 2, 5, 10):
        if raw <= exponent * factor:
            return exponent * factor
    return exponent * 10  # pragma: no cover


def chart_geometry(months, month_text) -> Chart:
    """Bars for each month (the year before on the left, the month itself on the right), grid lines and labels.
    Months without a figure have no bar; the table says so in words."""
    values = [m.current.quantity for m in months] + [m.year_before.quantity for m in months]
    maximum = max((v for v in values if v is not None), default=Decimal(0))
    step = _nice_step(maximum) if maximum > 0 else Decimal(1)
    top_value = step * max(1, (maximum / step).to_integral_value(ROUND_CEILING))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(months), 1)
    bar_w = slot * 0.36
    baseline = TOP + plot_h

    def height(value: Decimal) -> float:
        return float(value / top_value) * plot_h if top_value else 0.0

    bars, labels = [], []
    for n, month in enumerate(months):
        x0 = LEFT + n * slot + slot * 0.12
        for offset, kind, figure in ((0, "previous", month.year_before), (bar_w, "current", month.current)):
            if figure.quantity is not None:
                h = height(figure.quantity)
                bars.append(Bar(round(x0 + offset, 2), round(baseline - h, 2), round(bar_w, 2), round(h, 2), kind,
                                figure.estimated))
        if (len(months) - 1 - n) % 3 == 0:  # every third month back from the latest, so labels never collide
            labels.append(MonthLabel(round(LEFT + n * slot + slot / 2, 2), month_text(month.month)))
    ticks = []
    value = Decimal(0)
    while value <= top_value:
        ticks.append(Tick(round(baseline - height(value), 2), value))
        value += step
    return Chart(bars, ticks, labels, baseline)


def day_chart_geometry(days, day_text) -> Chart:
    """Bars for each day's total from interval data (days without a complete figure have none; the table says
    so), the grid lines, and a label every seventh day back from the latest."""
    maximum = max((d.quantity for d in days if d.quantity is not None), default=Decimal(0))
    step = _nice_step(maximum) if maximum > 0 else Decimal(1)
    top_value = step * max(1, (maximum / step).to_integral_value(ROUND_CEILING))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    baseline = TOP + plot_h

    def height(value: Decimal) -> float:
        return float(value / top_value) * plot_h

    bars, labels = [], []
    for n, day in enumerate(days):
        if day.quantity is not None:
            h = height(day.quantity)
            bars.append(Bar(round(LEFT + n * slot + slot * 0.15, 2), round(baseline - h, 2), round(slot * 0.7, 2),
                            round(h, 2), "current", False))
        if (len(days) - 1 - n) % 7 == 0:
            labels.append(MonthLabel(round(LEFT + n * slot + slot / 2, 2), day_text(day.day)))
    ticks = []
    value = Decimal(0)
    while value <= top_value:
        ticks.append(Tick(round(baseline - height(value), 2), value))
        value += step
    return Chart(bars, ticks, labels, baseline)


def _shown_day(value: Decimal | None, unit: str) -> Decimal | None:
    """Daily figures to a tenth of a kWh, or to the litre for m3 (a household's water is a few hundred litres)."""
    if value is None:
        return None
    return value.quantize(Decimal("0.001") if unit == "m3" else Decimal("0.1"), ROUND_HALF_UP)


def _shown(value: Decimal | None, unit: str) -> Decimal | None:
    """Monthly figures to whole kWh, or to a tenth of a m3 (a household uses a few m3 of water a month)."""
    if value is None:
        return None
    return value.quantize(Decimal("0.1") if unit == "m3" else Decimal("1"), ROUND_HALF_UP)


def _percent(change: Decimal) -> str:
    return signed_percent(change)


def _total(months, attribute: str) -> tuple[Decimal | None, bool]:
    figures = [getattr(m, attribute) for m in months]
    if not figures or any(f.quantity is None for f in figures):
        return None, False
    return sum((f.quantity for f in figures), Decimal(0)), any(f.estimated for f in figures)


@bp.get("/consumption")
@customer_required
def consumption():
    today = tenant_today()
    identifier = request.args.get("dp") or None
    try:
        points, result = reading_service.point_consumption(customer_user_id=current_user.user.id,
                                                           identifier=identifier, tenant=g.tenant, today=today)
    except reading_service.MeterNotFound:
        if identifier is None:
            return render_template("portal/consumption/index.html", points=[], result=None)
        abort(404)
    months = result.months
    chart = chart_geometry(months, lambda month: format_day(month, "MMM yy"))
    latest = months[-12:]
    days = result.days
    day_figures = [d.quantity for d in days if d.quantity is not None]
    return render_template(
        "portal/consumption/index.html", points=points, result=result, months=months, chart=chart,
        unit=UNIT_LABELS.get(result.unit, result.unit), width=WIDTH, height=HEIGHT, left=LEFT, right=RIGHT,
        percent=_percent, shown=lambda value: _shown(value, result.unit),
        last_year=_total(latest, "current"), year_before=_total(latest, "year_before"),
        days=days, day_chart=day_chart_geometry(days, lambda day: format_day(day, "d MMM")) if days else None,
        shown_day=lambda value: _shown_day(value, result.unit),
        days_total=sum(day_figures, Decimal(0)) if day_figures else None,
        days_complete=len(day_figures) == len(days),
    )
