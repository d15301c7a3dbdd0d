"""Chat and completions beyond plain text, through the official `openai` SDK on a real server.

Agent frameworks and structured-output clients lean on the SDK's own machinery: tool calls
(assembled from stream deltas too), `parse` with a pydantic model, several choices,
log-probabilities, stop strings, seeds and running usage. Each must come back in the shape
the SDK parses, and equal to what `mockcore.predict` says where the test can be exact.
"""

import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import jsonschema
import openai
import pydantic
import pytest
from openai.types.chat import ChatCompletion
from tests.http.conftest import INSTANT

from mockcore import GenerationPlan, Route, predict

pytestmark = pytest.mark.e2e

QUESTION: list[Any] = [
    {"role": "user", "content": "What will the weather be like in Paris tomorrow and after?"}
]
STORY: list[Any] = [
    {"role": "user", "content": "Tell me a long story about a lighthouse keeper and a storm at sea."}
]
WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "unit": {"enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "hourly": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
    },
    "required": ["city", "unit", "days"],
    "additionalProperties": False,
}
TIME_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"zone": {"enum": ["UTC", "CET", "PST"]}},
    "required": ["zone"],
}
TOOLS: list[Any] = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_PARAMETERS}},
    {"type": "function", "function": {"name": "get_time", "parameters": TIME_PARAMETERS}},
]
SCHEMAS = {"get_weather": WEATHER_PARAMETERS, "get_time": TIME_PARAMETERS}
TOOL_CHOICES: dict[str, Any] = {
    "auto": "auto",
    "required": "required",
    "named": {"type": "function", "function": {"name": "get_time"}},
}


class Forecast(pydantic.BaseModel):
    """What `parse` asks the model for."""

    city: str
    unit: Literal["celsius", "fahrenheit"]
    days: int
    rain: bool
    hours: list[int]


@pytest.fixture(scope="module")
def client(instant_server: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{instant_server}/v1", api_key="x", max_retries=0, timeout=30.0) as sdk:
        yield sdk


def plan_for(route: Route, payload: Mapping[str, Any]) -> GenerationPlan:
    prediction = predict(route, dict(payload), INSTANT)
    assert prediction.status_code == 200, prediction.error
    assert isinstance(prediction.plan, GenerationPlan)
    return prediction.plan


def calls_of(response: ChatCompletion) -> list[tuple[str, str, str]]:
    """(id, name, arguments) of the first choice's tool calls."""
    calls = response.choices[0].message.tool_calls or []
    return [(call.id, call.function.name, call.function.arguments) for call in calls]  # type: ignore[union-attr]


@pytest.mark.parametrize("tool_choice", TOOL_CHOICES.values(), ids=TOOL_CHOICES.keys())
def test_a_tool_choice_that_calls_gives_arguments_valid_against_the_schema(
    client: openai.OpenAI, tool_choice: Any
) -> None:
    payload: dict[str, Any] = {"model": "m", "messages": QUESTION, "tools": TOOLS, "tool_choice": tool_choice}
    response = client.chat.completions.create(**payload)
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = calls_of(response)
    assert calls
    for call_id, name, arguments in calls:
        assert call_id
        jsonschema.validate(json.loads(arguments), SCHEMAS[name])
    if isinstance(tool_choice, dict):
        assert {name for _, name, _ in calls} == {"get_time"}
    planned = plan_for("chat", payload).choices[0].tool_calls
    assert calls == [(call.id, call.name, call.arguments_text) for call in planned]
    assert response.usage is not None
    assert response.usage.completion_tokens == plan_for("chat", payload).usage.completion_tokens


def test_tool_choice_none_answers_in_text(client: openai.OpenAI) -> None:
    payload: dict[str, Any] = {"model": "m", "messages": QUESTION, "tools": TOOLS, "tool_choice": "none"}
    response = client.chat.completions.create(**payload)
    assert response.choices[0].message.tool_calls is None
    assert response.choices[0].finish_reason in {"stop", "length"}
    assert response.choices[0].message.content == plan_for("chat", payload).choices[0].content_text != ""


def test_auto_answers_in_text_after_a_tool_result(client: openai.OpenAI) -> None:
    messages = [
        *QUESTION,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "arguments": '{"city":"Paris","unit":"celsius","days":2}',
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "rain, then sun; 14 to 19 degrees"},
    ]
    payload: dict[str, Any] = {"model": "m", "messages": messages, "tools": TOOLS}
    response = client.chat.completions.create(**payload)
    assert response.choices[0].message.tool_calls is None
    assert response.choices[0].message.content == plan_for("chat", payload).choices[0].content_text != ""


