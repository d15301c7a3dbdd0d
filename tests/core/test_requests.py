"""SPEC sections 2 and 11: what a valid request is, and the `param` of every 400."""

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.strategies import UNICODE_CHARACTERS, chat_payloads, ranking_payloads, routed_payloads

from mockcore import Route, predict
from mockcore.requests import REQUEST_TYPES

USER = [{"role": "user", "content": "hello"}]
CHAT = {"model": "m", "messages": USER}
COMPLETION = {"model": "m", "prompt": "hello"}
EMBEDDING = {"model": "m", "input": "hello"}
RANKING = {"model": "m", "query": {"text": "q"}, "passages": [{"text": "a"}]}

BAD_PAYLOADS: list[tuple[Route, dict[str, Any], str]] = [
    # chat
    ("chat", {"messages": USER}, "model"),
    ("chat", CHAT | {"model": ""}, "model"),
    ("chat", CHAT | {"model": 5}, "model"),
    ("chat", {"model": "m"}, "messages"),
    ("chat", CHAT | {"messages": []}, "messages"),
    ("chat", CHAT | {"messages": "hello"}, "messages"),
    ("chat", CHAT | {"messages": [{"role": "bot", "content": "x"}]}, "messages[0].role"),
    ("chat", CHAT | {"messages": [*USER, {"content": "x"}]}, "messages[1].role"),
    ("chat", CHAT | {"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    (
        "chat",
        CHAT | {"messages": [{"role": "user", "content": [{"text": "x"}]}]},
        "messages[0].content[0].type",
    ),
    (
        "chat",
        CHAT | {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
        "messages[0].content[0].text",
    ),
    ("chat", CHAT | {"max_tokens": "5"}, "max_tokens"),
    ("chat", CHAT | {"max_tokens": 5.0}, "max_tokens"),
    ("chat", CHAT | {"max_tokens": True}, "max_tokens"),
    ("chat", CHAT | {"max_tokens": 0}, "max_tokens"),
    ("chat", CHAT | {"max_completion_tokens": -1}, "max_completion_tokens"),
    ("chat", CHAT | {"min_tokens": -1}, "min_tokens"),
    ("chat", CHAT | {"max_tokens": 4, "min_tokens": 5}, "min_tokens"),
    ("chat", CHAT | {"reasoning_effort": "extreme"}, "reasoning_effort"),
    ("chat", CHAT | {"reasoning_effort": "HIGH"}, "reasoning_effort"),
    ("chat", CHAT | {"stream": "yes"}, "stream"),
    ("chat", CHAT | {"ignore_eos": "true"}, "ignore_eos"),
    ("chat", CHAT | {"stream_options": {"include_usage": "yes"}}, "stream_options.include_usage"),
    # completions
    ("completions", {"model": "m"}, "prompt"),
    ("completions", {"prompt": "x"}, "model"),
    ("completions", COMPLETION | {"prompt": []}, "prompt"),
    ("completions", COMPLETION | {"prompt": None}, "prompt"),
    ("completions", COMPLETION | {"prompt": 5}, "prompt"),
    ("completions", COMPLETION | {"prompt": ["a", 1]}, "prompt"),
    ("completions", COMPLETION | {"prompt": [1, [2]]}, "prompt"),
    ("completions", COMPLETION | {"prompt": ["a", [2]]}, "prompt"),
    ("completions", COMPLETION | {"prompt": [-1]}, "prompt[0]"),
    ("completions", COMPLETION | {"prompt": [[1], [-2]]}, "prompt[1][0]"),
    ("completions", COMPLETION | {"max_tokens": "5"}, "max_tokens"),
    # embeddings
    ("embeddings", {"model": "m"}, "input"),
    ("embeddings", EMBEDDING | {"input": []}, "input"),
    ("embeddings", EMBEDDING | {"input": ["a", 1]}, "input"),
    ("embeddings", EMBEDDING | {"encoding_format": "int8"}, "encoding_format"),
    ("embeddings", EMBEDDING | {"dimensions": 0}, "dimensions"),
    ("embeddings", EMBEDDING | {"dimensions": 769}, "dimensions"),
    # ranking
    ("ranking", {"model": "m", "passages": [{"text": "a"}]}, "query"),
    ("ranking", RANKING | {"query": {}}, "query.text"),
    ("ranking", RANKING | {"query": "q"}, "query"),
    ("ranking", {"model": "m", "query": {"text": "q"}}, "passages"),
    ("ranking", RANKING | {"passages": []}, "passages"),
    ("ranking", RANKING | {"passages": [{"text": "a"}, {}]}, "passages[1].text"),
]


@pytest.mark.parametrize(
    ("route", "payload", "param"),
    BAD_PAYLOADS,
    ids=[f"{route}-{param}-{index}" for index, (route, _, param) in enumerate(BAD_PAYLOADS)],
)
def test_a_bad_payload_is_a_400_naming_the_field(route: Route, payload: dict[str, Any], param: str) -> None:
    prediction = predict(route, payload)
    assert prediction.status_code == 400
    assert prediction.error is not None
    assert prediction.error.type == "invalid_request_error"
    assert prediction.error.param == param
    assert prediction.error.message


MALFORMED_BODIES = [
    b"",
    b"{",
    b"not json",
    b'{"model": "m",}',
    b'{"model": "\xff", "messages": [{"role": "user", "content": "x"}]}',
    b'{"model": "m", "messages": [{"role": "user", "content": "\\ud800"}]}',
]


@pytest.mark.parametrize("body", MALFORMED_BODIES)
@pytest.mark.parametrize("route", list(REQUEST_TYPES))
def test_malformed_json_is_a_400_without_a_param(route: Route, body: bytes) -> None:
    prediction = predict(route, body)
    assert prediction.status_code == 400
    assert prediction.error is not None
    assert prediction.error.type == "invalid_request_error"
    assert prediction.error.param is None


VALID_BODIES: dict[Route, dict[str, Any]] = {
    "chat": CHAT,
    "completions": COMPLETION,
    "embeddings": EMBEDDING,
    "ranking": RANKING,
}


@pytest.mark.parametrize("route", list(REQUEST_TYPES))
def test_a_valid_object_followed_by_trailing_characters_is_malformed_json(route: Route) -> None:
    prediction = predict(route, msgspec.json.encode(VALID_BODIES[route]) + b" trailing")
    assert prediction.status_code == 400
    assert prediction.error is not None
    assert prediction.error.param is None


@pytest.mark.parametrize("body", [b"[]", b'"hello"', b"null", b"5"])
def test_a_body_that_is_not_an_object_is_a_400_without_a_param(body: bytes) -> None:
    prediction = predict("chat", body)
    assert prediction.status_code == 400
    assert prediction.error is not None
    assert prediction.error.param is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(UNICODE_CHARACTERS),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@given(routed_payloads())
def test_every_generated_payload_is_valid(request: tuple[Route, dict[str, Any]]) -> None:
    route, payload = request
    prediction = predict(route, payload)
    assert prediction.status_code == 200, prediction.error


@given(routed_payloads(), st.dictionaries(st.text(UNICODE_CHARACTERS, max_size=12), json_values, max_size=4))
def test_unknown_top_level_fields_are_ignored(
    request: tuple[Route, dict[str, Any]], extra: dict[str, Any]
) -> None:
    route, payload = request
    known = set(REQUEST_TYPES[route].__struct_fields__)
    unknown = {key: value for key, value in extra.items() if key not in known}
    assert predict(route, payload | unknown) == predict(route, payload)


@given(chat_payloads(), st.dictionaries(st.sampled_from(["name", "refusal", "tool_call_id"]), json_values))
def test_unknown_message_fields_are_ignored(payload: dict[str, Any], extra: dict[str, Any]) -> None:
    messages = [message | extra for message in payload["messages"]]
    assert predict("chat", payload | {"messages": messages}) == predict("chat", payload)


@given(ranking_payloads(), st.dictionaries(st.sampled_from(["id", "metadata"]), json_values))
def test_unknown_query_and_passage_fields_are_ignored(payload: dict[str, Any], extra: dict[str, Any]) -> None:
    changed = payload | {
        "query": payload["query"] | extra,
        "passages": [passage | extra for passage in payload["passages"]],
    }
    assert predict("ranking", changed) == predict("ranking", payload)


@given(st.sampled_from(list(REQUEST_TYPES)), st.binary(max_size=200))
def test_any_bytes_get_an_answer_never_an_exception(route: Route, body: bytes) -> None:
    assert predict(route, body).status_code in {200, 400}


@given(
    st.sampled_from(list(REQUEST_TYPES)),
    st.dictionaries(
        st.sampled_from(
            ["model", "messages", "prompt", "input", "query", "passages", "max_tokens", "min_tokens"]
        ),
        json_values,
    ),
)
def test_any_json_object_gets_an_answer_never_an_exception(route: Route, payload: dict[str, Any]) -> None:
    prediction = predict(route, payload)
    assert prediction.status_code in {200, 400}
    assert (prediction.error is None) == (prediction.status_code == 200)
