"""Fixtures of the robustness tests: real servers (the CLI and an embedded Granian) and helpers.

`cli_server(args)` runs `python -m mockcli` exactly as a user would, with stderr captured to a
file (not a TTY, so the logs are JSON lines); it is stopped, or killed, after the test.
`shared_cli_server(args)` reuses one server per argument list for the whole session.
`EmbeddedServer` runs an app built in this process under Granian's embedded server, so a
test can read the app's `LocalLoadTracker` and its event loop.

Import the helpers as `from tests.robustness.conftest import assert_envelope` (pytest's
importlib mode registers the `tests` package through `tests/conftest.py`).
"""

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import httpx
import msgspec
import pytest
from granian.constants import Interfaces
from granian.server.embed import Server

from mockcli.options import flag_name, is_switch
from mockcore.settings import ENV_PREFIX, Settings
from mockhttp import shared_state
from mockhttp.ports import LoadSnapshot

STARTUP_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 40.0  # the server's own grace period is 30 s
_SPAWNED = re.compile(r"Spawning worker-\d+ with PID: (\d+)")

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
EMBEDDINGS = "/v1/embeddings"
RANKING = "/v1/ranking"
POST_ROUTES = (CHAT, COMPLETIONS, EMBEDDINGS, RANKING)
USER = [{"role": "user", "content": "hi"}]

