"""Engine metrics: what the server measured, rendered in the formats of real engines.

One store (`store`) holds what every worker measured; each format (`vllm`, `sglang`,
`trtllm`, `dynamo`, the server's own `server`, the machine's `node`) renders families from
it and from an `EngineView`, and `exposition` writes them as Prometheus text.
"""

from mockcore.metrics.engine_view import EngineView, kv_capacity_tokens, view_from_traffic
from mockcore.metrics.exposition import PROMETHEUS_CONTENT_TYPE, Family, HistogramValue, render_families
from mockcore.metrics.outcome import (
    RequestOutcome,
    observations,
    sized_key,
    sized_observations,
    timed_observations,
)
from mockcore.metrics.store import LAYOUT, MetricsLayout, MetricsSnapshot, aggregate

__all__ = [
    "LAYOUT",
    "PROMETHEUS_CONTENT_TYPE",
    "EngineView",
    "Family",
    "HistogramValue",
    "MetricsLayout",
    "MetricsSnapshot",
    "RequestOutcome",
    "aggregate",
    "kv_capacity_tokens",
    "observations",
    "render_families",
    "sized_key",
    "sized_observations",
    "timed_observations",
    "view_from_traffic",
]
