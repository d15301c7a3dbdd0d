"""`/trtllm/metrics` as TensorRT-LLM's `trtllm-serve` exports it (`tensorrt_llm/metrics/collector.py`).

The `trtllm_`-prefixed families of the collector that added the prefix and the KV-cache
gauges; labels `model_name` and `engine_type` (here "trtllm", as Dynamo's TensorRT-LLM
worker sets it; bare `trtllm-serve` writes "undefined" in both). Its buckets are vLLM's.
"""

from mockcore.metrics import buckets
from mockcore.metrics.engine_view import EngineView
from mockcore.metrics.exposition import Family, Labels
from mockcore.metrics.families import counter, gauge, histogram
from mockcore.metrics.store import MetricsSnapshot


def trtllm_families(snapshot: MetricsSnapshot, view: EngineView, model_name: str) -> list[Family]:
    """Every TensorRT-LLM family, fed by the snapshot and the engine view."""
    labels: Labels = (("engine_type", "trtllm"), ("model_name", model_name))
    hist = snapshot.histograms
    latency = buckets.VLLM_REQUEST_LATENCY_S
    return [
        counter(
            "trtllm_request_success_total",
            "Count of successfully processed requests.",
            [((*labels, ("finished_reason", reason)), count) for reason, count in snapshot.finished.items()],
        ),
        histogram(
            "trtllm_e2e_request_latency_seconds",
            "Histogram of end to end request latency in seconds.",
            labels,
            hist["e2e_s"],
            latency,
        ),
        histogram(
            "trtllm_time_to_first_token_seconds",
            "Histogram of time to first token in seconds.",
            labels,
            hist["ttft_s"],
            buckets.VLLM_TTFT_S,
        ),
        histogram(
            "trtllm_time_per_output_token_seconds",
            "Histogram of time per output token in seconds.",
            labels,
            hist["itl_s"],
            buckets.VLLM_ITL_S,
        ),
        histogram(
            "trtllm_request_queue_time_seconds",
            "Histogram of time spent in WAITING phase for request.",
            labels,
            hist["queue_s"],
            latency,
        ),
        gauge("trtllm_kv_cache_hit_rate", "KV cache hit rate", [(labels, view.prefix_cache_hit_rate)]),
        gauge(
            "trtllm_kv_cache_utilization",
            "KV cache utilization",
            [(labels, view.used_blocks / view.total_blocks)],
        ),
    ]
