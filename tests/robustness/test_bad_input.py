"""Bad input never gets a 5xx or a traceback: it gets a 4xx in the route's error envelope.

Three sources of bad input: a hand-written table of what clients and attackers send, a table
generated from the request Structs (every field of every request of every route gets a value
of every JSON type it does not accept), and hypothesis throwing arbitrary JSON at the OpenAI
POST routes (`test_protocol_bad_input.py` does the same for the other protocols). All of it
runs in process; the hand table and a sample of the generated one also run against the real
CLI.

The envelope is the route's: OpenAI's `{"error": {message, type, param, code}}` with `param`
naming the field, Anthropic's `{"type": "error", "error": {type, message}}` on `/v1/messages`
(no `param`: the message names the field), and TGI's `{"error", "error_type"}` with 422 for
invalid input on `/generate`, `/generate_stream` and `POST /`.

Content-Type is not checked: the body of an inference route is parsed as JSON whatever the
header says (OpenAI clients always send `application/json`; curl users often forget it), so
a valid body with `text/plain` or no Content-Type is served.
"""

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import httpx
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import TestClient
from tests.robustness.conftest import (
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
    POST_ROUTES,
    RANKING,
    VALID_BODIES,
    CliServer,
    ErrorLog,
    StartCliServer,
    assert_envelope,
    assert_healthy,
    encode,
    settings_args,
)

from mockcore import Settings
from mockcore.decoding import ROUTE_REQUEST_TYPES
from mockcore.requests import MAX_MODEL_NAME_CHARS, REQUEST_TYPES

INSTANT = Settings(ttft=0.0, itl=0.0)
DEPTH = 10_000
JSON = {"content-type": "application/json"}
RESPONSES = "/v1/responses"
MESSAGES = "/v1/messages"
GENERATE = "/generate"
GENERATE_STREAM = "/generate_stream"
TGI_ROOT = "/"
ANTHROPIC_VERSION = {"anthropic-version": "2023-06-01"}
ROUTE_PATHS = {
    "chat": CHAT,
    "completions": COMPLETIONS,
    "embeddings": EMBEDDINGS,
    "ranking": RANKING,
    "responses": RESPONSES,
    "messages": MESSAGES,
    "generate": GENERATE,
    "generate_stream": GENERATE_STREAM,
}
Protocol = Literal["openai", "anthropic", "tgi"]


def protocol_of(path: str, method: str = "POST") -> Protocol:
    """The envelope a path answers in: Anthropic's, TGI's (`/` only for POST), or OpenAI's."""
    if path == MESSAGES:
        return "anthropic"
    if path in {GENERATE, GENERATE_STREAM} or (path == TGI_ROOT and method == "POST"):
        return "tgi"
    return "openai"


def headers_for(path: str) -> dict[str, str]:
    """JSON, plus the `anthropic-version` header `/v1/messages` requires."""
    return JSON | ANTHROPIC_VERSION if path == MESSAGES else dict(JSON)


def invalid_status(path: str) -> int:
    """The status of a request that fails validation: TGI answers 422, the others 400."""
    return 422 if protocol_of(path) == "tgi" else 400


def chat_with(content: bytes) -> bytes:
    """A chat body whose only message has the raw JSON `content` (bytes spliced in as they are)."""
    return b'{"model": "m", "messages": [{"role": "user", "content": ' + content + b"}]}"


def chat_plus(raw_field: bytes) -> bytes:
    """A valid chat body with one more raw `"key": value` member spliced in."""
    return b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], ' + raw_field + b"}"


def nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_objects(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


@dataclass(frozen=True)
class Bad:
    """One request and the answer it must get.

    `param` is the field the answer names: OpenAI's `param`, or a part of the message of an
    Anthropic or TGI error (whose envelopes have no `param`).
    """

    name: str
    path: str
    body: bytes | None
    status: int
    param: str | None = None
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))

    @property
    def protocol(self) -> Protocol:
        return protocol_of(self.path, self.method)


