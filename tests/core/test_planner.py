"""SPEC sections 3, 4 and 11: prompt tokens, which text comes out, the hash h, batches."""

from typing import Any

import msgspec
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from tests.strategies import PLAIN_MODELS, chat_payloads, completion_payloads, prompts, texts, token_ids

from mockcore import ChoicePlan, GenerationPlan, PieceCycle, Settings, count_tokens, predict, split_tokens
from mockcore.digest import derived_u64
from mockcore.generation.planner import cycle_pieces
from mockcore.planner import CHAT_OPTION_FIELDS, plain_chat
from mockcore.prompts import chat_prompt
from mockcore.requests import ChatCompletionRequest, ChatMessage
from mockcore.tokenizer import TextPieces
from mockcore.vocabulary import FALLBACK_PIECES

plain_models = st.sampled_from(PLAIN_MODELS)


def generation_plan(route: str, payload: dict[str, Any]) -> GenerationPlan:
    prediction = predict(route, payload, Settings())  # type: ignore[arg-type]
    assert isinstance(prediction.plan, GenerationPlan), prediction
    return prediction.plan


def message_texts(message: dict[str, Any]) -> list[str]:
    """What SPEC section 3 counts: string content, or the `text` of each text part."""
    content = message.get("content")
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    return [part["text"] for part in content if part["type"] == "text"]


def chat_pieces(payload: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        piece
        for message in payload["messages"]
        for text in message_texts(message)
        for piece in split_tokens(text)
    )


def cycles_through(output: tuple[str, ...], source: tuple[str, ...]) -> bool:
    """Whether `output` is `source`, repeated, read from some offset."""
    if not output:
        return True
    return any(
        all(piece == source[(offset + position) % len(source)] for position, piece in enumerate(output))
        for offset in range(len(source))
    )


# --- prompt tokens --------------------------------------------------------------------------


@given(chat_payloads())
def test_chat_prompt_tokens_sum_the_text_of_every_message_of_every_role(payload: dict[str, Any]) -> None:
    expected = sum(count_tokens(text) for message in payload["messages"] for text in message_texts(message))
    assert generation_plan("chat", payload).usage.prompt_tokens == expected


@given(texts(), plain_models)
def test_a_string_prompt_counts_its_tokens(prompt: str, model: str) -> None:
    plan = generation_plan("completions", {"model": model, "prompt": prompt})
    assert plan.usage.prompt_tokens == count_tokens(prompt)


@given(st.lists(token_ids(), min_size=1, max_size=64), plain_models)
def test_a_token_id_prompt_counts_its_ids(prompt: list[int], model: str) -> None:
    plan = generation_plan("completions", {"model": model, "prompt": prompt})
    assert plan.usage.prompt_tokens == len(prompt)


# --- which pieces come out ------------------------------------------------------------------


@given(chat_payloads())
def test_chat_output_pieces_are_pieces_of_the_prompt(payload: dict[str, Any]) -> None:
    source = chat_pieces(payload)
    assume(source)
    choice = generation_plan("chat", payload).choices[0]
    assert set(choice.reasoning) | set(choice.content) <= set(source)


@given(chat_payloads())
def test_chat_content_cycles_through_the_prompt_pieces_from_an_offset(payload: dict[str, Any]) -> None:
    source = chat_pieces(payload) or FALLBACK_PIECES
    assert cycles_through(generation_plan("chat", payload).choices[0].content, source)


@given(chat_payloads())
def test_chat_reasoning_cycles_through_the_prompt_pieces_from_an_offset(payload: dict[str, Any]) -> None:
    source = chat_pieces(payload) or FALLBACK_PIECES
    assert cycles_through(generation_plan("chat", payload).choices[0].reasoning, source)


@given(texts(min_size=1), plain_models)
def test_completion_output_cycles_through_the_prompt_pieces(prompt: str, model: str) -> None:
    choice = generation_plan("completions", {"model": model, "prompt": prompt}).choices[0]
    assert cycles_through(choice.content, split_tokens(prompt))


@given(
    st.one_of(st.lists(token_ids(), min_size=1), st.lists(st.lists(token_ids()), min_size=1)), plain_models
)
def test_token_id_prompts_cycle_through_the_built_in_passage(prompt: list[Any], model: str) -> None:
    for choice in generation_plan("completions", {"model": model, "prompt": prompt}).choices:
        assert cycles_through(choice.content, FALLBACK_PIECES)


