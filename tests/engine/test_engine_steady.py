"""Steady decoders are a shortcut, not a different engine.

The engine advances non-streamed decoders as a whole instead of visiting each every step
(`mockcore.engine.steady`). Driven with the same arrivals and cancels, an engine that takes
the shortcut and one that visits every sequence (`steady_decoders=False`) must agree on
everything anyone can see, step by step: the step records, which sequences sampled and
finished and in what order, the fields the adapters read, the running set, the counters.
"""

import random
from dataclasses import dataclass

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockcore.engine import BUILTIN_PROFILES, Engine, EngineConfig, Sequence, StepResult, engine_stats

PROFILE = BUILTIN_PROFILES["llama-3.1-8b"]
BASE = EngineConfig(profile=PROFILE, gpu="h100-sxm", max_num_seqs=16, max_num_batched_tokens=256)


def _kv_blocks(config: EngineConfig, blocks: int) -> EngineConfig:
    """`config` with a KV cache of about `blocks` blocks."""
    usable = config.profile.weight_bytes + blocks * config.kv_block_bytes
    return msgspec.structs.replace(config, gpu_memory_utilization=(usable + 1) / config.memory_bytes)


# Each reaches a limit the shortcut must hand back to the exact path for: the token budget,
# the KV cache (preemption), chunked prefill with a cap on prefills per step, the batch size
# under goodput collapse, prefix caching off.
CONFIGS = [
    _kv_blocks(BASE, 4_000),
    _kv_blocks(msgspec.structs.replace(BASE, max_num_batched_tokens=12), 4_000),
    _kv_blocks(BASE, 40),
    _kv_blocks(msgspec.structs.replace(BASE, prefill_chunk_tokens=32, max_prefill_seqs_per_step=2), 120),
    _kv_blocks(msgspec.structs.replace(BASE, prefill_chunk_tokens=16, max_num_batched_tokens=24), 60),
    _kv_blocks(msgspec.structs.replace(BASE, max_num_seqs=6, goodput_collapse=True), 4_000),
    _kv_blocks(msgspec.structs.replace(BASE, prefix_caching=False), 60),
]
PREFIX = tuple(range(1_000, 1_008))
LAST_ARRIVAL = 30


@dataclass(frozen=True)
class Arrival:
    step: int
    prompt_tokens: int
    output_tokens: int
    streaming: bool
    keep_token_times: bool
    prefix_blocks: int


arrivals = st.builds(
    Arrival,
    step=st.integers(0, 30),
    prompt_tokens=st.integers(1, 200),
    output_tokens=st.integers(1, 80),
    streaming=st.booleans(),
    keep_token_times=st.integers(0, 3).map(lambda draw: draw == 0),
    prefix_blocks=st.integers(0, 8),
)
# (step, index of the arrival to cancel)
cancels = st.lists(st.tuples(st.integers(0, 120), st.integers(0, 40)), max_size=6)