HAND_TABLE = [
    # Not JSON, or not one JSON object.
    Bad("empty body", CHAT, b"", 400),
    Bad("whitespace only", CHAT, b"   \n", 400),
    Bad("truncated JSON", CHAT, b'{"model": "m", "messages": [', 400),
    Bad("trailing comma", CHAT, chat_plus(b'"x": 1,'), 400),
    Bad("single quotes", CHAT, b"{'model': 'm'}", 400),
    Bad("NaN literal", CHAT, chat_plus(b'"max_tokens": NaN'), 400),
    Bad("Infinity literal", CHAT, chat_plus(b'"max_tokens": Infinity'), 400),
    Bad("two JSON values", CHAT, chat_plus(b'"x": 1') + b'{"a": 1}', 400),
    Bad("trailing garbage", CHAT, chat_plus(b'"x": 1') + b" garbage", 400),
    Bad("a byte-order mark", CHAT, b"\xef\xbb\xbf" + chat_plus(b'"x": 1'), 400),
    Bad("null", CHAT, b"null", 400),
    Bad("a string", CHAT, b'"hello"', 400),
    Bad("a number", COMPLETIONS, b"1", 400),
    Bad("an array", EMBEDDINGS, b"[]", 400),
    Bad(
        "form data",
        CHAT,
        b"model=m&messages=x",
        400,
        headers={"content-type": "application/x-www-form-urlencoded"},
    ),
    # Content-Type is not checked (see the module docstring).
    Bad(
        "valid JSON sent as text/plain",
        CHAT,
        chat_plus(b'"x": 1'),
        200,
        headers={"content-type": "text/plain"},
    ),
    Bad("valid JSON with no Content-Type", CHAT, chat_plus(b'"x": 1'), 200, headers={}),
    # Invalid UTF-8.
    Bad("a 0xff byte in a string", CHAT, chat_with(b'"\xff"'), 400),
    Bad("a truncated multibyte sequence", CHAT, chat_with(b'"\xe2\x82"'), 400),
    Bad("an overlong encoding", CHAT, chat_with(b'"\xc0\xaf"'), 400),
    Bad("a UTF-8 encoded surrogate", CHAT, chat_with(b'"\xed\xa0\x80"'), 400),
    Bad("a 0xff byte outside any string", CHAT, b"\xff" + chat_plus(b'"x": 1'), 400),
    # An unknown field is skipped unread, as every unknown field is: its bytes are not validated.
    Bad("a 0xff byte in an unknown field", CHAT, chat_plus(b'"x": "\xff"'), 200),
    # Lone surrogates, escaped: valid JSON syntax, but no Unicode text.
    Bad("a lone high surrogate", CHAT, chat_with(b'"\\ud800"'), 400),
    Bad("a lone low surrogate", CHAT, chat_with(b'"\\udc00 x"'), 400),
    Bad("a high surrogate then a letter", CHAT, chat_with(b'"\\ud800\\u0041"'), 400),
    Bad("a lone surrogate in the model", CHAT, b'{"model": "\\ud800", "messages": []}', 400),
    Bad("a lone surrogate in a key", CHAT, chat_plus(b'"\\ud800": 1'), 400),
    Bad("a surrogate pair is fine", CHAT, chat_with(b'"\\ud83d\\ude00"'), 200),
    # Control characters: escaped they are text, raw they are not JSON.
    Bad("escaped control characters", CHAT, chat_with(b'"\\u0000\\u0001\\u001f\\b\\f"'), 200),
    Bad(
        "escaped control characters in the model",
        CHAT,
        b'{"model": "\\u0000", "messages": [{"role": "user"}]}',
        200,
    ),
    Bad("a raw control character", CHAT, chat_with(b'"\x01"'), 400),
    Bad("a raw newline in a string", CHAT, chat_with(b'"a\nb"'), 400),
    # Numbers out of range.
    Bad("max_tokens 1e308", CHAT, chat_plus(b'"max_tokens": 1e308'), 400, "max_tokens"),
    Bad("max_tokens -1e308", CHAT, chat_plus(b'"max_tokens": -1e308'), 400, "max_tokens"),
    Bad("max_tokens 1e309 (overflows a double)", CHAT, chat_plus(b'"max_tokens": 1e309'), 400, "max_tokens"),
    Bad("max_tokens 10**30", CHAT, chat_plus(b'"max_tokens": ' + str(10**30).encode()), 400, "max_tokens"),
    Bad("max_tokens of 5000 digits", CHAT, chat_plus(b'"max_tokens": ' + b"9" * 5000), 400, "max_tokens"),
    Bad("max_tokens -1", CHAT, chat_plus(b'"max_tokens": -1'), 400, "max_tokens"),
    Bad("max_tokens 2.0", CHAT, chat_plus(b'"max_tokens": 2.0'), 400, "max_tokens"),
    Bad("min_tokens -1", CHAT, chat_plus(b'"min_tokens": -1'), 400, "min_tokens"),
    Bad("min_tokens 10**30", CHAT, chat_plus(b'"min_tokens": ' + str(10**30).encode()), 400, "min_tokens"),
    Bad(
        "dimensions 1e308",
        EMBEDDINGS,
        b'{"model": "m", "input": "x", "dimensions": 1e308}',
        400,
        "dimensions",
    ),
    Bad("dimensions -1", EMBEDDINGS, b'{"model": "m", "input": "x", "dimensions": -1}', 400, "dimensions"),
    Bad("token id -1", COMPLETIONS, b'{"model": "m", "prompt": [-1]}', 400, "prompt[0]"),
    Bad("token id 1e308", COMPLETIONS, b'{"model": "m", "prompt": [1e308]}', 400, "prompt[0]"),
    Bad("nested token id -1", EMBEDDINGS, b'{"model": "m", "input": [[3, -1]]}', 400, "input[0][1]"),
    # A token id has no upper bound: any id is a token, and it has no text.
    Bad("token id 10**30", COMPLETIONS, b'{"model": "m", "prompt": [' + str(10**30).encode() + b"]}", 200),
    Bad("a huge number in an unknown field", CHAT, chat_plus(b'"best_of": ' + b"9" * 100_000), 200),
    Bad("a huge seed", CHAT, chat_plus(b'"seed": ' + b"9" * 100_000), 400, "seed"),
    Bad("1e99999 in an unknown field", CHAT, chat_plus(b'"temperature": 1e99999'), 200),
    # Deep nesting.
    Bad(f"{DEPTH} nested arrays in an unknown field", CHAT, chat_plus(b'"x": ' + nested_arrays(DEPTH)), 400),
    Bad(
        f"{DEPTH} nested objects in an unknown field", CHAT, chat_plus(b'"x": ' + nested_objects(DEPTH)), 400
    ),
    Bad(
        f"{DEPTH} nested objects in an unknown field of a message",
        CHAT,
        b'{"model": "m", "messages": [{"role": "user", "x": ' + nested_objects(DEPTH) + b"}]}",
        400,
    ),
    Bad(
        f"{DEPTH} nested arrays as messages",
        CHAT,
        b'{"model": "m", "messages": ' + nested_arrays(DEPTH) + b"}",
        400,
        "messages[0]",
    ),
    Bad(
        f"{DEPTH} nested arrays as content",
        CHAT,
        chat_with(nested_arrays(DEPTH)),
        400,
        "messages[0].content[0]",
    ),
    Bad(
        f"{DEPTH} nested arrays as a prompt",
        COMPLETIONS,
        b'{"model": "m", "prompt": ' + nested_arrays(DEPTH) + b"}",
        400,
        "prompt[0][0]",
    ),
    Bad(
        f"{DEPTH} nested objects as the ranking query",
        RANKING,
        b'{"model": "m", "query": ' + nested_objects(DEPTH) + b', "passages": [{"text": "p"}]}',
        400,
    ),
    Bad(f"{DEPTH} nested arrays as the whole body", EMBEDDINGS, nested_arrays(DEPTH), 400),
    # Model names.
    Bad(
        "a model name of 256 characters",
        CHAT,
        encode({"model": "m" * MAX_MODEL_NAME_CHARS, "messages": [{"role": "user"}]}),
        200,
    ),
    Bad(
        "a model name of 257 characters",
        CHAT,
        encode({"model": "m" * (MAX_MODEL_NAME_CHARS + 1), "messages": [{"role": "user"}]}),
        400,
        "model",
    ),
    Bad(
        "a model name of 100,000 characters",
        EMBEDDINGS,
        encode({"model": "m" * 100_000, "input": "x"}),
        400,
        "model",
    ),
    Bad("an empty model name", RANKING, encode(VALID_BODIES[RANKING] | {"model": ""}), 400, "model"),
    # Routes and methods.
    Bad("an unknown route", "/v1/nothing", None, 404, method="GET"),
    Bad("an unknown route by POST", "/v1/no-such-route", encode(VALID_BODIES[CHAT]), 404),
    Bad("a route below an inference route", CHAT + "/extra", encode(VALID_BODIES[CHAT]), 404),
    Bad("routes are case-sensitive", CHAT.upper(), encode(VALID_BODIES[CHAT]), 404),
    Bad("a path of 8,000 characters", "/v1/" + "x" * 8000, None, 404, method="GET"),
    *[
        Bad(f"{method} on {path}", path, None, 405, method=method)
        for method in ("GET", "PUT", "DELETE", "PATCH")
        for path in POST_ROUTES
    ],
    Bad("POST on /health", "/health", b"{}", 405),
    Bad("PUT on /", "/", b"{}", 405, method="PUT"),
    Bad("DELETE on /v1/models", "/v1/models", None, 405, method="DELETE"),
    Bad("POST on the DCGM metrics", "/dcgm1/metrics", b"{}", 405),
    Bad("POST on the OpenAPI document", "/openapi.json", b"{}", 405),
]

