"""SPEC sections 2 and 11: every bad request gets the OpenAI error envelope, in process and on
a real Granian server alike.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from mockcore import Settings, predict
from mockhttp import create_app

INSTANT = Settings(ttft=0.0, itl=0.0)
CHAT = "/v1/chat/completions"
USER = [{"role": "user", "content": "hi"}]
BODY_LIMIT_BYTES = Settings().max_request_bytes  # 10 MiB by default


@dataclass(frozen=True)
class BadRequest:
    """A request the server must refuse, and how."""

    name: str
    path: str
    body: bytes | None
    status: int
    param: str | None
    method: str = "POST"


def body_of(value: Any) -> bytes:
    return json.dumps(value).encode()


def chat(**fields: Any) -> bytes:
    return body_of({"model": "m", "messages": USER} | fields)


BAD_REQUESTS = [
    BadRequest("malformed JSON", CHAT, b'{"model": "m", "messages": [', 400, None),
    BadRequest("not JSON at all", CHAT, b"model=m", 400, None),
    BadRequest("empty body", CHAT, b"", 400, None),
    BadRequest("JSON but not an object", CHAT, b"[]", 400, None),
    BadRequest("max_tokens as a string", CHAT, chat(max_tokens="5"), 400, "max_tokens"),
    BadRequest("stream as a string", CHAT, chat(stream="yes"), 400, "stream"),
    BadRequest("missing model", CHAT, body_of({"messages": USER}), 400, "model"),
    BadRequest("empty model", CHAT, body_of({"model": "", "messages": USER}), 400, "model"),
    BadRequest("missing messages", CHAT, body_of({"model": "m"}), 400, "messages"),
    BadRequest("empty messages", CHAT, chat(messages=[]), 400, "messages"),
    BadRequest(
        "invalid role", CHAT, chat(messages=[{"role": "robot", "content": "x"}]), 400, "messages[0].role"
    ),
    BadRequest("missing role", CHAT, chat(messages=[{"content": "x"}]), 400, "messages[0].role"),
    BadRequest(
        "invalid role of a later message",
        CHAT,
        chat(messages=[*USER, {"role": 7, "content": "x"}]),
        400,
        "messages[1].role",
    ),
    BadRequest("max_tokens zero", CHAT, chat(max_tokens=0), 400, "max_tokens"),
    BadRequest(
        "max_completion_tokens negative", CHAT, chat(max_completion_tokens=-1), 400, "max_completion_tokens"
    ),
    BadRequest("min_tokens above max_tokens", CHAT, chat(max_tokens=5, min_tokens=6), 400, "min_tokens"),
    BadRequest(
        "min_tokens above max_completion_tokens",
        CHAT,
        chat(max_completion_tokens=5, min_tokens=9),
        400,
        "min_tokens",
    ),
    BadRequest("unknown reasoning_effort", CHAT, chat(reasoning_effort="extreme"), 400, "reasoning_effort"),
    BadRequest("missing prompt", "/v1/completions", body_of({"model": "m"}), 400, "prompt"),
    BadRequest("mixed prompt", "/v1/completions", body_of({"model": "m", "prompt": ["a", 1]}), 400, "prompt"),
    BadRequest(
        "min_tokens above max_tokens in completions",
        "/v1/completions",
        body_of({"model": "m", "prompt": "p", "max_tokens": 2, "min_tokens": 3}),
        400,
        "min_tokens",
    ),
    BadRequest("missing input", "/v1/embeddings", body_of({"model": "m"}), 400, "input"),
    BadRequest(
        "dimensions zero",
        "/v1/embeddings",
        body_of({"model": "m", "input": "x", "dimensions": 0}),
        400,
        "dimensions",
    ),
    BadRequest(
        "dimensions 769",
        "/v1/embeddings",
        body_of({"model": "m", "input": "x", "dimensions": 769}),
        400,
        "dimensions",
    ),
    BadRequest(
        "unknown encoding_format",
        "/v1/embeddings",
        body_of({"model": "m", "input": "x", "encoding_format": "int8"}),
        400,
        "encoding_format",
    ),
    BadRequest(
        "ranking without query text",
        "/v1/ranking",
        body_of({"model": "m", "query": {}, "passages": [{"text": "a"}]}),
        400,
        "query.text",
    ),
    BadRequest(
        "ranking without passages",
        "/v1/ranking",
        body_of({"model": "m", "query": {"text": "q"}}),
        400,
        "passages",
    ),
    BadRequest(
        "ranking with no passages",
        "/v1/ranking",
        body_of({"model": "m", "query": {"text": "q"}, "passages": []}),
        400,
        "passages",
    ),
    BadRequest("unknown route", "/v1/nothing", None, 404, None, method="GET"),
    BadRequest("unknown route by POST", "/v2/chat/completions", chat(), 404, None),
    BadRequest("GET on a POST route", CHAT, None, 405, None, method="GET"),
    BadRequest("POST on a GET route", "/health", b"{}", 405, None),
    BadRequest("DELETE on models", "/v1/models", None, 405, None, method="DELETE"),
    BadRequest("body over the size limit", CHAT, b" " * (BODY_LIMIT_BYTES + 1), 413, None),
]


class Sender:
    """Sends raw requests to one transport."""

    def __init__(self, client: httpx.Client | TestClient) -> None:  # type: ignore[type-arg]
        self._client = client

    def send(self, request: BadRequest) -> httpx.Response:
        headers = {"content-type": "application/json"} if request.body is not None else {}
        return self._client.request(request.method, request.path, content=request.body, headers=headers)


@pytest.fixture(scope="module", params=["in-process", pytest.param("granian", marks=pytest.mark.e2e)])
def sender(request: pytest.FixtureRequest) -> Iterator[Sender]:
    if request.param == "in-process":
        with TestClient(create_app(INSTANT)) as client:
            yield Sender(client)
    else:
        yield Sender(request.getfixturevalue("http"))


def assert_envelope(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["param"] is None or isinstance(error["param"], str)
    assert error["code"] is None or isinstance(error["code"], str)
    result: dict[str, Any] = error
    return result


@pytest.mark.parametrize("bad", BAD_REQUESTS, ids=[bad.name for bad in BAD_REQUESTS])
def test_bad_request_gets_the_error_envelope(sender: Sender, bad: BadRequest) -> None:
    response = sender.send(bad)
    assert response.status_code == bad.status
    error = assert_envelope(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == bad.param


@pytest.mark.parametrize("bad", [bad for bad in BAD_REQUESTS if bad.status == 400], ids=lambda bad: bad.name)
def test_a_400_is_exactly_what_predict_says(sender: Sender, bad: BadRequest) -> None:
    route = {"/v1/chat/completions": "chat", "/v1/completions": "completions"}.get(bad.path)
    route = route or bad.path.removeprefix("/v1/")
    assert bad.body is not None
    prediction = predict(route, bad.body, INSTANT)  # type: ignore[arg-type]
    assert prediction.status_code == 400
    assert prediction.error is not None
    assert sender.send(bad).json()["error"] == {
        "message": prediction.error.message,
        "type": prediction.error.type,
        "param": prediction.error.param,
        "code": prediction.error.code,
    }


def test_a_bad_streaming_request_is_answered_as_json_not_sse(sender: Sender) -> None:
    response = sender.send(BadRequest("bad stream", CHAT, chat(stream=True, max_tokens=0), 400, "max_tokens"))
    assert response.status_code == 400
    assert_envelope(response)


def test_a_body_of_exactly_the_limit_is_read(sender: Sender) -> None:
    head = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]'
    body = head + b" " * (BODY_LIMIT_BYTES - len(head) - 1) + b"}"
    assert len(body) == BODY_LIMIT_BYTES
    response = sender.send(BadRequest("large but fine", CHAT, body, 200, None))
    assert response.status_code == 200
