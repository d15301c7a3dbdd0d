"""The engine process of a multi-worker server: shared by the workers, gone with the server.

With two workers the CLI starts one engine process; a prefix cached through one request is
a hit for the next whichever worker serves it; if the engine process dies, generations get a
503 envelope (not a hang); and when the server stops, the engine process and its socket go too.
"""

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bench.procfs import children, cmdline
from tests.server_process import ServerProcess, free_port

pytestmark = pytest.mark.e2e

PROMPT = "A prompt shared by every request of this test, long enough to fill a few blocks. " * 3
CHAT = {"model": "m", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 4}
MAX_CONNECTIONS_TRIED = 40


def _engine_pid(server: ServerProcess) -> int:
    """The spawned engine process among the server's children (the workers are forked)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for child in children(server.process.pid):
            if "spawn_main" in cmdline(child):
                return child
        time.sleep(0.05)
    pytest.fail(f"no engine process:\n{server.describe()}")


@pytest.fixture
def two_workers_with_engine() -> Iterator[ServerProcess]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "mockcli",
        "--port",
        str(port),
        "--workers",
        "2",
        "--engine",
        "qwen3-0.6b",
    ]
    server = ServerProcess(command, port=port)
    try:
        server.wait_until_healthy()
        server.wait_for_workers(2)
        yield server
    finally:
        server.close()


def test_every_connection_shares_one_engine_and_its_prefix_cache(
    two_workers_with_engine: ServerProcess,
) -> None:
    server = two_workers_with_engine
    cached: list[int] = []
    # A fresh connection each time, until both workers have answered some (as Granian spreads them).
    for _ in range(MAX_CONNECTIONS_TRIED):
        with httpx.Client(base_url=server.base_url, timeout=30, trust_env=False) as client:
            response = client.post("/v1/chat/completions", json=CHAT)
        assert response.status_code == 200, response.text
        cached.append(response.json()["usage"]["prompt_tokens_details"]["cached_tokens"])
        workers_served = sum(slot.served > 0 for slot in server.worker_slots().values())
        if workers_served == 2 and len(cached) >= 4:
            break
    else:
        pytest.skip(f"{MAX_CONNECTIONS_TRIED} connections all reached one worker")
    # The first request filled the cache; every later one, on either worker, hit it.
    assert cached[0] == 0
    assert all(hit > 0 for hit in cached[1:]), cached
    metrics = httpx.get(f"{two_workers_with_engine.base_url}/metrics", timeout=30, trust_env=False).text
    assert 'vllm:num_requests_running{engine="0",model_name="mock-model"} 0' in metrics
    assert 'vllm:prefix_cache_queries_total{engine="0",model_name="mock-model"}' in metrics


def test_without_its_engine_process_a_generation_is_a_503_and_the_server_still_stops(
    two_workers_with_engine: ServerProcess,
) -> None:
    server = two_workers_with_engine
    engine = _engine_pid(server)
    os.kill(engine, signal.SIGKILL)
    time.sleep(0.2)
    statuses = set()
    for _ in range(4):
        with httpx.Client(base_url=server.base_url, timeout=30, trust_env=False) as client:
            response = client.post("/v1/chat/completions", json=CHAT)
            statuses.add(response.status_code)
            if response.status_code == 503:
                assert response.json()["error"]["type"] == "server_error"
                assert response.headers["retry-after"].isdigit()
            # Routes outside the engine keep working.
            assert client.post("/v1/embeddings", json={"model": "m", "input": "x"}).status_code == 200
    assert statuses == {503}
    server.close()
    assert server.process.poll() is not None


def test_stopping_the_server_stops_its_engine_process(two_workers_with_engine: ServerProcess) -> None:
    engine = _engine_pid(two_workers_with_engine)
    two_workers_with_engine.close()
    deadline = time.monotonic() + 10
    while _running(engine) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(engine), "the engine process outlived the server"


def _running(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False