# --- the generated table: every field of every request, every wrong JSON type ------------

# One value of each JSON type.
JSON_VALUES: dict[str, Any] = {
    "null": None,
    "boolean": True,
    "integer": 7,
    "number": 1.5,
    "string": "x",
    "array": [],
    "object": {},
}
_KIND_OF_INFO: dict[type[Any], set[str]] = {
    msgspec.inspect.NoneType: {"null"},
    msgspec.inspect.BoolType: {"boolean"},
    msgspec.inspect.IntType: {"integer"},
    msgspec.inspect.FloatType: {"integer", "number"},
    msgspec.inspect.StrType: {"string"},
    msgspec.inspect.ListType: {"array"},
    msgspec.inspect.StructType: {"object"},
    msgspec.inspect.DictType: {"object"},
    msgspec.inspect.AnyType: set(JSON_VALUES),
}
# The `type` of a tagged block (Anthropic's content blocks) is a string.
TAG_INFO = msgspec.inspect.type_info(str)

# A JSON schema for the tools and structured output of the bodies below.
WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
IMAGE_SOURCE = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
GENERATE_BODY: dict[str, Any] = {
    "inputs": "hi",
    "parameters": {
        "max_new_tokens": 5,
        "details": True,
        "stop": ["\n\n"],
        "seed": 1,
        "top_n_tokens": 2,
        "decoder_input_details": False,
        "return_full_text": False,
    },
    "stream": False,
}
# Valid bodies with every optional field and every nested object present, so that every field
# of every Struct has a place in them (every element of a list is walked: the Anthropic
# messages hold one block of each type). Prompts and inputs are lists of token-id lists to
# reach the ids.
FULL_BODIES: dict[str, dict[str, Any]] = {
    "chat": {
        "model": "m",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "content": "sunny"},
        ],
        "max_completion_tokens": 50,
        "max_tokens": 50,
        "reasoning_effort": "low",
        "stream": False,
        "stream_options": {"include_usage": True, "continuous_usage_stats": False},
        "n": 1,
        "seed": 1,
        "stop": ["\n\n"],
        "logprobs": True,
        "top_logprobs": 2,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "The weather in a city.",
                    "parameters": WEATHER_SCHEMA,
                    "strict": True,
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": True,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "answer", "description": "d", "schema": WEATHER_SCHEMA, "strict": True},
        },
        "min_tokens": 1,
        "ignore_eos": False,
    },
    "completions": {
        "model": "m",
        "prompt": [[1, 2]],
        "max_tokens": 5,
        "stream": False,
        "stream_options": {"include_usage": True, "continuous_usage_stats": False},
        "n": 1,
        "seed": 1,
        "stop": ["\n\n"],
        "logprobs": 2,
        "min_tokens": 1,
        "ignore_eos": False,
    },
    "embeddings": {
        "input": [[1, 2]],
        "model": "m",
        "encoding_format": "float",
        "dimensions": 8,
        "input_type": "query",
        "truncate": "END",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "hi"},
                    {"type": "image_url", "image_url": {"url": "data:,"}},
                ],
            }
        ],
    },
    "ranking": {"model": "m", "query": {"text": "q"}, "passages": [{"text": "p"}]},
    "responses": {
        "model": "m",
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
            {
                "type": "function_call_output",
                "call_id": "call_1",
                "output": [{"type": "input_text", "text": "sunny"}],
            },
        ],
        "instructions": "Be brief.",
        "max_output_tokens": 64,
        "reasoning": {"effort": "low", "summary": "auto"},
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "The weather in a city.",
                "parameters": WEATHER_SCHEMA,
                "strict": True,
            }
        ],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "text": {
            "format": {
                "type": "json_schema",
                "name": "answer",
                "schema": WEATHER_SCHEMA,
                "strict": True,
                "description": "d",
            }
        },
        "stream": False,
        "parallel_tool_calls": True,
    },
    "messages": {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral", "ttl": "5m"}},
                    {"type": "image", "source": IMAGE_SOURCE},
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "doc"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "xx"},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "is_error": False,
                        "content": [
                            {"type": "text", "text": "sunny"},
                            {"type": "image", "source": IMAGE_SOURCE},
                        ],
                    }
                ],
            },
        ],
        "max_tokens": 2048,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "stop_sequences": ["\n\n"],
        "stream": False,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "tools": [
            {
                "name": "get_weather",
                "description": "The weather in a city.",
                "input_schema": WEATHER_SCHEMA,
                "type": "custom",
                "cache_control": {"type": "ephemeral"},
            }
        ],
        # Thinking allows no forced tool use: `auto`, with `name` absent (it is generated too).
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    },
    "generate": GENERATE_BODY,
    "generate_stream": GENERATE_BODY,
}

