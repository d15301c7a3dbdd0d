"""The engine's promises, as properties over random traces (issue: engine simulation).

The replay is a pure function of (trace, settings); later arrivals never make an earlier
request's first token come sooner; every admitted token is computed exactly once unless its
sequence was preempted; the KV cache never holds more blocks than it has; a prefix hit never
slows a request down.
"""

import math

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockcore.engine import BUILTIN_PROFILES, EngineConfig, TraceRequest, replay

PROFILE = BUILTIN_PROFILES["llama-3.1-8b"]
# A small engine, so that random traces reach its limits: few sequences, a small token
# budget, and a KV cache of a few hundred blocks.
TIGHT = EngineConfig(
    profile=PROFILE,
    gpu="h100-sxm",
    max_num_seqs=8,
    max_num_batched_tokens=512,
    gpu_memory_utilization=0.2,
)
ROOMY = msgspec.structs.replace(
    TIGHT, max_num_seqs=64, max_num_batched_tokens=4096, gpu_memory_utilization=0.9
)


def _tight_kv(config: EngineConfig, blocks: int) -> EngineConfig:
    """`config` with a KV cache of about `blocks` blocks (memory share chosen to leave that much)."""
    usable = config.profile.weight_bytes + blocks * config.kv_block_bytes
    return msgspec.structs.replace(config, gpu_memory_utilization=(usable + 1) / config.memory_bytes)


requests = st.builds(
    TraceRequest,
    timestamp=st.integers(0, 2_000),
    input_length=st.integers(1, 900),
    output_length=st.integers(1, 60),
    hash_ids=st.lists(st.integers(0, 3), max_size=2).map(tuple),
)
traces = st.lists(requests, min_size=1, max_size=25).map(
    lambda items: sorted(items, key=lambda r: r.timestamp)
)
configs = st.sampled_from(
    [TIGHT, ROOMY, _tight_kv(TIGHT, 150), msgspec.structs.replace(ROOMY, prefix_caching=False)]
)


@settings(max_examples=60, deadline=None)
@given(trace=traces, config=configs)
def test_the_replay_is_a_pure_function_of_trace_and_settings(
    trace: list[TraceRequest], config: EngineConfig
) -> None:
    first = replay(trace, config)
    second = replay(list(trace), msgspec.structs.replace(config))
    assert msgspec.json.encode(first) == msgspec.json.encode(second)


@settings(max_examples=60, deadline=None)
@given(trace=traces, config=configs)
def test_every_served_request_gets_exactly_its_tokens_in_order(
    trace: list[TraceRequest], config: EngineConfig
) -> None:
    result = replay(trace, config)
    for request, outcome in zip(trace, result.requests, strict=True):
        assert outcome.rejected is None
        assert len(outcome.token_times_s) == request.output_length
        assert list(outcome.token_times_s) == sorted(outcome.token_times_s)
        assert outcome.queue_s is not None
        assert outcome.queue_s >= 0
        assert outcome.ttft_s is not None
        assert outcome.ttft_s > outcome.queue_s


@settings(max_examples=60, deadline=None)
@given(trace=traces, config=configs)
def test_kv_blocks_in_use_never_exceed_the_capacity(trace: list[TraceRequest], config: EngineConfig) -> None:
    result = replay(trace, config)
    for step in result.steps:
        assert 0 <= step.kv_blocks_used <= step.kv_blocks_total == config.kv_capacity_blocks
        assert step.batch <= config.max_num_seqs
        assert step.prefill_tokens + step.decode_tokens <= config.max_num_batched_tokens
        assert step.end_s > step.start_s


@settings(max_examples=60, deadline=None)
@given(trace=traces, config=configs)
def test_every_admitted_token_is_computed_exactly_once_unless_preempted(
    trace: list[TraceRequest], config: EngineConfig
) -> None:
    result = replay(trace, config)
    computed = sum(step.prefill_tokens + step.decode_tokens for step in result.steps)
    # A sequence computes its prompt and every sampled token but the last (sampled, never fed
    # back), less what the prefix cache served.
    needed = sum(
        outcome.prompt_tokens + outcome.output_tokens - 1 - outcome.cached_tokens
        for outcome in result.requests
    )
    if any(outcome.preemptions for outcome in result.requests):
        assert computed >= needed
    else:
        assert computed == needed


@settings(max_examples=60, deadline=None)
@given(trace=traces, extra=st.lists(requests, min_size=1, max_size=10), config=configs)
def test_later_arrivals_never_make_an_earlier_request_faster(
    trace: list[TraceRequest], extra: list[TraceRequest], config: EngineConfig
) -> None:
    """More load (arriving after every request of the trace) delays or leaves each first token."""
    last = trace[-1].timestamp
    later = [msgspec.structs.replace(request, timestamp=last + request.timestamp) for request in extra]
    alone = replay(trace, config).requests
    loaded = replay([*trace, *sorted(later, key=lambda r: r.timestamp)], config).requests
    for before, after in zip(alone, loaded, strict=False):
        assert before.ttft_s is not None
        assert after.ttft_s is not None
        assert after.ttft_s >= before.ttft_s - 1e-12


