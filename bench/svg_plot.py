"""Line charts as hand-written SVG, so the benchmarks draw their pictures without matplotlib.

One chart is a column of panels sharing a log2 x axis (concurrency, batch sizes: powers of
two), each with a linear or log10 y axis, its series as polylines with point markers, a
legend, and vertical dashed lines across every panel (a predicted knee, a configured limit).
"""

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

import msgspec

WIDTH = 760
PANEL_HEIGHT = 250
MARGIN_LEFT = 78
MARGIN_RIGHT = 24
MARGIN_TOP = 44
PANEL_GAP = 56
MARGIN_BOTTOM = 56
FONT = "font-family='DejaVu Sans, Arial, sans-serif'"
LINEAR_TICKS = 5


class Series(msgspec.Struct):
    """One line: its legend label, its (x, y) points, its colour."""

    label: str
    points: list[tuple[float, float]]
    colour: str
    dashed: bool = False
    markers: bool = True


class Panel(msgspec.Struct):
    """One plot of the column: a y axis and its series."""

    y_label: str
    series: list[Series]
    log_y: bool = False
    height: int = PANEL_HEIGHT


class VerticalLine(msgspec.Struct):
    """A dashed vertical line across every panel, labelled at the top."""

    x: float
    label: str
    colour: str


def _nice_step(span: float) -> float:
    """A 1, 2 or 5 x 10^k step giving about `LINEAR_TICKS` ticks over `span`."""
    raw = span / LINEAR_TICKS
    power = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1.0, 2.0, 5.0, 10.0):
        if raw <= multiple * power:
            return multiple * power
    return 10.0 * power


def _label(value: float) -> str:
    if value >= 1000 and value % 1000 == 0:
        return f"{value / 1000:g}k"
    return f"{value:g}"


class _Axis:
    """A mapping of data values to pixels, linear, log2 or log10, with its ticks."""

    def __init__(
        self, low: float, high: float, pixel_low: float, pixel_high: float, log_base: float | None
    ) -> None:
        self.log_base = log_base
        self.step = 1.0
        self.low: float
        self.high: float
        if log_base is not None:
            self.low = math.floor(math.log(low, log_base))
            self.high = max(math.ceil(math.log(high, log_base)), self.low + 1)
        else:
            step = _nice_step(high - low if high > low else max(abs(high), 1.0))
            self.low = math.floor(low / step) * step
            self.high = max(math.ceil(high / step) * step, self.low + step)
            self.step = step
        self.pixel_low = pixel_low
        self.pixel_high = pixel_high

    def __call__(self, value: float) -> float:
        position = math.log(value, self.log_base) if self.log_base is not None else value
        share = (position - self.low) / (self.high - self.low)
        return self.pixel_low + share * (self.pixel_high - self.pixel_low)

    def ticks(self) -> list[float]:
        if self.log_base is not None:
            return [self.log_base**power for power in range(int(self.low), int(self.high) + 1)]
        count = round((self.high - self.low) / self.step)
        return [self.low + index * self.step for index in range(count + 1)]


def _text(
    x: float, y: float, content: str, *, anchor: str = "middle", size: int = 12, extra: str = ""
) -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='{anchor}' font-size='{size}' {FONT}{extra}>"
        f"{escape(content)}</text>"
    )


def _legend(panel: Panel, left: float, top: float) -> list[str]:
    parts: list[str] = []
    for index, series in enumerate(panel.series):
        y = top + 16 + index * 16
        dash = " stroke-dasharray='6 4'" if series.dashed else ""
        parts.append(
            f"<line x1='{left + 10}' x2='{left + 30}' y1='{y - 4}' y2='{y - 4}' "
            f"stroke='{series.colour}' stroke-width='2'{dash}/>"
        )
        parts.append(_text(left + 36, y, series.label, anchor="start", size=11))
    return parts


