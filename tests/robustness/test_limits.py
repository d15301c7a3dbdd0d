"""Every limit, exercised through a real (small) value of its setting.

The table runs in process (Litestar's TestClient) and against the real CLI started with the
same limits as flags. Concurrent streams need connections held open, so that test runs on the
real server only.
"""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from tests.robustness.conftest import (
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
    RANKING,
    StartCliServer,
    assert_envelope,
    assert_healthy,
    encode,
    settings_args,
)

from mockcore import Settings
from mockhttp import create_app

MAX_BYTES = 4096
MAX_ITEMS = 3
MAX_CHARS = 100
MAX_TOKENS = 50
LIMITED = Settings(
    ttft=0.0,
    itl=0.0,
    max_request_bytes=MAX_BYTES,
    max_request_items=MAX_ITEMS,
    max_prompt_chars=MAX_CHARS,
    max_output_tokens=MAX_TOKENS,
)


def message(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def chat(**fields: Any) -> bytes:
    return encode({"model": "m", "messages": [message("hi")]} | fields)


def completion(**fields: Any) -> bytes:
    return encode({"model": "m", "prompt": "hi"} | fields)


def embedding(**fields: Any) -> bytes:
    return encode({"model": "m", "input": "hi"} | fields)


def ranking(**fields: Any) -> bytes:
    return encode({"model": "m", "query": {"text": "q"}, "passages": [{"text": "p"}]} | fields)


def padded(body: bytes, size: int) -> bytes:
    """`body` (a JSON object) grown with whitespace to exactly `size` bytes."""
    assert body.endswith(b"}")
    return body[:-1] + b" " * (size - len(body)) + b"}"


@dataclass(frozen=True)
class Case:
    """A request near a limit and what the server must answer."""

    name: str
    path: str
    body: bytes
    status: int
    param: str | None = None
    flag: str | None = None  # the option the error message must name


OVER = [
    Case("body one byte over", CHAT, padded(chat(), MAX_BYTES + 1), 413, None, "--max-request-bytes"),
    Case("body far over", CHAT, padded(chat(), MAX_BYTES * 16), 413, None, "--max-request-bytes"),
    Case("messages", CHAT, chat(messages=[message("a")] * 4), 400, "messages", "--max-request-items"),
    Case("prompt strings", COMPLETIONS, completion(prompt=["a"] * 4), 400, "prompt", "--max-request-items"),
    Case("prompt id lists", COMPLETIONS, completion(prompt=[[1]] * 4), 400, "prompt", "--max-request-items"),
    Case("input strings", EMBEDDINGS, embedding(input=["a"] * 4), 400, "input", "--max-request-items"),
    Case("input id lists", EMBEDDINGS, embedding(input=[[1]] * 4), 400, "input", "--max-request-items"),
    Case("passages", RANKING, ranking(passages=[{"text": "p"}] * 4), 400, "passages", "--max-request-items"),
    Case("chat chars", CHAT, chat(messages=[message("a" * 101)]), 400, "messages", "--max-prompt-chars"),
    Case(
        "chat chars over two messages",
        CHAT,
        chat(messages=[message("a" * 51), {"role": "assistant", "content": "b" * 50}]),
        400,
        "messages",
        "--max-prompt-chars",
    ),
    Case(
        "chat chars in content parts",
        CHAT,
        chat(messages=[{"role": "user", "content": [{"type": "text", "text": "a" * 51}] * 2}]),
        400,
        "messages",
        "--max-prompt-chars",
    ),
    Case("prompt chars", COMPLETIONS, completion(prompt="a" * 101), 400, "prompt", "--max-prompt-chars"),
    Case(
        "prompt chars over a batch",
        COMPLETIONS,
        completion(prompt=["a" * 60, "b" * 41]),
        400,
        "prompt",
        "--max-prompt-chars",
    ),
    # A token id counts 4 characters: 26 ids are 104.
    Case("prompt token ids", COMPLETIONS, completion(prompt=[7] * 26), 400, "prompt", "--max-prompt-chars"),
    Case("input chars", EMBEDDINGS, embedding(input="a" * 101), 400, "input", "--max-prompt-chars"),
    Case(
        "query and passage chars",
        RANKING,
        ranking(query={"text": "q" * 60}, passages=[{"text": "p" * 41}]),
        400,
        "passages",
        "--max-prompt-chars",
    ),
    Case("chat max_tokens", CHAT, chat(max_tokens=51), 400, "max_tokens", "--max-output-tokens"),
    Case(
        "chat max_completion_tokens",
        CHAT,
        chat(max_completion_tokens=51),
        400,
        "max_completion_tokens",
        "--max-output-tokens",
    ),
    Case("chat min_tokens", CHAT, chat(min_tokens=51), 400, "min_tokens", "--max-output-tokens"),
    Case("chat huge max_tokens", CHAT, chat(max_tokens=10**30), 400, "max_tokens", "--max-output-tokens"),
    Case(
        "completion max_tokens",
        COMPLETIONS,
        completion(max_tokens=51),
        400,
        "max_tokens",
        "--max-output-tokens",
    ),
    Case(
        "completion min_tokens",
        COMPLETIONS,
        completion(min_tokens=51),
        400,
        "min_tokens",
        "--max-output-tokens",
    ),
]

AT = [
    Case("body of exactly the limit", CHAT, padded(chat(), MAX_BYTES), 200),
    Case("as many messages as allowed", CHAT, chat(messages=[message("a")] * 3), 200),
    Case("as many prompts as allowed", COMPLETIONS, completion(prompt=["a"] * 3), 200),
    Case("a flat token-id list is one prompt", COMPLETIONS, completion(prompt=[7] * 25), 200),
    Case("as many inputs as allowed", EMBEDDINGS, embedding(input=["a"] * 3), 200),
    Case("as many passages as allowed", RANKING, ranking(passages=[{"text": "p"}] * 3), 200),
    Case("as many chat chars as allowed", CHAT, chat(messages=[message("a" * 100)]), 200),
    Case("as many prompt chars as allowed", COMPLETIONS, completion(prompt=["a" * 60, "b" * 40]), 200),
    Case("max_tokens at the ceiling", CHAT, chat(max_tokens=50), 200),
    Case("min_tokens at the ceiling", COMPLETIONS, completion(min_tokens=50), 200),
]


@pytest.fixture(scope="module", params=["in-process", pytest.param("cli", marks=pytest.mark.e2e)])
def limited(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """A client of a server with small limits: in process, or the real CLI with the flags."""
    if request.param == "in-process":
        with TestClient(create_app(LIMITED)) as client:
            yield client
    else:
        server = request.getfixturevalue("shared_cli_server")(settings_args(LIMITED))
        with httpx.Client(base_url=server.base_url, timeout=30.0, trust_env=False) as client:
            yield client


def post(client: httpx.Client, path: str, body: bytes) -> httpx.Response:
    return client.post(path, content=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize("case", OVER, ids=[case.name for case in OVER])
def test_a_request_over_a_limit_is_refused_naming_the_field(limited: httpx.Client, case: Case) -> None:
    response = post(limited, case.path, case.body)
    assert response.status_code == case.status, response.text
    error = assert_envelope(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == case.param
    assert error["code"] is None
    assert case.flag is not None
    assert case.flag in error["message"]
    if case.flag != "--max-prompt-chars":  # that one counts the whole prompt, over many fields
        assert case.param is None or f"`{case.param}`" in error["message"]


@pytest.mark.parametrize("case", AT, ids=[case.name for case in AT])
def test_a_request_at_a_limit_is_served(limited: httpx.Client, case: Case) -> None:
    response = post(limited, case.path, case.body)
    assert response.status_code == 200, response.text


def test_a_chunked_body_over_the_limit_is_refused_while_it_is_read(limited: httpx.Client) -> None:
    # No Content-Length: the server counts the bytes as they arrive.
    chunks = [
        b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]',
        b" " * 1000,
        b" " * 4000,
        b"}",
    ]
    response = limited.post(CHAT, content=iter(chunks), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert assert_envelope(response)["param"] is None


@pytest.mark.parametrize("path", [CHAT, COMPLETIONS])
def test_ignore_eos_at_the_ceiling_still_completes(limited: httpx.Client, path: str) -> None:
    body = (chat if path == CHAT else completion)(max_tokens=MAX_TOKENS, ignore_eos=True)
    response = post(limited, path, body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["usage"]["completion_tokens"] == MAX_TOKENS
    assert answer["choices"][0]["finish_reason"] == "length"


def test_an_ignore_eos_stream_at_the_ceiling_sends_every_event(limited: httpx.Client) -> None:
    body = chat(max_tokens=MAX_TOKENS, ignore_eos=True, stream=True)
    response = post(limited, CHAT, body)
    assert response.status_code == 200
    events = [line for line in response.text.split("\n\n") if line.startswith("data: {")]
    assert len(events) == MAX_TOKENS
    assert response.text.endswith("data: [DONE]\n\n")


def test_the_server_is_healthy_after_the_limits(limited: httpx.Client) -> None:
    response = limited.get("/health")
    assert response.status_code == 200
    assert response.json()["config"]["max_output_tokens"] == MAX_TOKENS


# --- concurrent streams, on the real server ---------------------------------------------

STREAM_LIMIT = 2
STREAMS = Settings(ttft=0.0, itl=10.0, max_concurrent_streams=STREAM_LIMIT)
LONG_STREAM = {
    "model": "m",
    "messages": [message("a long story")],
    "max_tokens": 100,  # one second at 10 ms per token
    "ignore_eos": True,
    "stream": True,
}


def open_stream(client: httpx.Client, path: str = CHAT, body: dict[str, Any] = LONG_STREAM) -> httpx.Response:
    """Send a streaming request and return once the status line and headers arrived."""
    request = client.build_request("POST", path, json=body)
    return client.send(request, stream=True)


def assert_too_many_streams(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    error = assert_envelope(response)
    assert error["type"] == "rate_limit_error"
    assert error["code"] == "too_many_streams"
    assert error["param"] is None
    assert "--max-concurrent-streams" in error["message"]


def read_to_the_end(response: httpx.Response) -> str:
    text = response.read().decode()
    response.close()
    return text


@pytest.mark.e2e
def test_streams_over_the_limit_get_429_until_a_slot_frees(shared_cli_server: StartCliServer) -> None:
    server = shared_cli_server(settings_args(STREAMS))
    with httpx.Client(base_url=server.base_url, timeout=30.0, trust_env=False) as client:
        first, second = open_stream(client), open_stream(client)
        assert (first.status_code, second.status_code) == (200, 200)

        third = open_stream(client)
        third.read()
        assert_too_many_streams(third)
        completions_stream = open_stream(client, COMPLETIONS, {"model": "m", "prompt": "x", "stream": True})
        completions_stream.read()
        assert_too_many_streams(completions_stream)
        # Only streams count: a non-streaming request is served meanwhile.
        plain = client.post(CHAT, json={"model": "m", "messages": [message("hi")], "max_tokens": 2})
        assert plain.status_code == 200

        # One stream is read to its end, the other is dropped by its client.
        finishing = threading.Thread(target=read_to_the_end, args=(first,))
        finishing.start()
        second.close()
        finishing.join(30.0)
        assert not finishing.is_alive()

        again = wait_for_stream_slots(client, STREAM_LIMIT)
        assert [response.status_code for response in again] == [200] * STREAM_LIMIT
        texts = [read_to_the_end(response) for response in again]
        assert all(text.endswith("data: [DONE]\n\n") for text in texts)
    assert_healthy(server.base_url)


def wait_for_stream_slots(client: httpx.Client, count: int, within_s: float = 30.0) -> list[httpx.Response]:
    """Open `count` streams at once, retrying (as `Retry-After` invites) until all are admitted."""
    deadline = time.monotonic() + within_s
    while True:
        opened = [open_stream(client) for _ in range(count)]
        if all(response.status_code == 200 for response in opened):
            return opened
        for response in opened:
            response.close()
        assert time.monotonic() < deadline, "the stream slots were never given back"
        time.sleep(0.05)