@pytest.mark.parametrize("tool_choice", TOOL_CHOICES.values(), ids=TOOL_CHOICES.keys())
def test_streamed_tool_call_deltas_reassemble_into_the_plain_call(
    client: openai.OpenAI, tool_choice: Any
) -> None:
    payload: dict[str, Any] = {"model": "m", "messages": QUESTION, "tools": TOOLS, "tool_choice": tool_choice}
    assembled: dict[int, dict[str, str]] = {}
    finish_reasons = []
    for chunk in client.chat.completions.create(**payload, stream=True):
        for choice in chunk.choices:
            if choice.finish_reason is not None:
                finish_reasons.append(choice.finish_reason)
            for delta in choice.delta.tool_calls or []:
                call = assembled.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                if delta.id:
                    assert call["id"] == "", "the id comes once, in the call's first delta"
                    call["id"] = delta.id
                if delta.function is not None:
                    if delta.function.name:
                        assert call["name"] == "", "the name comes once, in the call's first delta"
                        call["name"] = delta.function.name
                    call["arguments"] += delta.function.arguments or ""
    assert finish_reasons == ["tool_calls"]
    streamed = [(call["id"], call["name"], call["arguments"]) for _, call in sorted(assembled.items())]
    assert streamed == calls_of(client.chat.completions.create(**payload))


def test_the_sdks_stream_helper_assembles_the_same_call(client: openai.OpenAI) -> None:
    payload: dict[str, Any] = {"model": "m", "messages": QUESTION, "tools": TOOLS, "tool_choice": "required"}
    with client.chat.completions.stream(**payload) as stream:
        final = stream.get_final_completion()
    assert calls_of(final) == calls_of(client.chat.completions.create(**payload))


def test_parse_with_a_pydantic_model_gives_a_parsed_object(client: openai.OpenAI) -> None:
    response = client.chat.completions.parse(model="m", messages=QUESTION, response_format=Forecast)
    message = response.choices[0].message
    assert response.choices[0].finish_reason == "stop"
    assert isinstance(message.parsed, Forecast)
    assert message.parsed == Forecast.model_validate_json(message.content or "")
    assert message.refusal is None


def test_a_json_schema_response_format_gives_json_valid_against_it(client: openai.OpenAI) -> None:
    schema = Forecast.model_json_schema() | {"additionalProperties": False}
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "forecast", "schema": schema, "strict": True},
    }
    payload: dict[str, Any] = {"model": "m", "messages": QUESTION, "response_format": response_format}
    response = client.chat.completions.create(**payload)
    content = response.choices[0].message.content or ""
    jsonschema.validate(json.loads(content), schema)
    assert content == plan_for("chat", payload).choices[0].content_text


def test_json_object_gives_a_json_object(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="m", messages=QUESTION, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(response.choices[0].message.content or ""), dict)


def test_json_cut_by_max_tokens_finishes_with_length(client: openai.OpenAI) -> None:
    schema = Forecast.model_json_schema()
    response_format: Any = {"type": "json_schema", "json_schema": {"name": "forecast", "schema": schema}}
    response = client.chat.completions.create(
        model="m", messages=QUESTION, response_format=response_format, max_tokens=3
    )
    assert response.choices[0].finish_reason == "length"
    assert response.usage is not None
    assert response.usage.completion_tokens == 3


def test_n_gives_distinct_choices_and_sums_their_usage(client: openai.OpenAI) -> None:
    payload: dict[str, Any] = {"model": "m", "messages": STORY, "n": 3, "max_tokens": 20}
    response = client.chat.completions.create(**payload)
    plan = plan_for("chat", payload)
    assert [choice.index for choice in response.choices] == [0, 1, 2]
    texts = [choice.message.content for choice in response.choices]
    assert len(set(texts)) == 3
    assert texts == [choice.content_text for choice in plan.choices]
    assert response.usage is not None
    assert response.usage.completion_tokens == sum(choice.token_count for choice in plan.choices)
    single = client.chat.completions.create(model="m", messages=STORY, max_tokens=20)
    assert single.usage is not None
    assert response.usage.prompt_tokens == single.usage.prompt_tokens
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens


def test_n_streams_every_choice(client: openai.OpenAI) -> None:
    payload: dict[str, Any] = {"model": "m", "messages": STORY, "n": 3, "max_tokens": 20}
    texts = {0: "", 1: "", 2: ""}
    for chunk in client.chat.completions.create(**payload, stream=True):
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
    assert list(texts.values()) == [choice.content_text for choice in plan_for("chat", payload).choices]


