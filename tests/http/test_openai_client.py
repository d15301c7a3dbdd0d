"""SPEC sections 4, 5 and 7 through the official `openai` client, against a real Granian server.

Whatever the client parses (texts, reasoning, usage, finish reasons, vectors) must equal what
`mockcore.predict` says for the same payload; only ids and timestamps depend on the moment.
"""

import base64
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest
from hypothesis import given, settings
from openai.types import Completion, CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.completion_usage import CompletionUsage
from tests.strategies import chat_payloads, completion_payloads, embedding_payloads

from mockcore import EmbeddingPlan, GenerationPlan, Route, Settings, Usage, predict

pytestmark = pytest.mark.e2e

CHAT_PARAMETERS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "reasoning_effort",
        "stream",
        "stream_options",
        "temperature",
        "top_p",
        "seed",
        "user",
        "presence_penalty",
    }
)
COMPLETION_PARAMETERS = frozenset(
    {"model", "prompt", "max_tokens", "stream", "stream_options", "temperature", "top_p", "seed", "user"}
)
EMBEDDING_PARAMETERS = frozenset({"model", "input", "encoding_format", "dimensions", "user"})

INSTANT = Settings(ttft=0.0, itl=0.0)  # the settings of the `instant_server` fixture
HELLO = [{"role": "user", "content": "Tell me a story about a lighthouse keeper and a storm."}]


@dataclass
class ObservedChoice:
    """What the client saw of one choice."""

    content: str = ""
    reasoning: str | None = None
    finish_reason: str | None = None


@dataclass
class Observed:
    """What the client saw of one response."""

    choices: dict[int, ObservedChoice] = field(default_factory=dict)
    usage: CompletionUsage | None = None


def plan_for(route: Route, payload: Mapping[str, Any]) -> GenerationPlan:
    """The plan the instant server follows for `payload` (error rate 0: no fault)."""
    prediction = predict(route, dict(payload), INSTANT)
    assert prediction.status_code == 200, prediction.error
    assert isinstance(prediction.plan, GenerationPlan)
    return prediction.plan


def client_call(payload: Mapping[str, Any], parameters: frozenset[str]) -> dict[str, Any]:
    """Keyword arguments of a `create` call: known parameters, the rest through `extra_body`."""
    known = {key: value for key, value in payload.items() if key in parameters}
    extra = {key: value for key, value in payload.items() if key not in parameters}
    return known | ({"extra_body": extra} if extra else {})


def reasoning_of(extra: dict[str, Any] | None) -> str | None:
    """`reasoning_content` is not a field of the client's models: it lands in `model_extra`."""
    return (extra or {}).get("reasoning_content")


def observe_chat(response: ChatCompletion) -> Observed:
    observed = Observed(usage=response.usage)
    for choice in response.choices:
        observed.choices[choice.index] = ObservedChoice(
            content=choice.message.content or "",
            reasoning=reasoning_of(choice.message.model_extra),
            finish_reason=choice.finish_reason,
        )
    return observed


def observe_chat_stream(chunks: Iterable[ChatCompletionChunk]) -> Observed:
    observed = Observed()
    for chunk in chunks:
        assert chunk.object == "chat.completion.chunk"
        if chunk.usage is not None:
            assert chunk.choices == []
            observed.usage = chunk.usage
        for choice in chunk.choices:
            seen = observed.choices.setdefault(choice.index, ObservedChoice())
            assert seen.finish_reason is None, "a chunk after the choice's finish_reason"
            seen.content += choice.delta.content or ""
            reasoning = reasoning_of(choice.delta.model_extra)
            if reasoning is not None:
                assert seen.content == "", "reasoning after content"
                seen.reasoning = (seen.reasoning or "") + reasoning
            seen.finish_reason = choice.finish_reason
    return observed


def observe_completion(response: Completion) -> Observed:
    observed = Observed(usage=response.usage)
    for choice in response.choices:
        observed.choices[choice.index] = ObservedChoice(
            content=choice.text, finish_reason=choice.finish_reason
        )
    return observed


def observe_completion_stream(chunks: Iterable[Completion]) -> Observed:
    observed = Observed()
    for chunk in chunks:
        if chunk.usage is not None:
            assert chunk.choices == []
            observed.usage = chunk.usage
        for choice in chunk.choices:
            seen = observed.choices.setdefault(choice.index, ObservedChoice())
            assert seen.finish_reason is None, "a chunk after the choice's finish_reason"
            seen.content += choice.text
            seen.finish_reason = choice.finish_reason
    return observed


def assert_usage_matches(usage: CompletionUsage | None, expected: Usage) -> None:
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        expected.prompt_tokens,
        expected.completion_tokens,
        expected.total_tokens,
    )
    if expected.reasoning_tokens is None:
        assert usage.completion_tokens_details is None
    else:
        assert usage.completion_tokens_details is not None
        assert usage.completion_tokens_details.reasoning_tokens == expected.reasoning_tokens


