"""`POST /v1/responses` through the official `openai` SDK, against a real Granian server.

The Responses API is a different wire than chat (typed items in, typed items and a typed event
stream out); what matters is that the SDK parses every object and event into its own classes
and that what it assembles equals what `mockcore.predict` says the server answers.
"""

import json
import typing
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import openai
import pytest
from openai.types.responses import Response, ResponseFunctionToolCall, ResponseOutputMessage
from tests.http.conftest import INSTANT

from mockcore import GenerationPlan, predict

pytestmark = pytest.mark.e2e

STORY = "Tell me a long story about a lighthouse keeper, a storm at sea and a lost ship."
REASONING_MODEL = "openai/gpt-oss-20b"
WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "unit": {"enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
    },
    "required": ["city", "unit", "days"],
    "additionalProperties": False,
}
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather forecast for a city.",
    "parameters": WEATHER_PARAMETERS,
    "strict": True,
}
FORECAST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "temperature": {"type": "number", "minimum": -50, "maximum": 60},
        "rain": {"type": "boolean"},
        "hours": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 23}},
    },
    "required": ["summary", "temperature", "rain", "hours"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def client(instant_server: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{instant_server}/v1", api_key="x", max_retries=0, timeout=30.0) as sdk:
        yield sdk


def plan_for(payload: Mapping[str, Any]) -> GenerationPlan:
    """What the instant server answers to `payload` on `/v1/responses`."""
    prediction = predict("responses", dict(payload), INSTANT)
    assert prediction.status_code == 200, prediction.error
    assert isinstance(prediction.plan, GenerationPlan)
    return prediction.plan


def assert_usage_is_predicted(response: Response, plan: GenerationPlan) -> None:
    usage = response.usage
    assert usage is not None
    assert usage.input_tokens == plan.usage.prompt_tokens
    assert usage.output_tokens == plan.usage.completion_tokens
    assert usage.total_tokens == plan.usage.total_tokens
    assert usage.output_tokens_details.reasoning_tokens == (plan.usage.reasoning_tokens or 0)


def messages_of(response: Response) -> list[ResponseOutputMessage]:
    return [item for item in response.output if isinstance(item, ResponseOutputMessage)]


def calls_of(response: Response) -> list[ResponseFunctionToolCall]:
    return [item for item in response.output if isinstance(item, ResponseFunctionToolCall)]


def is_known_event(event: object) -> bool:
    """An event the SDK parsed into its own class: that class's `type` literal names it."""
    model_fields = getattr(type(event), "model_fields", {})
    field = model_fields.get("type")
    return (
        type(event).__module__.startswith("openai.")
        and field is not None
        and getattr(event, "type", None) in typing.get_args(field.annotation)
    )


def test_a_string_input_is_answered_with_the_predicted_text_and_usage(client: openai.OpenAI) -> None:
    payload: dict[str, Any] = {"model": "m", "input": STORY}
    response = client.responses.create(**payload)
    plan = plan_for(payload)
    assert response.object == "response"
    assert response.status == "completed"
    assert response.incomplete_details is None
    assert response.id.startswith("resp_")
    assert response.output_text == plan.choices[0].content_text
    assert [item.type for item in response.output] == ["message"]
    (message,) = messages_of(response)
    assert message.role == "assistant"
    assert [part.type for part in message.content] == ["output_text"]
    assert_usage_is_predicted(response, plan)


def test_instructions_count_as_prompt_and_are_echoed(client: openai.OpenAI) -> None:
    payload: dict[str, Any] = {"model": "m", "input": STORY, "instructions": "Answer like a pirate."}
    response = client.responses.create(**payload)
    plan = plan_for(payload)
    assert plan.usage.prompt_tokens > plan_for({"model": "m", "input": STORY}).usage.prompt_tokens
    assert response.output_text == plan.choices[0].content_text
    assert_usage_is_predicted(response, plan)
    assert response.instructions == "Answer like a pirate."


def test_a_list_input_with_an_earlier_function_call_is_answered_in_text(client: openai.OpenAI) -> None:
    payload: dict[str, Any] = {
        "model": "m",
        "input": [
            {"role": "developer", "content": "You forecast the weather."},
            {"role": "user", "content": [{"type": "input_text", "text": "Will it rain in Paris?"}]},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": '{"city": "Paris", "unit": "celsius", "days": 2}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "light rain, 14 degrees"},
        ],
        "tools": [WEATHER_TOOL],
    }
    response = client.responses.create(**payload)
    plan = plan_for(payload)
    assert plan.choices[0].tool_calls == ()
    assert [item.type for item in response.output] == ["message"]
    assert response.output_text == plan.choices[0].content_text != ""
    assert_usage_is_predicted(response, plan)


def test_max_output_tokens_leaves_the_response_incomplete(client: openai.OpenAI) -> None:
    payload: dict[str, Any] = {"model": "m", "input": STORY, "max_output_tokens": 16}
    plan = plan_for(payload)
    assert plan.choices[0].finish_reason == "length"
    response = client.responses.create(**payload)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is not None
    assert response.usage.output_tokens == 16
    assert response.output_text == plan.choices[0].content_text
    assert_usage_is_predicted(response, plan)


def test_a_reasoning_model_answers_a_reasoning_item_then_its_message(client: openai.OpenAI) -> None:
    payload: dict[str, Any] = {"model": REASONING_MODEL, "input": STORY, "reasoning": {"effort": "low"}}
    response = client.responses.create(**payload)
    plan = plan_for(payload)
    choice = plan.choices[0]
    assert [item.type for item in response.output] == ["reasoning", "message"]
    reasoning = response.output[0]
    assert reasoning.type == "reasoning"
    assert reasoning.content is not None
    assert "".join(part.text for part in reasoning.content) == choice.reasoning_text != ""
    assert response.output_text == choice.content_text
    assert response.usage is not None
    assert plan.usage.reasoning_tokens
    assert response.usage.output_tokens_details.reasoning_tokens == plan.usage.reasoning_tokens
    assert_usage_is_predicted(response, plan)


def test_a_tool_is_called_with_arguments_valid_against_its_parameters(client: openai.OpenAI) -> None:
    payload: dict[str, Any] = {
        "model": "m",
        "input": "What will the weather be in Paris?",
        "tools": [WEATHER_TOOL],
    }
    response = client.responses.create(**payload)
    plan = plan_for(payload)
    (planned,) = plan.choices[0].tool_calls
    (call,) = calls_of(response)
    assert call.name == "get_weather" == planned.name
    assert call.call_id == planned.id
    assert call.arguments == planned.arguments_text
    jsonschema.validate(json.loads(call.arguments), WEATHER_PARAMETERS)
    assert_usage_is_predicted(response, plan)


@pytest.mark.parametrize(
    "tool_choice", ["required", {"type": "function", "name": "get_time"}], ids=["required", "named"]
)
def test_tool_choice_forces_a_call(client: openai.OpenAI, tool_choice: Any) -> None:
    time_tool = {
        "type": "function",
        "name": "get_time",
        "parameters": {
            "type": "object",
            "properties": {"zone": {"enum": ["UTC", "CET"]}},
            "required": ["zone"],
            "additionalProperties": False,
        },
    }
    payload: dict[str, Any] = {
        "model": "m",
        "input": "What will the weather be in Paris?",
        "tools": [WEATHER_TOOL, time_tool],
        "tool_choice": tool_choice,
    }
    response = client.responses.create(**payload)
    calls = calls_of(response)
    assert calls
    for call in calls:
        tool = time_tool if call.name == "get_time" else WEATHER_TOOL
        jsonschema.validate(json.loads(call.arguments), tool["parameters"])
    if isinstance(tool_choice, dict):
        assert {call.name for call in calls} == {"get_time"}
    assert [call.arguments for call in calls] == [
        c.arguments_text for c in plan_for(payload).choices[0].tool_calls
    ]


def test_tool_choice_none_answers_in_text(client: openai.OpenAI) -> None:
    payload: dict[str, Any] = {
        "model": "m",
        "input": "What will the weather be in Paris?",
        "tools": [WEATHER_TOOL],
    }
    response = client.responses.create(**payload, tool_choice="none")
    assert calls_of(response) == []
    assert response.output_text == plan_for(payload | {"tool_choice": "none"}).choices[0].content_text != ""


def test_a_json_schema_text_format_gives_json_valid_against_the_schema(client: openai.OpenAI) -> None:
    text = {"format": {"type": "json_schema", "name": "forecast", "schema": FORECAST_SCHEMA, "strict": True}}
    payload: dict[str, Any] = {"model": "m", "input": "Forecast tomorrow's weather in Paris.", "text": text}
    response = client.responses.create(**payload)
    plan = plan_for(payload)
    assert response.status == "completed"
    assert response.output_text == plan.choices[0].content_text
    jsonschema.validate(json.loads(response.output_text), FORECAST_SCHEMA)


STREAMED_PAYLOADS: dict[str, dict[str, Any]] = {
    "text": {"model": "m", "input": STORY},
    "reasoning": {"model": REASONING_MODEL, "input": STORY, "max_output_tokens": 600},
    "tool": {"model": "m", "input": "What will the weather be in Paris?", "tools": [WEATHER_TOOL]},
    "reasoning-and-tool": {
        "model": REASONING_MODEL,
        "input": "What will the weather be in Paris?",
        "tools": [WEATHER_TOOL],
        "tool_choice": "required",
    },
    "json-schema": {
        "model": "m",
        "input": "Forecast tomorrow's weather in Paris.",
        "text": {"format": {"type": "json_schema", "name": "forecast", "schema": FORECAST_SCHEMA}},
    },
}


@pytest.mark.parametrize("payload", STREAMED_PAYLOADS.values(), ids=STREAMED_PAYLOADS.keys())
def test_a_stream_is_typed_numbered_and_ends_as_the_plain_answer(
    client: openai.OpenAI, payload: dict[str, Any]
) -> None:
    with client.responses.stream(**payload) as stream:
        events = list(stream)
        final = stream.get_final_response()
    unknown = [event for event in events if not is_known_event(event)]
    assert unknown == []
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert events[0].type == "response.created"
    assert events[1].type == "response.in_progress"
    assert events[-1].type == "response.completed"

    plan = plan_for(payload)
    choice = plan.choices[0]
    text = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    reasoning = "".join(event.delta for event in events if event.type == "response.reasoning_text.delta")
    arguments = "".join(
        event.delta for event in events if event.type == "response.function_call_arguments.delta"
    )
    assert text == final.output_text == choice.content_text
    assert reasoning == choice.reasoning_text
    assert arguments == "".join(call.arguments_text for call in choice.tool_calls)
    assert_usage_is_predicted(final, plan)

    plain = client.responses.create(**payload)
    assert (final.output_text, final.usage) == (plain.output_text, plain.usage)
    assert [item.type for item in final.output] == [item.type for item in plain.output]
    assert [(call.name, call.arguments) for call in calls_of(final)] == [
        (call.name, call.arguments) for call in calls_of(plain)
    ]


def test_every_delta_of_a_stream_is_one_predicted_token(client: openai.OpenAI) -> None:
    payload: dict[str, Any] = {"model": REASONING_MODEL, "input": STORY, "max_output_tokens": 300}
    with client.responses.stream(**payload) as stream:
        deltas = [event for event in stream if event.type.endswith(".delta")]
    assert len(deltas) == plan_for(payload).usage.completion_tokens


def test_a_stream_cut_by_max_output_tokens_ends_incomplete(client: openai.OpenAI) -> None:
    payload: dict[str, Any] = {"model": "m", "input": STORY, "max_output_tokens": 16}
    with client.responses.stream(**payload) as stream:
        events = list(stream)
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert all(is_known_event(event) for event in events)
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.status == "incomplete"
    assert last.response.incomplete_details is not None
    assert last.response.incomplete_details.reason == "max_output_tokens"
    assert last.response.usage is not None
    assert last.response.usage.output_tokens == 16
    text = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert text == plan_for(payload).choices[0].content_text


def test_a_bad_request_is_an_openai_bad_request(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="m", input=STORY, max_output_tokens=1)
    assert raised.value.status_code == 400
    assert isinstance(raised.value.body, dict)
    assert raised.value.body.get("param") == "max_output_tokens"