@pytest.mark.parametrize(
    ("route", "payload"),
    [
        ("completions", {"model": "m", "prompt": ""}),
        ("completions", {"model": "m", "prompt": ["", ""]}),
        ("chat", {"model": "m", "messages": [{"role": "user", "content": ""}]}),
        ("chat", {"model": "m", "messages": [{"role": "assistant", "content": None}]}),
        ("chat", {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
        ("chat", {"model": "Qwen/Qwen3-8B", "messages": [{"role": "user", "content": ""}]}),
    ],
    ids=["empty-prompt", "empty-prompts", "empty-message", "null-content", "image-only", "reasoning"],
)
def test_prompts_without_text_cycle_through_the_built_in_passage(route: str, payload: dict[str, Any]) -> None:
    for choice in generation_plan(route, payload).choices:
        assert choice.content
        assert cycles_through(choice.content, FALLBACK_PIECES)
        assert cycles_through(choice.reasoning, FALLBACK_PIECES)


def test_a_prompt_without_text_gets_the_16_token_minimum() -> None:
    choice = generation_plan("completions", {"model": "m", "prompt": ""}).choices[0]
    assert choice.prompt_tokens == 0
    assert len(choice.content) == 16


# --- the hash h -------------------------------------------------------------------------------


def chat_digest(messages: list[dict[str, Any]]) -> bytes:
    return chat_prompt(
        [ChatMessage(role=message["role"], content=message["content"]) for message in messages]
    ).digest


@given(chat_payloads(models=plain_models), plain_models)
def test_the_model_name_does_not_change_the_output_of_a_plain_model(
    payload: dict[str, Any], model: str
) -> None:
    plan = generation_plan("chat", payload)
    other = generation_plan("chat", payload | {"model": model})
    assert msgspec.structs.replace(other, model=plan.model) == plan


@given(st.lists(texts(), min_size=1, max_size=4), st.data())
def test_the_hash_covers_the_role_of_every_message(contents: list[str], data: st.DataObject) -> None:
    messages = [{"role": "user", "content": content} for content in contents]
    changed = data.draw(st.integers(0, len(messages) - 1))
    other = [*messages]
    other[changed] = {"role": "assistant", "content": contents[changed]}
    assert chat_digest(messages) != chat_digest(other)


@given(st.lists(texts(), min_size=1, max_size=4), st.data())
def test_the_hash_covers_the_text_of_every_message(contents: list[str], data: st.DataObject) -> None:
    messages = [{"role": "user", "content": content} for content in contents]
    changed = data.draw(st.integers(0, len(messages) - 1))
    new_text = data.draw(texts().filter(lambda text: text != contents[changed]))
    other = [*messages]
    other[changed] = {"role": "user", "content": new_text}
    assert chat_digest(messages) != chat_digest(other)


@given(texts(), texts())
def test_the_hash_covers_the_order_of_the_messages(first: str, second: str) -> None:
    assume(first != second)
    one = {"role": "user", "content": first}
    two = {"role": "user", "content": second}
    assert chat_digest([one, two]) != chat_digest([two, one])


def test_a_message_without_text_still_counts_in_the_hash() -> None:
    question = {"role": "user", "content": "hello"}
    assert chat_digest([question]) != chat_digest([{"role": "assistant", "content": None}, question])


@given(texts(min_size=1))
def test_string_content_and_one_text_part_are_the_same_prompt(text: str) -> None:
    as_string = {"model": "m", "messages": [{"role": "user", "content": text}]}
    as_part = {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}
    assert generation_plan("chat", as_string) == generation_plan("chat", as_part)


# --- batched completions ----------------------------------------------------------------------


@given(completion_payloads())
def test_a_completion_has_one_choice_per_prompt_in_order(payload: dict[str, Any]) -> None:
    prompt = payload["prompt"]
    expected = len(prompt) if isinstance(prompt, list) and isinstance(prompt[0], (str, list)) else 1
    plan = generation_plan("completions", payload)
    assert [choice.index for choice in plan.choices] == list(range(expected))


@given(completion_payloads().filter(lambda payload: isinstance(payload["prompt"], list)))
def test_each_prompt_of_a_batch_is_planned_as_if_it_were_alone(payload: dict[str, Any]) -> None:
    prompt = payload["prompt"]
    alone = [prompt] if isinstance(prompt[0], int) else prompt
    batch = generation_plan("completions", payload)
    for index, single in enumerate(alone):
        (choice,) = generation_plan("completions", payload | {"prompt": single}).choices
        assert batch.choices[index] == ChoicePlan(
            index=index,
            prompt_tokens=choice.prompt_tokens,
            reasoning=choice.reasoning,
            content=choice.content,
            finish_reason=choice.finish_reason,
            digest=choice.digest,
        )


@given(completion_payloads())
def test_batch_usage_sums_every_choice(payload: dict[str, Any]) -> None:
    plan = generation_plan("completions", payload)
    assert plan.usage.prompt_tokens == sum(choice.prompt_tokens for choice in plan.choices)
    assert plan.usage.completion_tokens == sum(choice.token_count for choice in plan.choices)
    assert plan.usage.reasoning_tokens is None


@given(prompts(), plain_models)
def test_completions_never_reason(prompt: Any, model: str) -> None:
    for model_name in (model, "openai/gpt-oss-20b", "Qwen/Qwen3-8B"):
        plan = generation_plan("completions", {"model": model_name, "prompt": prompt})
        assert all(len(choice.reasoning) == 0 for choice in plan.choices)


# --- min_tokens above the limit -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "payload"),
    [
        ("chat", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "min_tokens": 6}),
        (
            "chat",
            {"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 5, "min_tokens": 6},
        ),
        (
            "chat",
            {
                "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 50,
                "max_completion_tokens": 5,
                "min_tokens": 6,
            },
        ),
        ("completions", {"prompt": "hi", "max_tokens": 1, "min_tokens": 2}),
        ("completions", {"prompt": ["a", "b"], "max_tokens": 3, "min_tokens": 100}),
    ],
    ids=["chat-max_tokens", "chat-max_completion_tokens", "chat-both-limits", "completion", "batch"],
)
def test_min_tokens_above_the_limit_is_a_400_naming_min_tokens(route: str, payload: dict[str, Any]) -> None:
    prediction = predict(route, {"model": "m"} | payload)  # type: ignore[arg-type]
    assert prediction.status_code == 400
    assert prediction.error is not None
    assert prediction.error.param == "min_tokens"


def test_min_tokens_equal_to_the_limit_is_accepted() -> None:
    prediction = predict("completions", {"model": "m", "prompt": "hi", "max_tokens": 40, "min_tokens": 40})
    assert prediction.status_code == 200


# --- the pieces of a choice are a cycle, never materialised ------------------------------


@given(
    st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=12).map(tuple),
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=100),
)
def test_a_piece_cycle_reads_like_the_tuple_it_stands_for(
    source: tuple[str, ...], shift: int, count: int
) -> None:
    offset = shift % len(source)
    cycle = PieceCycle(source=source, offset=offset, count=count)
    expected = tuple(source[(offset + position) % len(source)] for position in range(count))
    assert len(cycle) == count
    assert tuple(cycle) == expected
    assert cycle.text == "".join(expected)
    assert [cycle[position] for position in range(count)] == list(expected)
    if count:
        assert cycle[-1] == expected[-1]
    with pytest.raises(IndexError):
        cycle[count]


