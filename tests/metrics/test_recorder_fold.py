"""The recorder queues finished requests and folds them at publication, alike ones together.

Whatever the mix of requests, the published cells must be exactly what adding each request's
observations one by one gives: the grouping by shape is a shortcut, never a different answer.
"""

import asyncio
import bisect
import math
from collections.abc import Callable

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from mockcore import Settings, predict
from mockcore.metrics import LAYOUT, MetricsSnapshot, RequestOutcome, observations
from mockcore.metrics.outcome import answer_outcome
from mockcore.plan import GenerationPlan, ResponsePlan, Schedule
from mockhttp.local_state import LocalMetricsStore
from mockhttp.metrics_recorder import RequestFacts

SHAPES = [
    (40, 16, 16, "length", 0.005),
    (40, 16, 64, "stop", 0.005),
    (12, 3, 3, "length", None),
    (7, 0, None, "stop", None),  # an embedding: no generation
    (40, 5, 16, "abort", None),  # a stream its client left
]
outcomes = st.builds(
    lambda shape, first, extra, stream: (shape, first, extra, stream),
    st.sampled_from(SHAPES),
    st.floats(0, 2.0),
    st.floats(0, 5.0),
    st.booleans(),
)


def make(shape: tuple[int, int, int | None, str, float | None], first: float, extra: float) -> RequestOutcome:
    prompt, completion, max_tokens, finish, itl = shape
    generates = max_tokens is not None
    return RequestOutcome(
        prompt_tokens=prompt,
        completion_tokens=completion,
        max_tokens=max_tokens,
        finish_reason=finish,  # type: ignore[arg-type]
        first_token_s=first if generates and completion else None,
        end_s=first + extra,
        uniform_itl_s=itl,
    )


def recorded_in_a_loop(record: Callable[[], None]) -> None:
    """Run `record` inside a running event loop, as the server does.

    Outside one the recorder publishes at every update, so each request would be folded
    alone; inside one it waits for its timer, and the whole batch is folded at the scrape.
    """

    async def recording() -> None:
        record()

    asyncio.run(recording())


def expect_cells(store: LocalMetricsStore, folded: list[tuple[RequestOutcome, int]]) -> None:
    """The store holds exactly the observations of `folded` (outcome, request bytes), each alone."""
    expected_values: dict[str, list[float]] = {}
    finished: dict[str, int] = {}
    for outcome, _ in folded:
        for quantity, value, times in observations(outcome):
            expected_values.setdefault(quantity, []).extend([value] * times)
        finished[outcome.finish_reason] = finished.get(outcome.finish_reason, 0) + 1
    snapshot = store.snapshot()
    assert snapshot.counters["prompt_tokens"] == sum(outcome.prompt_tokens for outcome, _ in folded)
    assert snapshot.counters["generation_tokens"] == sum(outcome.completion_tokens for outcome, _ in folded)
    assert snapshot.counters["request_bytes"] == sum(body_bytes for _, body_bytes in folded)
    assert snapshot.counters["response_bytes"] == 10 * len(folded)
    assert snapshot.counters["client_disconnects"] == finished.get("abort", 0)
    assert {reason: count for reason, count in snapshot.finished.items() if count} == finished
    assert snapshot.gauges["running"] == snapshot.gauges["kv_tokens"] == snapshot.gauges["open_streams"] == 0
    for quantity in LAYOUT.bounds:
        expect_histogram(snapshot, quantity, expected_values.get(quantity, []))


def expect_histogram(snapshot: MetricsSnapshot, quantity: str, values: list[float]) -> None:
    """`quantity`'s histogram in `snapshot` holds exactly `values`, each observed once."""
    bounds = LAYOUT.bounds[quantity]
    counts = [0] * (len(bounds) + 1)
    for value in values:
        counts[bisect.bisect_left(bounds, value)] += 1
    histogram = snapshot.histograms[quantity]
    assert list(histogram.bucket_counts) == counts, quantity
    assert math.isclose(histogram.total, sum(values), rel_tol=1e-9, abs_tol=1e-9), quantity


@given(st.lists(outcomes, max_size=120))
@settings(max_examples=60, deadline=None)
def test_folded_cells_equal_adding_every_request_alone(requests: list[tuple]) -> None:  # type: ignore[type-arg]
    store = LocalMetricsStore()
    recorder = store.recorder
    folded = []

    def record() -> None:
        for index, (shape, first, extra, stream) in enumerate(requests):
            outcome = make(shape, first, extra)
            facts = RequestFacts(stream, 100 + index, LAYOUT.request_cell("chat", stream, 200))
            recorder.request_started(outcome.prompt_tokens + outcome.completion_tokens, stream=stream)
            recorder.request_finished(outcome, outcome.prompt_tokens + outcome.completion_tokens, facts, 10)
            folded.append((outcome, 100 + index))

    recorded_in_a_loop(record)
    expect_cells(store, folded)


