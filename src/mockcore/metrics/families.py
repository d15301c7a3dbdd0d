"""Small constructors shared by the engine formats: families, and histograms in their buckets."""

from collections.abc import Iterable

from mockcore.metrics.exposition import Family, HistogramValue, Labels, Series


def rebucket(histogram: HistogramValue, bounds: tuple[float, ...]) -> HistogramValue:
    """The same observations in `bounds`, every one of which is a bound of `histogram`.

    Exact: the store keeps the union of every format's bounds, so each coarser bucket is the
    sum of whole finer ones.
    """
    cumulative_at = {}
    running = 0
    for bound, count in zip(histogram.bounds, histogram.bucket_counts, strict=False):
        running += count
        cumulative_at[bound] = running
    counts = []
    previous = 0
    for bound in bounds:
        cumulative = cumulative_at[bound]
        counts.append(cumulative - previous)
        previous = cumulative
    counts.append(histogram.count - previous)
    return HistogramValue(bounds=bounds, bucket_counts=tuple(counts), total=histogram.total)


def single_bucket(count: int, value: float, bounds: tuple[float, ...]) -> HistogramValue:
    """`count` observations of the same `value` (a parameter that never varies yet)."""
    counts = [0] * (len(bounds) + 1)
    index = next((position for position, bound in enumerate(bounds) if value <= bound), len(bounds))
    counts[index] = count
    return HistogramValue(bounds=bounds, bucket_counts=tuple(counts), total=count * value)


def counter(name: str, help_text: str, series: Iterable[tuple[Labels, float]]) -> Family:
    """A counter family (`name` ends in `_total`)."""
    return Family(name=name, type="counter", help=help_text, series=tuple(Series(*item) for item in series))


def gauge(name: str, help_text: str, series: Iterable[tuple[Labels, float]]) -> Family:
    """A gauge family."""
    return Family(name=name, type="gauge", help=help_text, series=tuple(Series(*item) for item in series))


def histogram(
    name: str, help_text: str, labels: Labels, value: HistogramValue, bounds: tuple[float, ...]
) -> Family:
    """A histogram family with one series, re-bucketed into the format's own `bounds`."""
    return Family(
        name=name, type="histogram", help=help_text, series=(Series(labels, rebucket(value, bounds)),)
    )
