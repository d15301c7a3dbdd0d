"""SPEC section 4: output lengths, `min_tokens`, `ignore_eos` and finish reasons.

The first half drives the pure budget function; the second checks the same rules end to end
on every kind of valid chat and completion payload.
"""

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from tests.strategies import chat_payloads, completion_payloads, routed_payloads

from mockcore import GenerationPlan, Settings, TokenBudget, natural_length, plan_budget, predict
from mockcore.reasoning import REASONING_BUDGET_TOKENS

natural_tokens = st.integers(16, 5000)
reasoning_wanted = st.sampled_from(sorted({0, *REASONING_BUDGET_TOKENS.values()}))
limits = st.integers(1, 3000)
digests = st.binary(min_size=32, max_size=32)


@st.composite
def limited_budgets(draw: st.DrawFn) -> tuple[dict[str, Any], TokenBudget]:
    """Arguments of `plan_budget` with a limit M (and `min_tokens` <= M), and its result."""
    limit = draw(limits)
    arguments: dict[str, Any] = {
        "natural_tokens": draw(natural_tokens),
        "reasoning_wanted": draw(reasoning_wanted),
        "limit": limit,
        "min_tokens": draw(st.integers(0, limit)),
        "ignore_eos": draw(st.booleans()),
    }
    return arguments, plan_budget(**arguments)


@st.composite
def unlimited_budgets(draw: st.DrawFn) -> tuple[dict[str, Any], TokenBudget]:
    """Arguments of `plan_budget` without a limit, and its result."""
    arguments: dict[str, Any] = {
        "natural_tokens": draw(natural_tokens),
        "reasoning_wanted": draw(reasoning_wanted),
        "limit": None,
        "min_tokens": draw(st.integers(0, 5000)),
        "ignore_eos": draw(st.booleans()),
    }
    return arguments, plan_budget(**arguments)


def generated(budget: TokenBudget) -> int:
    return budget.reasoning_tokens + budget.content_tokens


# --- the budget table ---------------------------------------------------------------------


@given(limited_budgets())
def test_reasoning_plus_content_never_exceeds_the_limit(case: tuple[dict[str, Any], TokenBudget]) -> None:
    arguments, budget = case
    assert generated(budget) <= arguments["limit"]


@given(limited_budgets())
def test_ignore_eos_under_a_limit_generates_exactly_the_limit(
    case: tuple[dict[str, Any], TokenBudget],
) -> None:
    arguments, _ = case
    budget = plan_budget(**(arguments | {"ignore_eos": True}))
    assert generated(budget) == arguments["limit"]
    assert budget.finish_reason == "length"


@given(st.one_of(limited_budgets(), unlimited_budgets()))
def test_min_tokens_bounds_reasoning_plus_content_from_below(
    case: tuple[dict[str, Any], TokenBudget],
) -> None:
    arguments, budget = case
    assert generated(budget) >= arguments["min_tokens"]


@given(limited_budgets())
def test_finish_reason_is_length_exactly_when_the_limit_is_reached(
    case: tuple[dict[str, Any], TokenBudget],
) -> None:
    arguments, budget = case
    assert (budget.finish_reason == "length") == (generated(budget) == arguments["limit"])


@given(unlimited_budgets())
def test_without_a_limit_the_finish_reason_is_stop(case: tuple[dict[str, Any], TokenBudget]) -> None:
    _, budget = case
    assert budget.finish_reason == "stop"


@given(unlimited_budgets())
def test_without_a_limit_ignore_eos_changes_nothing(case: tuple[dict[str, Any], TokenBudget]) -> None:
    arguments, _ = case
    assert plan_budget(**(arguments | {"ignore_eos": True})) == plan_budget(
        **(arguments | {"ignore_eos": False})
    )


@given(limited_budgets())
def test_reasoning_is_the_effort_budget_capped_by_the_limit(
    case: tuple[dict[str, Any], TokenBudget],
) -> None:
    arguments, budget = case
    assert budget.reasoning_tokens == min(arguments["reasoning_wanted"], arguments["limit"])


@given(unlimited_budgets())
def test_without_a_limit_reasoning_is_the_whole_effort_budget(
    case: tuple[dict[str, Any], TokenBudget],
) -> None:
    arguments, budget = case
    assert budget.reasoning_tokens == arguments["reasoning_wanted"]


@given(limited_budgets())
def test_content_is_limited_to_what_reasoning_leaves(case: tuple[dict[str, Any], TokenBudget]) -> None:
    arguments, budget = case
    assert budget.content_tokens <= arguments["limit"] - budget.reasoning_tokens


@given(limited_budgets())
def test_content_is_the_natural_length_capped_then_raised_to_min_tokens(
    case: tuple[dict[str, Any], TokenBudget],
) -> None:
    arguments, budget = case
    if arguments["ignore_eos"]:
        return
    content_limit = arguments["limit"] - budget.reasoning_tokens
    expected = max(
        min(arguments["natural_tokens"], content_limit), arguments["min_tokens"] - budget.reasoning_tokens
    )
    assert budget.content_tokens == expected


