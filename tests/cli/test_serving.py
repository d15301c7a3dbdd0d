"""Multi-worker serving through the real command: concurrency, shutdown, the shared fault sequence."""

import asyncio
import signal
import threading
import time
from typing import Any

import httpx
import msgspec
import pytest
from tests.cli.conftest import CliServer, StartCliServer
from tests.server_process import free_port, pid_alive

from mockcore import GenerationPlan, Settings, predict

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"


def chat_payload(content: str, *, stream: bool = False, max_tokens: int = 8) -> dict[str, Any]:
    return {
        "model": "gpt-4",
        "messages": [{"role": "user", "content": content}],
        "max_tokens": max_tokens,
        "ignore_eos": True,
        "stream": stream,
    }


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


# -- 4 workers, 200 concurrent requests, SIGINT ----------------------------------------------


async def _one_request(client: httpx.AsyncClient, index: int) -> tuple[int, str]:
    stream = index % 2 == 0
    payload = chat_payload(f"request {index}", stream=stream, max_tokens=4 + index % 5)
    if not stream:
        response = await client.post(CHAT, json=payload)
        body = response.json() if response.status_code == 200 else {}
        assert response.status_code != 200 or body["usage"]["completion_tokens"] == payload["max_tokens"]
        return response.status_code, "json"
    async with client.stream("POST", CHAT, json=payload) as response:
        text = "".join([chunk async for chunk in response.aiter_text()])
    assert response.status_code != 200 or text.rstrip().endswith("data: [DONE]"), text[-200:]
    return response.status_code, "sse"


async def _concurrent(base_url: str, count: int) -> list[tuple[int, str]]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60.0, trust_env=False) as client:
        return await asyncio.gather(*(_one_request(client, index) for index in range(count)))


@pytest.mark.slow
def test_four_workers_serve_concurrent_requests_and_stop_on_sigint(cli_server: StartCliServer) -> None:
    port = free_port()
    server = cli_server(["--port", str(port), "--workers", "4", "--ttft", "0", "--itl", "0"], port=port)
    worker_pids = server.wait_for_workers(4)
    assert len(worker_pids) == 4
    assert all(pid_alive(pid) for pid in worker_pids)

    results = asyncio.run(_concurrent(server.base_url, 200))

    assert [status for status, _ in results] == [200] * 200
    assert sorted({kind for _, kind in results}) == ["json", "sse"]
    slots = server.worker_slots()
    assert sorted(slots) == sorted(worker_pids)
    assert sum(slot.served for slot in slots.values()) == 200

    assert server.stop(signal.SIGINT) == 0, server.describe()
    wait_until(lambda: not any(pid_alive(pid) for pid in worker_pids), 10.0, "the workers to exit")
    assert server.worker_slots() == {}  # the state file is removed on the way out
    assert "Traceback" not in server.stderr_text()


# -- the fault sequence does not depend on the number of workers -----------------------------

FAULT_SETTINGS = Settings(ttft=0.0, itl=0.0, error_rate=30.0, random_seed=42)
FAULT_REQUESTS = 60


def _sequential_statuses(server: CliServer) -> list[int]:
    statuses = []
    # A fresh connection per request, so that the workers take turns.
    with httpx.Client(base_url=server.base_url, timeout=30.0, trust_env=False) as client:
        for index in range(FAULT_REQUESTS):
            response = client.post(
                CHAT, json=chat_payload(f"hello {index}", max_tokens=2), headers={"connection": "close"}
            )
            if response.status_code != 200:
                assert response.json()["error"]["type"] == "server_error"
            statuses.append(response.status_code)
    return statuses


@pytest.mark.slow
def test_fault_sequence_is_the_same_with_one_or_four_workers(cli_server: StartCliServer) -> None:
    predicted = [
        predict(
            "chat", chat_payload(f"hello {n - 1}", max_tokens=2), FAULT_SETTINGS, sequence_number=n
        ).status_code
        for n in range(1, FAULT_REQUESTS + 1)
    ]
    assert 0 < predicted.count(500) < FAULT_REQUESTS

    observed = {}
    for workers in (1, 4):
        port = free_port()
        args = ["--port", str(port), "--workers", str(workers), "--ttft", "0", "--itl", "0"]
        server = cli_server([*args, "--error-rate", "30", "--random-seed", "42"], port=port)
        server.wait_for_workers(workers)
        observed[workers] = _sequential_statuses(server)
        if workers > 1:
            busy = [slot for slot in server.worker_slots().values() if slot.served]
            assert len(busy) >= 2, f"one worker served every request: {busy}"
        server.close()

    assert observed[1] == predicted
    assert observed[4] == predicted


