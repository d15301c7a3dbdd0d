"""SIGTERM under load: answers already promised are sent whole, then every process exits.

The CLI runs two workers with a TTFT of 300 ms, and the signal is sent once the workers have
received a whole wave of requests (read from their shared load counters), so that many are in
flight. Every one of them must be answered in full: a 200 with a whole, valid JSON body, never
a truncated body, a 5xx or a dropped connection.
"""

import asyncio
import json
import os
import signal
import time
from typing import Any

import httpx
import pytest
from tests.robustness.conftest import CHAT, CliServer, StartCliServer, assert_healthy
from tests.server_process import pid_alive

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WORKERS = 2
TTFT_MS = 300
REQUESTS = 200
MAX_TOKENS = 64


def request_body(index: int) -> dict[str, Any]:
    return {
        "model": "mock-model",
        "messages": [{"role": "user", "content": f"request number {index}, please answer in full"}],
        "max_tokens": MAX_TOKENS,
        "ignore_eos": True,
    }


async def send_all(server: CliServer) -> tuple[list[httpx.Response | Exception], int]:
    """Send REQUESTS requests at once; SIGTERM the server once every one of them has arrived.

    Returns the results and how many requests were still in flight at the signal.
    """
    limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=server.base_url, timeout=60.0, limits=limits, trust_env=False
    ) as client:

        async def one(index: int) -> httpx.Response | Exception:
            try:
                return await client.post(CHAT, json=request_body(index))
            except httpx.HTTPError as error:
                return error

        pending = [asyncio.ensure_future(one(index)) for index in range(REQUESTS)]
        # A connection still in the kernel's accept queue at the signal is refused, not served:
        # signal only once the workers have every request (in flight or already answered).
        deadline = time.monotonic() + 30.0
        while (load := server.load()).in_flight_requests + load.requests_served < REQUESTS:
            assert time.monotonic() < deadline, f"only {load} arrived"
            await asyncio.sleep(0.002)
        os.kill(server.process.pid, signal.SIGTERM)
        return await asyncio.gather(*pending), load.in_flight_requests


def assert_complete(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text[:300]
    answer = json.loads(response.content)  # raises on a truncated body
    assert answer["object"] == "chat.completion"
    assert answer["usage"]["completion_tokens"] == MAX_TOKENS
    assert answer["choices"][0]["finish_reason"] == "length"
    assert int(response.headers["content-length"]) == len(response.content)


def test_sigterm_under_load_sends_whole_answers_and_leaves_no_process(cli_server: StartCliServer) -> None:
    server = cli_server(["--workers", str(WORKERS), "--ttft", str(TTFT_MS), "--itl", "0"])
    workers = server.wait_for_workers(WORKERS)
    assert_healthy(server.base_url)  # right before the signal

    results, in_flight_at_signal = asyncio.run(send_all(server))
    assert in_flight_at_signal > 0

    responses = [result for result in results if isinstance(result, httpx.Response)]
    failures = [result for result in results if not isinstance(result, httpx.Response)]
    for response in responses:
        assert_complete(response)
    status = server.stop(signum=None)  # SIGTERM was sent mid-flight
    assert status == 0, server.log_text()[-3000:]
    deadline = time.monotonic() + 30.0
    while any(pid_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if pid_alive(pid)], "a worker outlived the server"
    assert len(responses) == REQUESTS, (
        f"{len(failures)} requests in flight were dropped: {failures[:3]}\n{server.log_text()[-3000:]}"
    )


def test_a_stream_in_flight_at_sigterm_runs_to_its_end(cli_server: StartCliServer) -> None:
    server = cli_server(["--ttft", "0", "--itl", "10"])
    (worker,) = server.wait_for_workers(1)
    body = request_body(0) | {"max_tokens": 100, "stream": True}  # one second of events
    with (
        httpx.Client(base_url=server.base_url, timeout=60.0, trust_env=False) as client,
        client.stream("POST", CHAT, json=body) as response,
    ):
        assert response.status_code == 200
        server.process.send_signal(signal.SIGTERM)
        # No new connection once the signal has arrived (polled: on a loaded machine the
        # signal takes a while to get there, and the stream still has most of its second).
        deadline = time.monotonic() + 30.0
        while True:
            try:
                httpx.get(f"{server.base_url}/health", timeout=5.0, trust_env=False)
            except httpx.TransportError:
                break
            assert time.monotonic() < deadline, "the server still accepts connections after SIGTERM"
            time.sleep(0.05)
        text = response.read().decode()
    assert text.count("data: {") == 100
    assert text.endswith("data: [DONE]\n\n")
    assert server.stop(signum=None) == 0
    assert not pid_alive(worker)
