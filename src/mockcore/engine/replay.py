"""Offline replay: a trace through the engine, with no server, clock or randomness.

`replay(trace, config)` is a pure function: the same trace and settings give the same
per-request times and the same step timeline, and the live server (fed the same arrival
times) computes the same numbers.
"""

import itertools
from collections.abc import Sequence as Seq

import msgspec

from mockcore.engine.config import EngineConfig
from mockcore.engine.prefix import trace_block_hashes
from mockcore.engine.scheduler import Engine, StepRecord
from mockcore.engine.sequence import Sequence
from mockcore.engine.trace import TraceRequest

MOONCAKE_BLOCK_TOKENS = 512


class RequestResult(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One request's life in the engine, in seconds; times after the arrival are relative to it."""

    index: int
    arrival_s: float
    prompt_tokens: int
    output_tokens: int
    # `queue_full` (the server answers 429) or `too_long` (400); None when it was served.
    rejected: str | None = None
    queue_s: float | None = None
    ttft_s: float | None = None
    e2e_s: float | None = None
    cached_tokens: int = 0
    preemptions: int = 0
    token_times_s: tuple[float, ...] = ()

    @property
    def itl_s(self) -> tuple[float, ...]:
        """Gaps between consecutive tokens."""
        times = self.token_times_s
        return tuple(later - earlier for earlier, later in itertools.pairwise(times))


class ReplayResult(msgspec.Struct, frozen=True, kw_only=True):
    """Every request's result, in trace order, and every step."""

    requests: tuple[RequestResult, ...]
    steps: tuple[StepRecord, ...]


def _result(index: int, sequence: Sequence) -> RequestResult:
    arrival = sequence.arrival_s
    times = tuple(at - arrival for at in sequence.token_times or ())
    return RequestResult(
        index=index,
        arrival_s=arrival,
        prompt_tokens=sequence.prompt_tokens,
        output_tokens=sequence.output_tokens,
        queue_s=None if sequence.admitted_s is None else sequence.queue_s,
        ttft_s=times[0] if times else None,
        e2e_s=times[-1] if times else None,
        cached_tokens=sequence.cached_tokens or 0,
        preemptions=sequence.preemptions,
        token_times_s=times,
    )


def replay(
    trace: Seq[TraceRequest], config: EngineConfig, *, hash_block_tokens: int = MOONCAKE_BLOCK_TOKENS
) -> ReplayResult:
    """Run `trace` (in arrival order) through a fresh engine until every request is done."""
    engine = Engine(config)
    block_size = config.block_size
    sequences: list[Sequence | None] = []
    rejections: dict[int, str] = {}
    steps: list[StepRecord] = []
    now = 0.0
    next_arrival = 0
    count = len(trace)
    while next_arrival < count or engine.busy:
        if not engine.busy:
            now = max(now, trace[next_arrival].arrival_s)
        while next_arrival < count and trace[next_arrival].arrival_s <= now:
            request = trace[next_arrival]
            hashes: tuple[int, ...] = ()
            if request.hash_ids and config.prefix_caching:
                hashes = trace_block_hashes(
                    request.hash_ids, request.input_length, block_size, hash_block_tokens
                )
            sequence = Sequence(
                next_arrival, request.arrival_s, request.input_length, request.output_length, hashes
            )
            rejection = engine.arrive(sequence)
            if rejection is None:
                sequences.append(sequence)
            else:
                sequences.append(None)
                rejections[next_arrival] = rejection.reason
            next_arrival += 1
        if engine.busy:
            result = engine.step(now)
            steps.append(result.record)
            now = result.record.end_s
    results: list[RequestResult] = []
    for index, maybe in enumerate(sequences):
        if maybe is None:
            request = trace[index]
            results.append(
                RequestResult(
                    index=index,
                    arrival_s=request.arrival_s,
                    prompt_tokens=request.input_length,
                    output_tokens=request.output_length,
                    rejected=rejections[index],
                )
            )
        else:
            results.append(_result(index, maybe))
    return ReplayResult(requests=tuple(results), steps=tuple(steps))