Path = tuple[str | int, ...]


class Site(NamedTuple):
    """A place in a body: its path, its type, and `Struct.field` when it is a Struct's field."""

    path: Path
    info: Any
    owner: str | None = None


def _members(info: Any) -> list[Any]:
    return list(info.types) if isinstance(info, msgspec.inspect.UnionType) else [info]


def accepted_kinds(info: Any) -> set[str]:
    """The JSON types a field of type `info` accepts."""
    kinds: set[str] = set()
    for member in _members(info):
        if isinstance(member, msgspec.inspect.LiteralType):
            kinds |= {"string" if isinstance(value, str) else "integer" for value in member.values}
        else:
            kinds |= _KIND_OF_INFO[type(member)]
    return kinds


def _struct_of(info: Any, value: dict[str, Any]) -> Any:
    """The Struct of a union that `value` decodes as: the one its tag names, if tagged."""
    structs = [member for member in _members(info) if isinstance(member, msgspec.inspect.StructType)]
    for struct in structs:
        if struct.tag_field is None or value.get(struct.tag_field) == struct.tag:
            return struct
    return None


def field_sites(info: Any, value: Any, path: Path = ()) -> Iterator[Site]:
    """Every place below `value` (which has the type `info`) and its type.

    Every field of a Struct is a place, present in `value` or not; the walk goes on below the
    fields present, and into every element of a list.
    """
    if isinstance(value, dict):
        struct = _struct_of(info, value)
        if struct is None:
            return
        owner = struct.cls.__name__
        if struct.tag_field is not None:
            yield Site((*path, struct.tag_field), TAG_INFO, f"{owner}.{struct.tag_field}")
        for struct_field in struct.fields:
            field_path = (*path, struct_field.encode_name)
            yield Site(field_path, struct_field.type, f"{owner}.{struct_field.encode_name}")
            if struct_field.encode_name in value:
                yield from field_sites(struct_field.type, value[struct_field.encode_name], field_path)
    elif isinstance(value, list):
        lists = [member for member in _members(info) if isinstance(member, msgspec.inspect.ListType)]
        for index, element in enumerate(value if lists else ()):
            yield Site((*path, index), lists[0].item_type)
            yield from field_sites(lists[0].item_type, element, (*path, index))


