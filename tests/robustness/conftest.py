"""Fixtures of the robustness tests: real servers (the CLI and an embedded Granian) and helpers.

`cli_server(args)` runs `python -m mockcli` exactly as a user would, with stderr captured to a
file (not a TTY, so the logs are JSON lines); it is stopped, or killed, after the test.
`shared_cli_server(args)` reuses one server per argument list for the whole session.
`tests.embedded_server.EmbeddedServer` runs an app built in this process under Granian's
embedded server, so a test can read the app's `LocalLoadTracker` and its event loop.

Import the helpers as `from tests.robustness.conftest import assert_envelope` (pytest's
importlib mode registers the `tests` package through `tests/conftest.py`).
"""

import logging
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx
import msgspec
import pytest
from litestar.testing import TestClient
from tests.server_process import ServerProcess, free_port

from mockcli.options import flag_name, is_switch
from mockcore.settings import Settings
from mockhttp import create_app
from mockhttp.ports import LoadSnapshot

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


class CliServer(ServerProcess):
    """One `python -m mockcli` process (master plus workers) on a free port; one output file."""

    def __init__(self, args: Sequence[str]) -> None:
        port = free_port()
        argv = [sys.executable, "-m", "mockcli", "--host", "127.0.0.1", "--port", str(port), *args]
        super().__init__(argv, port=port, separate_stdout=False)

    def log_text(self) -> str:
        """Everything the server wrote so far (stdout and stderr)."""
        return self.stderr_text()

    def load(self) -> LoadSnapshot:
        """Requests in flight, tokens emitted and requests served, over this server's workers.

        Read from the shared state file the workers publish their counters in
        (`ServerProcess.worker_slots`).
        """
        slots = self.worker_slots().values()
        return LoadSnapshot(
            in_flight_requests=sum(slot.in_flight for slot in slots),
            tokens_emitted=sum(slot.tokens for slot in slots),
            requests_served=sum(slot.served for slot in slots),
        )

    def wait_for_idle(self, within_s: float = 10.0) -> LoadSnapshot:
        """Wait until no request is in flight; return the load then."""
        deadline = time.monotonic() + within_s
        while (snapshot := self.load()).in_flight_requests:
            assert time.monotonic() < deadline, f"still in flight after {within_s} s: {snapshot}"
            time.sleep(0.01)
        return snapshot


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


def encode(value: Any) -> bytes:
    """JSON bytes of a value (msgspec: big integers are kept exactly)."""
    return msgspec.json.encode(value)


# -- in-process apps whose error log a test can read --------------------------------------


class ErrorLog(logging.Handler):
    """Collects what the app logs at ERROR (an unexpected exception logs its traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def error_log() -> Iterator[ErrorLog]:
    """What the app logs at ERROR while the module runs."""
    handler = ErrorLog()
    logger = logging.getLogger("mockhttp")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture(scope="module")
def in_process(error_log: ErrorLog) -> Iterator[TestClient[Any]]:
    """An instant app in this process; the module fails if it logged any error."""
    with TestClient(create_app(Settings(ttft=0.0, itl=0.0))) as client:
        yield client
    assert error_log.records == []