def assert_matches_plan(observed: Observed, plan: GenerationPlan, *, streamed: bool) -> None:
    assert sorted(observed.choices) == [choice.index for choice in plan.choices]
    for choice in plan.choices:
        seen = observed.choices[choice.index]
        assert seen.content == choice.content_text
        assert seen.finish_reason == choice.finish_reason
        if plan.endpoint == "chat" and plan.reasons and (choice.reasoning or not streamed):
            assert seen.reasoning == choice.reasoning_text
        else:
            assert seen.reasoning is None
    if streamed and not plan.include_usage:
        assert observed.usage is None
    else:
        assert_usage_matches(observed.usage, plan.usage)


def chat_roundtrip(client: openai.OpenAI, payload: dict[str, Any]) -> None:
    """Send `payload` with the client and check every parsed field against the prediction."""
    plan = plan_for("chat", payload)
    call = client_call(payload, CHAT_PARAMETERS)
    if plan.stream:
        with client.chat.completions.create(**call) as stream:
            observed = observe_chat_stream(stream)
    else:
        observed = observe_chat(client.chat.completions.create(**call))
    assert_matches_plan(observed, plan, streamed=plan.stream)


def completion_roundtrip(client: openai.OpenAI, payload: dict[str, Any]) -> None:
    plan = plan_for("completions", payload)
    call = client_call(payload, COMPLETION_PARAMETERS)
    if plan.stream:
        with client.completions.create(**call) as stream:
            observed = observe_completion_stream(stream)
    else:
        observed = observe_completion(client.completions.create(**call))
    assert_matches_plan(observed, plan, streamed=plan.stream)


def vector_of(embedding: list[float] | str) -> tuple[float, ...]:
    """The client decodes base64 only when it chose it; an explicit base64 comes back as text."""
    if isinstance(embedding, str):
        raw = base64.b64decode(embedding)
        return struct.unpack(f"<{len(raw) // 4}f", raw)
    return tuple(embedding)


def embedding_roundtrip(client: openai.OpenAI, payload: dict[str, Any]) -> CreateEmbeddingResponse:
    prediction = predict("embeddings", payload, INSTANT)
    assert isinstance(prediction.plan, EmbeddingPlan)
    # The client asks for base64 when the caller names no format, and decodes it to floats.
    response = client.embeddings.create(**client_call(payload, EMBEDDING_PARAMETERS))
    assert response.object == "list"
    assert response.model == payload["model"]
    assert [item.index for item in response.data] == list(range(len(prediction.plan.vectors)))
    assert all(item.object == "embedding" for item in response.data)
    assert [vector_of(item.embedding) for item in response.data] == list(prediction.plan.vectors)
    assert response.usage.prompt_tokens == prediction.plan.usage.prompt_tokens
    assert response.usage.total_tokens == prediction.plan.usage.total_tokens
    return response


# --- chat -------------------------------------------------------------------------------


def test_chat_completion_parses_and_matches_the_prediction(openai_client: openai.OpenAI) -> None:
    chat_roundtrip(openai_client, {"model": "mock-model", "messages": HELLO})


def test_chat_completion_reports_its_model_and_kind(openai_client: openai.OpenAI) -> None:
    response = openai_client.chat.completions.create(model="any/model-name", messages=HELLO, max_tokens=3)
    assert response.object == "chat.completion"
    assert response.model == "any/model-name"
    assert response.id.startswith("chatcmpl-")
    assert response.choices[0].message.role == "assistant"
    assert response.choices[0].finish_reason == "length"


@pytest.mark.parametrize("include_usage", [None, False, True])
def test_chat_stream_parses_and_matches_the_prediction(
    openai_client: openai.OpenAI, include_usage: bool | None
) -> None:
    payload: dict[str, Any] = {"model": "mock-model", "messages": HELLO, "stream": True}
    if include_usage is not None:
        payload["stream_options"] = {"include_usage": include_usage}
    chat_roundtrip(openai_client, payload)


def test_chat_limit_min_tokens_and_ignore_eos_go_through_extra_body(openai_client: openai.OpenAI) -> None:
    chat_roundtrip(
        openai_client,
        {"model": "mock-model", "messages": HELLO, "max_tokens": 40, "min_tokens": 30, "ignore_eos": True},
    )
    chat_roundtrip(
        openai_client,
        {"model": "mock-model", "messages": HELLO, "max_completion_tokens": 7, "stream": True},
    )