def _panel(panel: Panel, x_axis: _Axis, top: float, legend: bool) -> list[str]:
    values = [y for series in panel.series for _, y in series.points if not panel.log_y or y > 0]
    low = min(values, default=1.0)
    high = max(values, default=1.0)
    bottom = top + panel.height
    y_axis = _Axis(low if panel.log_y else min(0.0, low), high, bottom, top, 10.0 if panel.log_y else None)
    left, right = x_axis.pixel_low, x_axis.pixel_high
    parts = [
        f"<rect x='{left}' y='{top}' width='{right - left}' height='{panel.height}' "
        "fill='none' stroke='#333'/>"
    ]
    for tick in y_axis.ticks():
        y = y_axis(tick)
        parts.append(f"<line x1='{left}' x2='{right}' y1='{y:.1f}' y2='{y:.1f}' stroke='#e5e5e5'/>")
        parts.append(_text(left - 6, y + 4, _label(tick), anchor="end", size=11))
    for tick in x_axis.ticks():
        x = x_axis(tick)
        parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{top}' y2='{bottom}' stroke='#f0f0f0'/>")
        parts.append(_text(x, bottom + 16, _label(tick), size=11))
    mid = top + panel.height / 2
    parts.append(_text(18, mid, panel.y_label, extra=f" transform='rotate(-90 18 {mid:.1f})'"))
    for series in panel.series:
        shown = [(x, y) for x, y in series.points if x > 0 and (not panel.log_y or y > 0)]
        coords = " ".join(f"{x_axis(x):.1f},{y_axis(y):.1f}" for x, y in shown)
        dash = " stroke-dasharray='6 4'" if series.dashed else ""
        parts.append(
            f"<polyline points='{coords}' fill='none' stroke='{series.colour}' stroke-width='2'{dash}/>"
        )
        if series.markers:
            parts.extend(
                f"<circle cx='{x_axis(x):.1f}' cy='{y_axis(y):.1f}' r='3' fill='{series.colour}'/>"
                for x, y in shown
            )
    if legend:
        parts.extend(_legend(panel, left, top))
    return parts


def _vertical_line(line: VerticalLine, index: int, x: float, panels: list[tuple[Panel, float]]) -> list[str]:
    parts = [
        f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{top}' y2='{top + panel.height}' "
        f"stroke='{line.colour}' stroke-width='1.5' stroke-dasharray='6 4'/>"
        for panel, top in panels
    ]
    # Labels stack up from the first panel's bottom; near the right edge they sit left of the line.
    first, top = panels[0]
    label_y = top + first.height - 8 - 14 * index
    near_right = x > WIDTH - MARGIN_RIGHT - 140
    anchor, label_x = ("end", x - 4) if near_right else ("start", x + 4)
    parts.append(_text(label_x, label_y, line.label, anchor=anchor, size=11, extra=f" fill='{line.colour}'"))
    return parts


def line_chart_svg(
    panels: Sequence[Panel], *, x_label: str, title: str, vertical_lines: Sequence[VerticalLine] = ()
) -> str:
    """The chart as an SVG document; x values must be positive (the x axis is log2)."""
    xs = [x for panel in panels for series in panel.series for x, _ in series.points if x > 0]
    xs += [line.x for line in vertical_lines if line.x > 0]
    x_axis = _Axis(min(xs, default=1.0), max(xs, default=2.0), MARGIN_LEFT, WIDTH - MARGIN_RIGHT, 2.0)
    placed: list[tuple[Panel, float]] = []
    top = float(MARGIN_TOP)
    for panel in panels:
        placed.append((panel, top))
        top += panel.height + PANEL_GAP
    height = round(top - PANEL_GAP + MARGIN_BOTTOM) if panels else MARGIN_TOP + MARGIN_BOTTOM
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' "
        f"viewBox='0 0 {WIDTH} {height}'>",
        f"<rect width='{WIDTH}' height='{height}' fill='white'/>",
        _text(WIDTH / 2, 22, title, size=14, extra=" font-weight='bold'"),
    ]
    for index, (panel, panel_top) in enumerate(placed):
        parts.extend(_panel(panel, x_axis, panel_top, legend=index == 0))
    if placed:
        for index, line in enumerate(vertical_lines):
            if line.x > 0:
                parts.extend(_vertical_line(line, index, x_axis(line.x), placed))
    parts.append(_text((MARGIN_LEFT + WIDTH - MARGIN_RIGHT) / 2, height - 16, x_label))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