@given(
    st.lists(st.text(max_size=30), min_size=1, max_size=3).map(tuple),
    st.binary(min_size=1, max_size=32),
    st.integers(min_value=1, max_value=120),
)
def test_a_cycle_of_a_prompts_pieces_reads_as_if_every_piece_were_cut(
    prompt_texts: tuple[str, ...], digest: bytes, count: int
) -> None:
    pieces = TextPieces(prompt_texts)
    every = pieces.all()
    assume(every)
    cycle = cycle_pieces(digest, pieces, b"salt", count)
    whole = PieceCycle(source=every, offset=derived_u64(digest, b"salt") % len(every), count=count)
    assert tuple(cycle) == tuple(whole)
    assert cycle.text == whole.text
    if count < len(every):
        assert len(cycle.source) == count  # it holds just the pieces it reads


def test_a_huge_stream_plan_holds_its_prompt_not_its_output() -> None:
    payload = {
        "model": "m",
        "messages": [{"role": "user", "content": "a short prompt"}],
        "max_tokens": 131_072,
        "ignore_eos": True,
        "stream": True,
    }
    plan = generation_plan("chat", payload)
    choice = plan.choices[0]
    assert len(choice.content) == plan.usage.completion_tokens == 131_072
    assert len(msgspec.json.encode(plan)) < 2_000, "the plan is a cycle over the prompt's pieces"
    assert choice.content_text == "".join(choice.content)


# --- the plain-chat shortcut -------------------------------------------------------------------

# The fields the plain path reads itself, and the one field accepted and never read.
PLAIN_CHAT_FIELDS = {
    "messages",
    "model",
    "max_completion_tokens",
    "max_tokens",
    "reasoning_effort",
    "stream",
    "min_tokens",
    "ignore_eos",
}
IGNORED_CHAT_FIELDS = {"parallel_tool_calls"}
OPTION_VALUES: dict[str, Any] = {
    "tools": [{"type": "function", "function": {"name": "f"}}],
    "tool_choice": "none",
    "stop": "x",
    "n": 1,
    "seed": 0,
    "logprobs": False,
    "top_logprobs": 0,
    "response_format": {"type": "text"},
    "stream_options": {"include_usage": False},
}


def test_every_chat_field_is_read_by_the_plain_path_or_checked_by_the_shortcut() -> None:
    fields = set(ChatCompletionRequest.__struct_fields__)
    assert fields == PLAIN_CHAT_FIELDS | set(CHAT_OPTION_FIELDS) | IGNORED_CHAT_FIELDS
    assert set(OPTION_VALUES) == set(CHAT_OPTION_FIELDS)


@pytest.mark.parametrize("field", CHAT_OPTION_FIELDS)
def test_any_option_set_even_to_its_default_value_takes_the_full_translation(field: str) -> None:
    payload = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    plain = msgspec.json.decode(msgspec.json.encode(payload), type=ChatCompletionRequest)
    optioned = msgspec.json.decode(
        msgspec.json.encode(payload | {field: OPTION_VALUES[field]}), type=ChatCompletionRequest
    )
    assert plain_chat(plain)
    assert not plain_chat(optioned)
