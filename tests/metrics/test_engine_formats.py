"""Golden tests: every engine format pins its names, types, label names and buckets.

Each table is the engine's own, read from its source (see docs/metrics.md for the commits):
vLLM `vllm/v1/metrics/loggers.py`; SGLang `python/sglang/srt/metrics/collector.py`;
TensorRT-LLM `tensorrt_llm/metrics/collector.py`; Dynamo `lib/llm/src/http/service/metrics.rs`
and the runtime's work-handler and KV-stats metrics; node_exporter's collectors. Every text
is also checked against the exposition rules a Prometheus server applies.
"""

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from mockcore import Settings
from mockcore.metrics import buckets as engine_buckets
from mockhttp import create_app

ENDPOINTS = (
    "/metrics",
    "/vllm/metrics",
    "/sglang/metrics",
    "/trtllm/metrics",
    "/dynamo_frontend/metrics",
    "/dynamo_component/prefill/metrics",
    "/dynamo_component/decode/metrics",
    "/node_exporter/metrics",
)
VLLM = ("engine", "model_name")
CACHE_CONFIG_LABELS = (
    "block_size", "cache_dtype", "calculate_kv_scales", "cpu_offload_gb", "enable_prefix_caching", "engine",
    "gpu_memory_utilization", "is_attention_free", "num_cpu_blocks", "num_gpu_blocks",
    "num_gpu_blocks_override", "sliding_window", "swap_space",
)  # fmt: skip
VLLM_TTFT = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
    80.0, 160.0, 640.0, 2560.0,
)  # fmt: skip
VLLM_ITL = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
)  # fmt: skip
SGLANG_SCHEDULER = ("engine_type", "model_name", "moe_ep_rank", "pp_rank", "tp_rank")
SGLANG_TTFT = (
    0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0, 200.0, 400.0,
)  # fmt: skip
SGLANG_ITL = (
    0.002, 0.004, 0.006, 0.008, 0.010, 0.015, 0.020, 0.025, 0.030, 0.035, 0.040, 0.060, 0.080, 0.100, 0.200,
    0.400, 0.600, 0.800, 1.000, 2.000, 4.000, 6.000, 8.000,
)  # fmt: skip
SGLANG_E2E = (
    0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0, 200.0, 400.0,
    600.0, 1200.0, 1800.0, 2400.0,
)  # fmt: skip
DYNAMO = ("model",)
VLLM_LATENCY = engine_buckets.VLLM_REQUEST_LATENCY_S
VLLM_TOKENS = engine_buckets.VLLM_TOKENS
# family name as exposed (counters with _total): (type, label names, histogram bounds or None)
TRTLLM = ("engine_type", "model_name")
VLLM_ITERATION = (1.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0, 8192.0, 16384.0)
DYNAMO_DURATION = (0.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 130.0, 260.0, 510.0)
GOLDEN: dict[str, dict[str, tuple[str, tuple[str, ...], tuple[float, ...] | None]]] = {
    "/metrics": {
        "vllm:num_requests_running": ("gauge", VLLM, None),
        "vllm:num_requests_waiting": ("gauge", VLLM, None),
        "vllm:kv_cache_usage_perc": ("gauge", VLLM, None),
        "vllm:cache_config_info": ("gauge", CACHE_CONFIG_LABELS, None),
        "vllm:prompt_tokens_total": ("counter", VLLM, None),
        "vllm:generation_tokens_total": ("counter", VLLM, None),
        "vllm:request_success_total": ("counter", ("engine", "finished_reason", "model_name"), None),
        "vllm:num_preemptions_total": ("counter", VLLM, None),
        "vllm:prefix_cache_queries_total": ("counter", VLLM, None),
        "vllm:prefix_cache_hits_total": ("counter", VLLM, None),
        "vllm:time_to_first_token_seconds": ("histogram", VLLM, VLLM_TTFT),
        "vllm:inter_token_latency_seconds": ("histogram", VLLM, VLLM_ITL),
        "vllm:e2e_request_latency_seconds": ("histogram", VLLM, VLLM_LATENCY),
        "vllm:request_queue_time_seconds": ("histogram", VLLM, VLLM_LATENCY),
        "vllm:request_inference_time_seconds": ("histogram", VLLM, VLLM_LATENCY),
        "vllm:request_prefill_time_seconds": ("histogram", VLLM, VLLM_LATENCY),
        "vllm:request_decode_time_seconds": ("histogram", VLLM, VLLM_LATENCY),
        "vllm:request_prompt_tokens": ("histogram", VLLM, VLLM_TOKENS),
        "vllm:request_generation_tokens": ("histogram", VLLM, VLLM_TOKENS),
        "vllm:iteration_tokens_total": ("histogram", VLLM, VLLM_ITERATION),
        "vllm:request_max_num_generation_tokens": ("histogram", VLLM, VLLM_TOKENS),
        "vllm:request_params_n": ("histogram", VLLM, (1.0, 2.0, 5.0, 10.0, 20.0)),
        "vllm:request_params_max_tokens": ("histogram", VLLM, VLLM_TOKENS),
        "aiperf_mock_requests_total": ("counter", ("route", "status", "stream"), None),
        "aiperf_mock_faults_injected_total": ("counter", ("kind",), None),
        "aiperf_mock_client_disconnects_total": ("counter", (), None),
        "aiperf_mock_control_calls_total": ("counter", ("kind",), None),
        "aiperf_mock_requests_in_flight": ("gauge", (), None),
        "aiperf_mock_open_streams": ("gauge", (), None),
    },
    "/sglang/metrics": {
        "sglang:prompt_tokens_total": ("counter", ("model_name",), None),
        "sglang:generation_tokens_total": ("counter", ("model_name",), None),
        "sglang:num_requests_total": ("counter", ("model_name",), None),
        "sglang:cached_tokens_total": ("counter", ("model_name",), None),
        "sglang:num_aborted_requests_total": ("counter", ("model_name",), None),
        "sglang:num_running_reqs": ("gauge", SGLANG_SCHEDULER, None),
        "sglang:num_queue_reqs": ("gauge", SGLANG_SCHEDULER, None),
        "sglang:num_used_tokens": ("gauge", SGLANG_SCHEDULER, None),
        "sglang:token_usage": ("gauge", SGLANG_SCHEDULER, None),
        "sglang:gen_throughput": ("gauge", SGLANG_SCHEDULER, None),
        "sglang:cache_hit_rate": ("gauge", SGLANG_SCHEDULER, None),
        "sglang:max_total_num_tokens": ("gauge", SGLANG_SCHEDULER, None),
        "sglang:time_to_first_token_seconds": ("histogram", ("model_name",), SGLANG_TTFT),
        "sglang:inter_token_latency_seconds": ("histogram", ("model_name",), SGLANG_ITL),
        "sglang:e2e_request_latency_seconds": ("histogram", ("model_name",), SGLANG_E2E),
        "sglang:queue_time_seconds": ("histogram", SGLANG_SCHEDULER, engine_buckets.SGLANG_QUEUE_S),
    },
    "/trtllm/metrics": {
        "trtllm_request_success_total": ("counter", ("engine_type", "finished_reason", "model_name"), None),
        "trtllm_e2e_request_latency_seconds": ("histogram", TRTLLM, VLLM_LATENCY),
        "trtllm_time_to_first_token_seconds": ("histogram", TRTLLM, VLLM_TTFT),
        "trtllm_time_per_output_token_seconds": ("histogram", TRTLLM, VLLM_ITL),
        "trtllm_request_queue_time_seconds": ("histogram", TRTLLM, VLLM_LATENCY),
        "trtllm_kv_cache_hit_rate": ("gauge", TRTLLM, None),
        "trtllm_kv_cache_utilization": ("gauge", TRTLLM, None),
    },
    "/dynamo_frontend/metrics": {
        "dynamo_frontend_requests_total": ("counter", ("endpoint", "model", "request_type", "status"), None),
        "dynamo_frontend_inflight_requests": ("gauge", DYNAMO, None),
        "dynamo_frontend_queued_requests": ("gauge", DYNAMO, None),
        "dynamo_frontend_disconnected_clients": ("gauge", (), None),
        "dynamo_frontend_request_duration_seconds": ("histogram", DYNAMO, DYNAMO_DURATION),
        "dynamo_frontend_input_sequence_tokens": ("histogram", DYNAMO, engine_buckets.DYNAMO_INPUT_TOKENS),
        "dynamo_frontend_output_sequence_tokens": ("histogram", DYNAMO, engine_buckets.DYNAMO_OUTPUT_TOKENS),
        "dynamo_frontend_time_to_first_token_seconds": ("histogram", DYNAMO, engine_buckets.DYNAMO_TTFT_S),
        "dynamo_frontend_inter_token_latency_seconds": ("histogram", DYNAMO, engine_buckets.DYNAMO_ITL_S),
        "dynamo_frontend_output_tokens_total": ("counter", DYNAMO, None),
        "dynamo_frontend_model_context_length": ("gauge", DYNAMO, None),
        "dynamo_frontend_model_kv_cache_block_size": ("gauge", DYNAMO, None),
        "dynamo_frontend_model_total_kv_blocks": ("gauge", DYNAMO, None),
    },
}
HANDLER = ("dynamo_component", "dynamo_endpoint", "dynamo_namespace", "model")
KV = ("dynamo_component", "dynamo_namespace")
WORK_HANDLER_S = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0,
)  # fmt: skip
COMPONENT = {
    "dynamo_component_requests_total": ("counter", HANDLER, None),
    "dynamo_component_request_duration_seconds": ("histogram", HANDLER, WORK_HANDLER_S),
    "dynamo_component_inflight_requests": ("gauge", HANDLER, None),
    "dynamo_component_request_bytes_total": ("counter", HANDLER, None),
    "dynamo_component_kvstats_active_blocks": ("gauge", KV, None),
    "dynamo_component_kvstats_total_blocks": ("gauge", KV, None),
    "dynamo_component_kvstats_gpu_cache_usage_percent": ("gauge", KV, None),
    "dynamo_component_kvstats_gpu_prefix_cache_hit_rate": ("gauge", KV, None),
}
GOLDEN["/vllm/metrics"] = GOLDEN["/metrics"]
GOLDEN["/dynamo_component/prefill/metrics"] = COMPONENT
GOLDEN["/dynamo_component/decode/metrics"] = {
    **COMPONENT,
    "dynamo_component_response_bytes_total": ("counter", HANDLER, None),
}
CHAT = {"model": "gpt-4", "messages": [{"role": "user", "content": "Tell me about GPUs. " * 8}]}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Any]]:
    """An app that has served a little of everything (streams, JSON, an error, embeddings)."""
    with TestClient(create_app(Settings(ttft=0.0, itl=0.0))) as test_client:
        test_client.post("/v1/chat/completions", json=CHAT | {"max_tokens": 12})
        test_client.post("/v1/chat/completions", json=CHAT | {"stream": True})
        test_client.post(
            "/v1/completions", json={"model": "m", "prompt": ["a b c", "d e f"], "max_tokens": 3}
        )
        test_client.post("/v1/embeddings", json={"model": "e", "input": ["one", "two"]})
        test_client.post("/v1/chat/completions", content=b"{not json")
        yield test_client


