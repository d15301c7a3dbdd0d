"""SPEC sections 4 and 11: which models reason, and the token budget of each effort."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.strategies import PLAIN_MODELS, REASONING_EFFORTS, chat_payloads, texts

from mockcore import REASONING_BUDGET_TOKENS, GenerationPlan, Settings, is_reasoning_model, predict
from mockcore.reasoning import reasoning_budget

# Letters that cannot spell "qwen" or "gpt-oss" in any case.
marker_free_names = st.text("abcdefhijklmnprtuvwxyz0123456789/._", max_size=30)
markers = st.sampled_from(["gpt-oss", "qwen"])
reasoning_models = st.builds(
    lambda prefix, marker, upper, suffix: (
        prefix
        + "".join(letter.upper() if flip else letter for letter, flip in zip(marker, upper, strict=False))
        + suffix
    ),
    texts(max_size=10),
    markers,
    st.lists(st.booleans(), min_size=7, max_size=7),
    texts(max_size=10),
)
efforts = st.sampled_from(REASONING_EFFORTS)
QUESTION = [{"role": "user", "content": "Why is the sky blue? Explain it step by step."}]


def generation_plan(payload: dict[str, Any]) -> GenerationPlan:
    prediction = predict("chat", payload, Settings())
    assert isinstance(prediction.plan, GenerationPlan), prediction
    return prediction.plan


@given(reasoning_models)
def test_names_containing_gpt_oss_or_qwen_in_any_case_reason(model: str) -> None:
    assert is_reasoning_model(model)


@given(marker_free_names)
def test_other_names_do_not_reason(model: str) -> None:
    assert not is_reasoning_model(model)


@pytest.mark.parametrize("model", ["openai/gpt-oss-20b", "openai/gpt-oss-120b", "Qwen/Qwen3-8B", "QWQ-qwen"])
def test_advertised_reasoning_models_reason(model: str) -> None:
    assert is_reasoning_model(model)


@pytest.mark.parametrize("model", [*PLAIN_MODELS, "gpt-o", "gptoss", "gpt_oss", "q-wen", "QWE"])
def test_near_misses_and_plain_models_do_not_reason(model: str) -> None:
    assert not is_reasoning_model(model)


def test_the_effort_table() -> None:
    assert REASONING_BUDGET_TOKENS == {
        "none": 0,
        "minimal": 50,
        "low": 100,
        "medium": 250,
        "high": 500,
        "xhigh": 1000,
        "max": 2000,
    }


@pytest.mark.parametrize(("effort", "tokens"), sorted(REASONING_BUDGET_TOKENS.items()))
def test_a_reasoning_model_without_a_limit_reasons_for_its_effort_budget(effort: str, tokens: int) -> None:
    plan = generation_plan({"model": "Qwen/Qwen3-8B", "messages": QUESTION, "reasoning_effort": effort})
    assert len(plan.choices[0].reasoning) == tokens
    assert plan.usage.reasoning_tokens == tokens


@pytest.mark.parametrize("effort", [None, "absent"])
def test_the_default_effort_is_medium(effort: str | None) -> None:
    payload: dict[str, Any] = {"model": "openai/gpt-oss-20b", "messages": QUESTION}
    if effort != "absent":
        payload["reasoning_effort"] = effort
    assert len(generation_plan(payload).choices[0].reasoning) == 250


@given(efforts, st.integers(1, 3000))
def test_reasoning_under_a_limit_is_the_effort_budget_capped_by_the_limit(effort: str, limit: int) -> None:
    plan = generation_plan(
        {"model": "gpt-oss", "messages": QUESTION, "reasoning_effort": effort, "max_completion_tokens": limit}
    )
    assert len(plan.choices[0].reasoning) == min(REASONING_BUDGET_TOKENS[effort], limit)  # type: ignore[index]


@given(efforts, st.integers(1, 3000))
def test_content_gets_only_what_reasoning_leaves_of_the_limit(effort: str, limit: int) -> None:
    choice = generation_plan(
        {"model": "qwen", "messages": QUESTION, "reasoning_effort": effort, "max_tokens": limit}
    ).choices[0]
    assert len(choice.content) <= limit - len(choice.reasoning)


@given(efforts.filter(lambda effort: effort != "none"), st.data())
def test_a_budget_that_is_all_reasoning_has_no_content_and_finishes_with_length(
    effort: str, data: st.DataObject
) -> None:
    limit = data.draw(st.integers(1, REASONING_BUDGET_TOKENS[effort]))  # type: ignore[index]
    choice = generation_plan(
        {"model": "Qwen/Qwen3-8B", "messages": QUESTION, "reasoning_effort": effort, "max_tokens": limit}
    ).choices[0]
    assert len(choice.reasoning) == limit
    assert len(choice.content) == 0
    assert choice.finish_reason == "length"


@given(chat_payloads(models=st.sampled_from(PLAIN_MODELS)))
def test_a_model_that_does_not_reason_ignores_reasoning_effort(payload: dict[str, Any]) -> None:
    plan = generation_plan(payload)
    assert plan.reasons is False
    assert len(plan.choices[0].reasoning) == 0
    assert plan.usage.reasoning_tokens is None
    assert plan == generation_plan(payload | {"reasoning_effort": "max"})


@given(chat_payloads(models=reasoning_models))
def test_usage_of_a_reasoning_model_reports_its_reasoning_tokens(payload: dict[str, Any]) -> None:
    plan = generation_plan(payload)
    choice = plan.choices[0]
    assert plan.reasons is True
    assert plan.usage.reasoning_tokens == len(choice.reasoning)
    assert plan.usage.completion_tokens == len(choice.reasoning) + len(choice.content)


def test_effort_none_on_a_reasoning_model_reports_zero_reasoning_tokens() -> None:
    plan = generation_plan({"model": "Qwen/Qwen3-8B", "messages": QUESTION, "reasoning_effort": "none"})
    assert plan.reasons is True
    assert plan.usage.reasoning_tokens == 0
    assert plan.choices[0].content


@given(marker_free_names, efforts)
def test_reasoning_budget_is_zero_for_models_that_do_not_reason(model: str, effort: str) -> None:
    assert reasoning_budget(model, effort) == 0  # type: ignore[arg-type]
