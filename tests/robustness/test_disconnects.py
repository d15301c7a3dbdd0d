"""Clients that leave, read slowly, or never speak cannot pin the server (SPEC section 6).

Mass disconnects run against an app in this process under Granian's embedded server, so the
test reads the app's own in-flight count, its tasks and its timers. Slow readers and silent
connections run against the real CLI, whose worker is a process with its own memory.
"""

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from tests.embedded_server import EmbeddedServer
from tests.robustness.conftest import CHAT, StartCliServer, assert_healthy, rss_mib

from mockcore import Settings
from mockhttp import Services, create_app
from mockhttp.local_state import LocalLoadTracker

pytestmark = pytest.mark.e2e

CLIENTS = 500
CONCURRENT_CLIENTS = 100
EVENTS_BEFORE_LEAVING = 2
SETTLE_S = 5.0
HEADER_TIMEOUT = ["--header-timeout", "1"]
UNPACED_TOKENS = 1_000_000
UNPACED = ["--ttft", "0", "--itl", "0", "--max-output-tokens", str(UNPACED_TOKENS)]


def stream_request(max_tokens: int) -> bytes:
    """A raw HTTP/1.1 request for a long chat stream."""
    body = json.dumps(
        {
            "model": "mock-model",
            "messages": [{"role": "user", "content": "a long story, please"}],
            "max_tokens": max_tokens,
            "ignore_eos": True,
            "stream": True,
        }
    ).encode()
    head = (
        f"POST {CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def open_stream_and_leave(port: int, request: bytes, limit: asyncio.Semaphore) -> int:
    """Open one stream, read until a couple of events arrived, hang up; return the events seen."""
    async with limit:
        # A small receive buffer, set before connecting so that the window is small too:
        # what the kernel buffers is not what the server generates after the client left.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(request)
        received = b""
        try:
            while received.count(b"data: {") < EVENTS_BEFORE_LEAVING:
                chunk = await asyncio.wait_for(reader.read(4096), timeout=30.0)
                assert chunk, f"the server closed the stream early: {received!r}"
                received += chunk
        finally:
            writer.close()
            await writer.wait_closed()
        assert received.startswith(b"HTTP/1.1 200")
        return received.count(b"data: {")


def run_leaving_clients(port: int, request: bytes, clients: int) -> list[int]:
    async def scenario() -> list[int]:
        limit = asyncio.Semaphore(CONCURRENT_CLIENTS)
        return await asyncio.gather(*(open_stream_and_leave(port, request, limit) for _ in range(clients)))

    return asyncio.run(scenario())


def wait_for_idle(tracker: LocalLoadTracker, within_s: float = SETTLE_S) -> None:
    deadline = time.monotonic() + within_s
    while tracker.snapshot().in_flight_requests:
        assert time.monotonic() < deadline, f"still in flight after {within_s} s: {tracker.snapshot()}"
        time.sleep(0.01)


class Embedded:
    """An embedded server and the load tracker of its app."""

    def __init__(self, settings: Settings) -> None:
        self.tracker = LocalLoadTracker()
        self.server = EmbeddedServer(
            create_app(settings, services=Services(settings=settings, load=self.tracker))
        )


@pytest.fixture(scope="module")
def paced() -> Iterator[Embedded]:
    """ITL 10 ms: 200 tokens take two seconds."""
    embedded = Embedded(Settings(ttft=0.0, itl=10.0))
    embedded.server.start()
    yield embedded
    embedded.server.stop()


def test_500_clients_that_leave_mid_stream_leave_nothing_behind(paced: Embedded) -> None:
    server, tracker = paced.server, paced.tracker
    tokens = 200
    wait_for_idle(tracker)
    tasks_before, timers_before = server.live_tasks(), server.live_timers()
    served_before = tracker.snapshot().requests_served
    started = time.monotonic()

    seen = run_leaving_clients(server.port, stream_request(tokens), CLIENTS)

    assert all(events >= EVENTS_BEFORE_LEAVING for events in seen)
    wait_for_idle(tracker)
    snapshot = tracker.snapshot()
    assert snapshot.requests_served == served_before + CLIENTS
    elapsed_s = time.monotonic() - started
    # Had the streams run to their end, each would have sent all its tokens.
    assert snapshot.tokens_emitted < CLIENTS * tokens / 2, (snapshot, elapsed_s)
    # Polled: the metrics publish on a timer shortly after the last update (mockhttp.metrics_recorder).
    deadline = time.monotonic() + 10.0
    while server.live_tasks() > tasks_before or server.live_timers() > timers_before:
        assert time.monotonic() < deadline, "a task or a timer outlived its stream"
        time.sleep(0.05)
    assert_healthy(server.base_url)
    response = httpx.post(
        f"{server.base_url}{CHAT}",
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
        timeout=10.0,
    )
    assert response.status_code == 200
    assert response.json()["usage"]["completion_tokens"] == 3
    wait_for_idle(tracker)


def test_a_client_that_leaves_an_unpaced_stream_stops_it(shared_cli_server: StartCliServer) -> None:
    # With ITL 0 no event waits for its deadline; a send into a closed connection does not
    # fail either, so the stream must still give the disconnect a chance to be noticed.
    # Before the client leaves, the server fills the socket buffers (up to a few MB, some
    # tens of thousands of events): streams of a million events keep that a small part.
    # The real CLI, so that the clients do not share an interpreter with the server.
    server = shared_cli_server(UNPACED)
    clients = 10
    emitted_before = server.wait_for_idle().tokens_emitted

    run_leaving_clients(server.port, stream_request(UNPACED_TOKENS), clients)

    emitted = server.wait_for_idle().tokens_emitted - emitted_before
    assert emitted < clients * UNPACED_TOKENS / 4, (
        f"{emitted} tokens for {clients} streams of {UNPACED_TOKENS}"
    )
    assert_healthy(server.base_url)


@pytest.mark.slow
def test_slow_readers_do_not_grow_the_server_memory_without_bound(cli_server: StartCliServer) -> None:
    # Each reader asks for 20,000 events (about 3.6 MB of SSE) and never reads: if the server
    # buffered what it cannot send, 100 readers would cost it 360 MB. Backpressure holds each
    # stream at the first send the socket cannot take.
    readers = 100
    tokens = 20_000
    server = cli_server(["--ttft", "0", "--itl", "0", "--workers", "1"])
    (worker,) = server.wait_for_workers(1)
    assert_healthy(server.base_url)
    before_mib = rss_mib(worker)
    request = stream_request(tokens)
    sockets: list[socket.socket] = []
    try:
        for _ in range(readers):
            reader = socket.socket()
            reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            reader.connect(("127.0.0.1", server.port))
            reader.sendall(request)
            sockets.append(reader)
        time.sleep(2.0)  # ample time to produce every event, were nothing holding it back
        peak_mib = rss_mib(worker)
        assert_healthy(server.base_url)  # the worker still serves others meanwhile
    finally:
        for reader in sockets:
            reader.close()
    growth_mib = peak_mib - before_mib
    assert growth_mib < 100, f"the worker grew by {growth_mib:.0f} MiB for {readers} slow readers"
    assert_healthy(server.base_url)


def test_a_connection_that_never_sends_a_request_is_closed_after_the_header_timeout(
    shared_cli_server: StartCliServer,
) -> None:
    server = shared_cli_server(HEADER_TIMEOUT)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10.0) as silent:
        started = time.monotonic()
        # The server closes its side: recv returns b"" (or the connection is reset).
        try:
            data = silent.recv(1024)
        except ConnectionResetError:
            data = b""
        elapsed_s = time.monotonic() - started
    assert elapsed_s < 5.0, f"closed after {elapsed_s:.1f} s"
    assert elapsed_s > 0.5, "closed before the timeout"
    assert b"200" not in data
    assert_healthy(server.base_url)


