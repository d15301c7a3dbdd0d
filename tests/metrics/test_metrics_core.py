"""The pure metrics rules: number spelling, buckets, re-bucketing, observations, the store."""

import bisect
import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.utils import floatToGoString

from mockcore.metrics import LAYOUT, RequestOutcome, aggregate, observations
from mockcore.metrics import buckets as bucket_lists
from mockcore.metrics.exposition import HistogramValue, format_float, format_integral
from mockcore.metrics.families import rebucket
from mockcore.metrics.store import GAUGES

FORMAT_BOUNDS = {
    "itl_s": [bucket_lists.VLLM_ITL_S, bucket_lists.SGLANG_ITL_S, bucket_lists.DYNAMO_ITL_S],
    "e2e_s": [
        bucket_lists.VLLM_REQUEST_LATENCY_S,
        bucket_lists.SGLANG_E2E_S,
        bucket_lists.DYNAMO_REQUEST_DURATION_S,
    ],
    # prefill time is derived from the TTFT
    "ttft_s": [
        bucket_lists.VLLM_TTFT_S,
        bucket_lists.SGLANG_TTFT_S,
        bucket_lists.DYNAMO_TTFT_S,
        bucket_lists.VLLM_REQUEST_LATENCY_S,
        bucket_lists.DYNAMO_WORK_HANDLER_S,
    ],
    "decode_s": [bucket_lists.VLLM_REQUEST_LATENCY_S, bucket_lists.DYNAMO_WORK_HANDLER_S],
    # iteration tokens are derived from the prompt tokens
    "prompt_tokens": [
        bucket_lists.VLLM_TOKENS,
        bucket_lists.DYNAMO_INPUT_TOKENS,
        bucket_lists.VLLM_ITERATION_TOKENS,
    ],
    "generation_tokens": [bucket_lists.VLLM_TOKENS, bucket_lists.DYNAMO_OUTPUT_TOKENS],
}


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_numbers_are_spelled_as_prometheus_client_spells_them(value: float) -> None:
    assert format_float(value) == floatToGoString(value)


@pytest.mark.parametrize(
    ("value", "text"), [(0.0, "0"), (2.0, "2"), (0.0022, "0.0022"), (130000.0, "130000"), (math.inf, "+Inf")]
)
def test_rust_spelling_prints_whole_numbers_without_a_point(value: float, text: str) -> None:
    assert format_integral(value) == text


