"""SPEC section 6: a client that disconnects stops its stream at once; nothing outlives it.

Litestar's TestClient reads a response whole, so it cannot hang up mid-stream. Two other ways
in: the app called directly as ASGI with a `receive` that reports `http.disconnect`, and a
Granian server embedded in this process (experimental in Granian) read over a real socket.
Both run over a `LocalLoadTracker` the test can read.
"""

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.embedded_server import EmbeddedServer

from mockcore import Settings
from mockhttp import Services, create_app
from mockhttp.local_state import LocalLoadTracker

SLOW_STREAM = Settings(ttft=0.0, itl=20.0)
# 30 s of stream at 20 ms per token: a stream that ran to its end would show, and a test that
# waits for a disconnect to take effect can give a loaded machine seconds without a false alarm.
TOKENS = 1500
LONG_REQUEST = {
    "model": "mock-model",
    "messages": [{"role": "user", "content": "a long story, please"}],
    "max_tokens": TOKENS,
    "ignore_eos": True,
    "stream": True,
}
SETTLE_S = 10.0


def wait_for_idle(tracker: LocalLoadTracker, within_s: float = SETTLE_S) -> float:
    """Seconds until no request is in flight; fails after `within_s`."""
    started = time.monotonic()
    while tracker.snapshot().in_flight_requests:
        assert time.monotonic() - started < within_s, f"still in flight: {tracker.snapshot()}"
        time.sleep(0.005)
    return time.monotonic() - started


def http_scope(path: str, body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def test_an_asgi_disconnect_ends_the_stream_and_its_accounting() -> None:
    tracker = LocalLoadTracker()
    app = create_app(SLOW_STREAM, services=Services(settings=SLOW_STREAM, load=tracker))
    body = json.dumps(LONG_REQUEST).encode()

    async def scenario() -> tuple[list[bytes], float]:
        hung_up = asyncio.Event()
        bodies: list[bytes] = []
        requests = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if requests:
                return requests.pop()
            await hung_up.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                assert message["status"] == 200
            elif message.get("body"):
                bodies.append(message["body"])
                if len(bodies) == 2:
                    assert tracker.snapshot().in_flight_requests == 1
                    hung_up.set()

        started = time.monotonic()
        await asyncio.wait_for(app(http_scope("/v1/chat/completions", body), receive, send), timeout=20.0)
        elapsed_s = time.monotonic() - started
        others = asyncio.all_tasks() - {asyncio.current_task()}
        await asyncio.sleep(0)  # let a cancelled task finish its cancellation, if one was left
        assert not [task for task in others if not task.done()], "a task outlived the request"
        return bodies, elapsed_s

    bodies, elapsed_s = asyncio.run(scenario())
    assert 2 <= len(bodies) <= 3
    assert all(frame.startswith(b"data: {") for frame in bodies)
    assert elapsed_s < SETTLE_S, "the stream stopped at the disconnect, not at its end"
    snapshot = tracker.snapshot()
    assert (snapshot.in_flight_requests, snapshot.requests_served) == (0, 1)
    assert snapshot.tokens_emitted <= 3


@pytest.fixture(scope="module")
def embedded() -> Iterator[tuple[EmbeddedServer, LocalLoadTracker]]:
    tracker = LocalLoadTracker()
    app = create_app(SLOW_STREAM, services=Services(settings=SLOW_STREAM, load=tracker))
    server = EmbeddedServer(app)
    server.start()
    yield server, tracker
    server.stop()


@pytest.mark.e2e
def test_closing_the_socket_mid_stream_frees_the_request(
    embedded: tuple[EmbeddedServer, LocalLoadTracker],
) -> None:
    server, tracker = embedded
    served_before = tracker.snapshot().requests_served
    with (
        httpx.Client(base_url=server.base_url, timeout=10.0) as client,
        client.stream("POST", "/v1/chat/completions", json=LONG_REQUEST) as response,
    ):
        lines = response.iter_lines()
        events: list[str] = []
        for line in lines:
            if line.startswith("data: {"):
                events.append(line)
                if len(events) == 2:
                    break
        assert tracker.snapshot().in_flight_requests == 1
    # Leaving both blocks closes the connection mid-stream.
    settle_s = wait_for_idle(tracker)
    assert settle_s < SETTLE_S
    snapshot = tracker.snapshot()
    assert snapshot.requests_served == served_before + 1
    assert snapshot.tokens_emitted < TOKENS


@pytest.mark.e2e
def test_the_server_serves_normally_after_a_disconnect(
    embedded: tuple[EmbeddedServer, LocalLoadTracker],
) -> None:
    server, tracker = embedded
    short = LONG_REQUEST | {"max_tokens": 3}
    response = httpx.post(f"{server.base_url}/v1/chat/completions", json=short, timeout=10.0)
    assert response.status_code == 200
    assert response.text.endswith("data: [DONE]\n\n")
    wait_for_idle(tracker)
