"""Prometheus text exposition (format 0.0.4), written the way `prometheus_client` writes it.

Engines that export with `prometheus_client` (vLLM, SGLang, TensorRT-LLM) print numbers with
its Go-style float formatting (`1.0`, `0.005`, `1e+06`, `+Inf`), counters under their
`_total` name, and histograms as cumulative `_bucket` samples ending in `le="+Inf"`, then
`_count` and `_sum`. Scrapers and parsers accept any valid spelling; dashboards copied from the
real engine match ours exactly when the spelling is the same too.
"""

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

import msgspec

# Go prints 1e+06, not 1000000.0: past six integer digits it switches to an exponent.
_GO_MAX_INTEGER_DIGITS = 6
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

FamilyType = Literal["counter", "gauge", "histogram"]
Labels = tuple[tuple[str, str], ...]


class HistogramValue(msgspec.Struct, frozen=True, kw_only=True):
    """One histogram series: per-bucket counts (not cumulative) for `bounds`, then +Inf."""

    bounds: tuple[float, ...]
    bucket_counts: tuple[int, ...]  # len(bounds) + 1: the last one is above every bound
    total: float

    @property
    def count(self) -> int:
        """Observations in every bucket."""
        return sum(self.bucket_counts)


class Series(msgspec.Struct, frozen=True):
    """One labelled series of a family: a number, or a histogram."""

    labels: Labels
    value: float | HistogramValue


class Family(msgspec.Struct, frozen=True, kw_only=True):
    """A metric family: name (counters include `_total`), type, HELP text, series."""

    name: str
    type: FamilyType
    help: str
    series: tuple[Series, ...]


def format_float(value: float) -> str:
    """A number as `prometheus_client` prints it (Go's strconv 'g' spelling for big values)."""
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if math.isnan(value):
        return "NaN"
    text = repr(float(value))
    dot = text.find(".")
    if value > 0 and dot > _GO_MAX_INTEGER_DIGITS:
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


def format_integral(value: float) -> str:
    """A number as the Rust `prometheus` crate prints it (Dynamo): `2`, `0.0022`, `+Inf`."""
    if math.isinf(value) or math.isnan(value):
        return format_float(value)
    return str(int(value)) if value == int(value) else repr(value)


class Style(msgspec.Struct, frozen=True, kw_only=True):
    """How an exporter spells numbers and orders labels.

    `prometheus_client` (vLLM, SGLang, TensorRT-LLM) sorts every label name, `le` included;
    the Rust crate (Dynamo) keeps `le` last and prints whole numbers without `.0`.
    """

    number: Callable[[float], str] = format_float
    le_last: bool = False


PYTHON_STYLE = Style()
RUST_STYLE = Style(number=format_integral, le_last=True)


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _label_text(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{_escape_label(value)}"' for name, value in labels) + "}"


def _with_le(labels: Labels, bound: str, style: Style) -> Labels:
    if style.le_last:
        return (*labels, ("le", bound))
    return tuple(sorted((*labels, ("le", bound))))


def _histogram_lines(name: str, labels: Labels, histogram: HistogramValue, style: Style) -> Iterable[str]:
    cumulative = 0
    number = style.number
    for bound, count in zip((*histogram.bounds, math.inf), histogram.bucket_counts, strict=True):
        cumulative += count
        yield f"{name}_bucket{_label_text(_with_le(labels, number(bound), style))} {number(cumulative)}"
    yield f"{name}_count{_label_text(labels)} {number(cumulative)}"
    yield f"{name}_sum{_label_text(labels)} {number(histogram.total)}"


def render_families(families: Sequence[Family], style: Style = PYTHON_STYLE) -> str:
    """The exposition text of `families`, in order: HELP, TYPE, then the samples.

    Label names are sorted within each sample, as both exporters do.
    """
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.type}")
        for series in family.series:
            labels = tuple(sorted(series.labels))
            if isinstance(series.value, HistogramValue):
                lines.extend(_histogram_lines(family.name, labels, series.value, style))
            else:
                lines.append(f"{family.name}{_label_text(labels)} {style.number(series.value)}")
    lines.append("")
    return "\n".join(lines)