def struct_fields(info: Any, seen: set[str] | None = None) -> set[str]:
    """`Struct.field` of every field of every Struct reachable from the type `info`."""
    seen = set() if seen is None else seen
    found: set[str] = set()
    for member in _members(info):
        if isinstance(member, msgspec.inspect.StructType) and member.cls.__name__ not in seen:
            name = member.cls.__name__
            seen.add(name)
            if member.tag_field is not None:
                found.add(f"{name}.{member.tag_field}")
            for struct_field in member.fields:
                found.add(f"{name}.{struct_field.encode_name}")
                found |= struct_fields(struct_field.type, seen)
        elif isinstance(member, msgspec.inspect.ListType):
            found |= struct_fields(member.item_type, seen)
        elif isinstance(member, msgspec.inspect.DictType):
            found |= struct_fields(member.value_type, seen)
    return found


def param_of(path: Path) -> str:
    """`("messages", 0, "role")` -> `messages[0].role`, as the server names a field."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.removeprefix(".")


def replaced(body: Any, path: Path, value: Any) -> Any:
    """A copy of `body` with the element at `path` replaced by `value`."""
    result = copy.deepcopy(body)
    target = result
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return result


def route_sites(route: str) -> Iterator[Site]:
    """Every place in the full body of `route`."""
    return field_sites(msgspec.inspect.type_info(ROUTE_REQUEST_TYPES[route]), FULL_BODIES[route])


def generated_table() -> list[Bad]:
    table = []
    for route in ROUTE_REQUEST_TYPES:
        body = FULL_BODIES[route]
        path = ROUTE_PATHS[route]
        for site in route_sites(route):
            for kind in sorted(set(JSON_VALUES) - accepted_kinds(site.info)):
                param = param_of(site.path)
                wrong = encode(replaced(body, site.path, JSON_VALUES[kind]))
                name = f"{route} {param} as {kind}"
                table.append(Bad(name, path, wrong, invalid_status(path), param, headers=headers_for(path)))
    return table


GENERATED_TABLE = generated_table()
# The real server gets every seventh generated case: a sample across routes and fields.
GENERATED_SAMPLE = GENERATED_TABLE[::7]


def test_the_generated_table_covers_every_field_of_every_request() -> None:
    assert set(ROUTE_PATHS) == set(ROUTE_REQUEST_TYPES)
    covered = {bad.param for bad in GENERATED_TABLE}
    for route, request_type in ROUTE_REQUEST_TYPES.items():
        for struct_field in msgspec.inspect.type_info(request_type).fields:
            assert struct_field.encode_name in covered, (route, struct_field.encode_name)
    expected_nested = {"messages[0].role", "messages[0].content[0].text", "stream_options.include_usage"}
    assert expected_nested | {"prompt[0][0]", "input[0]", "query.text", "passages[0].text"} <= covered
    assert len(GENERATED_TABLE) > 100


@pytest.mark.parametrize("route", list(ROUTE_REQUEST_TYPES))
def test_the_generated_table_reaches_every_field_of_every_struct(route: str) -> None:
    """Every field of every Struct a request holds (tool schemas, content blocks...) gets wrong types."""
    reached = {site.owner for site in route_sites(route) if set(JSON_VALUES) - accepted_kinds(site.info)}
    missing = struct_fields(msgspec.inspect.type_info(ROUTE_REQUEST_TYPES[route])) - reached
    assert not missing, f"FULL_BODIES[{route!r}] has no place for {sorted(missing)}"


def test_the_full_bodies_are_valid(in_process: TestClient[Any]) -> None:
    """The wrong value is the only thing wrong with a generated case."""
    for route, body in FULL_BODIES.items():
        path = ROUTE_PATHS[route]
        response = in_process.post(path, content=encode(body), headers=headers_for(path))
        assert response.status_code == 200, (route, response.text[:500])


# --- transports ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_server(shared_cli_server: StartCliServer) -> CliServer:
    return shared_cli_server(settings_args(INSTANT))


@pytest.fixture(scope="module")
def real_client(real_server: CliServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=real_server.base_url, timeout=30.0, trust_env=False) as client:
        yield client


def send(client: httpx.Client, bad: Bad) -> httpx.Response:
    return client.request(bad.method, bad.path, content=bad.body, headers=bad.headers)


# Anthropic's error `type` for each status; any other 4xx is an `invalid_request_error`.
ANTHROPIC_ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}
# TGI's `error_type` for the statuses its clients tell apart.
TGI_ERROR_TYPES = {422: "validation", 429: "overloaded"}


def _json_error_body(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict), body
    return body


def _assert_message(message: object) -> str:
    assert isinstance(message, str)
    assert message
    assert "Traceback" not in message
    return message


def assert_anthropic_envelope(response: httpx.Response) -> dict[str, Any]:
    """The response is exactly Anthropic's error envelope, typed by its status; return its inside."""
    body = _json_error_body(response)
    assert set(body) == {"type", "error"}, body
    assert body["type"] == "error", body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"type", "message"}, error
    _assert_message(error["message"])
    status = response.status_code
    assert error["type"] == ANTHROPIC_ERROR_TYPES.get(status, "invalid_request_error"), (status, error)
    return error