# -- every fault kind and the latency jitter, with one worker or four ---------------------------

KINDS_ARGS = [
    "--ttft", "20", "--itl", "1", "--ttft-jitter-cv", "0.3", "--itl-jitter-cv", "0.3",
    "--error-rate", "60", "--random-seed", "42", "--fault-delay-seconds", "0.05", "--access-logs",
    "--fault-mix", "server_error=1,unavailable=1,rate_limit=1,context_length=1,auth=1,not_found=1,"
    "abort=1,stall=1,truncate=1,slow_headers=1",
]  # fmt: skip
KINDS_SETTINGS = Settings(
    ttft=20.0,
    itl=1.0,
    ttft_jitter_cv=0.3,
    itl_jitter_cv=0.3,
    error_rate=60.0,
    random_seed=42,
    fault_delay_seconds=0.05,
    fault_mix="server_error=1,unavailable=1,rate_limit=1,context_length=1,auth=1,not_found=1,"
    "abort=1,stall=1,truncate=1,slow_headers=1",
)
KINDS_REQUESTS = 50


def _client_outcome(client: httpx.Client, index: int) -> str:
    """What the client sees of request `index`: its status, or `broken` when the answer breaks."""
    try:
        response = client.post(
            CHAT, json=chat_payload(f"kinds {index}", max_tokens=3), headers={"connection": "close"}
        )
    except httpx.RemoteProtocolError:
        return "broken"
    return str(response.status_code)


def _predicted_outcome(sequence_number: int) -> tuple[str, str | None, float | None]:
    prediction = predict(
        "chat",
        chat_payload(f"kinds {sequence_number - 1}", max_tokens=3),
        KINDS_SETTINGS,
        sequence_number=sequence_number,
    )
    fault = prediction.fault
    kind = fault.kind if fault is not None else None
    seen = "broken" if kind in {"abort", "truncate"} else str(prediction.status_code)
    ttft = prediction.plan.schedule.ttft_ms if isinstance(prediction.plan, GenerationPlan) else None
    return seen, kind, ttft


@pytest.mark.slow
def test_every_fault_kind_and_the_jitter_fall_on_the_same_requests_with_one_or_four_workers(
    cli_server: StartCliServer,
) -> None:
    predicted = [_predicted_outcome(n) for n in range(1, KINDS_REQUESTS + 1)]
    assert len({kind for _, kind, _ in predicted}) >= 8, "seed 42 must show most kinds in 50 requests"

    for workers in (1, 4):
        port = free_port()
        server = cli_server(["--port", str(port), "--workers", str(workers), *KINDS_ARGS], port=port)
        server.wait_for_workers(workers)
        with httpx.Client(base_url=server.base_url, timeout=30.0, trust_env=False) as client:
            seen = [_client_outcome(client, index) for index in range(KINDS_REQUESTS)]
        assert seen == [outcome for outcome, _, _ in predicted], f"{workers} worker(s)"

        # The access log names each request's number, fault and planned TTFT (jitter included).
        def logged(server: CliServer = server) -> dict[int, dict[str, Any]]:
            return {
                record["sequence_number"]: record
                for record in server.log_records()
                if record.get("logger") == "mockhttp.access" and "sequence_number" in record
            }

        wait_until(lambda: len(logged()) == KINDS_REQUESTS, 10.0, "an access-log line per request")
        by_number = logged()
        for number, (_, kind, ttft) in enumerate(predicted, start=1):
            record = by_number[number]
            assert record.get("fault") == kind
            if ttft is not None:
                assert record["ttft_ms"] == round(ttft, 3), f"request {number} on {workers} worker(s)"
        if workers > 1:
            busy = [slot for slot in server.worker_slots().values() if slot.served]
            assert len(busy) >= 2, f"one worker served every request: {busy}"
        server.close()


# -- SIGTERM drains what is in flight --------------------------------------------------------


