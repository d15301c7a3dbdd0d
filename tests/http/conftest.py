"""Fixtures of the HTTP tests: real Granian servers in subprocesses, and in-process apps.

`start_server(settings)` starts `granian --interface asgi --factory
mockhttp.app:create_app_from_env` on a free port with the settings in
`MOCK_SERVER_SETTINGS_JSON`, exactly as the CLI hands them to its workers. Servers are
session-scoped and shared by settings (starting one costs about a second on a loaded machine);
a test that depends on the server's fault sequence asks for a `fresh` one.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import IO, Protocol

import httpx
import msgspec
import openai
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.server_process import free_port

from mockcore import Settings
from mockhttp import create_app
from mockhttp.app import SETTINGS_ENV

STARTUP_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 10.0

# No latency at all: for tests that check what is sent, not when.
INSTANT = Settings(ttft=0.0, itl=0.0)


class ServerProcess:
    """One Granian server process (master plus one worker) serving `mockhttp`."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.settings = msgspec.structs.replace(settings, host="127.0.0.1", port=self.port)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        # Only the settings travel: no stray MOCK_SERVER_* variable of the caller's shell.
        env = {name: value for name, value in os.environ.items() if not name.startswith("MOCK_SERVER_")}
        env[SETTINGS_ENV] = msgspec.json.encode(self.settings).decode()
        command = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--factory",
            "mockhttp.app:create_app_from_env",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--loop",
            "uvloop",
            "--no-ws",
        ]
        self._process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_until_healthy(self) -> None:
        """Poll `/health` until it answers 200; fail with the server's log if it never does."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                pytest.fail(f"the server exited with {self._process.returncode}:\n{self.log_text()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"the server did not become healthy in {STARTUP_TIMEOUT_S} s:\n{self.log_text()}")

    def log_text(self) -> str:
        """Everything the server wrote so far."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        """SIGTERM to the master (it stops its worker), then SIGKILL to the group if it hangs."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(SHUTDOWN_TIMEOUT_S)
        self._log.close()


class StartServer(Protocol):
    """`start_server(settings, fresh=False) -> base_url`."""

    def __call__(self, settings: Settings, *, fresh: bool = False) -> str: ...


@pytest.fixture(scope="session")
def start_server() -> Iterator[StartServer]:
    """Start (or reuse) a real server for `settings`; `fresh=True` always starts a new one.

    Reuse is safe for tests that do not depend on how many requests the server has seen;
    fault-sequence tests need `fresh=True`.
    """
    shared: dict[bytes, ServerProcess] = {}
    started: list[ServerProcess] = []

    def start(settings: Settings, *, fresh: bool = False) -> str:
        key = msgspec.json.encode(settings)
        if not fresh and key in shared:
            return shared[key].base_url
        server = ServerProcess(settings)
        started.append(server)
        server.wait_until_healthy()
        if not fresh:
            shared[key] = server
        return server.base_url

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def instant_server(start_server: StartServer) -> str:
    """Base URL of a real server with ttft = itl = 0."""
    return start_server(INSTANT)


@pytest.fixture(scope="session")
def http(instant_server: str) -> Iterator[httpx.Client]:
    """A raw HTTP client bound to the instant server."""
    with httpx.Client(base_url=instant_server, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="session")
def openai_client(instant_server: str) -> Iterator[openai.OpenAI]:
    """The official client against the instant server; no retries, so faults surface."""
    with openai.OpenAI(base_url=f"{instant_server}/v1", api_key="x", max_retries=0, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="module")
def app_client() -> Iterator[TestClient[Litestar]]:
    """An in-process TestClient of `create_app(INSTANT)`."""
    with TestClient(create_app(INSTANT)) as client:
        yield client
