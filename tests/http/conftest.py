"""Fixtures of the HTTP tests: real Granian servers in subprocesses, and in-process apps.

`start_server(settings)` starts `granian --interface asgi --factory
mockhttp.app:create_app_from_env` on a free port with the settings in
`MOCK_SERVER_SETTINGS_JSON`, exactly as the CLI hands them to its workers. Servers are
session-scoped and shared by settings (starting one costs about a second on a loaded machine);
a test that depends on the server's fault sequence asks for a `fresh` one.
"""

import sys
from collections.abc import Iterator
from typing import Protocol

import httpx
import msgspec
import openai
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.server_process import ServerProcess, free_port

from mockcore import Settings
from mockhttp import create_app
from mockhttp.app import SETTINGS_ENV

# No latency at all: for tests that check what is sent, not when.
INSTANT = Settings(ttft=0.0, itl=0.0)


class GranianServer(ServerProcess):
    """One Granian server process (master plus one worker) serving `mockhttp`.

    Only the settings travel, in `MOCK_SERVER_SETTINGS_JSON`: no stray `MOCK_SERVER_*`
    variable of the caller's shell.
    """

    def __init__(self, settings: Settings) -> None:
        port = free_port()
        self.settings = msgspec.structs.replace(settings, host="127.0.0.1", port=port)
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
            str(port),
            "--workers",
            "1",
            "--loop",
            "uvloop",
            "--no-ws",
        ]
        environ = {SETTINGS_ENV: msgspec.json.encode(self.settings).decode()}
        super().__init__(command, port=port, env=environ, separate_stdout=False)


class StartServer(Protocol):
    """`start_server(settings, fresh=False) -> base_url`."""

    def __call__(self, settings: Settings, *, fresh: bool = False) -> str: ...


@pytest.fixture(scope="session")
def start_server() -> Iterator[StartServer]:
    """Start (or reuse) a real server for `settings`; `fresh=True` always starts a new one.

    Reuse is safe for tests that do not depend on how many requests the server has seen;
    fault-sequence tests need `fresh=True`.
    """
    shared: dict[bytes, GranianServer] = {}
    started: list[GranianServer] = []

    def start(settings: Settings, *, fresh: bool = False) -> str:
        key = msgspec.json.encode(settings)
        if not fresh and key in shared:
            return shared[key].base_url
        server = GranianServer(settings)
        started.append(server)
        server.wait_until_healthy()
        if not fresh:
            shared[key] = server
        return server.base_url

    yield start
    for server in started:
        server.close()


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
