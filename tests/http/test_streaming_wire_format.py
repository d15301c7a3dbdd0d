"""SPEC sections 5 and 11: the exact bytes of a stream, read with a raw HTTP client."""

import json
from typing import Any

import httpx
import pytest

from mockcore import GenerationPlan, Route, Settings, predict

pytestmark = pytest.mark.e2e

INSTANT = Settings(ttft=0.0, itl=0.0)  # the settings of the `instant_server` fixture
ROUTE_PATHS: dict[Route, str] = {"chat": "/v1/chat/completions", "completions": "/v1/completions"}
DONE = "[DONE]"
MESSAGES = [{"role": "user", "content": "Explain the tides in a few friendly sentences."}]


def stream_events(http: httpx.Client, route: Route, payload: dict[str, Any]) -> list[str]:
    """POST a streaming request; return the data of every event, checking the framing."""
    response = http.post(ROUTE_PATHS[route], json=payload)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    body = response.text
    assert body.endswith("\n\n")
    frames = body.split("\n\n")[:-1]
    events = []
    for frame in frames:
        assert frame.startswith("data: "), frame
        assert "\n" not in frame, "one line per event"
        events.append(frame.removeprefix("data: "))
    assert events[-1] == DONE
    assert DONE not in events[:-1]
    return events


def chunks_of(events: list[str]) -> list[dict[str, Any]]:
    """Decode every event before `[DONE]`, checking that it is compact JSON."""
    chunks = []
    for data in events[:-1]:
        chunk = json.loads(data)
        assert data == json.dumps(chunk, separators=(",", ":"), ensure_ascii=False), "not compact JSON"
        chunks.append(chunk)
    return chunks


def planned(route: Route, payload: dict[str, Any]) -> GenerationPlan:
    prediction = predict(route, payload, INSTANT)
    assert isinstance(prediction.plan, GenerationPlan)
    return prediction.plan


