"""The protocol rules of the Responses, Anthropic Messages, TGI and SageMaker routes and of chat's
tools, structured output, sampling and logprobs: a broken rule is a 4xx in the route's envelope
naming the field, never a 5xx or a logged traceback.

A hand-written table of rules (each with the status, the envelope and the field its answer
names: OpenAI's `param`, or the message of the Anthropic and TGI envelopes, which have none),
the envelope of every refusal a route makes before planning (401, 413, 405, a missing
`anthropic-version`, an injected fault), and hypothesis throwing arbitrary JSON at the new
routes' bodies, into any of their fields, and as any tool or output schema. All of it runs in
process; `test_bad_input.py` holds the table generated from the request Structs, and the
helpers shared with it.
"""

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import TestClient
from tests.robustness.conftest import CHAT, COMPLETIONS, USER, ErrorLog, encode
from tests.robustness.test_bad_input import (
    FULL_BODIES,
    GENERATE,
    GENERATE_STREAM,
    JSON,
    MESSAGES,
    RESPONSES,
    ROUTE_PATHS,
    TGI_ROOT,
    Bad,
    Path,
    Protocol,
    assert_answer,
    assert_error_names,
    error_message,
    headers_for,
    invalid_status,
    json_values,
    protocol_of,
    replaced,
    route_sites,
)

from mockcore import Settings
from mockcore.protocols.anthropic import MAX_CACHE_BREAKPOINTS, MIN_THINKING_BUDGET
from mockcore.protocols.responses import MIN_OUTPUT_TOKENS
from mockcore.requests import MAX_SAMPLES, MAX_STOP_STRINGS, MAX_TOOLS, MAX_TOP_LOGPROBS
from mockhttp import create_app

SAGEMAKER = "/endpoints/my-endpoint/invocations"
SAGEMAKER_STREAM = "/endpoints/my-endpoint/invocations-response-stream"
# Every path of the new routes, and the route whose body it reads.
NEW_PATHS = {
    RESPONSES: "responses",
    MESSAGES: "messages",
    GENERATE: "generate",
    GENERATE_STREAM: "generate_stream",
    TGI_ROOT: "generate",
    SAGEMAKER: "chat",
    SAGEMAKER_STREAM: "chat",
}
KEY = "sk-test"
WITH_KEY = Settings(ttft=0.0, itl=0.0, api_key=KEY, max_request_bytes=1024)

# --- bodies -------------------------------------------------------------------------------

UNSATISFIABLE = {"type": "integer", "minimum": 5, "maximum": 1}
OBJECT_SCHEMA = {"type": "object", "properties": {}}
ANTHROPIC_USER = [{"role": "user", "content": "hi"}]


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": USER} | fields


def completion(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "prompt": "hi"} | fields


def responses(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "input": "hi"} | fields


def messages(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 64, "messages": ANTHROPIC_USER} | fields


def generate(**parameters: Any) -> dict[str, Any]:
    return {"inputs": "hi", "parameters": parameters}


def chat_tool(name: str = "get_weather", parameters: Any = None) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name}
    if parameters is not None:
        function["parameters"] = parameters
    return {"type": "function", "function": function}


