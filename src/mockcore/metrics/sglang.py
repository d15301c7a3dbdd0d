"""`/sglang/metrics` as SGLang exports it (`python/sglang/srt/metrics/collector.py`).

SGLang has two collectors with different labels: the tokenizer manager's (`model_name`) and
the scheduler's (`engine_type`, `model_name`, and the tensor, pipeline and expert-parallel
ranks). It runs `prometheus_client` in multiprocess mode, so it has no `_created` series.
"""

from mockcore.metrics import buckets
from mockcore.metrics.engine_view import EngineView
from mockcore.metrics.exposition import Family, Labels
from mockcore.metrics.families import counter, gauge, histogram
from mockcore.metrics.store import MetricsSnapshot


def sglang_families(
    snapshot: MetricsSnapshot, view: EngineView, model_name: str, generation_tokens_per_s: float
) -> list[Family]:
    """Every SGLang family; `generation_tokens_per_s` is the recent generation throughput."""
    tokenizer: Labels = (("model_name", model_name),)
    scheduler: Labels = (
        ("engine_type", "unified"),
        ("model_name", model_name),
        ("moe_ep_rank", "0"),
        ("pp_rank", "0"),
        ("tp_rank", "0"),
    )
    hist = snapshot.histograms
    requests = hist["e2e_s"].count
    return [
        counter(
            "sglang:prompt_tokens_total",
            "Number of prefill tokens processed.",
            [(tokenizer, snapshot.counters["prompt_tokens"])],
        ),
        counter(
            "sglang:generation_tokens_total",
            "Number of generation tokens processed.",
            [(tokenizer, snapshot.counters["generation_tokens"])],
        ),
        counter("sglang:num_requests_total", "Number of requests processed.", [(tokenizer, requests)]),
        counter(
            "sglang:cached_tokens_total",
            "Number of cached prompt tokens.",
            [(tokenizer, view.prefix_cache_hits)],
        ),
        counter(
            "sglang:num_aborted_requests_total",
            "Number of requests aborted.",
            [(tokenizer, snapshot.finished["abort"])],
        ),
        gauge("sglang:num_running_reqs", "The number of running requests.", [(scheduler, view.running)]),
        gauge(
            "sglang:num_queue_reqs",
            "The number of requests in the waiting queue.",
            [(scheduler, view.waiting)],
        ),
        gauge("sglang:num_used_tokens", "The number of used tokens.", [(scheduler, view.kv_tokens_used)]),
        gauge("sglang:token_usage", "The token usage.", [(scheduler, view.kv_usage)]),
        gauge(
            "sglang:gen_throughput",
            "The generation throughput (token/s).",
            [(scheduler, generation_tokens_per_s)],
        ),
        gauge(
            "sglang:cache_hit_rate", "The prefix cache hit rate.", [(scheduler, view.prefix_cache_hit_rate)]
        ),
        gauge(
            "sglang:max_total_num_tokens",
            "Maximum total number of tokens in the KV cache pool.",
            [(scheduler, view.kv_capacity_tokens)],
        ),
        histogram(
            "sglang:time_to_first_token_seconds",
            "Histogram of time to first token in seconds.",
            tokenizer,
            hist["ttft_s"],
            buckets.SGLANG_TTFT_S,
        ),
        histogram(
            "sglang:inter_token_latency_seconds",
            "Histogram of inter-token latency in seconds.",
            tokenizer,
            hist["itl_s"],
            buckets.SGLANG_ITL_S,
        ),
        histogram(
            "sglang:e2e_request_latency_seconds",
            "Histogram of End-to-end request latency in seconds",
            tokenizer,
            hist["e2e_s"],
            buckets.SGLANG_E2E_S,
        ),
        histogram(
            "sglang:queue_time_seconds",
            "Histogram of queueing time in seconds.",
            scheduler,
            hist["queue_s"],
            buckets.SGLANG_QUEUE_S,
        ),
    ]
