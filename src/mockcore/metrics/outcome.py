"""What one request contributes to the metrics: the rules, kept apart from any format.

The adapter measures where a client would (t0 on arrival, the first token-bearing write,
the last write) and hands a `RequestOutcome` here; `observations` says which histogram gets
which value. Until a batching engine exists, a request never waits, so what follows from
that is derived when a scrape sums the store (`mockcore.metrics.store.derived_histograms`),
not recorded per request: queue time is 0, prefill time is the TTFT, inference time the e2e
latency, and each request is its own engine iteration (one step of its prompt's tokens, then
one step per further token).
"""

from typing import Literal

import msgspec

from mockcore.plan import GenerationPlan, ResponsePlan

ObservedFinish = Literal["stop", "length", "abort"]


class RequestOutcome(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One finished inference request, as measured (times in seconds from t0).

    `first_token_s` is None when no token went out (a stream aborted before its first token,
    or an embeddings or ranking request). `uniform_itl_s` is set for a non-streamed
    generation, whose tokens the client never sees one by one: its inter-token latencies are
    the schedule's, observed `completion_tokens - 1` times. A streamed one records each gap as
    it is written instead.
    """

    prompt_tokens: int
    completion_tokens: int
    max_tokens: int | None
    finish_reason: ObservedFinish
    first_token_s: float | None
    end_s: float
    uniform_itl_s: float | None = None


# An observation: (quantity, value, how many times it is observed). Values are floats, as the
# bucket bounds are: comparing an int with a float costs more.
Observation = tuple[str, float, int]


def observations(outcome: RequestOutcome) -> list[Observation]:
    """The histogram observations of a finished request (the measured quantities only)."""
    return [*sized_observations(outcome), *timed_observations(outcome)]


def sized_key(outcome: RequestOutcome) -> tuple[object, ...]:
    """What `sized_observations` depends on: requests alike in it observe the same sizes."""
    return (
        outcome.prompt_tokens,
        outcome.completion_tokens,
        outcome.max_tokens,
        outcome.first_token_s is None,
        outcome.uniform_itl_s,
    )


def sized_observations(outcome: RequestOutcome) -> list[Observation]:
    """The observations of sizes (tokens) and of the schedule's ITL.

    They are the same for requests of the same `sized_key`, so a recorder may keep them
    instead of working them out again.
    """
    observed: list[Observation] = [("prompt_tokens", float(outcome.prompt_tokens), 1)]
    if outcome.max_tokens is None:  # embeddings and ranking: no generation at all
        return observed
    completion_tokens = outcome.completion_tokens
    observed += [
        ("generation_tokens", float(completion_tokens), 1),
        ("max_tokens", float(outcome.max_tokens), 1),
    ]
    if outcome.first_token_s is not None and outcome.uniform_itl_s is not None and completion_tokens > 1:
        observed.append(("itl_s", outcome.uniform_itl_s, completion_tokens - 1))
    return observed


def timed_observations(outcome: RequestOutcome) -> list[Observation]:
    """The observations of measured times: end to end, and to and after the first token."""
    end_s = outcome.end_s
    first_token_s = outcome.first_token_s
    if first_token_s is None or outcome.max_tokens is None:
        return [("e2e_s", end_s, 1)]
    return [("e2e_s", end_s, 1), ("ttft_s", first_token_s, 1), ("decode_s", end_s - first_token_s, 1)]


def finish_of(plan: GenerationPlan) -> ObservedFinish:
    """One reason per request: `length` if any of its choices ran into its limit."""
    choices = plan.choices
    if len(choices) == 1:  # nearly every request: no generator to build
        reason = choices[0].finish_reason
        return "stop" if reason == "tool_calls" else reason  # vLLM counts a tool call as a stop
    return "length" if any(choice.finish_reason == "length" for choice in choices) else "stop"


def answer_outcome(plan: ResponsePlan, end_s: float, *, answered: bool) -> RequestOutcome:
    """A non-streamed answer sent at `end_s` (or not at all): its tokens arrive at once.

    Its TTFT is the schedule's first token (or the whole answer time, if that came sooner)
    and its inter-token latencies the schedule's ITL.
    """
    if not isinstance(plan, GenerationPlan):
        return RequestOutcome(
            prompt_tokens=plan.usage.prompt_tokens,
            completion_tokens=0,
            max_tokens=None,
            finish_reason="stop" if answered else "abort",
            first_token_s=None,
            end_s=end_s,
        )
    tokens = plan.usage.completion_tokens if answered else 0
    return RequestOutcome(
        prompt_tokens=plan.usage.prompt_tokens,
        completion_tokens=tokens,
        max_tokens=plan.max_tokens,
        finish_reason=finish_of(plan) if answered else "abort",
        first_token_s=min(plan.schedule.ttft_ms / 1000.0, end_s) if tokens else None,
        end_s=end_s,
        uniform_itl_s=plan.schedule.itl_ms / 1000.0,
    )


def stream_outcome(
    plan: GenerationPlan, *, tokens_sent: int, first_write_s: float | None, end_s: float, finished: bool
) -> RequestOutcome:
    """A stream that wrote `tokens_sent` tokens, its first at `first_write_s`, its last at `end_s`.

    A stream that did not finish (its client left) is an `abort`, with the tokens it sent.
    """
    return RequestOutcome(
        prompt_tokens=plan.usage.prompt_tokens,
        completion_tokens=tokens_sent,
        max_tokens=plan.max_tokens,
        finish_reason=finish_of(plan) if finished else "abort",
        first_token_s=first_write_s if tokens_sent else None,
        end_s=end_s,
    )
