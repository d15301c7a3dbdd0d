"""Fixtures of the CLI tests: the real `aiperf-mock-server` command in a subprocess.

`cli_server(args, env=..., port=...)` runs the console script exactly as a user would (stderr
is a file, not a TTY, so the logs are JSON lines), waits for `/health` and stops it at the end
of the test: SIGTERM to the master, then SIGKILL to its whole process group and to any worker
still alive. Tests that run the command in-process use `typer.testing.CliRunner` with
`serve` replaced, so no server starts.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import httpx
import msgspec
import pytest

import mockcli.main
from mockcore.settings import ENV_PREFIX, Settings
from mockhttp import shared_state

STARTUP_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 40.0  # the server's own grace period is 30 s
_SPAWNED = re.compile(r"Spawning worker-\d+ with PID: (\d+)")
_STARTED = re.compile(r"Started worker-(\d+)")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def console_script() -> str:
    """The installed `aiperf-mock-server` next to this interpreter (else on PATH)."""
    beside = Path(sys.executable).with_name("aiperf-mock-server")
    if beside.exists():
        return str(beside)
    found = shutil.which("aiperf-mock-server")
    assert found is not None, "the aiperf-mock-server console script is not installed"
    return found


def clean_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any `MOCK_SERVER_*`, plus `extra`."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith(ENV_PREFIX)}
    environ.update(extra or {})
    return environ


def pid_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


class WorkerSlot(msgspec.Struct, frozen=True):
    """One worker's counters in the shared state file."""

    pid: int
    in_flight: int
    tokens: int
    served: int


def _state_directories() -> list[Path]:
    candidates = [Path("/dev/shm"), Path(tempfile.gettempdir())]  # noqa: S108 - where the CLI puts it
    return [directory for directory in candidates if directory.is_dir()]


