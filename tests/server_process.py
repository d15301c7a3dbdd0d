"""A real `aiperf-mock-server` in a subprocess, for the tests that need whole processes.

The process runs in its own session (so its workers can be killed as a group), with every
`MOCK_SERVER_*` variable of the test process removed, and its output in temporary files:
stderr is not a TTY, so the logs are JSON lines. `close()` stops it with SIGTERM, then
SIGKILLs the group and every worker it was seen to spawn.
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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import httpx
import msgspec
import pytest
from tests import process_ledger

from mockcli.config import POD_NAME_ENV
from mockcore.settings import ENV_PREFIX
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


def installed_script(name: str) -> str:
    """The console script `name` of this virtual environment (else the one on PATH)."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    assert found is not None, f"the {name} console script is not installed"
    return found


def clean_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any `MOCK_SERVER_*` (nor a pod's `POD_NAME`), plus `extra`."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(ENV_PREFIX) and name != POD_NAME_ENV
    }
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


class ServerProcess:
    """One server process (master plus workers) listening on `port`."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        port: int,
        env: Mapping[str, str] | None = None,
        separate_stdout: bool = True,
    ) -> None:
        process_ledger.require_e2e(f"a server process ({argv[0]})")
        self.args = list(argv)
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._stdout: IO[bytes] = tempfile.TemporaryFile() if separate_stdout else self._stderr  # noqa: SIM115
        self.process = subprocess.Popen(
            self.args,
            env=clean_environ(env),
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=self._stderr,
            start_new_session=True,
        )
        self._worker_pids: set[int] = set()

    # -- observation -------------------------------------------------------------------------

    def stderr_text(self) -> str:
        """Everything the server wrote to stderr so far (and stdout, when not separate)."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def stdout_text(self) -> str:
        """Everything the server wrote to stdout so far."""
        self._stdout.seek(0)
        return self._stdout.read().decode(errors="replace")

    def describe(self) -> str:
        """The command and its output, for failure messages."""
        output = f"stderr:\n{self.stderr_text()}"
        if self._stdout is not self._stderr:
            output = f"stdout:\n{self.stdout_text()}\n{output}"
        return f"command: {' '.join(self.args)}\nexit status: {self.process.poll()}\n{output}"

    def worker_pids(self) -> list[int]:
        """The PIDs of the workers Granian spawned, from its "Spawning worker-N" lines."""
        self._worker_pids |= {int(match[1]) for match in _SPAWNED.finditer(self.stderr_text())}
        return sorted(self._worker_pids)

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

    def _let_spawned_workers_start(self, timeout: float = 15.0) -> None:
        """Wait (bounded) until every worker spawned so far has started, as `wait_for_workers`.

        A stop signal that reaches a worker in its first moments is lost, and the master then
        waits its whole kill timeout: a test that ends early must not pay that, or race it.
        Lines are counted, not workers, so a respawned worker is waited for too.
        """
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            text = self.stderr_text()
            if len(_STARTED.findall(text)) >= len(_SPAWNED.findall(text)):
                return
            time.sleep(0.05)

    def close(self) -> None:
        """Stop gently, then forcefully; release the output files (once)."""
        if self._stderr.closed:
            return
        try:
            if self.process.poll() is None:
                self._let_spawned_workers_start()
                self.process.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(SHUTDOWN_TIMEOUT_S)
            self.kill()
        finally:
            self._stderr.close()
            self._stdout.close()
