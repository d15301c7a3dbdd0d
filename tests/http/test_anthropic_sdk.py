"""`POST /v1/messages` through the official `anthropic` SDK, against a real Granian server.

Clients written for Claude point the `anthropic` SDK at the mock: it must parse every message
and stream event into its own types, raise its own exceptions for the errors, and assemble
from a stream exactly the message a plain request returns; the content and usage must be
what `mockcore.predict` says.
"""

import json
from collections.abc import Iterator, Mapping
from typing import Any

import anthropic
import httpx
import jsonschema
import pytest
from anthropic.types import Message, TextBlock, ThinkingBlock, ToolUseBlock
from tests.http.conftest import INSTANT, StartServer

from mockcore import GenerationPlan, Settings, predict

pytestmark = pytest.mark.e2e

MODEL = "mock-claude"
VERSION = {"anthropic-version": "2023-06-01"}
QUESTION = "Tell me a long story about a lighthouse keeper, a storm at sea and a lost ship."
USER: list[Any] = [{"role": "user", "content": QUESTION}]
WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "unit": {"enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city", "unit", "days"],
    "additionalProperties": False,
}
TIME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"zone": {"enum": ["UTC", "CET"]}},
    "required": ["zone"],
}
TOOLS: list[Any] = [
    {"name": "get_weather", "description": "A city's forecast.", "input_schema": WEATHER_SCHEMA},
    {"name": "get_time", "description": "The time in a zone.", "input_schema": TIME_SCHEMA},
]
SCHEMAS = {"get_weather": WEATHER_SCHEMA, "get_time": TIME_SCHEMA}
WEATHER_QUESTION: list[Any] = [{"role": "user", "content": "What will the weather be in Paris tomorrow?"}]


@pytest.fixture(scope="module")
def client(instant_server: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=instant_server, api_key="x", max_retries=0, timeout=30.0) as sdk:
        yield sdk


def plan_for(payload: Mapping[str, Any], settings: Settings = INSTANT) -> GenerationPlan:
    """What the server answers to `payload` on `/v1/messages`."""
    prediction = predict("messages", dict(payload), settings)
    assert prediction.status_code == 200, prediction.error
    assert isinstance(prediction.plan, GenerationPlan)
    return prediction.plan


def text_of(message: Message) -> str:
    return "".join(block.text for block in message.content if isinstance(block, TextBlock))


def tool_uses(message: Message) -> list[ToolUseBlock]:
    return [block for block in message.content if isinstance(block, ToolUseBlock)]


def assert_usage_is_predicted(message: Message, plan: GenerationPlan) -> None:
    assert message.usage.input_tokens == plan.usage.prompt_tokens
    assert message.usage.output_tokens == plan.usage.completion_tokens


def test_a_message_is_answered_with_the_predicted_text_and_usage(client: anthropic.Anthropic) -> None:
    payload: dict[str, Any] = {"model": MODEL, "max_tokens": 256, "messages": USER}
    message = client.messages.create(**payload)
    plan = plan_for(payload)
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.model == MODEL
    assert message.id.startswith("msg_")
    assert [block.type for block in message.content] == ["text"]
    assert text_of(message) == plan.choices[0].content_text != ""
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    assert_usage_is_predicted(message, plan)


def test_a_system_prompt_counts_the_same_as_a_string_or_as_blocks(client: anthropic.Anthropic) -> None:
    system = "You are a laconic sailor."
    as_string = client.messages.create(model=MODEL, max_tokens=256, messages=USER, system=system)
    as_blocks = client.messages.create(
        model=MODEL, max_tokens=256, messages=USER, system=[{"type": "text", "text": system}]
    )
    plan = plan_for({"model": MODEL, "max_tokens": 256, "messages": USER, "system": system})
    without = plan_for({"model": MODEL, "max_tokens": 256, "messages": USER})
    assert plan.usage.prompt_tokens > without.usage.prompt_tokens
    for message in (as_string, as_blocks):
        assert text_of(message) == plan.choices[0].content_text
        assert_usage_is_predicted(message, plan)


