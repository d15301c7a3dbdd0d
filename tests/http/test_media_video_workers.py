"""A video job made through one worker is seen, downloaded and deleted through another.

The real command runs with two workers. A keep-alive connection stays with one worker, and a
chat request counts in that worker's slot of the shared state file, so the test can tell
which worker a connection reaches: it finds one connection per worker, creates the job on
the first and uses every other route on the second.
"""

import io
import sys
import time
from collections.abc import Iterator

import av
import httpx
import pytest
from tests.server_process import ServerProcess, free_port

pytestmark = pytest.mark.e2e

CHAT = {"model": "mock-model", "messages": [{"role": "user", "content": "which worker?"}], "max_tokens": 1}
MAX_CONNECTIONS_TRIED = 40


@pytest.fixture(scope="module")
def two_workers() -> Iterator[ServerProcess]:
    port = free_port()
    command = [sys.executable, "-m", "mockcli", "--port", str(port), "--workers", "2", "--fast"]
    server = ServerProcess(command, port=port)
    try:
        server.wait_until_healthy()
        server.wait_for_workers(2)
        yield server
    finally:
        server.close()


def _one_connection(base_url: str) -> httpx.Client:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.Client(base_url=base_url, timeout=30.0, trust_env=False, limits=limits)


def _worker_of(server: ServerProcess, client: httpx.Client) -> int:
    """The PID of the worker that serves `client`'s connection."""
    before = {pid: slot.served for pid, slot in server.worker_slots().items()}
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        grown = [pid for pid, slot in server.worker_slots().items() if slot.served > before.get(pid, 0)]
        if grown:
            return grown[0]
        time.sleep(0.01)
    pytest.fail("no worker counted the request")


@pytest.fixture(scope="module")
def clients_of_two_workers(two_workers: ServerProcess) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """One client per worker (each a single keep-alive connection)."""
    first = _one_connection(two_workers.base_url)
    first_pid = _worker_of(two_workers, first)
    tried: list[httpx.Client] = []
    try:
        for _ in range(MAX_CONNECTIONS_TRIED):
            candidate = _one_connection(two_workers.base_url)
            tried.append(candidate)
            if _worker_of(two_workers, candidate) != first_pid:
                yield first, candidate
                return
        pytest.skip(f"{MAX_CONNECTIONS_TRIED} connections all reached one worker")
    finally:
        first.close()
        for client in tried:
            client.close()


def test_a_job_created_on_one_worker_is_served_by_the_other(
    clients_of_two_workers: tuple[httpx.Client, httpx.Client],
) -> None:
    creator, other = clients_of_two_workers
    created = creator.post(
        "/v1/videos", json={"prompt": "across workers", "seconds": "4", "size": "1280x720"}
    )
    assert created.status_code == 200
    video_id = created.json()["id"]

    seen = other.get(f"/v1/videos/{video_id}")
    assert seen.status_code == 200
    assert seen.json()["status"] == "completed"  # --fast: no render time
    assert video_id in [
        video["id"] for video in other.get("/v1/videos", params={"limit": 100}).json()["data"]
    ]

    content = other.get(f"/v1/videos/{video_id}/content")
    assert content.status_code == 200
    with av.open(io.BytesIO(content.content)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
    # The file rendered by the second worker is kept where the first one reads it.
    assert creator.get(f"/v1/videos/{video_id}/content").content == content.content

    assert other.delete(f"/v1/videos/{video_id}").json()["deleted"] is True
    assert creator.get(f"/v1/videos/{video_id}").status_code == 404
    assert creator.get(f"/v1/videos/{video_id}/content").status_code == 404