def declared_families(text: str) -> dict[str, str]:
    """`# TYPE` lines: family name as exposed -> type; fails on a family typed twice."""
    families: dict[str, str] = {}
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.MULTILINE):
        assert name not in families, f"{name} has two TYPE lines"
        families[name] = kind
    return families


def samples_of(text: str, family: str) -> list[tuple[str, dict[str, str], float]]:
    parsed = {item.name: item for item in text_string_to_metric_families(text)}
    key = family if family in parsed else family.removesuffix("_total")  # a counter loses _total
    return [(sample.name, sample.labels, sample.value) for sample in parsed[key].samples]


@pytest.mark.parametrize("path", [path for path in ENDPOINTS if path != "/node_exporter/metrics"])
def test_a_format_has_exactly_the_engines_families_types_labels_and_buckets(
    client: TestClient[Any], path: str
) -> None:
    text = client.get(path).text
    golden = GOLDEN[path]
    assert declared_families(text) == {name: kind for name, (kind, _, _) in golden.items()}
    for name, (kind, label_names, bounds) in golden.items():
        samples = samples_of(text, name)
        for sample_name, labels, _ in samples:
            names = set(labels) - ({"le"} if sample_name.endswith("_bucket") else set())
            assert tuple(sorted(names)) == label_names, (name, sample_name)
        if kind == "histogram":
            les = [labels["le"] for sample_name, labels, _ in samples if sample_name.endswith("_bucket")]
            assert [float(le) for le in les] == [*bounds, math.inf], name  # type: ignore[misc]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_text_follows_the_exposition_rules(client: TestClient[Any], path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert text.endswith("\n")
    families = declared_families(text)
    helps = re.findall(r"^# HELP (\S+) ", text, flags=re.MULTILINE)
    assert sorted(helps) == sorted(families), "one HELP per family"
    for family in text_string_to_metric_families(text):
        exposed = f"{family.name}_total" if family.type == "counter" else family.name
        assert families[exposed] == family.type
        if family.type == "counter":
            assert all(sample.name == exposed for sample in family.samples)
            assert all(sample.value >= 0 for sample in family.samples)
        if family.type == "histogram":
            assert_histograms_are_cumulative(family.name, family.samples)