def test_a_stop_sequence_ends_the_text_before_it(client: anthropic.Anthropic) -> None:
    unstopped = plan_for({"model": MODEL, "max_tokens": 256, "messages": USER})
    stop = unstopped.choices[0].content_text[12:17]
    payload: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 256,
        "messages": USER,
        "stop_sequences": ["§never§", stop],
    }
    message = client.messages.create(**payload)
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == stop
    text = text_of(message)
    assert stop not in text
    assert unstopped.choices[0].content_text.startswith(text)
    assert len(text) == unstopped.choices[0].content_text.index(stop)
    assert_usage_is_predicted(message, plan_for(payload))


def test_max_tokens_cuts_the_message(client: anthropic.Anthropic) -> None:
    payload: dict[str, Any] = {"model": MODEL, "max_tokens": 5, "messages": USER}
    message = client.messages.create(**payload)
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 5
    assert text_of(message) == plan_for(payload).choices[0].content_text


def test_thinking_gives_a_signed_thinking_block_counted_in_output_tokens(client: anthropic.Anthropic) -> None:
    payload: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 4096,
        "messages": USER,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
    }
    message = client.messages.create(**payload)
    plan = plan_for(payload)
    choice = plan.choices[0]
    assert [block.type for block in message.content] == ["thinking", "text"]
    thinking = message.content[0]
    assert isinstance(thinking, ThinkingBlock)
    assert thinking.thinking == choice.reasoning_text != ""
    assert thinking.signature
    assert text_of(message) == choice.content_text
    assert message.usage.output_tokens == len(choice.reasoning) + len(choice.content)
    assert_usage_is_predicted(message, plan)


def test_a_thinking_budget_under_1024_is_a_bad_request(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(
            model=MODEL, max_tokens=4096, messages=USER, thinking={"type": "enabled", "budget_tokens": 512}
        )
    assert raised.value.status_code == 400
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["error"]["type"] == "invalid_request_error"


def test_a_tool_is_used_with_input_valid_against_its_schema(client: anthropic.Anthropic) -> None:
    payload: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 512,
        "messages": WEATHER_QUESTION,
        "tools": TOOLS,
    }
    message = client.messages.create(**payload)
    plan = plan_for(payload)
    assert message.stop_reason == "tool_use"
    uses = tool_uses(message)
    assert uses
    assert [(use.id, use.name) for use in uses] == [
        (call.id, call.name) for call in plan.choices[0].tool_calls
    ]
    for use, call in zip(uses, plan.choices[0].tool_calls, strict=True):
        jsonschema.validate(use.input, SCHEMAS[use.name])
        assert use.input == json.loads(call.arguments_text)
    assert_usage_is_predicted(message, plan)


@pytest.mark.parametrize(
    ("tool_choice", "names"),
    [({"type": "any"}, None), ({"type": "tool", "name": "get_time"}, {"get_time"})],
    ids=["any", "tool"],
)
def test_tool_choice_forces_a_tool(
    client: anthropic.Anthropic, tool_choice: Any, names: set[str] | None
) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=512, messages=WEATHER_QUESTION, tools=TOOLS, tool_choice=tool_choice
    )
    assert message.stop_reason == "tool_use"
    uses = tool_uses(message)
    assert uses
    for use in uses:
        jsonschema.validate(use.input, SCHEMAS[use.name])
    if names is not None:
        assert {use.name for use in uses} == names


def test_tool_choice_none_answers_in_text(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=512, messages=WEATHER_QUESTION, tools=TOOLS, tool_choice={"type": "none"}
    )
    assert tool_uses(message) == []
    assert message.stop_reason == "end_turn"
    assert text_of(message) != ""


