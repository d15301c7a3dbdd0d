"""What an answer says once the engine has served it: its prefix hit, its timing, its phases.

The live server calls these with the times the engine published; they are the rules, so
`predict`-style users and the adapters agree on them.
"""

import msgspec

from mockcore.plan import GenerationPlan, Usage
from mockcore.timing import Schedule


def served_usage(plan: GenerationPlan, cached_tokens: int) -> Usage:
    """The usage with the engine's prefix-cache hit, unless the request manages its own cache.

    A Messages request with `cache_control` breakpoints reports Anthropic's cache accounting
    (reads and writes of its breakpoints); the engine's hit would count the same tokens twice.
    """
    if plan.cache_points:
        return plan.usage
    return msgspec.structs.replace(plan.usage, cache_read_tokens=cached_tokens, engine_cached=True)


def served_plan(
    plan: GenerationPlan, cached_tokens: int, *, ttft_s: float, last_token_s: float, last_token_index: int
) -> GenerationPlan:
    """`plan` as the engine served it: its prefix hit in the usage, its TTFT and mean ITL.

    `last_token_s` is when token `last_token_index` came (both from the request's arrival's
    clock, in seconds after it); the schedule is what the metrics record.
    """
    itl_ms = (last_token_s - ttft_s) * 1000.0 / last_token_index if last_token_index > 0 else 0.0
    return msgspec.structs.replace(
        plan,
        usage=served_usage(plan, cached_tokens),
        schedule=Schedule(ttft_ms=max(0.0, ttft_s * 1000.0), itl_ms=itl_ms),
    )


def phase_times(
    arrival_s: float, queue_s: float, first_token_s: float, last_token_s: float
) -> tuple[float, float, float]:
    """(queue, prefill, inference) seconds of a served request, as vLLM reports them.

    Queue: arrival to admission into the batch; prefill: admission to the first token;
    inference: admission to the last token.
    """
    admitted = arrival_s + queue_s
    return queue_s, first_token_s - admitted, last_token_s - admitted