# Non-streamed answers of every shape the answer fold tells apart: TTFTs and ITLs, answers
# with a length or a stop, several choices, a tool call, and answers without generation.
_SLOW = Settings(ttft=300.0, itl=20.0)
_INSTANT = Settings(ttft=0.0, itl=0.0)
_CHAT = {"model": "m", "messages": [{"role": "user", "content": "tell me a story about a lighthouse"}]}
_WEATHER_TOOL = {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}
ANSWER_PLANS: list[ResponsePlan] = [
    predict("chat", {**_CHAT, "max_tokens": 16, "ignore_eos": True}, _SLOW).plan,
    predict("chat", {**_CHAT, "max_tokens": 16, "ignore_eos": True}, _INSTANT).plan,
    predict("chat", {**_CHAT, "max_tokens": 400}, _SLOW).plan,
    predict("chat", {**_CHAT, "max_tokens": 1}, _SLOW).plan,
    predict("chat", {**_CHAT, "max_tokens": 40, "n": 3}, _SLOW).plan,
    predict("chat", {**_CHAT, "tools": [_WEATHER_TOOL], "tool_choice": "required"}, _SLOW).plan,
    predict("completions", {"model": "m", "prompt": "once upon a time", "max_tokens": 8}, _SLOW).plan,
    predict("embeddings", {"model": "m", "input": "a lighthouse"}, _SLOW).plan,
    predict("ranking", {"model": "m", "query": {"text": "q"}, "passages": [{"text": "p"}]}, _SLOW).plan,
]
# With the engine each answer carries its own schedule (`mockcore.engine.served_plan`): a TTFT
# and mean ITL of its own, so answers alike in size differ in their times.
engine_schedules = st.one_of(
    st.none(),
    st.tuples(st.floats(0, 2000.0), st.floats(0, 50.0)),
    st.sampled_from([(300.0, 20.0), (0.0, 0.0)]),  # as a constant schedule's, mixed in
)
answers = st.tuples(
    st.sampled_from(range(len(ANSWER_PLANS))),
    st.one_of(st.floats(0, 2.0), st.sampled_from([0.0, 0.3, 0.299999])),  # around the TTFT too
    st.booleans(),
    engine_schedules,
)


def as_served(plan: ResponsePlan, schedule: tuple[float, float] | None) -> ResponsePlan:
    """`plan` with the engine's schedule for it, if it has one (generations only)."""
    if schedule is None or not isinstance(plan, GenerationPlan):
        return plan
    ttft_ms, itl_ms = schedule
    return msgspec.structs.replace(plan, schedule=Schedule(ttft_ms=ttft_ms, itl_ms=itl_ms))


@given(st.lists(answers, max_size=150))
@settings(max_examples=80, deadline=None)
def test_folded_answers_equal_each_answer_outcome_alone(
    requests: list[tuple[int, float, bool, tuple[float, float] | None]],
) -> None:
    store = LocalMetricsStore()
    recorder = store.recorder
    folded = []

    def record() -> None:
        for index, (plan_index, end_s, answered, schedule) in enumerate(requests):
            plan = as_served(ANSWER_PLANS[plan_index], schedule)
            kv_tokens = plan.usage.prompt_tokens + plan.usage.completion_tokens
            facts = RequestFacts(False, 100 + index, LAYOUT.request_cell("chat", False, 200))
            recorder.request_started(kv_tokens, stream=False)
            recorder.answer_finished(plan, end_s, answered, kv_tokens, facts, 10)
            folded.append((answer_outcome(plan, end_s, answered=answered), 100 + index))

    recorded_in_a_loop(record)
    expect_cells(store, folded)


def test_a_running_request_shows_in_the_gauges_until_its_end_is_published() -> None:
    store = LocalMetricsStore()
    recorder = store.recorder
    facts = RequestFacts(True, 10, LAYOUT.request_cell("chat", True, 200))
    recorder.request_started(50, stream=True)
    assert store.snapshot().gauges == {
        **store.snapshot().gauges,
        "running": 1,
        "kv_tokens": 50,
        "open_streams": 1,
    }
    recorder.request_finished(make(SHAPES[0], 0.01, 0.1), 50, facts, 10)
    gauges = store.snapshot().gauges
    assert (gauges["running"], gauges["kv_tokens"], gauges["open_streams"]) == (0, 0, 0)


@given(st.lists(st.tuples(st.floats(0, 30.0), st.floats(0, 30.0), st.floats(0, 60.0)), max_size=120))
@settings(max_examples=60, deadline=None)
def test_folded_engine_times_equal_observing_each_alone(times: list[tuple[float, float, float]]) -> None:
    store = LocalMetricsStore()
    recorder = store.recorder

    def record() -> None:
        for queue_s, prefill_s, inference_s in times:
            recorder.engine_times(queue_s, prefill_s, inference_s)

    recorded_in_a_loop(record)
    snapshot = store.snapshot()
    for column, quantity in enumerate(("engine_queue_s", "engine_prefill_s", "engine_inference_s")):
        expect_histogram(snapshot, quantity, [observed[column] for observed in times])