@settings(max_examples=60, deadline=None)
@given(
    prompt=st.integers(32, 4000),
    output=st.integers(1, 50),
    gap_ms=st.integers(0, 3000),
    config=st.sampled_from([TIGHT, ROOMY]),
)
def test_a_prefix_cached_request_is_never_slower_than_the_same_request_uncached(
    prompt: int, output: int, gap_ms: int, config: EngineConfig
) -> None:
    warm = TraceRequest(
        timestamp=0, input_length=prompt, output_length=output, hash_ids=(7, 8, 9, 10, 11, 12, 13, 14)
    )
    hit = msgspec.structs.replace(warm, timestamp=gap_ms)
    miss = msgspec.structs.replace(hit, hash_ids=(21, 22, 23, 24, 25, 26, 27, 28))
    first, cached = replay([warm, hit], config).requests
    uncached = replay([warm, miss], config).requests[1]
    assert cached.ttft_s is not None
    assert uncached.ttft_s is not None
    assert cached.ttft_s <= uncached.ttft_s + 1e-12
    # A whole 512-token hash block, prefilled (its first token out) before the second arrives.
    assert first.ttft_s is not None
    if prompt > 512 and config.prefix_caching and first.ttft_s * 1000 <= gap_ms:
        assert cached.cached_tokens > 0


def test_the_queue_bound_refuses_only_what_arrives_when_it_is_full() -> None:
    config = msgspec.structs.replace(TIGHT, max_num_seqs=2, max_waiting_requests=3)
    first = [TraceRequest(timestamp=0, input_length=100, output_length=20) for _ in range(2)]
    burst = [TraceRequest(timestamp=1, input_length=100, output_length=20) for _ in range(8)]
    outcomes = replay([*first, *burst], config).requests
    # Two run from the first step on; of the burst during it, three wait and five find the
    # queue full. Every request let in is served.
    assert [outcome.rejected for outcome in outcomes] == [None] * 5 + ["queue_full"] * 5
    assert all(len(outcome.token_times_s) == 20 for outcome in outcomes[:5])


def test_a_request_larger_than_the_kv_cache_is_refused_as_too_long() -> None:
    config = _tight_kv(TIGHT, 10)
    outcomes = replay([TraceRequest(timestamp=0, input_length=500, output_length=10)], config).requests
    assert outcomes[0].rejected == "too_long"


def test_one_request_decodes_at_the_rooflines_memory_bound() -> None:
    """Batch 1 is memory bound: each step reads the weights once (plus the step overhead)."""
    config = ROOMY
    outcome = replay([TraceRequest(timestamp=0, input_length=16, output_length=40)], config).requests[0]
    weights_s = PROFILE.weight_bytes / (config.peak_bandwidth * config.mbu)
    expected = weights_s + config.step_overhead_ms / 1000.0
    for gap in outcome.itl_s:
        assert math.isclose(gap, expected, rel_tol=0.01)


@pytest.mark.parametrize(
    ("limits", "prompts", "per_step"),
    [
        # Chunks of 32, two prefills a step: the third prompt waits until the first two are done.
        ((32, 100, 2), [50, 50, 50], [(64, 0), (36, 0), (32, 2), (18, 0), (0, 1)]),
        # A long prompt keeps to the chunk size after its first chunk too.
        ((32, 100, 1), [80], [(32, 0), (32, 0), (16, 0), (0, 1)]),
        # No chunk size: a prompt takes what the step's token budget leaves, the rest next step.
        ((None, 40, None), [50, 30], [(40, 0), (40, 0), (0, 2)]),
    ],
)
def test_prompts_are_prefilled_in_chunks_within_the_step_budget_and_the_prefill_cap(
    limits: tuple[int | None, int, int | None], prompts: list[int], per_step: list[tuple[int, int]]
) -> None:
    """A new prompt's first chunk (admission) and a running prompt's next one follow the same rule.

    `limits`: the chunk size, the step's token budget, the prefills a step may hold; `per_step`:
    each step's prefill and decode tokens.
    """
    chunk_cap, budget, prefill_cap = limits
    config = msgspec.structs.replace(
        ROOMY,
        max_num_batched_tokens=budget,
        prefill_chunk_tokens=chunk_cap,
        max_prefill_seqs_per_step=prefill_cap,
    )
    trace = [TraceRequest(timestamp=0, input_length=prompt, output_length=2) for prompt in prompts]
    steps = replay(trace, config).steps
    assert [(step.prefill_tokens, step.decode_tokens) for step in steps] == per_step