def test_a_conversation_ending_with_a_tool_result_is_answered_in_text(client: anthropic.Anthropic) -> None:
    messages = [
        *WEATHER_QUESTION,
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Paris", "unit": "celsius", "days": 1},
                }
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny, 21 degrees"}],
        },
    ]
    payload: dict[str, Any] = {"model": MODEL, "max_tokens": 512, "messages": messages, "tools": TOOLS}
    message = client.messages.create(**payload)
    assert tool_uses(message) == []
    assert message.stop_reason == "end_turn"
    assert text_of(message) == plan_for(payload).choices[0].content_text != ""


STREAMED_PAYLOADS: dict[str, dict[str, Any]] = {
    "text": {"model": MODEL, "max_tokens": 256, "messages": USER},
    "max-tokens": {"model": MODEL, "max_tokens": 7, "messages": USER},
    "thinking": {
        "model": MODEL,
        "max_tokens": 2048,
        "messages": USER,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    },
    "tools": {"model": MODEL, "max_tokens": 512, "messages": WEATHER_QUESTION, "tools": TOOLS},
    "stop-sequence": {"model": MODEL, "max_tokens": 256, "messages": USER, "stop_sequences": ["keeper"]},
}


@pytest.mark.parametrize("payload", STREAMED_PAYLOADS.values(), ids=STREAMED_PAYLOADS.keys())
def test_a_streamed_message_is_the_plain_message(
    client: anthropic.Anthropic, payload: dict[str, Any]
) -> None:
    with client.messages.stream(**payload) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    plain = client.messages.create(**payload)
    assert [block.model_dump() for block in final.content] == [block.model_dump() for block in plain.content]
    assert (final.stop_reason, final.stop_sequence) == (plain.stop_reason, plain.stop_sequence)
    assert (final.usage.input_tokens, final.usage.output_tokens) == (
        plain.usage.input_tokens,
        plain.usage.output_tokens,
    )
    assert text == text_of(plain) == plan_for(payload).choices[0].content_text
    assert_usage_is_predicted(final, plan_for(payload))


