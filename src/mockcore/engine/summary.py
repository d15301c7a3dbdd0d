"""A replay's headline figures: what `simulate` prints and the saturation sweep plots."""

import math
from collections.abc import Sequence

import msgspec

from mockcore.engine.replay import ReplayResult


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of `values` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


class ReplaySummary(msgspec.Struct, frozen=True, kw_only=True):
    """Counts, rates and latency percentiles of one replay (seconds unless named otherwise)."""

    requests: int
    served: int
    rejected_queue_full: int
    rejected_too_long: int
    duration_s: float
    output_tokens_per_s: float
    ttft_p50_s: float
    ttft_p90_s: float
    ttft_p99_s: float
    itl_p50_s: float
    itl_p90_s: float
    e2e_p50_s: float
    e2e_p90_s: float
    queue_p50_s: float
    queue_p90_s: float
    mean_batch: float
    peak_kv_usage: float
    busy_fraction: float
    preemptions: int
    cached_prompt_fraction: float


def summarize(result: ReplayResult) -> ReplaySummary:
    """The headline figures of `result`."""
    served = [request for request in result.requests if request.rejected is None]
    steps = result.steps
    start = min((request.arrival_s for request in result.requests), default=0.0)
    end = max((step.end_s for step in steps), default=start)
    duration = end - start
    output_tokens = sum(len(request.token_times_s) for request in served)
    itls = [gap for request in served for gap in request.itl_s]
    busy = sum(step.end_s - step.start_s for step in steps)
    step_time = sum((step.end_s - step.start_s) * step.batch for step in steps)
    prompt_tokens = sum(request.prompt_tokens for request in served)
    return ReplaySummary(
        requests=len(result.requests),
        served=len(served),
        rejected_queue_full=sum(request.rejected == "queue_full" for request in result.requests),
        rejected_too_long=sum(request.rejected == "too_long" for request in result.requests),
        duration_s=duration,
        output_tokens_per_s=output_tokens / duration if duration > 0 else 0.0,
        ttft_p50_s=percentile([r.ttft_s for r in served if r.ttft_s is not None], 0.5),
        ttft_p90_s=percentile([r.ttft_s for r in served if r.ttft_s is not None], 0.9),
        ttft_p99_s=percentile([r.ttft_s for r in served if r.ttft_s is not None], 0.99),
        itl_p50_s=percentile(itls, 0.5),
        itl_p90_s=percentile(itls, 0.9),
        e2e_p50_s=percentile([r.e2e_s for r in served if r.e2e_s is not None], 0.5),
        e2e_p90_s=percentile([r.e2e_s for r in served if r.e2e_s is not None], 0.9),
        queue_p50_s=percentile([r.queue_s for r in served if r.queue_s is not None], 0.5),
        queue_p90_s=percentile([r.queue_s for r in served if r.queue_s is not None], 0.9),
        mean_batch=step_time / busy if busy > 0 else 0.0,
        peak_kv_usage=max((step.kv_blocks_used / step.kv_blocks_total for step in steps), default=0.0),
        busy_fraction=busy / duration if duration > 0 else 0.0,
        preemptions=sum(request.preemptions for request in served),
        cached_prompt_fraction=sum(r.cached_tokens for r in served) / prompt_tokens if prompt_tokens else 0.0,
    )
