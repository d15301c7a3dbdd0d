"""Fixtures of the CLI tests: the real `aiperf-mock-server` command in a subprocess.

`cli_server(args, env=..., port=...)` runs the console script exactly as a user would (stderr
is a file, not a TTY, so the logs are JSON lines), waits for `/health` and stops it at the end
of the test: SIGTERM to the master, then SIGKILL to its whole process group and to any worker
still alive. Tests that run the command in-process use `typer.testing.CliRunner` with
`serve` replaced, so no server starts.
"""

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import msgspec
import pytest
from tests.server_process import ServerProcess, installed_script

import mockcli.main
from mockcli.config import POD_NAME_ENV
from mockcore.settings import ENV_PREFIX, Settings


class CliServer(ServerProcess):
    """One `aiperf-mock-server` process (master plus workers), run as its console script."""

    def __init__(self, args: Sequence[str], *, port: int, env: Mapping[str, str] | None = None) -> None:
        super().__init__([installed_script("aiperf-mock-server"), *args], port=port, env=env)

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
    """Remove every `MOCK_SERVER_*` variable (and a pod's `POD_NAME`) from this process for the test."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX) or name == POD_NAME_ENV:
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
