"""NVIDIA Dynamo's metrics: the HTTP frontend, and the prefill and decode workers.

Frontend families are those of `lib/llm/src/http/service/metrics.rs` (prefix
`dynamo_frontend_`), with labels `model`, `endpoint`, `request_type` (stream, unary) and
`status` (success, error). Worker families are the runtime's work-handler and KV-stats
families (`dynamo_component_`), labelled with the namespace, component and endpoint the
runtime injects. In this server one process plays both workers: the prefill worker's work
is each request up to its first token, the decode worker's the rest. Dynamo exports with the
Rust `prometheus` crate: whole numbers print without `.0` and `le` comes last.
"""

from mockcore.metrics import buckets
from mockcore.metrics.engine_view import EngineView
from mockcore.metrics.exposition import Family, Labels
from mockcore.metrics.families import counter, gauge, histogram
from mockcore.metrics.store import MetricsSnapshot

# Dynamo's `endpoint` label values for this server's routes.
ENDPOINT_LABELS = {
    "chat": "chat_completions",
    "completions": "completions",
    "embeddings": "embeddings",
    "ranking": "rerank",
    "responses": "responses",
    "messages": "messages",
    "generate": "generate",
}
NAMESPACE = "dynamo"
WORKER_ENDPOINT = "generate"


def frontend_families(snapshot: MetricsSnapshot, view: EngineView, model_name: str) -> list[Family]:
    """`/dynamo_frontend/metrics`: what the HTTP frontend counts and times."""
    model: Labels = (("model", model_name),)
    hist = snapshot.histograms
    by_kind: dict[Labels, int] = {}
    for item in snapshot.requests:
        labels = (
            ("endpoint", ENDPOINT_LABELS[item.route]),
            ("model", model_name),
            ("request_type", "stream" if item.stream else "unary"),
            ("status", "success" if item.status == 200 else "error"),  # noqa: PLR2004 - HTTP OK
        )
        by_kind[labels] = by_kind.get(labels, 0) + item.count
    return [
        counter(
            "dynamo_frontend_requests_total",
            "Total number of LLM requests processed",
            [(labels, count) for labels, count in by_kind.items() if count],
        ),
        gauge("dynamo_frontend_inflight_requests", "Number of inflight requests", [(model, view.running)]),
        gauge(
            "dynamo_frontend_queued_requests",
            "Number of requests in HTTP processing queue",
            [(model, view.waiting)],
        ),
        gauge(
            "dynamo_frontend_disconnected_clients",
            "Number of disconnected clients",
            [((), snapshot.counters["client_disconnects"])],
        ),
        histogram(
            "dynamo_frontend_request_duration_seconds",
            "Duration of LLM requests",
            model,
            hist["e2e_s"],
            buckets.DYNAMO_REQUEST_DURATION_S,
        ),
        histogram(
            "dynamo_frontend_input_sequence_tokens",
            "Input sequence length in tokens",
            model,
            hist["prompt_tokens"],
            buckets.DYNAMO_INPUT_TOKENS,
        ),
        histogram(
            "dynamo_frontend_output_sequence_tokens",
            "Output sequence length in tokens",
            model,
            hist["generation_tokens"],
            buckets.DYNAMO_OUTPUT_TOKENS,
        ),
        histogram(
            "dynamo_frontend_time_to_first_token_seconds",
            "Time to first token in seconds",
            model,
            hist["ttft_s"],
            buckets.DYNAMO_TTFT_S,
        ),
        histogram(
            "dynamo_frontend_inter_token_latency_seconds",
            "Inter-token latency in seconds",
            model,
            hist["itl_s"],
            buckets.DYNAMO_ITL_S,
        ),
        counter(
            "dynamo_frontend_output_tokens_total",
            "Total number of output tokens generated (updates in real-time)",
            [(model, snapshot.counters["generation_tokens"])],
        ),
        gauge(
            "dynamo_frontend_model_context_length",
            "Maximum context length in tokens for a worker serving the model",
            [(model, buckets.MAX_MODEL_LEN)],
        ),
        gauge(
            "dynamo_frontend_model_kv_cache_block_size",
            "KV cache block size in tokens for a worker serving the model",
            [(model, view.block_size_tokens)],
        ),
        gauge(
            "dynamo_frontend_model_total_kv_blocks",
            "Total KV cache blocks available for a worker serving the model",
            [(model, view.total_blocks)],
        ),
    ]


def component_families(
    snapshot: MetricsSnapshot, view: EngineView, model_name: str, component: str
) -> list[Family]:
    """`/dynamo_component/{prefill,decode}/metrics`: one worker's work handler and KV stats."""
    handler: Labels = (
        ("dynamo_component", component),
        ("dynamo_endpoint", WORKER_ENDPOINT),
        ("dynamo_namespace", NAMESPACE),
        ("model", model_name),
    )
    kv: Labels = (("dynamo_component", component), ("dynamo_namespace", NAMESPACE))
    work = snapshot.histograms["prefill_s" if component == "prefill" else "decode_s"]
    families = [
        counter(
            "dynamo_component_requests_total",
            "Total number of requests processed by work handler",
            [(handler, work.count)],
        ),
        histogram(
            "dynamo_component_request_duration_seconds",
            "Time spent processing requests by work handler",
            handler,
            work,
            buckets.DYNAMO_WORK_HANDLER_S,
        ),
        gauge(
            "dynamo_component_inflight_requests",
            "Number of requests currently being processed by work handler",
            [(handler, view.running)],
        ),
        counter(
            "dynamo_component_request_bytes_total",
            "Total number of bytes received in requests by work handler",
            [(handler, snapshot.counters["request_bytes"])],
        ),
    ]
    if component == "decode":  # the decode worker streams the response; prefill hands off KV
        families.append(
            counter(
                "dynamo_component_response_bytes_total",
                "Total number of bytes sent in responses by work handler",
                [(handler, snapshot.counters["response_bytes"])],
            )
        )
    families += [
        gauge(
            "dynamo_component_kvstats_active_blocks",
            "Number of active KV cache blocks currently in use",
            [(kv, view.used_blocks)],
        ),
        gauge(
            "dynamo_component_kvstats_total_blocks",
            "Total number of KV cache blocks available",
            [(kv, view.total_blocks)],
        ),
        gauge(
            "dynamo_component_kvstats_gpu_cache_usage_percent",
            "GPU cache usage as a percentage (0.0-1.0)",
            [(kv, view.kv_usage)],
        ),
        gauge(
            "dynamo_component_kvstats_gpu_prefix_cache_hit_rate",
            "GPU prefix cache hit rate as a percentage (0.0-1.0)",
            [(kv, view.prefix_cache_hit_rate)],
        ),
    ]
    return families