def _sequence(index: int, arrival: Arrival) -> Sequence:
    hashes = PREFIX[: min(arrival.prefix_blocks, arrival.prompt_tokens // BASE.block_size)]
    sequence = Sequence(
        index,
        float(arrival.step),
        arrival.prompt_tokens,
        arrival.output_tokens,
        hashes,
        keep_token_times=arrival.keep_token_times,
    )
    sequence.every_token = arrival.streaming
    return sequence


def _seen(result: StepResult) -> tuple[object, ...]:
    """What a step shows its driver: the record and the fields the adapters read, in order."""
    return (
        msgspec.json.encode(result.record),
        [
            (s.request_id, s.generated, s.output_tokens, s.cached_tokens, s.queue_s, s.first_token_s)
            for s in result.sampled
        ],
        [s.request_id for s in result.finished],
    )


def _state(engine: Engine) -> tuple[object, ...]:
    """The running set as a reader sees it, and the engine's stats."""
    running = [(s.request_id, s.computed, s.generated, s.blocks, s.hashed) for s in engine.running]
    return running, msgspec.json.encode(engine_stats(engine))


def _drive(config: EngineConfig, plan: list[Arrival], cancelled: list[tuple[int, int]], *, steady: bool):
    """Run both the arrivals and the cancels through one engine; every observation, in order."""
    engine = Engine(config, steady_decoders=steady)
    sequences = [_sequence(index, arrival) for index, arrival in enumerate(plan)]
    observed: list[object] = []
    step = 0
    while step <= LAST_ARRIVAL or engine.busy:
        for index, arrival in enumerate(plan):
            if arrival.step == step:
                observed.append(engine.arrive(sequences[index]))
        for at, index in cancelled:
            if at == step:
                observed.append(engine.cancel(index))
        if engine.busy:
            observed.append(_seen(engine.step(float(step))))
        if step % 7 == 0:
            observed.append(_state(engine))
        step += 1
    final = [
        (s.computed, s.generated, s.blocks, s.preemptions, s.admitted_s, s.first_token_s, s.token_times)
        for s in sequences
    ]
    counters = engine.counters
    return observed, final, [getattr(counters, name) for name in counters.__slots__]


@settings(max_examples=40, deadline=None)
@given(
    config=st.sampled_from(CONFIGS),
    plan=st.lists(arrivals, min_size=1, max_size=30),
    cancelled=cancels,
)
def test_the_shortcut_and_the_exact_path_agree_step_by_step(
    config: EngineConfig, plan: list[Arrival], cancelled: list[tuple[int, int]]
) -> None:
    assert _drive(config, plan, cancelled, steady=True) == _drive(config, plan, cancelled, steady=False)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("streamed", [0.3, 0.03])
def test_the_shortcut_and_the_exact_path_agree_on_a_busy_random_workload(
    config: EngineConfig, streamed: float
) -> None:
    """Many requests at once, so that every limit is reached again and again."""
    rng = random.Random(13)  # noqa: S311 - a reproducible workload, not a secret
    plan = [
        Arrival(
            step=rng.randint(0, LAST_ARRIVAL),
            prompt_tokens=rng.randint(1, 300) if rng.random() < 0.3 else rng.randint(1, 40),
            output_tokens=rng.randint(1, 120),
            streaming=rng.random() < streamed,
            keep_token_times=rng.random() < streamed,
            prefix_blocks=rng.randint(0, 8),
        )
        for _ in range(120)
    ]
    cancelled = [(rng.randint(0, 200), rng.randrange(len(plan))) for _ in range(15)]
    assert _drive(config, plan, cancelled, steady=True) == _drive(config, plan, cancelled, steady=False)


def test_non_streamed_decoders_take_the_shortcut() -> None:
    """The comparison above is only worth something if the shortcut is taken."""
    engine = Engine(CONFIGS[0])
    for index in range(8):
        sequence = Sequence(index, 0.0, 20, 50, keep_token_times=False)
        sequence.every_token = False
        engine.arrive(sequence)
    first = engine.step(0.0)
    assert first.record.batch == 8
    assert [s.request_id for s in first.sampled] == list(range(8))  # every first token
    assert engine._steady.count == 8  # the shortcut's own state is the point here
    second = engine.step(first.record.end_s)
    assert (second.record.batch, second.record.decode_tokens, second.sampled) == (8, 8, [])


def _one_decoder(prompt_tokens: int, steps: int) -> tuple[Engine, Sequence, float]:
    """An engine running one non-streamed sequence (50 output tokens) for `steps` steps; when they end."""
    engine = Engine(CONFIGS[0])
    sequence = Sequence(1, 0.0, prompt_tokens, 50, keep_token_times=False)
    sequence.every_token = False
    engine.arrive(sequence)
    now = 0.0
    for _ in range(steps):
        now = engine.step(now).record.end_s
    return engine, sequence, now


def test_a_steady_decoders_counts_catch_up_when_read() -> None:
    engine, sequence, now = _one_decoder(20, 5)
    assert [(s.computed, s.generated) for s in engine.running] == [(24, 5)]
    now = engine.step(now).record.end_s
    assert (sequence.computed, sequence.generated) == (24, 5)  # out of sight again until read
    assert [(s.computed, s.generated) for s in engine.running] == [(25, 6)]


def test_a_cancelled_steady_decoder_gives_back_its_blocks() -> None:
    engine, sequence, _ = _one_decoder(30, 10)
    assert engine.pool.used == 3  # 39 tokens
    assert engine.cancel(1)
    assert (engine.pool.used, engine.busy, engine.running) == (0, False, [])
    assert (sequence.computed, sequence.generated) == (39, 10)


def test_the_stats_count_steady_decoders_as_running() -> None:
    engine, _, _ = _one_decoder(20, 5)
    assert engine_stats(engine).running == engine.running_count == len(engine.running) == 1