def test_vllm_token_buckets_for_a_128k_model_are_the_1_2_5_series() -> None:
    # vllm/v1/metrics/loggers.py build_1_2_5_buckets(max_model_len), max_model_len = 131072
    assert (
        tuple(
            float(value)
            for value in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)
        )
        == bucket_lists.VLLM_TOKENS
    )
    assert bucket_lists.one_two_five_bounds(100) == (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def test_dynamo_log_buckets_match_a_real_frontend_dump() -> None:
    # ai-dynamo/dynamo docs/observability/metrics_examples/fe.log @ ce30a76 (the frontend's defaults)
    assert bucket_lists.DYNAMO_TTFT_S == (
        0.0, 0.0022, 0.0047, 0.01, 0.022, 0.047, 0.1, 0.22, 0.47, 1.0, 2.2, 4.7, 10.0, 22.0, 48.0, 100.0,
        220.0, 480.0,
    )  # fmt: skip
    assert bucket_lists.DYNAMO_ITL_S == (
        0.0, 0.0019, 0.0035, 0.0067, 0.013, 0.024, 0.045, 0.084, 0.16, 0.3, 0.56, 1.1, 2.0,
    )  # fmt: skip
    assert bucket_lists.DYNAMO_INPUT_TOKENS == (
        0.0, 100.0, 210.0, 430.0, 870.0, 1800.0, 3600.0, 7400.0, 15000.0, 31000.0, 63000.0, 130000.0,
    )  # fmt: skip
    assert bucket_lists.DYNAMO_OUTPUT_TOKENS == (
        0.0, 100.0, 210.0, 430.0, 880.0, 1800.0, 3700.0, 7600.0, 16000.0, 32000.0,
    )  # fmt: skip


@pytest.mark.parametrize("quantity", sorted(FORMAT_BOUNDS))
def test_every_format_bound_is_a_bound_of_the_store(quantity: str) -> None:
    union = set(LAYOUT.bounds[quantity])
    for bounds in FORMAT_BOUNDS[quantity]:
        assert set(bounds) <= union
        assert list(bounds) == sorted(bounds)


def direct_histogram(values: list[float], bounds: tuple[float, ...]) -> HistogramValue:
    counts = [0] * (len(bounds) + 1)
    for value in values:
        counts[bisect.bisect_left(bounds, value)] += 1
    return HistogramValue(bounds=bounds, bucket_counts=tuple(counts), total=sum(values))


@given(st.sampled_from(sorted(FORMAT_BOUNDS)), st.lists(st.floats(0, 200_000), max_size=60), st.data())
def test_rebucketing_the_store_equals_bucketing_the_values_directly(
    quantity: str, values: list[float], data: st.DataObject
) -> None:
    format_bounds = data.draw(st.sampled_from(FORMAT_BOUNDS[quantity]))
    stored = direct_histogram(values, LAYOUT.bounds[quantity])
    assert rebucket(stored, format_bounds) == direct_histogram(values, format_bounds)


def generation(**changes: object) -> RequestOutcome:
    fields: dict[str, object] = {
        "prompt_tokens": 40,
        "completion_tokens": 10,
        "max_tokens": 64,
        "finish_reason": "stop",
        "first_token_s": 0.02,
        "end_s": 0.07,
    }
    fields.update(changes)
    return RequestOutcome(**fields)  # type: ignore[arg-type]


def embedding(*, prompt_tokens: int, end_s: float) -> RequestOutcome:
    """An embeddings or ranking request: no generation."""
    return RequestOutcome(
        prompt_tokens=prompt_tokens,
        completion_tokens=0,
        max_tokens=None,
        finish_reason="stop",
        first_token_s=None,
        end_s=end_s,
    )


def test_a_generation_observes_its_ttft_its_decode_time_and_its_token_counts() -> None:
    observed = {(quantity, round(value, 9), times) for quantity, value, times in observations(generation())}
    assert observed == {
        ("e2e_s", 0.07, 1),
        ("ttft_s", 0.02, 1),
        ("decode_s", 0.05, 1),
        ("prompt_tokens", 40, 1),
        ("generation_tokens", 10, 1),
        ("max_tokens", 64, 1),
    }


def test_without_an_engine_queue_prefill_inference_and_iterations_follow_from_what_was_measured() -> None:
    data = bytearray(LAYOUT.block_bytes)
    counts = [0] * LAYOUT.count_cells
    sums = [0.0] * len(LAYOUT.quantities)
    outcomes = [
        generation(),
        generation(prompt_tokens=900, completion_tokens=0, first_token_s=None),
        embedding(prompt_tokens=5, end_s=2),
    ]
    for outcome in outcomes:
        for quantity, value, times in observations(outcome):
            counts[LAYOUT.bucket_cell(quantity, value)] += times
            sums[LAYOUT.sum_index[quantity]] += value * times
    struct.pack_into(f"={len(counts)}Q", data, 0, *counts)
    struct.pack_into(f"={len(sums)}d", data, LAYOUT.counts_end, *sums)
    histograms = aggregate([(bytes(data), True)]).histograms
    assert histograms["queue_s"].count == 3
    assert histograms["queue_s"].total == 0.0
    assert histograms["queue_s"].bucket_counts[0] == 3
    assert histograms["inference_s"].count == 3
    assert histograms["inference_s"].total == histograms["e2e_s"].total
    assert histograms["prefill_s"] == histograms["ttft_s"]
    # Steps: three prompts (40, 900 and the embedding's 5), then 9 decode steps of one token.
    iterations = histograms["iteration_tokens"]
    assert iterations.count == 3 + 9
    assert iterations.total == 40 + 900 + 5 + 9
    assert iterations.bucket_counts[0] == 9  # le 1


def test_a_non_streamed_generation_observes_the_schedule_itl_once_per_token_gap() -> None:
    itl = [item for item in observations(generation(uniform_itl_s=0.005)) if item[0] == "itl_s"]
    assert itl == [("itl_s", 0.005, 9)]


def test_a_stream_aborted_before_its_first_token_observes_no_ttft() -> None:
    quantities = {item[0] for item in observations(generation(first_token_s=None, finish_reason="abort"))}
    assert "ttft_s" not in quantities
    assert "e2e_s" in quantities


def test_an_embedding_request_has_no_generation_observations() -> None:
    assert {item[0] for item in observations(embedding(prompt_tokens=12, end_s=0.1))} == {
        "e2e_s",
        "prompt_tokens",
    }


def block(counts: dict[int, int], gauges: dict[str, int]) -> bytes:
    data = bytearray(LAYOUT.block_bytes)
    for cell, value in counts.items():
        struct.pack_into("=Q", data, cell * 8, value)
    for name, value in gauges.items():
        struct.pack_into("=q", data, LAYOUT.sums_end + LAYOUT.gauge_index[name] * 8, value)
    return bytes(data)


def test_counters_sum_over_every_block_and_gauges_over_live_ones_only() -> None:
    tokens = LAYOUT.counter_cell["generation_tokens"]
    alive = block({tokens: 5}, {"running": 2})
    dead = block({tokens: 7}, {"running": 3})
    snapshot = aggregate([(alive, True), (dead, False)])
    assert snapshot.counters["generation_tokens"] == 12
    assert snapshot.gauges["running"] == 2
    assert set(snapshot.gauges) == set(GAUGES)
