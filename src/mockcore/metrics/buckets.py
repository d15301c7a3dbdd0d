"""Histogram bucket bounds of every engine format, and the union the store keeps.

Each list is the engine's default, read from its source (commits in docs/metrics.md):
vLLM `vllm/v1/metrics/loggers.py` and `vllm/v1/metrics/buckets.py`; SGLang
`python/sglang/srt/metrics/collector.py`; TensorRT-LLM `tensorrt_llm/metrics/collector.py`
(the vLLM lists); Dynamo `lib/llm/src/http/service/metrics.rs` (log-spaced, two significant
figures, starting at 0) and its work-handler histogram.
"""

import itertools
import math

# The model length vLLM sizes its token histograms by: 128k tokens, a common context length.
MAX_MODEL_LEN = 131_072


def one_two_five_bounds(max_value: int) -> tuple[float, ...]:
    """1, 2, 5, 10, 20, 50, ... up to `max_value` (vLLM's token-count histograms)."""
    bounds: list[float] = []
    for exponent in itertools.count():
        for mantissa in (1, 2, 5):
            value = mantissa * 10**exponent
            if value > max_value:
                return tuple(bounds)
            bounds.append(float(value))
    raise AssertionError  # pragma: no cover - itertools.count never ends


def _two_significant_figures(value: float) -> float:
    magnitude = math.floor(math.log10(abs(value)))
    scale = 10.0 ** (1 - magnitude)
    scaled = value * scale
    rounded = math.floor(abs(scaled) + 0.5)  # half away from zero, as Rust's f64::round
    return math.copysign(rounded, scaled) / scale


def log_spaced_bounds(low: float, high: float, count: int) -> tuple[float, ...]:
    """0, then low * (high / low) ** (i / (count - 1)) for i = 1 .. count - 1 (Dynamo's buckets)."""
    bounds = [0.0]
    for index in range(1, count):
        value = math.exp(math.log(low) + (math.log(high) - math.log(low)) * index / (count - 1))
        rounded = _two_significant_figures(value)
        if rounded != bounds[-1]:
            bounds.append(rounded)
    return tuple(bounds)


VLLM_TTFT_S = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
)  # fmt: skip
VLLM_ITL_S = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
    40.0, 80.0,
)  # fmt: skip
VLLM_REQUEST_LATENCY_S = (
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
    480.0, 960.0, 1920.0, 7680.0,
)  # fmt: skip
VLLM_TOKENS = one_two_five_bounds(MAX_MODEL_LEN)
VLLM_ITERATION_TOKENS = (
    1.0,
    8.0,
    16.0,
    32.0,
    64.0,
    128.0,
    256.0,
    512.0,
    1024.0,
    2048.0,
    4096.0,
    8192.0,
    16384.0,
)
VLLM_N = (1.0, 2.0, 5.0, 10.0, 20.0)

SGLANG_TTFT_S = (
    0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0, 200.0, 400.0,
)  # fmt: skip
SGLANG_ITL_S = (
    0.002, 0.004, 0.006, 0.008, 0.010, 0.015, 0.020, 0.025, 0.030, 0.035, 0.040, 0.060, 0.080, 0.100,
    0.200, 0.400, 0.600, 0.800, 1.000, 2.000, 4.000, 6.000, 8.000,
)  # fmt: skip
SGLANG_E2E_S = (
    0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0, 200.0, 400.0,
    600.0, 1200.0, 1800.0, 2400.0,
)  # fmt: skip
SGLANG_QUEUE_S = (
    0.0, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0,
    90.0, 100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0, 1000.0, 1200.0, 1400.0,
    1600.0, 1800.0, 2000.0, 2500.0, 3000.0,
)  # fmt: skip

DYNAMO_TTFT_S = log_spaced_bounds(0.001, 480.0, 18)
DYNAMO_ITL_S = log_spaced_bounds(0.001, 2.0, 13)
DYNAMO_INPUT_TOKENS = log_spaced_bounds(50.0, 128_000.0, 12)
DYNAMO_OUTPUT_TOKENS = log_spaced_bounds(50.0, 32_000.0, 10)
DYNAMO_REQUEST_DURATION_S = log_spaced_bounds(1.0, 512.0, 10)
DYNAMO_WORK_HANDLER_S = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0,
)  # fmt: skip


def _union(*lists: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(sorted(set(itertools.chain(*lists))))


# Per measured quantity: the union of the bounds every format uses for it, so each format's
# buckets are exact sums of the store's. A quantity that is derived from a measured one at
# scrape time (see `mockcore.metrics.store`) puts its formats' bounds into that one's union:
# prefill time is the TTFT, inference time the e2e latency, the tokens of an engine step
# come from the prompt and generation histograms.
QUANTITY_BOUNDS: dict[str, tuple[float, ...]] = {
    "ttft_s": _union(
        VLLM_TTFT_S, SGLANG_TTFT_S, DYNAMO_TTFT_S, VLLM_REQUEST_LATENCY_S, DYNAMO_WORK_HANDLER_S
    ),
    "itl_s": _union(VLLM_ITL_S, SGLANG_ITL_S, DYNAMO_ITL_S),
    "e2e_s": _union(VLLM_REQUEST_LATENCY_S, SGLANG_E2E_S, DYNAMO_REQUEST_DURATION_S),
    "decode_s": _union(VLLM_REQUEST_LATENCY_S, DYNAMO_WORK_HANDLER_S),
    "prompt_tokens": _union(VLLM_TOKENS, DYNAMO_INPUT_TOKENS, VLLM_ITERATION_TOKENS),
    "generation_tokens": _union(VLLM_TOKENS, DYNAMO_OUTPUT_TOKENS),
    "max_tokens": VLLM_TOKENS,
}
# Bounds of the derived quantities: the union of their formats' bounds.
QUEUE_BOUNDS = _union(VLLM_REQUEST_LATENCY_S, SGLANG_QUEUE_S)
# With `--engine`, the engine measures what is otherwise derived: each request's time in the
# queue, in prefill (admitted to first token) and running (admitted to last token).
QUANTITY_BOUNDS["engine_queue_s"] = QUEUE_BOUNDS
QUANTITY_BOUNDS["engine_prefill_s"] = QUANTITY_BOUNDS["ttft_s"]
QUANTITY_BOUNDS["engine_inference_s"] = VLLM_REQUEST_LATENCY_S