# A minimal valid body of every POST route.
VALID_BODIES: dict[str, dict[str, Any]] = {
    CHAT: {"model": "m", "messages": USER},
    COMPLETIONS: {"model": "m", "prompt": "hi"},
    EMBEDDINGS: {"model": "m", "input": "hi"},
    RANKING: {"model": "m", "query": {"text": "q"}, "passages": [{"text": "p"}]},
}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def pid_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def rss_mib(pid: int) -> float:
    """Resident memory of `pid`, MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def assert_envelope(response: httpx.Response) -> dict[str, Any]:
    """The response is exactly the OpenAI error envelope; return its inside."""
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict)
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str)
    assert error["message"]
    assert "Traceback" not in error["message"]
    assert isinstance(error["type"], str)
    assert error["param"] is None or isinstance(error["param"], str)
    assert error["code"] is None or isinstance(error["code"], str)
    result: dict[str, Any] = error
    return result


def assert_healthy(base_url: str) -> None:
    """The server still answers `/health`."""
    response = httpx.get(f"{base_url}/health", timeout=10.0, trust_env=False)
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


def settings_args(settings: Settings) -> list[str]:
    """The command-line flags that give `settings` (every field that differs from the default)."""
    defaults = Settings()
    args: list[str] = []
    for name in Settings.__struct_fields__:
        value = getattr(settings, name)
        if value == getattr(defaults, name):
            continue
        if is_switch(name):
            args += [flag_name(name)] if value else []
        else:
            args += [flag_name(name), str(value)]
    return args


class CliServer:
    """One `python -m mockcli` process (master plus workers) on a free port."""

    def __init__(self, args: Sequence[str]) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.args = [sys.executable, "-m", "mockcli", "--host", "127.0.0.1", "--port", str(self.port), *args]
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        environ = {name: value for name, value in os.environ.items() if not name.startswith(ENV_PREFIX)}
        self.process = subprocess.Popen(
            self.args,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=self._stderr,
            stderr=self._stderr,
            start_new_session=True,
        )
        self._worker_pids: set[int] = set()

    def log_text(self) -> str:
        """Everything the server wrote so far (stdout and stderr)."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def worker_pids(self) -> list[int]:
        """The PIDs of the workers Granian spawned, from its "Spawning worker-N" log lines."""
        self._worker_pids |= {int(match[1]) for match in _SPAWNED.finditer(self.log_text())}
        return sorted(self._worker_pids)

    def wait_for_workers(self, count: int) -> list[int]:
        """Wait until `count` workers were spawned; return their PIDs."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while len(self.worker_pids()) < count:
            assert time.monotonic() < deadline, f"only {self.worker_pids()} spawned:\n{self.log_text()}"
            time.sleep(0.05)
        return self.worker_pids()

    def load(self) -> LoadSnapshot:
        """Requests in flight, tokens emitted and requests served, over this server's workers.

        Read from the shared state file the workers publish their counters in: the one whose
        slots hold this server's worker PIDs. The slot layout is private to
        `mockhttp.shared_state`.
        """
        pids = set(self.worker_pids())
        size = shared_state._SLOT.size
        for directory in (Path("/dev/shm"), Path(tempfile.gettempdir())):  # noqa: S108 - where the CLI puts it
            for path in directory.glob("aiperf-mock-server-*.state"):
                with contextlib.suppress(OSError):
                    data = path.read_bytes()
                    slots = [
                        shared_state._SLOT.unpack_from(data, shared_state._SLOTS_OFFSET + index * size)
                        for index in range(shared_state.MAX_WORKER_SLOTS)
                    ]
                    ours = [slot for slot in slots if slot[0] in pids]
                    if ours:
                        return LoadSnapshot(
                            in_flight_requests=sum(slot[1] for slot in ours),
                            tokens_emitted=sum(slot[2] for slot in ours),
                            requests_served=sum(slot[3] for slot in ours),
                        )
        return LoadSnapshot(in_flight_requests=0, tokens_emitted=0, requests_served=0)

    def wait_for_idle(self, within_s: float = 10.0) -> LoadSnapshot:
        """Wait until no request is in flight; return the load then."""
        deadline = time.monotonic() + within_s
        while (snapshot := self.load()).in_flight_requests:
            assert time.monotonic() < deadline, f"still in flight after {within_s} s: {snapshot}"
            time.sleep(0.01)
        return snapshot

    def wait_until_healthy(self) -> None:
        """Poll `/health` until it answers 200."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        with httpx.Client(base_url=self.base_url, timeout=2.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(f"the server exited with {self.process.returncode}:\n{self.log_text()}")
                try:
                    if client.get("/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        pytest.fail(f"the server did not become healthy in {STARTUP_TIMEOUT_S} s:\n{self.log_text()}")

    def stop(self, signum: int | None = signal.SIGTERM, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> int:
        """Send `signum` (None: none, it was sent) to the master; wait for it to exit; its status."""
        self.worker_pids()
        if signum is not None and self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the server did not exit within {timeout_s} s:\n{self.log_text()}")

    def kill(self) -> None:
        """SIGKILL what is left: the process group and every worker seen."""
        self.worker_pids()
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(SHUTDOWN_TIMEOUT_S)
        for pid in self._worker_pids:
            if pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        """Stop gently, then forcefully; release the log file."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(SHUTDOWN_TIMEOUT_S)
            self.kill()
        finally:
            self._stderr.close()


class StartCliServer(Protocol):
    """`cli_server(args) -> CliServer`, already healthy."""

    def __call__(self, args: Sequence[str]) -> CliServer: ...


@pytest.fixture
def cli_server() -> Iterator[StartCliServer]:
    """Start real servers for one test; each is stopped (or killed) afterwards."""
    started: list[CliServer] = []

    def start(args: Sequence[str]) -> CliServer:
        server = CliServer(args)
        started.append(server)
        server.wait_until_healthy()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.close()


@pytest.fixture(scope="session")
def shared_cli_server() -> Iterator[StartCliServer]:
    """Start (or reuse) a real server per argument list for the whole session."""
    started: dict[tuple[str, ...], CliServer] = {}

    def start(args: Sequence[str]) -> CliServer:
        key = tuple(args)
        if key not in started:
            server = CliServer(args)
            started[key] = server
            server.wait_until_healthy()
        return started[key]

    try:
        yield start
    finally:
        for server in started.values():
            server.close()


class EmbeddedServer:
    """Granian's embedded server on its own event loop, in a thread of this process."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server = Server(
            app,
            address="127.0.0.1",
            port=self.port,
            interface=Interfaces.ASGINL,
            websockets=False,
            backlog=2048,
            backpressure=2048,
            log_enabled=False,
        )
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="embedded-granian", daemon=True)

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self._server.serve())
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def start(self) -> None:
        """Serve, and return once `/health` answers."""
        self._thread.start()
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.base_url}/health", timeout=1.0, trust_env=False)
            except httpx.TransportError:
                time.sleep(0.02)
            else:
                return
        pytest.fail("the embedded server did not start")

    def call(self, function: Any) -> Any:
        """Run `function()` on the server's loop, between two of its callbacks; return its result."""
        done = threading.Event()
        result: list[Any] = []

        def run() -> None:
            result.append(function())
            done.set()

        self.loop.call_soon_threadsafe(run)
        assert done.wait(10.0), "the server's loop did not answer"
        return result[0]

    def live_tasks(self) -> int:
        """Tasks of the server's loop not yet done."""
        count: int = self.call(lambda: sum(not task.done() for task in asyncio.all_tasks(self.loop)))
        return count

    def live_timers(self) -> int:
        """Timers scheduled on the server's loop and not cancelled."""
        scheduled = self.loop._scheduled  # type: ignore[attr-defined]
        count: int = self.call(lambda: sum(not timer.cancelled() for timer in scheduled))
        return count

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.loop.call_soon_threadsafe(self._server.stop)
        self._thread.join(10.0)
        assert not self._thread.is_alive()


def encode(value: Any) -> bytes:
    """JSON bytes of a value (msgspec: big integers are kept exactly)."""
    return msgspec.json.encode(value)