def token_chunks(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [chunk for chunk in chunks if chunk["choices"]]


def test_a_chat_stream_is_framed_as_openai_frames_it(http: httpx.Client) -> None:
    payload = {
        "model": "mock-model",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    plan = planned("chat", payload)
    chunks = chunks_of(stream_events(http, "chat", payload))
    tokens, usage_chunk = chunks[:-1], chunks[-1]
    assert len(tokens) == plan.choices[0].token_count
    assert {chunk["id"] for chunk in chunks} == {chunks[0]["id"]}
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert all(chunk["model"] == "mock-model" for chunk in chunks)
    assert [len(chunk["choices"]) for chunk in tokens] == [1] * len(tokens)
    assert tokens[0]["choices"][0]["delta"] == {"role": "assistant", "content": plan.choices[0].content[0]}
    assert all("role" not in chunk["choices"][0]["delta"] for chunk in tokens[1:])
    assert all("finish_reason" not in chunk["choices"][0] for chunk in tokens[:-1])
    assert tokens[-1]["choices"][0]["finish_reason"] == plan.choices[0].finish_reason
    assert (
        "".join(chunk["choices"][0]["delta"]["content"] for chunk in tokens) == plan.choices[0].content_text
    )
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == {
        "prompt_tokens": plan.usage.prompt_tokens,
        "completion_tokens": plan.usage.completion_tokens,
        "total_tokens": plan.usage.total_tokens,
    }


@pytest.mark.parametrize("stream_options", [None, {}, {"include_usage": False}])
def test_without_include_usage_no_usage_chunk_is_sent(
    http: httpx.Client, stream_options: dict[str, Any] | None
) -> None:
    payload = {"model": "m", "messages": MESSAGES, "stream": True, "stream_options": stream_options}
    chunks = chunks_of(stream_events(http, "chat", payload))
    assert all(chunk["choices"] for chunk in chunks)
    assert all("usage" not in chunk for chunk in chunks)


def test_reasoning_events_all_come_before_content_events(http: httpx.Client) -> None:
    payload = {
        "model": "Qwen/Qwen3-8B",
        "messages": MESSAGES,
        "reasoning_effort": "low",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    plan = planned("chat", payload)
    chunks = chunks_of(stream_events(http, "chat", payload))
    deltas = [chunk["choices"][0]["delta"] for chunk in token_chunks(chunks)]
    kinds = ["reasoning" if "reasoning_content" in delta else "content" for delta in deltas]
    reasoning_count = len(plan.choices[0].reasoning)
    assert reasoning_count == 100
    assert kinds == ["reasoning"] * reasoning_count + ["content"] * len(plan.choices[0].content)
    piece = plan.choices[0].reasoning[0]
    assert deltas[0] == {"role": "assistant", "reasoning": piece, "reasoning_content": piece}
    assert "role" not in deltas[reasoning_count], "only the very first chunk carries the role"
    assert chunks[-1]["usage"]["completion_tokens_details"] == {"reasoning_tokens": reasoning_count}


def test_a_budget_of_reasoning_only_puts_finish_reason_on_the_last_reasoning_chunk(
    http: httpx.Client,
) -> None:
    payload = {"model": "openai/gpt-oss-120b", "messages": MESSAGES, "max_tokens": 6, "stream": True}
    chunks = chunks_of(stream_events(http, "chat", payload))
    choices = [chunk["choices"][0] for chunk in chunks]
    assert len(choices) == 6
    assert all(set(choice["delta"]) <= {"role", "reasoning", "reasoning_content"} for choice in choices)
    assert all("finish_reason" not in choice for choice in choices[:-1])
    assert choices[-1]["finish_reason"] == "length"


def test_batched_completions_interleave_their_choices(http: httpx.Client) -> None:
    prompts = ["short", "a much, much longer prompt than the first one, with many tokens in it", "mid size"]
    payload = {
        "model": "m",
        "prompt": prompts,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    plan = planned("completions", payload)
    lengths = [choice.token_count for choice in plan.choices]
    assert len(set(lengths)) > 1, "the test needs choices of different lengths"
    chunks = chunks_of(stream_events(http, "completions", payload))
    tokens = token_chunks(chunks)
    expected_order = [
        choice.index for step in range(max(lengths)) for choice in plan.choices if step < choice.token_count
    ]
    assert [chunk["choices"][0]["index"] for chunk in tokens] == expected_order
    assert all(chunk["object"] == "text_completion" for chunk in chunks)
    for choice in plan.choices:
        mine = [chunk["choices"][0] for chunk in tokens if chunk["choices"][0]["index"] == choice.index]
        assert "".join(part["text"] for part in mine) == choice.content_text
        assert all("finish_reason" not in part for part in mine[:-1])
        assert mine[-1]["finish_reason"] == choice.finish_reason
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == sum(lengths)
    assert chunks[-1]["usage"]["prompt_tokens"] == sum(choice.prompt_tokens for choice in plan.choices)


def test_a_completion_stream_chunk_has_only_text_and_index(http: httpx.Client) -> None:
    payload = {"model": "m", "prompt": "hello there", "max_tokens": 3, "stream": True}
    chunks = chunks_of(stream_events(http, "completions", payload))
    assert [set(chunk["choices"][0]) for chunk in chunks] == [
        {"index", "text"},
        {"index", "text"},
        {"index", "text", "finish_reason"},
    ]


def test_non_ascii_text_survives_the_stream(http: httpx.Client) -> None:
    payload = {
        "model": "m",
        "messages": [{"role": "user", "content": 'Grüße, 世界! "quotes" \\ and \n newlines 🎉'}],
        "stream": True,
    }
    plan = planned("chat", payload)
    events = stream_events(http, "chat", payload)
    chunks = [json.loads(data) for data in events[:-1]]
    assert (
        "".join(chunk["choices"][0]["delta"]["content"] for chunk in chunks) == plan.choices[0].content_text
    )
