"""Every fault kind as the official `openai` SDK sees it from a real server.

The kind is forced per request with `X-Mock-Fault`; the SDK must raise what it raises for a
real server in that situation, and its retries must honour the `Retry-After` of a 429.
"""

import time
from typing import Any

import httpx
import openai
import pytest
from tests.http.conftest import StartServer

from mockcore import Settings, predict

pytestmark = pytest.mark.e2e

DELAY_S = 0.4
SETTINGS = Settings(ttft=0.0, itl=1.0, fault_delay_seconds=DELAY_S)
MESSAGES: list[Any] = [{"role": "user", "content": "tell me something about the weather today"}]
CHAT = {"model": "m", "messages": MESSAGES}
ERROR_KINDS: list[tuple[str, type[openai.APIStatusError], int, str | None]] = [
    ("server_error", openai.InternalServerError, 500, "injected_fault"),
    ("unavailable", openai.InternalServerError, 503, "service_unavailable"),
    ("rate_limit", openai.RateLimitError, 429, "rate_limit_exceeded"),
    ("context_length", openai.BadRequestError, 400, "context_length_exceeded"),
    ("auth", openai.AuthenticationError, 401, "invalid_api_key"),
    ("not_found", openai.NotFoundError, 404, "model_not_found"),
]


@pytest.fixture(scope="module")
def client(start_server: StartServer) -> Any:
    base_url = start_server(SETTINGS)
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key="x", max_retries=0, timeout=20.0) as sdk:
        yield sdk


def _forced(kind: str) -> dict[str, str]:
    return {"X-Mock-Fault": kind}


@pytest.mark.parametrize(
    ("kind", "exception", "status", "code"), ERROR_KINDS, ids=[k[0] for k in ERROR_KINDS]
)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_an_error_fault_raises_the_sdks_exception_for_that_status(  # noqa: PLR0917 - parametrized
    client: openai.OpenAI,
    kind: str,
    exception: type[openai.APIStatusError],
    status: int,
    code: str,
    stream: bool,
) -> None:
    with pytest.raises(exception) as raised:
        client.chat.completions.create(
            model="m", messages=MESSAGES, max_tokens=8, stream=stream, extra_headers=_forced(kind)
        )
    assert raised.value.status_code == status
    assert raised.value.code == code


def test_a_rate_limit_tells_the_sdk_when_to_come_back(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="m", messages=MESSAGES, extra_headers=_forced("rate_limit"))
    headers = raised.value.response.headers
    assert headers["retry-after"] == "1"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert {"x-ratelimit-limit-requests", "x-ratelimit-reset-requests", "x-ratelimit-limit-tokens"} <= set(
        headers
    )


def test_abort_without_streaming_is_a_connection_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=MESSAGES, extra_headers=_forced("abort"))


def test_truncate_without_streaming_is_a_connection_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=MESSAGES, extra_headers=_forced("truncate"))


def test_abort_breaks_a_stream_midway(client: openai.OpenAI) -> None:
    received = []
    with pytest.raises((openai.APIConnectionError, httpx.RemoteProtocolError)):  # noqa: PT012 - the break comes mid-iteration
        for chunk in client.chat.completions.create(
            model="m", messages=MESSAGES, max_tokens=40, stream=True, extra_headers=_forced("abort")
        ):
            received.append(chunk)  # noqa: PERF402 - keeps what came before the break
    assert len(received) < 40
    assert all(chunk.choices[0].finish_reason is None for chunk in received)


def test_truncate_ends_a_stream_cleanly_without_its_finish(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="m",
            messages=MESSAGES,
            max_tokens=40,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers=_forced("truncate"),
        )
    )
    assert len(chunks) < 40
    assert all(chunk.usage is None for chunk in chunks)
    assert all(choice.finish_reason is None for chunk in chunks for choice in chunk.choices)


@pytest.mark.parametrize("kind", ["stall", "slow_headers"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_stall_and_slow_headers_delay_a_complete_answer(
    client: openai.OpenAI, kind: str, stream: bool
) -> None:
    started = time.monotonic()
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="m", messages=MESSAGES, max_tokens=12, stream=True, extra_headers=_forced(kind)
            )
        )
        assert len(chunks) == 12
        assert chunks[-1].choices[0].finish_reason == "length"
    else:
        answer = client.chat.completions.create(
            model="m", messages=MESSAGES, max_tokens=12, extra_headers=_forced(kind)
        )
        assert answer.usage is not None
        assert answer.usage.completion_tokens == 12
    assert time.monotonic() - started >= DELAY_S


def test_slow_headers_hold_the_status_line(start_server: StartServer) -> None:
    base_url = start_server(SETTINGS)
    payload = {"model": "m", "messages": MESSAGES, "max_tokens": 2, "stream": True}
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        started = time.monotonic()
        with http.stream(
            "POST", "/v1/chat/completions", json=payload, headers=_forced("slow_headers")
        ) as response:
            headers_after = time.monotonic() - started
            assert response.status_code == 200
            response.read()
    assert headers_after >= DELAY_S


def test_the_sdks_retries_get_through_a_30_percent_429_rate_and_honour_retry_after(
    start_server: StartServer,
) -> None:
    settings = Settings(ttft=0.0, itl=0.0, error_rate=30.0, fault_mix="rate_limit=1", random_seed=21)
    base_url = start_server(settings, fresh=True)
    requests = 12
    # Which numbered requests get a 429 is known in advance; the SDK retries each one.
    sequence_number = 0
    retries = 0
    for _ in range(requests):
        sequence_number += 1
        while predict(
            "chat", {"model": "m", "messages": MESSAGES}, settings, sequence_number=sequence_number
        ).fault:
            retries += 1
            sequence_number += 1
    assert retries >= 2, "seed 21 must make the SDK retry some of 12 requests"
    started = time.monotonic()
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key="x", max_retries=2, timeout=20.0) as sdk:
        for _ in range(requests):
            answer = sdk.chat.completions.create(model="m", messages=MESSAGES, max_tokens=2)
            assert answer.choices[0].message.content
    # Each retry waited the Retry-After of 1 s (the SDK's own back-off is far shorter).
    assert time.monotonic() - started >= retries * 1.0