def named(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def json_schema_format(schema: Any = None, **fields: Any) -> dict[str, Any]:
    inner: dict[str, Any] = {"name": "answer"} | fields
    if schema is not None:
        inner["schema"] = schema
    return {"type": "json_schema", "json_schema": inner}


def responses_tool(name: str | None = "get_weather", parameters: Any = None) -> dict[str, Any]:
    tool: dict[str, Any] = {"type": "function"}
    if name is not None:
        tool["name"] = name
    if parameters is not None:
        tool["parameters"] = parameters
    return tool


def anthropic_tool(name: str = "get_weather", input_schema: Any = None, **fields: Any) -> dict[str, Any]:
    tool: dict[str, Any] = {"name": name} | fields
    if input_schema is not None:
        tool["input_schema"] = input_schema
    return tool


def thinking(budget: int | None) -> dict[str, Any]:
    config: dict[str, Any] = {"type": "enabled"}
    if budget is not None:
        config["budget_tokens"] = budget
    return config


def cached_text(text: str = "x") -> dict[str, Any]:
    return {"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}


def rule(
    name: str,
    path: str,
    body: dict[str, Any] | bytes,
    names: str | None,
    headers: dict[str, str] | None = None,
) -> Bad:
    """A broken rule: the route's 400 (TGI: 422) naming the field `names`, or None for the body."""
    return Bad(
        name,
        path,
        body if isinstance(body, bytes) else encode(body),
        invalid_status(path),
        names,
        headers=headers_for(path) if headers is None else headers,
    )


def served(name: str, path: str, body: dict[str, Any]) -> Bad:
    """A request at the edge of a rule, on its allowed side."""
    return Bad(name, path, encode(body), 200, headers=headers_for(path))


# --- the rules ----------------------------------------------------------------------------

CHAT_RULES = [
    rule("top_logprobs without logprobs", CHAT, chat(top_logprobs=2), "top_logprobs"),
    rule("top_logprobs with logprobs false", CHAT, chat(top_logprobs=2, logprobs=False), "top_logprobs"),
    rule(
        "top_logprobs above the maximum",
        CHAT,
        chat(logprobs=True, top_logprobs=MAX_TOP_LOGPROBS + 1),
        "top_logprobs",
    ),
    served("top_logprobs at the maximum", CHAT, chat(logprobs=True, top_logprobs=MAX_TOP_LOGPROBS)),
    served("logprobs without top_logprobs", CHAT, chat(logprobs=True)),
    rule("tool_choice required without tools", CHAT, chat(tool_choice="required"), "tool_choice"),
    rule("tool_choice required with no tools", CHAT, chat(tools=[], tool_choice="required"), "tool_choice"),
    rule("a named tool_choice without tools", CHAT, chat(tool_choice=named("get_weather")), "tool_choice"),
    rule(
        "a named tool_choice not in tools",
        CHAT,
        chat(tools=[chat_tool()], tool_choice=named("other")),
        "tool_choice",
    ),
    rule(
        "a named tool_choice without a name",
        CHAT,
        chat(tools=[chat_tool()], tool_choice={"type": "function", "function": {}}),
        "tool_choice.function.name",
    ),
    rule("an unknown tool_choice mode", CHAT, chat(tools=[chat_tool()], tool_choice="any"), "tool_choice"),
    served("tool_choice none without tools", CHAT, chat(tool_choice="none")),
    served("tool_choice auto without tools", CHAT, chat(tool_choice="auto")),
    rule("a tool that is not a function", CHAT, chat(tools=[{"type": "retrieval"}]), "tools[0].type"),
    rule("a tool without its function", CHAT, chat(tools=[{"type": "function"}]), "tools[0].function"),
    rule("a tool name with a space", CHAT, chat(tools=[chat_tool("get weather")]), "tools[0].function.name"),
    rule("a tool name of 65 characters", CHAT, chat(tools=[chat_tool("f" * 65)]), "tools[0].function.name"),
    rule("more than the most tools", CHAT, chat(tools=[chat_tool()] * (MAX_TOOLS + 1)), "tools"),
    rule(
        "an unsatisfiable tool schema",
        CHAT,
        chat(tools=[chat_tool(parameters=UNSATISFIABLE)], tool_choice="required"),
        "tools[0].function.parameters",
    ),
    rule(
        "an unsatisfiable property of a tool schema",
        CHAT,
        chat(
            tools=[
                chat_tool(
                    parameters={"type": "object", "properties": {"a": UNSATISFIABLE}, "required": ["a"]}
                )
            ],
            tool_choice="required",
        ),
        "tools[0].function.parameters",
    ),
    rule(
        "a tool schema of an unknown type",
        CHAT,
        chat(tools=[chat_tool(parameters={"type": "nope"})], tool_choice="required"),
        "tools[0].function.parameters",
    ),
    rule(
        "a tool schema with an invalid pattern",
        CHAT,
        chat(tools=[chat_tool(parameters={"type": "string", "pattern": "("})], tool_choice="required"),
        "tools[0].function.parameters",
    ),
    rule(
        "a tool schema whose $ref points at nothing",
        CHAT,
        chat(tools=[chat_tool(parameters={"$ref": "#/$defs/nothing"})], tool_choice="required"),
        "tools[0].function.parameters",
    ),
    rule(
        "a tool schema that refers to itself only",
        CHAT,
        chat(tools=[chat_tool(parameters={"$ref": "#"})], tool_choice="required"),
        "tools[0].function.parameters",
    ),
    rule(
        "a tool schema with a string minimum",
        CHAT,
        chat(tools=[chat_tool(parameters={"type": "integer", "minimum": "5"})], tool_choice="required"),
        "tools[0].function.parameters",
    ),
    rule(
        "a tool schema that is not an object",
        CHAT,
        chat(tools=[chat_tool(parameters=True)], tool_choice="required"),
        "tools[0].function.parameters",
    ),
    rule(
        "an unsatisfiable schema of a tool the named choice does not call",
        CHAT,
        chat(
            tools=[chat_tool("get_weather", OBJECT_SCHEMA), chat_tool("other", UNSATISFIABLE)],
            tool_choice=named("get_weather"),
        ),
        "tools[1].function.parameters",
    ),
    rule(
        "an unsatisfiable tool schema with tool_choice none",
        CHAT,
        chat(tools=[chat_tool(parameters=UNSATISFIABLE)], tool_choice="none"),
        "tools[0].function.parameters",
    ),
    rule(
        "a malformed tool schema after a tool's result (auto answers in text)",
        CHAT,
        chat(
            messages=[*USER, {"role": "tool", "content": "sunny"}],
            tools=[chat_tool(parameters={"type": "nope"})],
        ),
        "tools[0].function.parameters",
    ),
    rule(
        "response_format json_schema without json_schema",
        CHAT,
        chat(response_format={"type": "json_schema"}),
        "response_format.json_schema",
    ),
    rule(
        "response_format json_schema with an empty name",
        CHAT,
        chat(response_format={"type": "json_schema", "json_schema": {"name": ""}}),
        "response_format.json_schema.name",
    ),
    rule(
        "response_format json_schema with a name of 65 characters",
        CHAT,
        chat(response_format={"type": "json_schema", "json_schema": {"name": "n" * 65}}),
        "response_format.json_schema.name",
    ),
    rule(
        "an unknown response_format type", CHAT, chat(response_format={"type": "xml"}), "response_format.type"
    ),
    rule(
        "an unsatisfiable response_format schema",
        CHAT,
        chat(response_format=json_schema_format(UNSATISFIABLE)),
        "response_format.json_schema.schema",
    ),
    rule(
        "a response_format schema with an empty enum",
        CHAT,
        chat(response_format=json_schema_format({"enum": []})),
        "response_format.json_schema.schema",
    ),
    rule(
        "a response_format schema whose strings are longer than they may be",
        CHAT,
        chat(response_format=json_schema_format({"type": "string", "minLength": 5, "maxLength": 1})),
        "response_format.json_schema.schema",
    ),
    rule(
        "a response_format schema nothing matches (`not: {}`)",
        CHAT,
        chat(response_format=json_schema_format({"not": {}})),
        "response_format.json_schema.schema",
    ),
    rule(
        "a response_format schema whose oneOf branches all match",
        CHAT,
        chat(response_format=json_schema_format({"oneOf": [{}, {}]})),
        "response_format.json_schema.schema",
    ),
    rule(
        "a response_format schema with minContains above maxItems",
        CHAT,
        chat(
            response_format=json_schema_format(
                {"type": "array", "contains": {"type": "string"}, "minContains": 5, "maxItems": 3}
            )
        ),
        "response_format.json_schema.schema",
    ),
    rule(
        "an unsatisfiable response_format schema while a tool call answers",
        CHAT,
        chat(
            tools=[chat_tool(parameters=OBJECT_SCHEMA)],
            tool_choice="required",
            response_format=json_schema_format(UNSATISFIABLE),
        ),
        "response_format.json_schema.schema",
    ),
    served("response_format json_schema without a schema", CHAT, chat(response_format=json_schema_format())),
    served("response_format json_object", CHAT, chat(response_format={"type": "json_object"})),
    rule("n of 0", CHAT, chat(n=0), "n"),
    rule("n above the most samples", CHAT, chat(n=MAX_SAMPLES + 1), "n"),
    served("n of 2", CHAT, chat(n=2, seed=3)),
    rule("a seed of 1.5", CHAT, chat(seed=1.5), "seed"),
    rule("an empty stop string", CHAT, chat(stop=""), "stop"),
    rule("an empty stop string in a list", CHAT, chat(stop=["a", ""]), "stop[1]"),
    rule("a stop string of 1025 characters", CHAT, chat(stop=["s" * 1025]), "stop[0]"),
    rule("more than the most stop strings", CHAT, chat(stop=["s"] * (MAX_STOP_STRINGS + 1)), "stop"),
    served("the most stop strings", CHAT, chat(stop=["s"] * MAX_STOP_STRINGS)),
    rule("min_tokens above max_tokens", CHAT, chat(max_tokens=5, min_tokens=6), "min_tokens"),
    rule(
        "min_tokens above max_completion_tokens",
        CHAT,
        chat(max_completion_tokens=5, min_tokens=6),
        "min_tokens",
    ),
    rule("max_completion_tokens of 0", CHAT, chat(max_completion_tokens=0), "max_completion_tokens"),
    rule(
        "a message tool call without its function",
        CHAT,
        chat(messages=[{"role": "assistant", "tool_calls": [{"id": "c"}]}]),
        "messages[0].tool_calls[0].function",
    ),
    rule(
        "a text part without text",
        CHAT,
        chat(messages=[{"role": "user", "content": [{"type": "text"}]}]),
        "messages[0].content[0].text",
    ),
    rule("an unknown role", CHAT, chat(messages=[{"role": "robot", "content": "hi"}]), "messages[0].role"),
    rule("no messages", CHAT, chat(messages=[]), "messages"),
]

COMPLETIONS_RULES = [
    rule("completions logprobs above the maximum", COMPLETIONS, completion(logprobs=21), "logprobs"),
    rule("completions logprobs true", COMPLETIONS, completion(logprobs=True), "logprobs"),
    served("completions logprobs at the maximum", COMPLETIONS, completion(logprobs=MAX_TOP_LOGPROBS)),
    rule("completions n of 0", COMPLETIONS, completion(n=0), "n"),
    rule("completions empty stop string", COMPLETIONS, completion(stop=[""]), "stop[0]"),
    rule(
        "completions min_tokens above max_tokens",
        COMPLETIONS,
        completion(max_tokens=2, min_tokens=3),
        "min_tokens",
    ),
    rule("completions a prompt mixing kinds", COMPLETIONS, completion(prompt=["a", 1]), "prompt"),
]

RESPONSES_RULES = [
    rule(
        "max_output_tokens below the minimum",
        RESPONSES,
        responses(max_output_tokens=MIN_OUTPUT_TOKENS - 1),
        "max_output_tokens",
    ),
    served("max_output_tokens at the minimum", RESPONSES, responses(max_output_tokens=MIN_OUTPUT_TOKENS)),
    rule(
        "max_output_tokens above the server's",
        RESPONSES,
        responses(max_output_tokens=10**9),
        "max_output_tokens",
    ),
    rule("responses without a model", RESPONSES, {"input": "hi"}, "model"),
    rule("responses without input", RESPONSES, {"model": "m"}, "input"),
    rule(
        "responses tool_choice required without tools",
        RESPONSES,
        responses(tool_choice="required"),
        "tool_choice",
    ),
    rule(
        "responses tool_choice required with only a non-function tool",
        RESPONSES,
        responses(tools=[{"type": "web_search"}], tool_choice="required"),
        "tool_choice",
    ),
    rule(
        "responses a named tool_choice not in tools",
        RESPONSES,
        responses(tools=[responses_tool()], tool_choice={"type": "function", "name": "other"}),
        "tool_choice",
    ),
    rule(
        "responses a named tool_choice without a name",
        RESPONSES,
        responses(tools=[responses_tool()], tool_choice={"type": "function"}),
        "tool_choice.name",
    ),
    rule(
        "responses a function tool without a name",
        RESPONSES,
        responses(tools=[responses_tool(None)]),
        "tools[0].name",
    ),
    rule(
        "responses a tool name with a space",
        RESPONSES,
        responses(tools=[responses_tool("a b")]),
        "tools[0].name",
    ),
    rule(
        "responses an unsatisfiable tool schema",
        RESPONSES,
        responses(tools=[responses_tool(parameters=UNSATISFIABLE)], tool_choice="required"),
        "tools[0].parameters",
    ),
    rule(
        "responses an unsatisfiable tool schema with tool_choice none",
        RESPONSES,
        responses(tools=[responses_tool(parameters=UNSATISFIABLE)], tool_choice="none"),
        "tools[0].parameters",
    ),
    rule(
        "responses text.format json_schema without a schema",
        RESPONSES,
        responses(text={"format": {"type": "json_schema", "name": "answer"}}),
        "text.format.schema",
    ),
    rule(
        "responses an unsatisfiable text.format schema",
        RESPONSES,
        responses(text={"format": {"type": "json_schema", "name": "answer", "schema": UNSATISFIABLE}}),
        "text.format.schema",
    ),
    rule(
        "responses an unknown text.format type",
        RESPONSES,
        responses(text={"format": {"type": "xml"}}),
        "text.format.type",
    ),
    rule(
        "responses an unknown reasoning effort",
        RESPONSES,
        responses(reasoning={"effort": "huge"}),
        "reasoning.effort",
    ),
    rule(
        "responses a message item with an unknown role",
        RESPONSES,
        responses(input=[{"role": "robot", "content": "hi"}]),
        "input[0].role",
    ),
    rule(
        "responses a message item without a role",
        RESPONSES,
        responses(input=[{"type": "message", "content": "hi"}]),
        "input[0].role",
    ),
    rule(
        "responses an input_text part without text",
        RESPONSES,
        responses(input=[{"role": "user", "content": [{"type": "input_text"}]}]),
        "input[0].content[0].text",
    ),
    rule(
        "responses a function_call item without call_id",
        RESPONSES,
        responses(input=[{"type": "function_call", "name": "f", "arguments": "{}"}]),
        "input[0].call_id",
    ),
    rule(
        "responses a function_call_output item without output",
        RESPONSES,
        responses(input=[{"type": "function_call_output", "call_id": "c"}]),
        "input[0].output",
    ),
    rule(
        "responses an output_text part without text in an output",
        RESPONSES,
        responses(
            input=[{"type": "function_call_output", "call_id": "c", "output": [{"type": "output_text"}]}]
        ),
        "input[0].output[0].text",
    ),
    rule("responses an unknown item type", RESPONSES, responses(input=[{"type": "weird"}]), "input[0].type"),
]

MESSAGES_RULES = [
    rule("messages without max_tokens", MESSAGES, {"model": "m", "messages": ANTHROPIC_USER}, "max_tokens"),
    rule("messages max_tokens of 0", MESSAGES, messages(max_tokens=0), "max_tokens"),
    rule("messages max_tokens above the server's", MESSAGES, messages(max_tokens=10**9), "max_tokens"),
    rule("messages no messages", MESSAGES, messages(messages=[]), "messages"),
    rule(
        "messages a system role in messages",
        MESSAGES,
        messages(messages=[{"role": "system", "content": "x"}]),
        "messages[0].role",
    ),
    rule(
        "messages an unknown block type",
        MESSAGES,
        messages(messages=[{"role": "user", "content": [{"type": "video"}]}]),
        "messages[0].content[0].type",
    ),
    rule(
        "messages a message without content",
        MESSAGES,
        messages(messages=[{"role": "user"}]),
        "messages[0].content",
    ),
    rule(
        "messages a system block without its type",
        MESSAGES,
        messages(system=[{"text": "x"}]),
        "system[0].type",
    ),
    rule(
        "messages a tool_use block without its id",
        MESSAGES,
        messages(
            messages=[{"role": "assistant", "content": [{"type": "tool_use", "name": "f", "input": {}}]}]
        ),
        "messages[0].content[0].id",
    ),
    rule(
        "messages thinking budget below the minimum",
        MESSAGES,
        messages(max_tokens=4096, thinking=thinking(MIN_THINKING_BUDGET - 1)),
        "thinking.budget_tokens",
    ),
    rule(
        "messages thinking budget equal to max_tokens",
        MESSAGES,
        messages(max_tokens=2048, thinking=thinking(2048)),
        "thinking.budget_tokens",
    ),
    rule(
        "messages thinking budget above max_tokens",
        MESSAGES,
        messages(max_tokens=2048, thinking=thinking(4096)),
        "thinking.budget_tokens",
    ),
    rule(
        "messages thinking enabled without a budget",
        MESSAGES,
        messages(max_tokens=2048, thinking=thinking(None)),
        "thinking.budget_tokens",
    ),
    served(
        "messages thinking budget at the minimum",
        MESSAGES,
        messages(max_tokens=MIN_THINKING_BUDGET + 1, thinking=thinking(MIN_THINKING_BUDGET)),
    ),
    rule(
        "messages an unknown thinking type",
        MESSAGES,
        messages(thinking={"type": "always"}),
        "thinking.type",
    ),
    rule(
        "messages thinking with a forced tool (tool_choice any)",
        MESSAGES,
        messages(
            max_tokens=2048, thinking=thinking(1024), tools=[anthropic_tool()], tool_choice={"type": "any"}
        ),
        "tool_choice",
    ),
    rule(
        "messages thinking with a named tool_choice",
        MESSAGES,
        messages(
            max_tokens=2048,
            thinking=thinking(1024),
            tools=[anthropic_tool()],
            tool_choice={"type": "tool", "name": "get_weather"},
        ),
        "tool_choice",
    ),
    served(
        "messages thinking with tool_choice auto",
        MESSAGES,
        messages(
            max_tokens=2048, thinking=thinking(1024), tools=[anthropic_tool()], tool_choice={"type": "auto"}
        ),
    ),
    rule(
        "messages more cache_control blocks than breakpoints",
        MESSAGES,
        messages(messages=[{"role": "user", "content": [cached_text()] * (MAX_CACHE_BREAKPOINTS + 1)}]),
        "cache_control",
    ),
    served(
        "messages as many cache_control blocks as breakpoints",
        MESSAGES,
        messages(messages=[{"role": "user", "content": [cached_text()] * MAX_CACHE_BREAKPOINTS}]),
    ),
    rule(
        "messages more cache_control breakpoints than allowed, counting tools and system",
        MESSAGES,
        messages(
            tools=[
                anthropic_tool(f"tool_{index}", cache_control={"type": "ephemeral"}) for index in range(2)
            ],
            system=[cached_text("a"), cached_text("b"), cached_text("c")],
        ),
        "cache_control",
    ),
    rule(
        "messages an unknown cache_control type",
        MESSAGES,
        messages(
            messages=[{"role": "user", "content": [cached_text() | {"cache_control": {"type": "forever"}}]}]
        ),
        "messages[0].content[0].cache_control.type",
    ),
    rule(
        "messages a cache_control ttl other than 5m or 1h",
        MESSAGES,
        messages(
            messages=[
                {
                    "role": "user",
                    "content": [cached_text() | {"cache_control": {"type": "ephemeral", "ttl": "2h"}}],
                }
            ]
        ),
        "ttl",
    ),
    rule(
        "messages tool_choice tool without a name",
        MESSAGES,
        messages(tool_choice={"type": "tool"}),
        "tool_choice.name",
    ),
    rule(
        "messages tool_choice any without tools",
        MESSAGES,
        messages(tool_choice={"type": "any"}),
        "tool_choice",
    ),
    rule(
        "messages a named tool_choice not in tools",
        MESSAGES,
        messages(tools=[anthropic_tool()], tool_choice={"type": "tool", "name": "other"}),
        "tool_choice",
    ),
    rule(
        "messages an unknown tool_choice type",
        MESSAGES,
        messages(tools=[anthropic_tool()], tool_choice={"type": "required"}),
        "tool_choice.type",
    ),
    rule(
        "messages a tool name with a space",
        MESSAGES,
        messages(tools=[anthropic_tool("get weather")]),
        "tools[0].name",
    ),
    rule(
        "messages more than the most tools",
        MESSAGES,
        messages(tools=[anthropic_tool()] * (MAX_TOOLS + 1)),
        "tools",
    ),
    rule(
        "messages an unsatisfiable input_schema",
        MESSAGES,
        messages(tools=[anthropic_tool(input_schema=UNSATISFIABLE)], tool_choice={"type": "any"}),
        "input_schema",
    ),
    rule(
        "messages a malformed input_schema",
        MESSAGES,
        messages(tools=[anthropic_tool(input_schema={"type": "nope"})], tool_choice={"type": "any"}),
        "input_schema",
    ),
    rule(
        "messages an unsatisfiable input_schema with tool_choice none",
        MESSAGES,
        messages(tools=[anthropic_tool(input_schema=UNSATISFIABLE)], tool_choice={"type": "none"}),
        "input_schema",
    ),
    rule(
        "messages an empty stop sequence",
        MESSAGES,
        messages(stop_sequences=[""]),
        "stop_sequences[0]",
    ),
    rule(
        "messages more than the most stop sequences",
        MESSAGES,
        messages(stop_sequences=["s"] * (MAX_STOP_STRINGS + 1)),
        "stop_sequences",
    ),
    rule(
        "messages without the anthropic-version header",
        MESSAGES,
        messages(),
        "anthropic-version",
        headers=dict(JSON),
    ),
]

TGI_RULES = [
    *[
        rule(f"{path} {name}", path, body, names)
        for path in (GENERATE, GENERATE_STREAM, TGI_ROOT)
        for name, body, names in (
            ("without inputs", {"parameters": {}}, "inputs"),
            ("inputs as a number", {"inputs": 5}, "inputs"),
            ("inputs empty", {"inputs": ""}, "inputs"),
            ("max_new_tokens of 0", generate(max_new_tokens=0), "parameters.max_new_tokens"),
            (
                "max_new_tokens above the server's",
                generate(max_new_tokens=10**9),
                "parameters.max_new_tokens",
            ),
            ("top_n_tokens above 5", generate(top_n_tokens=6), "parameters.top_n_tokens"),
            ("a negative seed", generate(seed=-1), "parameters.seed"),
            ("an empty stop string", generate(stop=[""]), "parameters.stop[0]"),
            (
                "more than the most stop strings",
                generate(stop=["s"] * (MAX_STOP_STRINGS + 1)),
                "parameters.stop",
            ),
            ("parameters as a list", {"inputs": "hi", "parameters": []}, "parameters"),
            ("malformed JSON", b'{"inputs": ', None),
            ("an array", b"[]", None),
        )
    ],
    served("POST / streams when the body says so", TGI_ROOT, {"inputs": "hi", "stream": True}),
    served("top_n_tokens of 5", GENERATE, generate(top_n_tokens=5, details=True)),
]

SAGEMAKER_RULES = [
    rule(f"{path} {name}", path, body, names)
    for path in (SAGEMAKER, SAGEMAKER_STREAM)
    for name, body, names in (
        ("top_logprobs without logprobs", chat(top_logprobs=2), "top_logprobs"),
        ("tool_choice required without tools", chat(tool_choice="required"), "tool_choice"),
        ("model as a number", chat(model=5), "model"),
        ("malformed JSON", b"{", None),
    )
]

RULES = CHAT_RULES + COMPLETIONS_RULES + RESPONSES_RULES + MESSAGES_RULES + TGI_RULES + SAGEMAKER_RULES


def test_the_rule_names_are_unique() -> None:
    names = [bad.name for bad in RULES]
    assert len(names) == len(set(names))


# --- transports ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def with_key(error_log: ErrorLog) -> Iterator[TestClient[Any]]:
    """An app with an API key and a 1 KiB body limit."""
    with TestClient(create_app(WITH_KEY)) as client:
        yield client
    assert error_log.records == []


def send(client: TestClient[Any], bad: Bad) -> httpx.Response:
    return client.request(bad.method, bad.path, content=bad.body, headers=bad.headers)


@pytest.mark.parametrize("bad", RULES, ids=[bad.name for bad in RULES])
def test_a_broken_protocol_rule_is_a_4xx_naming_the_field(in_process: TestClient[Any], bad: Bad) -> None:
    assert_answer(send(in_process, bad), bad)


# --- refusals before planning: every status in the route's envelope -----------------------

FAULT_STATUSES = {
    "server_error": 500,
    "unavailable": 503,
    "rate_limit": 429,
    "context_length": 400,
    "auth": 401,
    "not_found": 404,
}
SMALL_BODIES = {
    RESPONSES: responses(),
    MESSAGES: messages(),
    GENERATE: {"inputs": "hi"},
    GENERATE_STREAM: {"inputs": "hi"},
    TGI_ROOT: {"inputs": "hi"},
    SAGEMAKER: chat(),
    SAGEMAKER_STREAM: chat(),
}


def assert_envelope_of(response: httpx.Response, path: str, status: int) -> str:
    """`response` has `status` (TGI's 422 for a 400) in `path`'s envelope; return its message."""
    protocol = protocol_of(path)
    assert response.status_code == (422 if protocol == "tgi" and status == 400 else status), response.text
    return error_message(response, protocol)


@pytest.mark.parametrize("fault", list(FAULT_STATUSES))
@pytest.mark.parametrize("path", list(SMALL_BODIES))
def test_an_injected_fault_answers_in_the_route_envelope(
    in_process: TestClient[Any], path: str, fault: str
) -> None:
    headers = headers_for(path) | {"x-mock-fault": fault}
    response = in_process.post(path, content=encode(SMALL_BODIES[path]), headers=headers)
    assert_envelope_of(response, path, FAULT_STATUSES[fault])


@pytest.mark.parametrize("path", list(SMALL_BODIES))
def test_a_malformed_control_header_is_a_4xx_in_the_route_envelope(
    in_process: TestClient[Any], path: str
) -> None:
    headers = headers_for(path) | {"x-mock-output-tokens": "lots"}
    response = in_process.post(path, content=encode(SMALL_BODIES[path]), headers=headers)
    assert_error_names(response, protocol_of(path), "x-mock-output-tokens")
    assert response.status_code == invalid_status(path)


def key_headers(path: str, key: str | None) -> dict[str, str]:
    """The key where the route's clients send it: `x-api-key` for Anthropic, else a bearer token."""
    headers = headers_for(path)
    if key is None:
        return headers
    return headers | ({"x-api-key": key} if path == MESSAGES else {"authorization": f"Bearer {key}"})


@pytest.mark.parametrize("key", [None, "wrong"])
@pytest.mark.parametrize("path", list(SMALL_BODIES))
def test_a_missing_or_wrong_key_is_a_401_in_the_route_envelope(
    with_key: TestClient[Any], path: str, key: str | None
) -> None:
    response = with_key.post(path, content=encode(SMALL_BODIES[path]), headers=key_headers(path, key))
    assert_envelope_of(response, path, 401)
    if protocol_of(path) == "tgi":
        assert response.json()["error_type"] == "authentication"


@pytest.mark.parametrize("path", list(SMALL_BODIES))
def test_the_right_key_is_served(with_key: TestClient[Any], path: str) -> None:
    response = with_key.post(path, content=encode(SMALL_BODIES[path]), headers=key_headers(path, KEY))
    assert response.status_code == 200, response.text


def test_anthropic_takes_the_key_as_a_bearer_token_too(with_key: TestClient[Any]) -> None:
    headers = headers_for(MESSAGES) | {"authorization": f"Bearer {KEY}"}
    assert with_key.post(MESSAGES, content=encode(messages()), headers=headers).status_code == 200


@pytest.mark.parametrize("path", list(SMALL_BODIES))
def test_a_body_over_the_limit_is_a_413_in_the_route_envelope(with_key: TestClient[Any], path: str) -> None:
    body = SMALL_BODIES[path] | {"padding": "x" * 2048}
    response = with_key.post(path, content=encode(body), headers=key_headers(path, KEY))
    message = assert_envelope_of(response, path, 413)
    assert "--max-request-bytes" in message


def test_the_anthropic_version_header_is_checked_after_the_key(with_key: TestClient[Any]) -> None:
    response = with_key.post(MESSAGES, content=encode(messages()), headers=dict(JSON))
    assert_envelope_of(response, MESSAGES, 401)
    response = with_key.post(MESSAGES, content=encode(messages()), headers=JSON | {"x-api-key": KEY})
    assert "anthropic-version" in assert_envelope_of(response, MESSAGES, 400)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize(
    "path", [RESPONSES, MESSAGES, GENERATE, GENERATE_STREAM, SAGEMAKER, SAGEMAKER_STREAM]
)
def test_another_method_is_a_405_in_the_route_envelope(
    in_process: TestClient[Any], path: str, method: str
) -> None:
    response = in_process.request(method, path, headers=headers_for(path))
    assert_envelope_of(response, path, 405)
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_another_method_on_the_root_is_a_405_that_allows_post(
    in_process: TestClient[Any], method: str
) -> None:
    """`/` serves GET (ours) and POST (TGI's): a 405 there must list both."""
    response = in_process.request(method, TGI_ROOT)
    assert response.status_code == 405
    allowed = {name.strip() for name in response.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed, response.headers["allow"]


@pytest.mark.parametrize(
    "path", ["/endpoints//invocations", "/endpoints/x/other", "/endpoints/x/invocations/more"]
)
def test_a_path_beside_the_sagemaker_routes_is_a_404(in_process: TestClient[Any], path: str) -> None:
    response = in_process.post(path, content=encode(chat()), headers=dict(JSON))
    assert response.status_code == 404
    assert error_message(response, "openai")


# --- hypothesis ---------------------------------------------------------------------------


def assert_stream_complete(response: httpx.Response, path: str) -> None:
    """A 200 stream that ran to its protocol's last event (an exception mid-stream cuts it)."""
    content = response.content
    if path == SAGEMAKER_STREAM:
        assert b"data: [DONE]" in content
        return
    text = content.decode()
    assert text.endswith("\n\n"), text[-300:]
    last = text.rstrip("\n").rsplit("\n\n", 1)[-1]
    if path == RESPONSES:
        assert last.startswith(("event: response.completed", "event: response.incomplete")), last
    elif path == MESSAGES:
        assert last.startswith("event: message_stop"), last
    elif protocol_of(path) == "tgi":
        assert isinstance(json.loads(last.removeprefix("data:"))["generated_text"], str), last
    else:
        assert last == "data: [DONE]", last


def assert_no_server_error(response: httpx.Response, path: str, error_log: ErrorLog) -> None:
    """No 5xx; an error in the route's envelope; a 200 whole; nothing logged at ERROR."""
    assert response.status_code < 500, response.text[:500]
    protocol: Protocol = protocol_of(path)
    if response.status_code >= 400:
        error_message(response, protocol)
    elif response.headers["content-type"].startswith("application/json"):
        assert isinstance(response.json(), dict)
    else:
        assert_stream_complete(response, path)
    assert error_log.records == []


@given(path=st.sampled_from(list(NEW_PATHS)), value=json_values)
def test_arbitrary_json_as_a_new_route_body_never_gets_a_5xx(
    in_process: TestClient[Any], error_log: ErrorLog, path: str, value: Any
) -> None:
    response = in_process.post(path, content=json.dumps(value).encode(), headers=headers_for(path))
    assert_no_server_error(response, path, error_log)
    assert response.status_code == invalid_status(path)


# Every place of the new routes' bodies; on the SageMaker paths (chat inside, whose every place
# `test_bad_input.py` fuzzes on chat's own path) the top-level fields.
NEW_FIELD_PATHS = [
    (path, site.path)
    for path, route in NEW_PATHS.items()
    for site in route_sites(route)
    if route != "chat" or len(site.path) == 1
]


@given(field=st.sampled_from(NEW_FIELD_PATHS), value=json_values)
def test_arbitrary_json_in_any_field_of_a_new_route_never_gets_a_5xx(
    in_process: TestClient[Any], error_log: ErrorLog, field: tuple[str, Path], value: Any
) -> None:
    path, where = field
    body = replaced(FULL_BODIES[NEW_PATHS[path]], where, value)
    response = in_process.post(path, content=json.dumps(body).encode(), headers=headers_for(path))
    assert_no_server_error(response, path, error_log)


# Schemas: JSON objects built from the keywords synthesis reads (and some it does not), with
# values of the right kind, of the wrong kind, or nested schemas; and arbitrary JSON objects.
SCHEMA_KEYWORDS = (
    "type",
    "properties",
    "required",
    "items",
    "prefixItems",
    "additionalItems",
    "additionalProperties",
    "patternProperties",
    "propertyNames",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contains",
    "minContains",
    "maxContains",
    "minProperties",
    "maxProperties",
    "dependentRequired",
    "anyOf",
    "oneOf",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "$ref",
    "$defs",
    "definitions",
)
JSON_TYPE_NAMES = ("string", "number", "integer", "boolean", "object", "array", "null")
finite_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8"), max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
keyword_values = st.one_of(
    st.sampled_from(JSON_TYPE_NAMES),
    st.lists(st.sampled_from(JSON_TYPE_NAMES), max_size=3),
    st.integers(-2, 12),
    st.floats(-10, 10, allow_nan=False),
    st.sampled_from(["#", "#/$defs/a", "#/definitions/a", "#/properties/a", "#/nothing", "http://x/y"]),
    st.sampled_from(["^[a-z]{2,4}$", "a+b", "(", "[0-9]{3}", "(a|b)*c", "\\d+", "^$", "x{3,1}"]),
    st.sampled_from(["date-time", "date", "email", "uuid", "uri", "nope"]),
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
    finite_json,
)
PROPERTY_NAMES = st.sampled_from(["a", "b", "c"]) | st.text(st.characters(codec="utf-8"), max_size=4)


def _schema_extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(
        st.sampled_from(SCHEMA_KEYWORDS),
        st.one_of(
            keyword_values,
            children,
            st.lists(children, max_size=3),
            st.dictionaries(PROPERTY_NAMES, children, max_size=3),
        ),
        max_size=5,
    )


_schema_nodes = st.recursive(
    st.booleans() | st.just({}) | st.builds(lambda kind: {"type": kind}, st.sampled_from(JSON_TYPE_NAMES)),
    _schema_extend,
    max_leaves=12,
)
schemas = st.one_of(
    _schema_extend(_schema_nodes),
    st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=8), finite_json, max_size=5),
)


def _chat_tool_body(schema: Any, limit: int, stream: bool) -> dict[str, Any]:
    return chat(tools=[chat_tool(parameters=schema)], tool_choice="required", max_tokens=limit, stream=stream)


def _chat_format_body(schema: Any, limit: int, stream: bool) -> dict[str, Any]:
    return chat(response_format=json_schema_format(schema), max_tokens=limit, stream=stream)


def _responses_tool_body(schema: Any, limit: int, stream: bool) -> dict[str, Any]:
    return responses(
        tools=[responses_tool(parameters=schema)],
        tool_choice="required",
        max_output_tokens=MIN_OUTPUT_TOKENS + limit,
        stream=stream,
    )


def _responses_format_body(schema: Any, limit: int, stream: bool) -> dict[str, Any]:
    text_format = {"type": "json_schema", "name": "answer", "schema": schema}
    return responses(text={"format": text_format}, max_output_tokens=MIN_OUTPUT_TOKENS + limit, stream=stream)


def _messages_tool_body(schema: Any, limit: int, stream: bool) -> dict[str, Any]:
    return messages(
        tools=[anthropic_tool(input_schema=schema)],
        tool_choice={"type": "any"},
        max_tokens=limit,
        stream=stream,
    )


# Where a schema goes: (path, body with the schema in it, what a 400 names).
SCHEMA_PLACES: dict[str, tuple[str, Callable[[Any, int, bool], dict[str, Any]], str]] = {
    "chat tool": (CHAT, _chat_tool_body, "tools[0].function.parameters"),
    "chat response_format": (CHAT, _chat_format_body, "response_format.json_schema.schema"),
    "responses tool": (RESPONSES, _responses_tool_body, "tools[0].parameters"),
    "responses text.format": (RESPONSES, _responses_format_body, "text.format.schema"),
    "messages tool": (MESSAGES, _messages_tool_body, "input_schema"),
}


# (the output limit, whether it streams): a limit may cut the arguments or the JSON short.
shapes = st.tuples(st.integers(1, 200), st.booleans())


@given(place=st.sampled_from(list(SCHEMA_PLACES)), schema=schemas, shape=shapes)
def test_any_schema_is_served_or_a_400_naming_it(
    in_process: TestClient[Any],
    error_log: ErrorLog,
    place: str,
    schema: dict[str, Any],
    shape: tuple[int, bool],
) -> None:
    """Tool arguments and structured output come from any JSON object as a schema, or a 400 names it."""
    path, body_with, param = SCHEMA_PLACES[place]
    response = in_process.post(path, content=encode(body_with(schema, *shape)), headers=headers_for(path))
    assert_no_server_error(response, path, error_log)
    if response.status_code != 200:
        assert response.status_code == 400, response.text[:500]
        assert_error_names(response, protocol_of(path), param)


def test_the_app_is_healthy_after_the_bad_input(in_process: TestClient[Any], error_log: ErrorLog) -> None:
    assert in_process.get("/health").status_code == 200
    for path, route in NEW_PATHS.items():
        response = in_process.post(path, content=encode(FULL_BODIES[route]), headers=headers_for(path))
        assert response.status_code == 200, (path, response.text[:500])
    for route in ("chat", "completions"):
        response = in_process.post(ROUTE_PATHS[route], content=encode(FULL_BODIES[route]), headers=dict(JSON))
        assert response.status_code == 200, response.text[:500]
    assert error_log.records == []
