"""The live server runs the engine the offline replay runs (issue: engine simulation).

A client sends streamed requests at planned times (an open-loop arrival pattern with
overlap, so requests share batches and queue) to the real command, records when each was
sent, and measures its first and last token. Replaying the recorded pattern offline through
`mockcore.engine.replay` with the server's settings must give the same TTFT and e2e medians,
within 10 % or 5 ms: with one worker (the engine in the worker's loop) and with two (one
engine process both workers talk to). And the trace the server writes itself
(`--engine-trace`) replays to the prefix hits it served.
"""

import asyncio
import json
import re
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.server_process import ServerProcess, free_port

from mockcore.engine import TraceRequest, builtin_profile, parse_trace, replay
from mockcore.engine.from_settings import engine_config
from mockcore.settings import Settings

pytestmark = pytest.mark.e2e

ENGINE_FLAGS = ["--engine", "llama-3.1-8b", "--dcgm-gpu-name", "h100-sxm", "--max-num-seqs", "8"]
SETTINGS = Settings(engine="llama-3.1-8b", dcgm_gpu_name="h100-sxm", max_num_seqs=8)
REQUESTS = 24
GAP_S = 0.03
OUTPUT_TOKENS = 40


def _body(index: int) -> dict[str, object]:
    # A distinct first block per request: no prefix is shared, as the trace says.
    content = f"request {index:04d} " + "of the recorded arrival pattern, " * (8 + index % 5 * 6)
    return {
        "model": "m",
        "messages": [{"role": "user", "content": content}],
        "max_tokens": OUTPUT_TOKENS,
        "min_tokens": OUTPUT_TOKENS,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


_CONTENT = re.compile(rb'"content":"[^"]')
_PROMPT_TOKENS = re.compile(rb'"prompt_tokens":(\d+)')


async def _one(port: int, index: int, start: float) -> tuple[float, float, float, int]:
    """(sent at, TTFT, e2e, prompt tokens) of request `index`, sent at start + index * GAP_S.

    A bare socket client (one connection per request, closed by the server after the answer):
    an HTTP library's own overhead would blur the few milliseconds compared here. A network
    read's arrival time stamps every token it brought.
    """
    body = json.dumps(_body(index)).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await asyncio.sleep(max(0.0, start + index * GAP_S - time.monotonic()))
        writer.write(request)
        sent = time.monotonic()
        first = last = 0.0
        received = b""
        while data := await reader.read(65536):
            now = time.monotonic()
            if _CONTENT.search(data):
                last = now
                first = first or now
            received += data
    finally:
        writer.close()
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    prompt_tokens = _PROMPT_TOKENS.search(received)
    assert prompt_tokens is not None, received[-300:]
    return sent - start, first - sent, last - sent, int(prompt_tokens[1])


async def _record(port: int) -> list[tuple[float, float, float, int]]:
    start = time.monotonic() + 0.1
    return await asyncio.gather(*(_one(port, index, start) for index in range(REQUESTS)))


@pytest.fixture(params=[1, 2], ids=["1-worker", "2-workers"])
def engine_server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    port = free_port()
    workers = str(request.param)
    command = [sys.executable, "-m", "mockcli", "--port", str(port), "--workers", workers, *ENGINE_FLAGS]
    server = ServerProcess(command, port=port)
    try:
        server.wait_until_healthy()
        server.wait_for_workers(request.param)
        yield server
    finally:
        server.close()


def _close(live: float, offline: float) -> bool:
    return abs(live - offline) <= max(0.005, 0.10 * offline)


def test_live_ttft_and_e2e_medians_match_the_offline_replay_of_the_same_arrivals(
    engine_server: ServerProcess,
) -> None:
    recorded = asyncio.run(_record(engine_server.port))
    trace = [
        TraceRequest(timestamp=sent * 1000.0, input_length=prompt_tokens, output_length=OUTPUT_TOKENS)
        for sent, _, _, prompt_tokens in recorded
    ]
    order = sorted(range(REQUESTS), key=lambda index: trace[index].timestamp)
    replayed = replay(
        [trace[index] for index in order], engine_config(SETTINGS, builtin_profile("llama-3.1-8b"))
    )
    offline = {order[position]: result for position, result in enumerate(replayed.requests)}
    live_ttft = statistics.median(ttft for _, ttft, _, _ in recorded)
    live_e2e = statistics.median(e2e for _, _, e2e, _ in recorded)
    offline_ttft = statistics.median(offline[index].ttft_s or 0.0 for index in range(REQUESTS))
    offline_e2e = statistics.median(offline[index].e2e_s or 0.0 for index in range(REQUESTS))
    report = (
        f"TTFT live {live_ttft:.4f} s vs offline {offline_ttft:.4f} s; "
        f"e2e {live_e2e:.4f} vs {offline_e2e:.4f}"
    )
    assert _close(live_ttft, offline_ttft), report
    assert _close(live_e2e, offline_e2e), report
    # The load made requests wait: this is not the trivial case of an idle engine.
    assert max(result.queue_s or 0.0 for result in replayed.requests) > 0.0, report


@pytest.mark.parametrize("workers", [1, 2], ids=["1-worker", "2-workers"])
def test_the_servers_own_trace_replays_to_the_prefix_hits_it_served(tmp_path: Path, workers: int) -> None:
    """`--engine-trace`: the server (its engine process, on two workers) records what its engine
    was offered; the replay of that file gives every request the prefix hit it was served."""
    trace_path = tmp_path / "run.jsonl"
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "mockcli",
        "--port",
        str(port),
        "--workers",
        str(workers),
        *ENGINE_FLAGS,
        "--engine-trace",
        str(trace_path),
    ]
    server = ServerProcess(command, port=port)
    shared = "A system prompt every request shares, long enough for several blocks. " * 6
    cached: list[int] = []
    try:
        server.wait_until_healthy()
        server.wait_for_workers(workers)
        for index in range(6):  # one after the other: the arrival order is the trace's
            body = json.dumps(
                {
                    "model": "m",
                    "messages": [
                        {"role": "system", "content": shared},
                        {"role": "user", "content": f"question {index} " * (1 + index * 7)},
                    ],
                    "max_tokens": 8,
                    "min_tokens": 8,
                }
            )
            response = httpx.post(
                f"http://127.0.0.1:{port}/v1/chat/completions",
                content=body,
                headers={"content-type": "application/json"},
                timeout=30,
                trust_env=False,
            )
            cached.append(response.json()["usage"]["prompt_tokens_details"]["cached_tokens"])
    finally:
        server.close()
    lines = trace_path.read_text().splitlines()
    assert len(lines) == 6
    replayed = replay(
        parse_trace(lines), engine_config(SETTINGS, builtin_profile("llama-3.1-8b")), hash_block_tokens=16
    )
    assert [result.cached_tokens for result in replayed.requests] == cached
    assert cached[0] == 0
    assert all(hit > 0 for hit in cached[1:])