def sse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, data) of every named Server-Sent Event in `body`."""
    events = []
    for block in body.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_a_stream_sends_every_event_kind_in_order(instant_server: str) -> None:
    payload = STREAMED_PAYLOADS["thinking"] | {"tools": TOOLS, "messages": WEATHER_QUESTION, "stream": True}
    response = httpx.post(f"{instant_server}/v1/messages", json=payload, headers=VERSION, timeout=30.0)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    assert all(name == data["type"] for name, data in events)
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    deltas = [data["delta"]["type"] for name, data in events if name == "content_block_delta"]
    assert deltas[0] == "thinking_delta"
    assert {"thinking_delta", "signature_delta", "input_json_delta"} <= set(deltas)
    starts = [data["content_block"]["type"] for name, data in events if name == "content_block_start"]
    assert starts[0] == "thinking"
    assert "tool_use" in starts
    assert names.count("content_block_start") == names.count("content_block_stop")


def test_a_missing_anthropic_version_is_an_anthropic_error(instant_server: str) -> None:
    response = httpx.post(
        f"{instant_server}/v1/messages",
        json={"model": MODEL, "max_tokens": 8, "messages": USER},
        timeout=30.0,
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "anthropic-version" in body["error"]["message"]


def test_a_bad_body_is_a_400_in_the_anthropic_envelope(
    client: anthropic.Anthropic, instant_server: str
) -> None:
    bad = {"model": MODEL, "messages": USER}  # no max_tokens
    response = httpx.post(f"{instant_server}/v1/messages", json=bad, headers=VERSION, timeout=30.0)
    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"type", "error"}
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(model=MODEL, max_tokens=0, messages=USER)
    assert raised.value.status_code == 400
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["type"] == "error"
    assert raised.value.body["error"]["type"] == "invalid_request_error"


@pytest.fixture(scope="module")
def keyed_server(start_server: StartServer) -> str:
    return start_server(Settings(ttft=0.0, itl=0.0, api_key="k"))


def test_an_api_key_server_accepts_the_sdks_key(keyed_server: str) -> None:
    # This SDK sends its key as `Authorization: Bearer`; older ones (and curl examples) as `x-api-key`.
    with anthropic.Anthropic(base_url=keyed_server, api_key="k", max_retries=0, timeout=30.0) as sdk:
        message = sdk.messages.create(model=MODEL, max_tokens=8, messages=USER)
    assert message.usage.output_tokens == 8


@pytest.mark.parametrize(
    "header", [{"x-api-key": "k"}, {"Authorization": "Bearer k"}], ids=["x-api-key", "bearer"]
)
def test_an_api_key_server_accepts_the_key_in_either_header(
    keyed_server: str, header: dict[str, str]
) -> None:
    response = httpx.post(
        f"{keyed_server}/v1/messages",
        json={"model": MODEL, "max_tokens": 8, "messages": USER},
        headers=VERSION | header,
        timeout=30.0,
    )
    assert response.status_code == 200
    assert response.json()["usage"]["output_tokens"] == 8


def test_an_api_key_server_refuses_a_wrong_x_api_key(keyed_server: str) -> None:
    response = httpx.post(
        f"{keyed_server}/v1/messages",
        json={"model": MODEL, "max_tokens": 8, "messages": USER},
        headers=VERSION | {"x-api-key": "wrong"},
        timeout=30.0,
    )
    assert response.status_code == 401
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == "authentication_error"


def test_an_api_key_server_refuses_a_wrong_key(keyed_server: str) -> None:
    with (
        anthropic.Anthropic(base_url=keyed_server, api_key="wrong", max_retries=0, timeout=30.0) as sdk,
        pytest.raises(anthropic.AuthenticationError) as raised,
    ):
        sdk.messages.create(model=MODEL, max_tokens=8, messages=USER)
    assert raised.value.status_code == 401
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["type"] == "error"
    assert raised.value.body["error"]["type"] == "authentication_error"


@pytest.fixture(scope="module")
def fresh_server(start_server: StartServer) -> str:
    """A server of its own: the prompt cache must not have seen these prefixes."""
    return start_server(Settings(ttft=0.0, itl=0.0, max_output_tokens=4096), fresh=True)


def test_a_cached_prefix_is_written_once_then_read_as_predicted(fresh_server: str) -> None:
    long_system = "You are a careful assistant who answers about lighthouses. " * 100
    payload: dict[str, Any] = {
        "model": "mock-claude",
        "max_tokens": 32,
        "system": [{"type": "text", "text": long_system, "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "Which lighthouse is the oldest?"}],
    }
    settings = Settings(ttft=0.0, itl=0.0, max_output_tokens=4096)
    cold = predict("messages", payload, settings).plan
    warm = predict("messages", payload, settings, warm_prompt_cache=True).plan
    assert isinstance(cold, GenerationPlan)
    assert isinstance(warm, GenerationPlan)
    with anthropic.Anthropic(base_url=fresh_server, api_key="x", max_retries=0) as sdk:
        first = sdk.messages.create(**payload)
        second = sdk.messages.create(**payload)
    prefix_tokens = cold.cache_points[-1].tokens
    assert prefix_tokens >= 1024  # Anthropic's least cacheable prefix
    assert first.usage.cache_creation_input_tokens == cold.usage.cache_creation_tokens == prefix_tokens
    assert first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_read_input_tokens == warm.usage.cache_read_tokens == prefix_tokens
    assert second.usage.cache_creation_input_tokens == 0
    for message in (first, second):
        assert message.usage.input_tokens == cold.usage.prompt_tokens - prefix_tokens
    assert text_of(first) == text_of(second)


def test_a_prefix_under_1024_tokens_is_not_cached(fresh_server: str) -> None:
    payload: dict[str, Any] = {
        "model": "mock-claude",
        "max_tokens": 8,
        "system": [{"type": "text", "text": "Short.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "Hi"}],
    }
    with anthropic.Anthropic(base_url=fresh_server, api_key="x", max_retries=0) as sdk:
        for _ in range(2):
            usage = sdk.messages.create(**payload).usage
            assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (0, 0)
