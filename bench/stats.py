"""Percentiles and medians, in the units the report prints."""

import statistics
from collections.abc import Iterable, Sequence

PERCENTILES = {"p1": 1.0, "p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of sorted values, interpolating between neighbours."""
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(values_s: Iterable[float], scale: float = 1000.0) -> dict[str, float] | None:
    """Count, mean, min, max and percentiles of values in seconds, scaled (to ms by default)."""
    ordered = sorted(values_s)
    if not ordered:
        return None
    summary = {"n": float(len(ordered)), "mean": statistics.fmean(ordered) * scale}
    summary["min"] = ordered[0] * scale
    for name, q in PERCENTILES.items():
        summary[name] = percentile(ordered, q) * scale
    summary["max"] = ordered[-1] * scale
    return summary


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """Median, min and max of the figures of repeated runs."""
    return statistics.median(values), min(values), max(values)