def assert_histograms_are_cumulative(name: str, samples: list[Any]) -> None:
    series: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for sample in samples:
        key = tuple(sorted((label, value) for label, value in sample.labels.items() if label != "le"))
        entry = series.setdefault(key, {"buckets": [], "count": None, "sum": None})
        suffix = sample.name.removeprefix(name)
        if suffix == "_bucket":
            entry["buckets"].append((float(sample.labels["le"]), sample.value))
        elif suffix in {"_count", "_sum"}:
            entry[suffix[1:]] = sample.value
    for key, entry in series.items():
        bounds = [bound for bound, _ in entry["buckets"]]
        counts = [count for _, count in entry["buckets"]]
        assert bounds == sorted(bounds), (name, key)
        assert bounds[-1] == math.inf, (name, key)
        assert counts == sorted(counts), f"{name} buckets are not cumulative"
        assert entry["count"] == counts[-1], f"{name}: _count is not the +Inf bucket"
        assert entry["sum"] is not None


def test_node_exporter_reports_this_machines_real_figures(client: TestClient[Any]) -> None:
    text = client.get("/node_exporter/metrics").text
    parsed = {family.name: family for family in text_string_to_metric_families(text)}
    cpus = {sample.labels["cpu"] for sample in parsed["node_cpu_seconds"].samples}
    assert len(cpus) == sum(
        1 for line in Path("/proc/stat").read_text().splitlines() if re.match(r"cpu\d", line)
    )
    modes = {sample.labels["mode"] for sample in parsed["node_cpu_seconds"].samples}
    assert modes == {"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"}
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    total_kib = int(meminfo["MemTotal"].split()[0])
    assert parsed["node_memory_MemTotal_bytes"].samples[0].value == total_kib * 1024
    devices = {sample.labels["device"] for sample in parsed["node_network_receive_bytes"].samples}
    assert "lo" in devices
    loads = [float(field) for field in Path("/proc/loadavg").read_text().split()[:3]]
    assert parsed["node_load15"].samples[0].value == pytest.approx(loads[2], abs=0.5)
    assert parsed["node_boot_time_seconds"].type == "gauge"
    assert "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode." in text
    assert "# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes." in text
