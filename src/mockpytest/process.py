"""One `aiperf-mock-server` child process: started, waited for until ready, always reaped.

The process runs in its own session, so that its workers can be killed as one group, and
writes its output to a temporary file (never a pipe nobody reads), whose tail goes into
every failure message.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import IO

# The server's own grace period for in-flight responses is 30 s; an idle server stops at once.
STOP_TIMEOUT_S = 40.0
# How long `close` waits for workers spawned but not started yet (see `_let_spawned_workers_start`).
WORKER_START_GRACE_S = 15.0
OUTPUT_TAIL_LINES = 30
_POLL_S = 0.05
_HEALTH_REQUEST_TIMEOUT_S = 2.0
_SPAWNED = re.compile(r"Spawning worker-\d+")
_STARTED = re.compile(r"Started worker-(\d+)")
_ADDRESS_IN_USE = re.compile(r"address already in use|os error 98", re.IGNORECASE)
# Never through a proxy: the server is on the loopback interface.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerStartError(Exception):
    """The server did not come up; the message says why and ends with its output."""


class PortTakenError(ServerStartError):
    """Someone else bound the port between choosing it and the server binding it."""


def free_port() -> int:
    """A TCP port of the loopback interface nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    """A server (master and workers) started from `argv`, answering at `base_url`."""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str], base_url: str) -> None:
        self.argv = list(argv)
        self.base_url = base_url
        self._output: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._process = subprocess.Popen(  # noqa: S603 - our own command, no shell
            self.argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """The master's process id (also the id of the process group of its workers)."""
        return self._process.pid

    def output(self) -> str:
        """Everything the server wrote so far, stdout and stderr interleaved."""
        if self._output.closed:
            return ""
        self._output.seek(0)
        return self._output.read().decode(errors="replace")

    def output_tail(self, lines: int = OUTPUT_TAIL_LINES) -> str:
        """The last `lines` lines of the output, for failure messages."""
        tail = self.output().splitlines()[-lines:]
        return "\n".join(tail) if tail else "(no output)"

    def describe(self) -> str:
        """The command, its exit status and the tail of its output."""
        status = self._process.poll()
        return (
            f"command: {' '.join(self.argv)}\n"
            f"exit status: {'none, still running' if status is None else status}\n"
            f"last {OUTPUT_TAIL_LINES} lines of its output:\n{self.output_tail()}"
        )

    # -- start -------------------------------------------------------------------------------

    def wait_until_ready(self, *, workers: int | None, timeout_s: float) -> None:
        """Return once `/health` answers 200 and `workers` workers reported they started.

        `workers` is None when the log level hides Granian's "Started worker" lines. Raises
        `PortTakenError` when the port was taken, `ServerStartError` for anything else.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                if _ADDRESS_IN_USE.search(self.output()):
                    raise PortTakenError(f"the port was taken before the server bound it\n{self.describe()}")
                raise ServerStartError(f"the server exited during start-up\n{self.describe()}")
            if self._healthy() and (workers is None or self._started_workers() >= workers):
                return
            time.sleep(_POLL_S)
        waited_for = f"/health and {workers} started workers" if workers else "/health"
        raise ServerStartError(
            f"the server did not come up within {timeout_s:g} s ({waited_for})\n{self.describe()}"
        )

    def _healthy(self) -> bool:
        try:
            with _DIRECT.open(f"{self.base_url}/health", timeout=_HEALTH_REQUEST_TIMEOUT_S) as response:
                return bool(response.status == 200)  # noqa: PLR2004 - HTTP OK
        except (urllib.error.URLError, OSError):
            return False

    def _started_workers(self) -> int:
        return len(set(_STARTED.findall(self.output())))

    # -- stop --------------------------------------------------------------------------------

    def _let_spawned_workers_start(self) -> None:
        """Wait (bounded) until every worker spawned so far has started.

        Granian loses a stop signal that reaches a worker in its first moments, and the master
        then waits its whole kill timeout (30 s) for it.
        """
        deadline = time.monotonic() + WORKER_START_GRACE_S
        while self._process.poll() is None and time.monotonic() < deadline:
            text = self.output()
            if len(_STARTED.findall(text)) >= len(_SPAWNED.findall(text)):
                return
            time.sleep(_POLL_S)

    def close(self) -> None:
        """Stop with SIGTERM, SIGKILL the process group if it lingers, reap; then drop the output."""
        if self._output.closed:
            return
        try:
            if self._process.poll() is None:
                self._let_spawned_workers_start()
                self._process.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._process.wait(STOP_TIMEOUT_S)
        finally:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the master and its workers (one process group), reap it, drop the output."""
        try:
            # While the master is unreaped its pid, and so its group id, cannot be reused.
            if self._process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        finally:
            self._output.close()