def assert_tgi_envelope(response: httpx.Response) -> dict[str, Any]:
    """The response is exactly TGI's error shape, `{"error": ..., "error_type": ...}`; return it."""
    body = _json_error_body(response)
    assert set(body) == {"error", "error_type"}, body
    _assert_message(body["error"])
    assert isinstance(body["error_type"], str)
    assert body["error_type"]
    if response.status_code in TGI_ERROR_TYPES:
        assert body["error_type"] == TGI_ERROR_TYPES[response.status_code], body
    return body


def error_message(response: httpx.Response, protocol: Protocol) -> str:
    """The message of an error in `protocol`'s envelope (checked to be exactly that envelope)."""
    if protocol == "anthropic":
        return _assert_message(assert_anthropic_envelope(response)["message"])
    if protocol == "tgi":
        return _assert_message(assert_tgi_envelope(response)["error"])
    return _assert_message(assert_envelope(response)["message"])


def assert_error_names(response: httpx.Response, protocol: Protocol, param: str | None) -> None:
    """An error in `protocol`'s envelope that names `param`: OpenAI's `param` (a 4xx is an
    `invalid_request_error`), or the message of the envelopes that have no `param`.
    """
    message = error_message(response, protocol)
    if protocol == "openai":
        error = response.json()["error"]
        if response.status_code < 500:
            assert error["type"] == "invalid_request_error", error
        assert error["param"] == param, error
    elif param is not None:
        assert param in message, (param, message)