def test_a_client_that_trickles_its_headers_is_closed_after_the_header_timeout(
    shared_cli_server: StartCliServer,
) -> None:
    # Slowloris: one byte every 200 ms never completes the headers within the timeout.
    server = shared_cli_server(HEADER_TIMEOUT)
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"x" * 100
    with socket.create_connection(("127.0.0.1", server.port), timeout=10.0) as trickling:
        started = time.monotonic()
        closed = False
        for byte in head:
            try:
                trickling.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.2)
            if time.monotonic() - started > 5.0:
                break
        if not closed:
            try:
                closed = trickling.recv(1024) == b""
            except OSError:
                closed = True
        elapsed_s = time.monotonic() - started
    assert closed
    assert elapsed_s < 5.0, f"closed after {elapsed_s:.1f} s"
    assert_healthy(server.base_url)


def test_an_idle_keep_alive_connection_is_closed_after_the_header_timeout(
    shared_cli_server: StartCliServer,
) -> None:
    server = shared_cli_server(HEADER_TIMEOUT)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10.0) as idle:
        idle.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = idle.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        try:
            rest = idle.recv(1024)
        except ConnectionResetError:
            rest = b""
        elapsed_s = time.monotonic() - started
    assert rest == b""
    assert 0.5 < elapsed_s < 5.0, f"closed after {elapsed_s:.1f} s"