@pytest.mark.parametrize("model", ["openai/gpt-oss-120b", "Qwen/Qwen3-8B"])
@pytest.mark.parametrize("reasoning_effort", [None, "low", "high"])
@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_models_send_reasoning_content(
    openai_client: openai.OpenAI, model: str, reasoning_effort: str | None, stream: bool
) -> None:
    payload: dict[str, Any] = {"model": model, "messages": HELLO, "stream": stream}
    if reasoning_effort is not None:
        payload["reasoning_effort"] = reasoning_effort
    if stream:
        payload["stream_options"] = {"include_usage": True}
    plan = plan_for("chat", payload)
    assert plan.reasons
    assert plan.usage.reasoning_tokens == {None: 250, "low": 100, "high": 500}[reasoning_effort]
    chat_roundtrip(openai_client, payload)


def test_a_budget_of_reasoning_only_ends_on_a_reasoning_chunk(openai_client: openai.OpenAI) -> None:
    payload = {"model": "openai/gpt-oss-120b", "messages": HELLO, "max_tokens": 5, "stream": True}
    with openai_client.chat.completions.create(**payload) as stream:  # type: ignore[call-overload]
        chunks = list(stream)
    assert all(reasoning_of(chunk.choices[0].delta.model_extra) for chunk in chunks)
    assert [chunk.choices[0].finish_reason for chunk in chunks] == [None] * 4 + ["length"]
    chat_roundtrip(openai_client, payload)


# --- completions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prompt",
    [
        "Once upon a time, in a land far away,",
        ["The first prompt of a batch.", "A second, rather longer prompt of the same batch.", ""],
        [101, 2023, 2003, 1037, 3231, 102],
        [[1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]],
    ],
    ids=["string", "batch", "token-ids", "batch-of-token-ids"],
)
@pytest.mark.parametrize("stream", [False, True])
def test_completions_parse_and_match_the_prediction(
    openai_client: openai.OpenAI, prompt: str | list[Any], stream: bool
) -> None:
    payload: dict[str, Any] = {"model": "mock-model", "prompt": prompt, "stream": stream}
    if stream:
        payload["stream_options"] = {"include_usage": True}
    completion_roundtrip(openai_client, payload)
    completion_roundtrip(openai_client, payload | {"max_tokens": 5, "min_tokens": 2, "ignore_eos": True})


def test_completion_reports_its_kind(openai_client: openai.OpenAI) -> None:
    response = openai_client.completions.create(model="m", prompt="hello", max_tokens=2)
    assert response.object == "text_completion"
    assert response.id.startswith("cmpl-")
    assert response.model == "m"


# --- embeddings -------------------------------------------------------------------------


@pytest.mark.parametrize("encoding_format", [None, "float", "base64"])
@pytest.mark.parametrize("dimensions", [None, 1, 64, 768])
def test_embeddings_parse_and_match_the_prediction(
    openai_client: openai.OpenAI, encoding_format: str | None, dimensions: int | None
) -> None:
    payload: dict[str, Any] = {"model": "text-embedding-3-small", "input": ["hello world", "goodbye"]}
    if encoding_format is not None:
        payload["encoding_format"] = encoding_format
    if dimensions is not None:
        payload["dimensions"] = dimensions
    response = embedding_roundtrip(openai_client, payload)
    assert [len(vector_of(item.embedding)) for item in response.data] == [dimensions or 768] * 2


# --- any valid payload ------------------------------------------------------------------

ROUNDTRIP_SETTINGS = settings(max_examples=25, deadline=None)


@ROUNDTRIP_SETTINGS
@given(payload=chat_payloads(max_output_tokens=300))
def test_any_chat_payload_roundtrips_through_the_client(
    openai_client: openai.OpenAI, payload: dict[str, Any]
) -> None:
    chat_roundtrip(openai_client, payload)


@ROUNDTRIP_SETTINGS
@given(payload=completion_payloads(max_output_tokens=300))
def test_any_completion_payload_roundtrips_through_the_client(
    openai_client: openai.OpenAI, payload: dict[str, Any]
) -> None:
    completion_roundtrip(openai_client, payload)


@ROUNDTRIP_SETTINGS
@given(payload=embedding_payloads())
def test_any_embedding_payload_roundtrips_through_the_client(
    openai_client: openai.OpenAI, payload: dict[str, Any]
) -> None:
    embedding_roundtrip(openai_client, payload)


@pytest.mark.parametrize("reasoning_effort", ["none", "minimal", "xhigh", "max"])
@pytest.mark.parametrize("stream", [False, True])
def test_every_reasoning_effort_the_client_allows_is_accepted(
    openai_client: openai.OpenAI, reasoning_effort: str, stream: bool
) -> None:
    chat_roundtrip(
        openai_client,
        {
            "model": "openai/gpt-oss-20b",
            "messages": HELLO,
            "reasoning_effort": reasoning_effort,
            "max_completion_tokens": 60,
            "stream": stream,
        },
    )
