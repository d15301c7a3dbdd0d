"""Server processes for the suite: start pinned, wait until ready, find workers, read /proc, stop."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.procfs import children, cmdline, process_cpu_s, rss_kib

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_CPU = 0
GENERATOR_CPU = 1
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(argv: list[str], cpu: int | None) -> list[str]:
    """Prefix `taskset -c CPU` (when asked and available)."""
    if cpu is None or shutil.which("taskset") is None:
        return argv
    return ["taskset", "-c", str(cpu), *argv]


def mock_server_command() -> str:
    """The console script installed next to this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "aiperf-mock-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("aiperf-mock-server")
    if found is None:
        raise SystemExit("aiperf-mock-server is not installed: run `make install`")
    return found


def _http_status(port: int, path: str) -> int | None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            first = sock.recv(64)
    except OSError:
        return None
    parts = first.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


class ServerProcess:
    """A server started in its own session, so a Ctrl-C reaches only the suite, which stops it."""

    def __init__(self, label: str, argv: list[str], port: int, workers: int, cpu: int | None) -> None:
        self.label = label
        self.argv = pinned(argv, cpu)
        self.port = port
        self.workers = workers
        self.cpu = cpu
        self._log = tempfile.NamedTemporaryFile(prefix=f"bench-{label}-", suffix=".log", delete=False)  # noqa: SIM115
        self._process: subprocess.Popen[bytes] | None = None
        self.worker_pids: list[int] = []

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self) -> "ServerProcess":
        self._process = subprocess.Popen(
            self.argv,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()
        return self

    def _worker_candidates(self) -> list[int]:
        # Not the multiprocessing helpers: the resource tracker and the engine process (`--engine`).
        return [
            pid
            for pid in children(self.pid)
            if "resource_tracker" not in cmdline(pid) and "spawn_main" not in cmdline(pid)
        ]

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self._process.returncode}:\n{self.log_tail()}")
            workers = self._worker_candidates()
            if len(workers) >= self.workers and _http_status(self.port, "/health") is not None:
                self.worker_pids = workers
                # Every worker answers before we measure: give the slowest a moment to bind.
                time.sleep(0.5 if self.workers == 1 else 1.5)
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.label} not ready after {READY_TIMEOUT_S} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        self._log.flush()
        return "\n".join(Path(self._log.name).read_text(errors="replace").splitlines()[-lines:])

    def workers_rss_kib(self) -> dict[int, int | None]:
        return {pid: rss_kib(pid) for pid in self.worker_pids}

    def workers_cpu_s(self) -> float:
        return sum(process_cpu_s(pid) or 0.0 for pid in self.worker_pids)

    def stop(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        workers = self._worker_candidates()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for pid in workers:  # a worker left behind by a killed parent
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def mock_server(label: str, ttft_ms: float, itl_ms: float, workers: int, pin: bool) -> ServerProcess:
    return mock_server_with(label, workers, ["--ttft", f"{ttft_ms:g}", "--itl", f"{itl_ms:g}"], pin=pin)


def mock_server_with(label: str, workers: int, flags: list[str], *, pin: bool = False) -> ServerProcess:
    """The mock server on a free port with `workers` and any other `flags`, logging warnings only."""
    port = free_port()
    argv = [mock_server_command(), "--port", str(port), "--workers", str(workers), "--log-level", "WARNING"]
    return ServerProcess(label, [*argv, *flags], port, workers, SERVER_CPU if pin else None)


def bare_server(label: str = "bare") -> ServerProcess:
    """The bare Granian app, configured as the mock's own Granian (see mockcli.server)."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--loop",
        "uvloop",
        "--no-ws",
        "--workers",
        "1",
        "--backlog",
        "4096",
        "--backpressure",
        "8192",
        "--log-level",
        "warning",
        "--no-access-log",
        "--port",
        str(port),
        "bench.bare_app:app",
    ]
    return ServerProcess(label, argv, port, 1, SERVER_CPU)