def test_chat_logprobs_have_the_sdks_shape(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="m", messages=STORY, max_tokens=6, logprobs=True, top_logprobs=2
    )
    logprobs = response.choices[0].logprobs
    assert logprobs is not None
    assert logprobs.content is not None
    assert len(logprobs.content) == 6
    assert "".join(entry.token for entry in logprobs.content) == response.choices[0].message.content
    for entry in logprobs.content:
        assert entry.logprob <= 0
        assert entry.bytes == list(entry.token.encode())
        assert len(entry.top_logprobs) == 2
        assert entry.top_logprobs[0].token == entry.token
        assert entry.top_logprobs[0].logprob == entry.logprob
        assert entry.top_logprobs[0].logprob >= entry.top_logprobs[1].logprob


def test_streamed_chat_logprobs_are_the_plain_ones(client: openai.OpenAI) -> None:
    payload: dict[str, Any] = {
        "model": "m",
        "messages": STORY,
        "max_tokens": 6,
        "logprobs": True,
        "top_logprobs": 2,
    }
    plain = client.chat.completions.create(**payload).choices[0].logprobs
    assert plain is not None
    streamed = []
    for chunk in client.chat.completions.create(**payload, stream=True):
        for choice in chunk.choices:
            if choice.logprobs is not None and choice.logprobs.content:
                streamed.extend(choice.logprobs.content)
    assert [entry.model_dump() for entry in streamed] == [entry.model_dump() for entry in plain.content or []]


def test_completion_logprobs_have_the_sdks_shape(client: openai.OpenAI) -> None:
    response = client.completions.create(model="m", prompt="Once upon a time", max_tokens=5, logprobs=2)
    logprobs = response.choices[0].logprobs
    assert logprobs is not None
    assert logprobs.tokens is not None
    assert logprobs.token_logprobs is not None
    assert logprobs.top_logprobs is not None
    assert logprobs.text_offset is not None
    assert len(logprobs.tokens) == len(logprobs.token_logprobs) == len(logprobs.top_logprobs) == 5
    assert "".join(logprobs.tokens) == response.choices[0].text
    offsets = [sum(len(token) for token in logprobs.tokens[:index]) for index in range(5)]
    assert logprobs.text_offset == offsets
    for token, value, top in zip(
        logprobs.tokens, logprobs.token_logprobs, logprobs.top_logprobs, strict=True
    ):
        assert len(top) == 2
        assert top[token] == value
        assert all(other <= value for other in top.values())


def test_a_stop_string_ends_the_text_before_it(client: openai.OpenAI) -> None:
    unstopped = plan_for("chat", {"model": "m", "messages": STORY}).choices[0].content_text
    stop = unstopped[15:20]
    response = client.chat.completions.create(model="m", messages=STORY, stop=["§never§", stop])
    choice = response.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.content == unstopped[: unstopped.index(stop)]
    assert stop not in (choice.message.content or "")


def test_a_completion_stop_string_ends_the_text_before_it(client: openai.OpenAI) -> None:
    prompt = "Once upon a time there was a lighthouse keeper who loved storms."
    unstopped = plan_for("completions", {"model": "m", "prompt": prompt}).choices[0].content_text
    stop = unstopped[10:14]
    response = client.completions.create(model="m", prompt=prompt, stop=stop)
    assert response.choices[0].finish_reason == "stop"
    assert response.choices[0].text == unstopped[: unstopped.index(stop)]


def test_a_seed_changes_the_output_deterministically(client: openai.OpenAI) -> None:
    def text(seed: int) -> str:
        response = client.chat.completions.create(model="m", messages=STORY, max_tokens=12, seed=seed)
        return response.choices[0].message.content or ""

    first, again, other = text(1), text(1), text(2)
    assert first == again
    assert first != other
    payload: dict[str, Any] = {"model": "m", "messages": STORY, "max_tokens": 12, "seed": 1}
    assert first == plan_for("chat", payload).choices[0].content_text


def test_continuous_usage_stats_put_the_running_usage_on_every_chunk(client: openai.OpenAI) -> None:
    stream_options: Any = {"include_usage": True, "continuous_usage_stats": True}
    chunks = list(
        client.chat.completions.create(
            model="m", messages=STORY, max_tokens=10, stream=True, stream_options=stream_options
        )
    )
    assert all(chunk.usage is not None for chunk in chunks)
    completion_tokens = [chunk.usage.completion_tokens for chunk in chunks if chunk.usage is not None]
    assert completion_tokens == sorted(completion_tokens)
    assert completion_tokens[-1] == 10
    prompt_tokens = {chunk.usage.prompt_tokens for chunk in chunks if chunk.usage is not None}
    assert len(prompt_tokens) == 1
    assert chunks[-1].choices == []
    for chunk in chunks:
        assert chunk.usage is not None
        assert chunk.usage.total_tokens == chunk.usage.prompt_tokens + chunk.usage.completion_tokens