@given(unlimited_budgets())
def test_without_a_limit_content_is_the_natural_length_raised_to_min_tokens(
    case: tuple[dict[str, Any], TokenBudget],
) -> None:
    arguments, budget = case
    expected = max(arguments["natural_tokens"], arguments["min_tokens"] - arguments["reasoning_wanted"])
    assert budget.content_tokens == expected


@given(natural_tokens, limits, st.booleans())
def test_an_all_reasoning_budget_has_no_content_and_ends_with_length(
    natural: int, limit: int, ignore_eos: bool
) -> None:
    budget = plan_budget(
        natural_tokens=natural,
        reasoning_wanted=limit + 1,
        limit=limit,
        min_tokens=limit,
        ignore_eos=ignore_eos,
    )
    assert budget == TokenBudget(reasoning_tokens=limit, content_tokens=0, finish_reason="length")


# --- the natural length N = max(16, floor(P * (0.8 + 0.4 u))) -------------------------------


@given(st.integers(0, 1_000_000), digests)
def test_natural_length_lies_between_80_and_120_percent_of_the_prompt_and_at_least_16(
    prompt_tokens: int, digest: bytes
) -> None:
    lowest = max(16, (4 * prompt_tokens) // 5)
    highest = max(16, (6 * prompt_tokens) // 5)
    assert lowest <= natural_length(prompt_tokens, digest) <= highest


@given(st.integers(0, 14), digests)
def test_prompts_of_up_to_14_tokens_get_the_16_token_minimum(prompt_tokens: int, digest: bytes) -> None:
    assert natural_length(prompt_tokens, digest) == 16


def test_natural_length_spreads_over_the_whole_range_as_the_digest_varies() -> None:
    lengths = {natural_length(1000, index.to_bytes(32, "little")) for index in range(400)}
    assert min(lengths) < 820
    assert max(lengths) > 1180


# --- the same rules on every valid payload ------------------------------------------------


def generation_plan(route: str, payload: dict[str, Any]) -> GenerationPlan:
    prediction = predict(route, payload, Settings())  # type: ignore[arg-type]
    assert isinstance(prediction.plan, GenerationPlan), prediction
    return prediction.plan


def limit_of(payload: dict[str, Any]) -> int | None:
    """`max_completion_tokens`, else `max_tokens` (either may be absent or null)."""
    if payload.get("max_completion_tokens") is not None:
        return int(payload["max_completion_tokens"])
    return None if payload.get("max_tokens") is None else int(payload["max_tokens"])


generation_requests = routed_payloads(("chat", "completions"))


@given(generation_requests)
def test_every_choice_of_every_payload_respects_its_limit(request: tuple[str, dict[str, Any]]) -> None:
    route, payload = request
    limit = limit_of(payload)
    for choice in generation_plan(route, payload).choices:
        if limit is None:
            assert choice.finish_reason == "stop"
        else:
            assert choice.token_count <= limit
            assert (choice.finish_reason == "length") == (choice.token_count == limit)


@given(generation_requests)
def test_every_choice_of_every_payload_generates_at_least_min_tokens(
    request: tuple[str, dict[str, Any]],
) -> None:
    route, payload = request
    for choice in generation_plan(route, payload).choices:
        assert choice.token_count >= (payload.get("min_tokens") or 0)


@given(
    st.one_of(
        chat_payloads(max_output_tokens=3000).map(lambda payload: ("chat", payload)),
        completion_payloads(max_output_tokens=3000).map(lambda payload: ("completions", payload)),
    )
)
def test_ignore_eos_makes_every_choice_exactly_as_long_as_the_limit(
    request: tuple[str, dict[str, Any]],
) -> None:
    route, payload = request
    for choice in generation_plan(route, payload | {"ignore_eos": True}).choices:
        assert choice.token_count == limit_of(payload)
        assert choice.finish_reason == "length"


@given(generation_requests)
def test_completion_tokens_count_reasoning_and_content_of_every_choice(
    request: tuple[str, dict[str, Any]],
) -> None:
    route, payload = request
    plan = generation_plan(route, payload)
    assert plan.usage.completion_tokens == sum(
        len(choice.reasoning) + len(choice.content) for choice in plan.choices
    )
    assert plan.usage.total_tokens == plan.usage.prompt_tokens + plan.usage.completion_tokens


@given(completion_payloads())
def test_unconstrained_content_has_the_natural_length_of_its_prompt(payload: dict[str, Any]) -> None:
    payload = {key: value for key, value in payload.items() if key not in {"max_tokens", "min_tokens"}}
    for choice in generation_plan("completions", payload).choices:
        prompt_tokens = choice.prompt_tokens
        lowest = max(16, (4 * prompt_tokens) // 5)
        highest = max(16, (6 * prompt_tokens) // 5)
        assert lowest <= len(choice.content) <= highest