class CliServer:
    """One `aiperf-mock-server` process (master plus workers)."""

    def __init__(self, args: Sequence[str], *, port: int, env: Mapping[str, str] | None = None) -> None:
        self.args = [console_script(), *args]
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._stdout: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            self.args,
            env=clean_environ(env),
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=self._stderr,
            start_new_session=True,
        )
        self._worker_pids: list[int] = []

    # -- observation -------------------------------------------------------------------------

    def stderr_text(self) -> str:
        """Everything the server wrote to stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def stdout_text(self) -> str:
        """Everything the server wrote to stdout so far."""
        self._stdout.seek(0)
        return self._stdout.read().decode(errors="replace")

    def log_records(self) -> list[dict[str, Any]]:
        """The stderr lines parsed as JSON (every line must be JSON: stderr is not a TTY)."""
        records = []
        for line in self.stderr_text().splitlines():
            if not line.strip():
                continue
            try:
                records.append(msgspec.json.decode(line))
            except msgspec.DecodeError:
                pytest.fail(f"a log line is not JSON: {line!r}\n{self.stderr_text()}")
        return records

    def worker_pids(self) -> list[int]:
        """The PIDs of the workers Granian spawned, from its "Spawning worker-N" lines."""
        found = [int(match[1]) for match in _SPAWNED.finditer(self.stderr_text())]
        self._worker_pids = sorted(set(found) | set(self._worker_pids))
        return list(self._worker_pids)

    def started_workers(self) -> int:
        """How many workers reported "Started worker-N" (they handle stop signals from then on)."""
        return len(set(_STARTED.findall(self.stderr_text())))

    def wait_for_workers(self, count: int, timeout: float = STARTUP_TIMEOUT_S) -> list[int]:
        """Wait until `count` workers were spawned and started; return their PIDs.

        Stop a server only after this: Granian loses a stop signal that reaches a worker in the
        first moments after its fork, and then waits its whole kill timeout (30 s) for it.
        """
        deadline = time.monotonic() + timeout
        while len(self.worker_pids()) < count or self.started_workers() < count:
            if time.monotonic() > deadline:
                pytest.fail(f"only {self.started_workers()} of {count} workers started:\n{self.describe()}")
            time.sleep(0.05)
        return self.worker_pids()

    def worker_slots(self) -> dict[int, WorkerSlot]:
        """This server's per-worker counters, read from its shared state file, by PID."""
        pids = set(self.worker_pids())
        size = shared_state._SLOT.size
        for directory in _state_directories():
            for path in directory.glob("aiperf-mock-server-*.state"):
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                if len(data) != shared_state.FILE_BYTES or not data.startswith(shared_state.MAGIC):
                    continue
                slots = {}
                for index in range(shared_state.MAX_WORKER_SLOTS):
                    fields = shared_state._SLOT.unpack_from(data, shared_state._SLOTS_OFFSET + index * size)
                    if fields[0] in pids:
                        slots[fields[0]] = WorkerSlot(*fields)
                if slots:
                    return slots
        return {}

    def describe(self) -> str:
        """The command and its output, for failure messages."""
        return (
            f"command: {' '.join(self.args)}\nexit status: {self.process.poll()}\n"
            f"stdout:\n{self.stdout_text()}\nstderr:\n{self.stderr_text()}"
        )

    # -- life cycle --------------------------------------------------------------------------

    def wait_until_healthy(self, timeout: float = STARTUP_TIMEOUT_S) -> dict[str, Any]:
        """Poll `/health` until it answers 200; return its body."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=2.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(f"the server exited early:\n{self.describe()}")
                try:
                    response = client.get("/health")
                except httpx.TransportError:
                    time.sleep(0.05)
                    continue
                if response.status_code == 200:
                    body: dict[str, Any] = response.json()
                    return body
                time.sleep(0.05)
        pytest.fail(f"the server did not become healthy in {timeout} s:\n{self.describe()}")

    def stop(self, signum: int | None = signal.SIGTERM, timeout: float = SHUTDOWN_TIMEOUT_S) -> int:
        """Send `signum` (None: no signal) to the master, wait for it to exit, return its status."""
        self.worker_pids()
        if signum is not None and self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the server did not exit within {timeout} s of signal {signum}:\n{self.describe()}")

    def kill(self) -> None:
        """SIGKILL whatever is left of this server: the group and every known worker."""
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
        """Stop gently, then forcefully; release the log files (once)."""
        if self._stderr.closed:
            return
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(SHUTDOWN_TIMEOUT_S)
            self.kill()
        finally:
            self._stderr.close()
            self._stdout.close()


class StartCliServer(Protocol):
    """`cli_server(args, port=..., env=None, healthy=True) -> CliServer`."""

    def __call__(
        self,
        args: Sequence[str],
        *,
        port: int,
        env: Mapping[str, str] | None = None,
        healthy: bool = True,
    ) -> CliServer: ...


@pytest.fixture
def cli_server() -> Iterator[StartCliServer]:
    """Start real servers for one test; every one is stopped (or killed) afterwards."""
    started: list[CliServer] = []

    def start(
        args: Sequence[str], *, port: int, env: Mapping[str, str] | None = None, healthy: bool = True
    ) -> CliServer:
        server = CliServer(args, port=port, env=env)
        started.append(server)
        if healthy:
            server.wait_until_healthy()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.close()


@pytest.fixture
def no_mock_server_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every `MOCK_SERVER_*` variable from this process for the test."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


@pytest.fixture
def captured_settings(monkeypatch: pytest.MonkeyPatch, no_mock_server_environ: None) -> list[Settings]:
    """Run the Typer command in-process without serving: `serve` records the Settings instead.

    Logging is left alone too, so that the test process keeps its own configuration.
    """
    captured: list[Settings] = []
    monkeypatch.setattr(mockcli.main, "serve", captured.append)
    monkeypatch.setattr(mockcli.main, "configure_logging", lambda *_args: None)
    return captured