def assert_served(response: httpx.Response, protocol: Protocol) -> None:
    """A 200 in `protocol`'s success shape (a stream: some events)."""
    if response.headers["content-type"].startswith("text/event-stream"):
        assert response.text
        return
    body = response.json()
    if protocol == "anthropic":
        assert body["type"] == "message", body
    elif protocol == "tgi":
        assert isinstance(body["generated_text"], str), body
    else:
        assert body["object"] in {"chat.completion", "text_completion", "list", "response"}, body


def assert_answer(response: httpx.Response, bad: Bad) -> None:
    assert response.status_code == bad.status, response.text[:500]
    if bad.status >= 400:
        assert_error_names(response, bad.protocol, bad.param)
        if bad.status == 405:
            assert "allow" in response.headers
    else:
        assert_served(response, bad.protocol)


@pytest.mark.parametrize("bad", HAND_TABLE, ids=[bad.name for bad in HAND_TABLE])
def test_in_process_bad_input_gets_a_4xx_envelope(in_process: TestClient[Any], bad: Bad) -> None:
    assert_answer(send(in_process, bad), bad)


@pytest.mark.parametrize("bad", GENERATED_TABLE, ids=[bad.name for bad in GENERATED_TABLE])
def test_in_process_a_wrong_type_is_a_400_naming_the_field(in_process: TestClient[Any], bad: Bad) -> None:
    assert_answer(send(in_process, bad), bad)


