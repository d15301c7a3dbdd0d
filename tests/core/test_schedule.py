"""SPEC section 6: absolute deadlines from t0, TTFT then one ITL per token."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.strategies import routed_payloads

from mockcore import EmbeddingPlan, GenerationPlan, RankingPlan, Schedule, Settings, predict

latencies_ms = st.floats(0, 10_000, allow_nan=False, allow_infinity=False)
event_indices = st.integers(0, 100_000)


@given(latencies_ms, latencies_ms, event_indices)
def test_event_k_is_due_at_ttft_plus_k_itl_in_seconds(ttft_ms: float, itl_ms: float, k: int) -> None:
    schedule = Schedule(ttft_ms=ttft_ms, itl_ms=itl_ms)
    assert schedule.event_offset_s(k) == (ttft_ms + k * itl_ms) / 1000


@given(latencies_ms, latencies_ms, event_indices)
def test_deadlines_do_not_accumulate_rounding(ttft_ms: float, itl_ms: float, k: int) -> None:
    schedule = Schedule(ttft_ms=ttft_ms, itl_ms=itl_ms)
    assert schedule.event_offset_s(k) == pytest.approx(
        ttft_ms / 1000 + k * (itl_ms / 1000), rel=1e-12, abs=1e-12
    )


@given(latencies_ms, latencies_ms, st.integers(0, 300))
def test_event_offsets_list_every_event_in_order(ttft_ms: float, itl_ms: float, count: int) -> None:
    schedule = Schedule(ttft_ms=ttft_ms, itl_ms=itl_ms)
    offsets = schedule.event_offsets_s(count)
    assert offsets == tuple(schedule.event_offset_s(k) for k in range(count))
    assert list(offsets) == sorted(offsets)


@given(latencies_ms, latencies_ms, st.integers(0, 100_000))
def test_a_non_streaming_response_is_due_after_ttft_and_one_itl_per_token(
    ttft_ms: float, itl_ms: float, tokens: int
) -> None:
    schedule = Schedule(ttft_ms=ttft_ms, itl_ms=itl_ms)
    assert schedule.response_offset_s(tokens) == (ttft_ms + tokens * itl_ms) / 1000


def test_the_default_schedule_is_20_ms_then_5_ms_per_token() -> None:
    plan = predict("completions", {"model": "m", "prompt": "x" * 40, "max_tokens": 3}).plan
    assert isinstance(plan, GenerationPlan)
    assert plan.schedule.event_offsets_s(3) == (0.02, 0.025, 0.03)
    assert plan.response_offset_s == pytest.approx(0.035)


generation_requests = routed_payloads(("chat", "completions"))


@given(generation_requests, latencies_ms, latencies_ms)
def test_a_plan_has_one_deadline_per_token_of_its_longest_choice(
    request: tuple[str, dict[str, Any]], ttft_ms: float, itl_ms: float
) -> None:
    route, payload = request
    plan = predict(route, payload, Settings(ttft=ttft_ms, itl=itl_ms)).plan  # type: ignore[arg-type]
    assert isinstance(plan, GenerationPlan)
    assert plan.schedule == Schedule(ttft_ms=ttft_ms, itl_ms=itl_ms)
    assert plan.event_count == max(len(choice.reasoning) + len(choice.content) for choice in plan.choices)


@given(generation_requests, latencies_ms, latencies_ms)
def test_a_non_streaming_plan_is_due_after_ttft_and_the_tokens_of_its_longest_choice(
    request: tuple[str, dict[str, Any]], ttft_ms: float, itl_ms: float
) -> None:
    route, payload = request
    plan = predict(route, payload, Settings(ttft=ttft_ms, itl=itl_ms)).plan  # type: ignore[arg-type]
    assert isinstance(plan, GenerationPlan)
    longest = max(choice.token_count for choice in plan.choices)
    assert plan.response_offset_s == (ttft_ms + itl_ms * longest) / 1000


def test_a_batch_is_due_when_its_longest_choice_is_done() -> None:
    payload = {"model": "m", "prompt": ["short", "x" * 400], "max_tokens": 1000}
    plan = predict("completions", payload, Settings(ttft=10, itl=2)).plan
    assert isinstance(plan, GenerationPlan)
    lengths = [choice.token_count for choice in plan.choices]
    assert lengths[0] < lengths[1]
    assert plan.response_offset_s == pytest.approx((10 + 2 * lengths[1]) / 1000)


@given(
    routed_payloads(("embeddings", "ranking")),
    latencies_ms,
    latencies_ms,
)
def test_embeddings_and_ranking_answer_after_ttft_alone(
    request: tuple[str, dict[str, Any]], ttft_ms: float, itl_ms: float
) -> None:
    route, payload = request
    plan = predict(route, payload, Settings(ttft=ttft_ms, itl=itl_ms)).plan  # type: ignore[arg-type]
    assert isinstance(plan, (EmbeddingPlan, RankingPlan))
    assert plan.response_offset_s == ttft_ms / 1000