def test_sigterm_during_a_stream(cli_server: StartCliServer, record_property: Any) -> None:
    port = free_port()
    server = cli_server(["--port", str(port), "--workers", "1", "--ttft", "0", "--itl", "20"], port=port)
    events: list[str] = []
    outcome = "hang"
    signalled_at = 0.0
    timeout = httpx.Timeout(10.0)  # a read that stalls this long is a hang
    with httpx.Client(base_url=server.base_url, timeout=timeout, trust_env=False) as client:
        try:
            with client.stream(
                "POST", CHAT, json=chat_payload("tell me", stream=True, max_tokens=200)
            ) as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    events.append(line)
                    if len(events) == 5:
                        server.process.send_signal(signal.SIGTERM)
                        signalled_at = time.monotonic()
            outcome = "complete" if events[-1] == "data: [DONE]" else "closed"
        except httpx.RemoteProtocolError:
            outcome = "closed"
    record_property("sigterm_stream_outcome", f"{outcome} after {len(events)} events")
    assert signalled_at, "the stream ended before five events"
    assert outcome in {"complete", "closed"}
    if outcome == "complete":
        # Nothing was cut: every one of the 200 tokens, then the finish reason, then [DONE].
        chunks = [msgspec.json.decode(event.removeprefix("data: ")) for event in events[:-1]]
        assert len([chunk for chunk in chunks if chunk["choices"] and chunk["choices"][0]["delta"]]) == 200
        assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert server.stop(None, timeout=35.0) == 0, server.describe()  # no second signal
    assert time.monotonic() - signalled_at < 35.0
    assert "Traceback" not in server.stderr_text()


def test_sigterm_lets_a_non_streaming_request_finish(cli_server: StartCliServer) -> None:
    port = free_port()
    server = cli_server(["--port", str(port), "--workers", "1", "--ttft", "500", "--itl", "0"], port=port)
    server.wait_for_workers(1)
    result: dict[str, Any] = {}

    def post() -> None:
        with httpx.Client(base_url=server.base_url, timeout=30.0, trust_env=False) as client:
            try:
                result["response"] = client.post(CHAT, json=chat_payload("wait for it", max_tokens=1))
            except httpx.HTTPError as error:
                result["error"] = error

    thread = threading.Thread(target=post)
    thread.start()
    try:
        wait_until(
            lambda: any(slot.in_flight for slot in server.worker_slots().values()),
            10.0,
            "the request to be in flight",
        )
        server.process.send_signal(signal.SIGTERM)
    finally:
        thread.join(30.0)
    assert not thread.is_alive(), "the request hung"
    assert "error" not in result, result
    response = result["response"]
    assert response.status_code == 200
    assert response.json()["usage"]["completion_tokens"] == 1
    assert server.stop(None, timeout=35.0) == 0, server.describe()


# -- Anthropic's prompt cache is one cache for every worker ---------------------------------


@pytest.mark.slow
def test_a_prompt_prefix_cached_by_one_worker_is_read_by_every_other(cli_server: StartCliServer) -> None:
    port = free_port()
    server = cli_server(["--port", str(port), "--workers", "4", "--ttft", "0", "--itl", "0"], port=port)
    server.wait_for_workers(4)
    prefix = "Every worker shares one prompt cache, as one server would. " * 90
    reads = []
    with httpx.Client(base_url=server.base_url, timeout=30.0, trust_env=False) as client:
        for question in range(12):
            payload = {
                "model": "mock-claude",
                "max_tokens": 4,
                "system": [{"type": "text", "text": prefix, "cache_control": {"type": "ephemeral"}}],
                "messages": [{"role": "user", "content": f"question {question}"}],
            }
            # A fresh connection per request, so that the workers take turns.
            headers = {"anthropic-version": "2023-06-01", "connection": "close"}
            usage = client.post("/v1/messages", json=payload, headers=headers).json()["usage"]
            reads.append((usage["cache_creation_input_tokens"], usage["cache_read_input_tokens"]))
    busy = [slot for slot in server.worker_slots().values() if slot.served]
    assert len(busy) >= 2, f"one worker served every request: {busy}"
    prefix_tokens = reads[0][0]
    assert prefix_tokens >= 1024
    assert reads == [(prefix_tokens, 0)] + [(0, prefix_tokens)] * 11