@pytest.mark.e2e
@pytest.mark.parametrize("bad", HAND_TABLE, ids=[bad.name for bad in HAND_TABLE])
def test_on_the_real_server_bad_input_gets_a_4xx_envelope(real_client: httpx.Client, bad: Bad) -> None:
    assert_answer(send(real_client, bad), bad)


@pytest.mark.e2e
@pytest.mark.parametrize("bad", GENERATED_SAMPLE, ids=[bad.name for bad in GENERATED_SAMPLE])
def test_on_the_real_server_a_wrong_type_is_a_400_naming_the_field(
    real_client: httpx.Client, bad: Bad
) -> None:
    assert_answer(send(real_client, bad), bad)


@pytest.mark.e2e
def test_the_real_server_is_healthy_and_logged_no_traceback(
    real_server: CliServer, real_client: httpx.Client
) -> None:
    assert_healthy(real_server.base_url)
    log = real_server.log_text()
    assert "Traceback" not in log
    assert "unhandled exception" not in log
    assert real_client.post(CHAT, json=VALID_BODIES[CHAT]).status_code == 200


# --- hypothesis ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=20,
)
# Text a client can encode: no lone surrogates.
encodable_text = st.text(st.characters(codec="utf-8"))
encodable_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | encodable_text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(encodable_text, children, max_size=5),
    max_leaves=20,
)
KNOWN_FIELD_NAMES = {
    struct_field.encode_name
    for request_type in REQUEST_TYPES.values()
    for struct_field in msgspec.inspect.type_info(request_type).fields
}
unknown_field_names = encodable_text.filter(lambda name: name not in KNOWN_FIELD_NAMES)
FIELD_PATHS = [(route, site.path) for route in REQUEST_TYPES for site in route_sites(route)]


def as_json(value: Any) -> bytes:
    # json.dumps writes NaN and Infinity (not JSON) and escapes lone surrogates as \udXXX:
    # both are things a careless or hostile client sends.
    return json.dumps(value).encode()


def assert_no_server_error(response: httpx.Response, error_log: ErrorLog) -> None:
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        assert_envelope(response)
    elif response.headers["content-type"].startswith("text/event-stream"):
        assert response.text.endswith("data: [DONE]\n\n")
    else:
        assert isinstance(response.json(), dict)
    assert error_log.records == []


@given(path=st.sampled_from(POST_ROUTES), value=json_values)
def test_arbitrary_json_as_the_body_never_gets_a_5xx(
    in_process: TestClient[Any], error_log: ErrorLog, path: str, value: Any
) -> None:
    response = in_process.post(path, content=as_json(value), headers=JSON)
    assert_no_server_error(response, error_log)
    assert response.status_code == 400


@given(field=st.sampled_from(FIELD_PATHS), value=json_values)
def test_arbitrary_json_in_any_field_never_gets_a_5xx(
    in_process: TestClient[Any], error_log: ErrorLog, field: tuple[str, Path], value: Any
) -> None:
    route, path = field
    body = replaced(FULL_BODIES[route], path, value)
    response = in_process.post(ROUTE_PATHS[route], content=as_json(body), headers=JSON)
    assert_no_server_error(response, error_log)


@given(
    path=st.sampled_from(POST_ROUTES),
    extra=st.dictionaries(unknown_field_names, encodable_json_values, max_size=5),
)
def test_unknown_fields_of_any_shape_are_ignored(
    in_process: TestClient[Any], error_log: ErrorLog, path: str, extra: dict[str, Any]
) -> None:
    body = extra | VALID_BODIES[path]
    response = in_process.post(path, content=as_json(body), headers=JSON)
    assert_no_server_error(response, error_log)
    assert response.status_code == 200


@given(path=st.sampled_from(POST_ROUTES), body=st.binary(max_size=200))
def test_arbitrary_bytes_never_get_a_5xx(
    in_process: TestClient[Any], error_log: ErrorLog, path: str, body: bytes
) -> None:
    response = in_process.post(path, content=body, headers=JSON)
    assert_no_server_error(response, error_log)


def test_the_app_is_healthy_after_the_bad_input(in_process: TestClient[Any], error_log: ErrorLog) -> None:
    assert in_process.get("/health").status_code == 200
    assert error_log.records == []
