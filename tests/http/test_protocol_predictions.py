"""`predict` says what every protocol's route answers: text, tool calls, reasons and usage.

Hypothesis drafts requests for Responses, Messages, TGI and chat with tools, structured
output, `n`, `stop` and log-probabilities; the in-process app answers them, and what a
client reads from the answer (ids and timestamps aside) equals what the prediction's plan
says. The renderers are not asked to agree with themselves: the values are read back from
the wire JSON.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from mockcore import Settings, predict
from mockcore.plan import ChoicePlan, GenerationPlan
from mockhttp import create_app

INSTANT = Settings(ttft=0.0, itl=0.0)
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01"}
WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 1},
        "unit": {"enum": ["c", "f"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
    },
    "required": ["city", "unit"],
}

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)
models = st.sampled_from(["mock-model", "openai/gpt-oss-20b", "Qwen/Qwen3-8B"])
limits = st.integers(min_value=16, max_value=300)
stops = st.lists(st.text("abcdefghij ", min_size=1, max_size=3), max_size=2)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    with TestClient(app=create_app(INSTANT)) as test_client:  # type: ignore[arg-type]
        yield test_client


def planned(route: Any, payload: dict[str, Any]) -> GenerationPlan:
    prediction = predict(route, payload, INSTANT)
    assert prediction.status_code == 200, prediction.error
    assert isinstance(prediction.plan, GenerationPlan)
    return prediction.plan


@st.composite
def responses_payloads(draw: st.DrawFn) -> dict[str, Any]:
    payload: dict[str, Any] = {"model": draw(models)}
    if draw(st.booleans()):
        payload["input"] = draw(texts)
    else:
        payload["input"] = [
            {"role": "user", "content": [{"type": "input_text", "text": draw(texts)}]},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": draw(texts)},
        ][: draw(st.integers(1, 3))]
    if draw(st.booleans()):
        payload["max_output_tokens"] = draw(limits)
    if draw(st.booleans()):
        payload["tools"] = [{"type": "function", "name": "get_weather", "parameters": WEATHER}]
    elif draw(st.booleans()):
        payload["text"] = {"format": {"type": "json_schema", "name": "w", "schema": WEATHER}}
    return payload


@st.composite
def messages_payloads(draw: st.DrawFn) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": "claude-sonnet-4",
        "max_tokens": draw(st.integers(1, 3000)),
        "messages": [{"role": "user", "content": draw(texts)}],
    }
    if draw(st.booleans()):
        payload["system"] = draw(texts)
    if payload["max_tokens"] > 1024 and draw(st.booleans()):
        payload["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    if draw(st.booleans()):
        payload["tools"] = [{"name": "get_weather", "input_schema": WEATHER}]
        # Anthropic refuses thinking with a forced tool call.
        choices = ["auto", "none"] if "thinking" in payload else ["auto", "any", "none"]
        payload["tool_choice"] = {"type": draw(st.sampled_from(choices))}
    if draw(st.booleans()):
        payload["stop_sequences"] = draw(stops)
    return payload


@st.composite
def chat_payloads(draw: st.DrawFn) -> dict[str, Any]:
    payload: dict[str, Any] = {"model": draw(models), "messages": [{"role": "user", "content": draw(texts)}]}
    if draw(st.booleans()):
        payload["max_tokens"] = draw(limits)
    payload["n"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        payload["seed"] = draw(st.integers(0, 2**31))
    if draw(st.booleans()):
        payload["tools"] = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
        payload["tool_choice"] = draw(st.sampled_from(["auto", "required", "none"]))
    elif draw(st.booleans()):
        payload["response_format"] = {"type": "json_schema", "json_schema": {"name": "w", "schema": WEATHER}}
    if draw(st.booleans()):
        payload["stop"] = draw(stops)
    if draw(st.booleans()):
        payload["logprobs"] = True
        payload["top_logprobs"] = draw(st.integers(0, 3))
    return payload


@given(payload=responses_payloads())
@settings(max_examples=40)
def test_a_response_is_what_predict_says(client: TestClient[Litestar], payload: dict[str, Any]) -> None:
    plan = planned("responses", payload)
    answer = client.post("/v1/responses", json=payload).json()
    (choice,) = plan.choices
    kinds = [item["type"] for item in answer["output"]]
    expected_kinds = [
        {"reasoning": "reasoning", "content": "message", "tool_call": "function_call"}[segment.kind]
        for segment in choice.segments()
    ]
    assert kinds == expected_kinds
    assert answer["output_text"] == choice.content_text
    function_calls = [item for item in answer["output"] if item["type"] == "function_call"]
    for item, call in zip(function_calls, choice.tool_calls, strict=True):
        assert (item["call_id"], item["name"], item["arguments"]) == (call.id, call.name, call.arguments_text)
    assert answer["status"] == ("incomplete" if choice.finish_reason == "length" else "completed")
    usage = answer["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (plan.usage.prompt_tokens, choice.token_count)
    assert usage["output_tokens_details"]["reasoning_tokens"] == len(choice.reasoning)


@given(payload=messages_payloads())
@settings(max_examples=40)
def test_a_message_is_what_predict_says(client: TestClient[Litestar], payload: dict[str, Any]) -> None:
    plan = planned("messages", payload)
    answer = client.post("/v1/messages", json=payload, headers=ANTHROPIC_HEADERS).json()
    (choice,) = plan.choices
    blocks = answer["content"]
    texts_of = {"thinking": "thinking", "text": "text"}
    read = [block[texts_of[block["type"]]] for block in blocks if block["type"] in texts_of]
    expected = [segment.pieces.text for segment in choice.segments() if segment.kind != "tool_call"]
    assert read == expected
    calls = [block for block in blocks if block["type"] == "tool_use"]
    assert [(call["id"], call["name"]) for call in calls] == [(c.id, c.name) for c in choice.tool_calls]
    if choice.finish_reason == "tool_calls":
        assert calls[0]["input"] == json.loads(choice.tool_calls[0].arguments_text)
    reasons = {"length": "max_tokens", "tool_calls": "tool_use", "stop": "end_turn"}
    expected_reason = "stop_sequence" if choice.stop_sequence is not None else reasons[choice.finish_reason]
    assert (answer["stop_reason"], answer["stop_sequence"]) == (expected_reason, choice.stop_sequence)
    assert answer["usage"]["input_tokens"] == plan.usage.prompt_tokens
    assert answer["usage"]["output_tokens"] == choice.token_count


@given(text=texts.filter(bool), limit=st.integers(1, 120), stop=stops, streamed=st.booleans())
@settings(max_examples=40)
def test_tgi_answers_what_predict_says(
    client: TestClient[Litestar], text: str, limit: int, stop: list[str], streamed: bool
) -> None:
    payload = {"inputs": text, "parameters": {"max_new_tokens": limit, "stop": stop, "details": True}}
    route = "generate_stream" if streamed else "generate"
    (choice,) = planned(route, payload).choices
    response = client.post(f"/{route}", json=payload)
    if streamed:
        events = [json.loads(line.removeprefix("data:")) for line in response.text.split("\n\n") if line]
        final = events[-1]
        assert "".join(event["token"]["text"] for event in events if event["token"]) == choice.content_text
    else:
        final = response.json()
    assert final["generated_text"] == choice.content_text
    details = final["details"]
    assert details["generated_tokens"] == choice.token_count
    finish = "length" if choice.finish_reason == "length" else "eos_token"
    assert details["finish_reason"] == ("stop_sequence" if choice.stop_sequence else finish)


def _choice_read(choice: ChoicePlan, answer: dict[str, Any]) -> None:
    message = answer["message"]
    assert (message["content"] or "") == choice.content_text
    calls = message.get("tool_calls") or []
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
        (c.id, c.name, c.arguments_text) for c in choice.tool_calls
    ]
    assert answer["finish_reason"] == choice.finish_reason
    if answer["logprobs"] is not None:
        assert [entry["token"] for entry in answer["logprobs"]["content"]] == list(choice.content)


@given(payload=chat_payloads())
@settings(max_examples=40)
def test_a_deep_chat_request_is_what_predict_says(
    client: TestClient[Litestar], payload: dict[str, Any]
) -> None:
    plan = planned("chat", payload)
    answer = client.post("/v1/chat/completions", json=payload).json()
    assert len(answer["choices"]) == len(plan.choices) == payload["n"]
    for choice, read in zip(plan.choices, answer["choices"], strict=True):
        _choice_read(choice, read)
    assert answer["usage"]["prompt_tokens"] == plan.usage.prompt_tokens
    assert answer["usage"]["completion_tokens"] == sum(choice.token_count for choice in plan.choices)
