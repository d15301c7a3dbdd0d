"""`/metrics` as vLLM's V1 engine exports it (`vllm/v1/metrics/loggers.py`).

Names, types, HELP texts, label names and buckets are vLLM's; labels are `model_name` (the
served model) and `engine` ("0", one engine). `request_success_total` carries one series per
finish reason from the start, as vLLM pre-creates them. vLLM's `_created` companion series
are left out (scrapers such as aiperf skip them).
"""

from mockcore.metrics import buckets
from mockcore.metrics.engine_view import EngineView
from mockcore.metrics.exposition import Family, Labels
from mockcore.metrics.families import counter, gauge, histogram, single_bucket
from mockcore.metrics.store import MetricsSnapshot

# vLLM's finish reasons; "error" is a request-level internal error, which this server reports
# as an HTTP error before any token, so its series stays at 0.
FINISHED_REASONS = ("stop", "length", "abort", "error")
ENGINE = "0"


def cache_config_labels(view: EngineView) -> Labels:
    """The labels of `vllm:cache_config_info`: vLLM's CacheConfig fields, as `str()` spells them."""
    return (
        ("block_size", str(view.block_size_tokens)),
        ("cache_dtype", "auto"),
        ("calculate_kv_scales", "False"),
        ("cpu_offload_gb", "0.0"),
        ("enable_prefix_caching", str(view.prefix_caching)),
        ("engine", ENGINE),
        ("gpu_memory_utilization", str(view.gpu_memory_utilization)),
        ("is_attention_free", "False"),
        ("num_cpu_blocks", "None"),
        ("num_gpu_blocks", str(view.total_blocks)),
        ("num_gpu_blocks_override", "None"),
        ("sliding_window", "None"),
        ("swap_space", "4.0"),
    )


def vllm_families(snapshot: MetricsSnapshot, view: EngineView, model_name: str) -> list[Family]:
    """Every vLLM family, fed by the snapshot and the engine view."""
    labels: Labels = (("engine", ENGINE), ("model_name", model_name))
    hist = snapshot.histograms
    latency = buckets.VLLM_REQUEST_LATENCY_S
    tokens = buckets.VLLM_TOKENS
    generations = hist["generation_tokens"].count
    finished = {**dict.fromkeys(FINISHED_REASONS, 0), **snapshot.finished}
    return [
        gauge(
            "vllm:num_requests_running",
            "Number of requests in model execution batches.",
            [(labels, view.running)],
        ),
        gauge(
            "vllm:num_requests_waiting",
            "Number of requests waiting to be processed.",
            [(labels, view.waiting)],
        ),
        gauge(
            "vllm:kv_cache_usage_perc",
            "KV-cache usage. 1 means 100 percent usage.",
            [(labels, view.kv_usage)],
        ),
        gauge(
            "vllm:cache_config_info",
            "Information of the LLMEngine CacheConfig",
            [(cache_config_labels(view), 1.0)],
        ),
        counter(
            "vllm:prompt_tokens_total",
            "Number of prefill tokens processed.",
            [(labels, snapshot.counters["prompt_tokens"])],
        ),
        counter(
            "vllm:generation_tokens_total",
            "Number of generation tokens processed.",
            [(labels, snapshot.counters["generation_tokens"])],
        ),
        counter(
            "vllm:request_success_total",
            "Count of successfully processed requests.",
            [((*labels, ("finished_reason", reason)), count) for reason, count in finished.items()],
        ),
        counter(
            "vllm:num_preemptions_total",
            "Cumulative number of preemption from the engine.",
            [(labels, view.preemptions)],
        ),
        counter(
            "vllm:prefix_cache_queries_total",
            "Prefix cache queries, in terms of number of queried tokens.",
            [(labels, view.prefix_cache_queries)],
        ),
        counter(
            "vllm:prefix_cache_hits_total",
            "Prefix cache hits, in terms of number of cached tokens.",
            [(labels, view.prefix_cache_hits)],
        ),
        histogram(
            "vllm:time_to_first_token_seconds",
            "Histogram of time to first token in seconds.",
            labels,
            hist["ttft_s"],
            buckets.VLLM_TTFT_S,
        ),
        histogram(
            "vllm:inter_token_latency_seconds",
            "Histogram of inter-token latency in seconds.",
            labels,
            hist["itl_s"],
            buckets.VLLM_ITL_S,
        ),
        histogram(
            "vllm:e2e_request_latency_seconds",
            "Histogram of e2e request latency in seconds.",
            labels,
            hist["e2e_s"],
            latency,
        ),
        histogram(
            "vllm:request_queue_time_seconds",
            "Histogram of time spent in WAITING phase for request.",
            labels,
            hist["queue_s"],
            latency,
        ),
        histogram(
            "vllm:request_inference_time_seconds",
            "Histogram of time spent in RUNNING phase for request.",
            labels,
            hist["inference_s"],
            latency,
        ),
        histogram(
            "vllm:request_prefill_time_seconds",
            "Histogram of time spent in PREFILL phase for request.",
            labels,
            hist["prefill_s"],
            latency,
        ),
        histogram(
            "vllm:request_decode_time_seconds",
            "Histogram of time spent in DECODE phase for request.",
            labels,
            hist["decode_s"],
            latency,
        ),
        histogram(
            "vllm:request_prompt_tokens",
            "Number of prefill tokens processed.",
            labels,
            hist["prompt_tokens"],
            tokens,
        ),
        histogram(
            "vllm:request_generation_tokens",
            "Number of generation tokens processed.",
            labels,
            hist["generation_tokens"],
            tokens,
        ),
        histogram(
            "vllm:iteration_tokens_total",
            "Histogram of number of tokens per engine_step.",
            labels,
            hist["iteration_tokens"],
            buckets.VLLM_ITERATION_TOKENS,
        ),
        histogram(
            "vllm:request_max_num_generation_tokens",
            "Histogram of maximum number of requested generation tokens.",
            labels,
            hist["max_tokens"],
            tokens,
        ),
        histogram(
            "vllm:request_params_n",
            "Histogram of the n request parameter.",
            labels,
            single_bucket(generations, 1.0, buckets.VLLM_N),
            buckets.VLLM_N,
        ),
        histogram(
            "vllm:request_params_max_tokens",
            "Histogram of the max_tokens request parameter.",
            labels,
            hist["max_tokens"],
            tokens,
        ),
    ]
