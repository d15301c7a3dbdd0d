"""Real servers for a test session: one per distinct option set, started once, closed at the end.

The server is `python -m mockcli` of the interpreter running pytest (the same installation the
plugin came from), on a free port of the loopback interface, with no `MOCK_SERVER_*` variable
of the test process: only the options configure it.
"""

import contextlib
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mockpytest.options import (
    LOOPBACK,
    cli_values,
    command_line,
    options_as_call,
    resolve,
    server_environ,
)
from mockpytest.prediction import predict_answer
from mockpytest.process import PortTakenError, ServerProcess, ServerStartError, free_port

if TYPE_CHECKING:
    from mockcore.predict import Prediction
    from mockcore.settings import Settings

DEFAULT_START_TIMEOUT_S = 60.0
# Another process (another xdist worker) may bind the free port first: try a new one.
PORT_ATTEMPTS = 3
# The log levels at which Granian's "Started worker-N" lines show, so start-up can wait for them.
_LEVELS_SHOWING_WORKERS = ("DEBUG", "INFO")


class MockServer:
    """A running `aiperf-mock-server`: where it listens, what it runs with, what it answers."""

    def __init__(self, settings: "Settings", process: ServerProcess, options: Mapping[str, Any]) -> None:
        self.settings = settings
        self.options = dict(options)
        self.port = settings.port
        self.base_url = f"http://{LOOPBACK}:{settings.port}"
        self.openai_base_url = f"{self.base_url}/v1"
        self._process = process

    def predict(self, route: str, body: Mapping[str, Any] | bytes, **keywords: Any) -> "Prediction":
        """What this server answers to `body` on `route` ("chat" or "/v1/chat/completions").

        `keywords` are those of `mockcore.predict.predict` (`sequence_number`, `headers`, ...).
        """
        return predict_answer(self.settings, route, body, **keywords)

    def output(self) -> str:
        """The server's logs so far (JSON lines)."""
        return self._process.output()

    @property
    def pid(self) -> int:
        """The server's master process."""
        return self._process.pid

    def close(self) -> None:
        """Stop the server and reap it (the session does this for the servers it started)."""
        self._process.close()

    def __repr__(self) -> str:
        return f"<MockServer {self.base_url} {options_as_call(self.options)}>"


def start_mock_server(
    options: Mapping[str, Any], *, start_timeout_s: float = DEFAULT_START_TIMEOUT_S
) -> MockServer:
    """Validate `options`, start a server with them and wait until it serves.

    Raises `MockServerOptionError` before starting anything for a bad option, and
    `ServerStartError` (with the command and the tail of its output) when it does not come up.
    """
    environ = server_environ()
    resolve(options, environ)  # a bad option fails here, before a process exists
    argv_options = command_line(cli_values(options))
    for _ in range(PORT_ATTEMPTS):
        port = free_port()
        settings = resolve(options, environ, port)
        process = ServerProcess(
            [sys.executable, "-m", "mockcli", *argv_options, "--port", str(port), "--host", LOOPBACK],
            env=environ,
            base_url=f"http://{LOOPBACK}:{port}",
        )
        showing = settings.effective_log_level in _LEVELS_SHOWING_WORKERS
        try:
            process.wait_until_ready(workers=settings.workers if showing else None, timeout_s=start_timeout_s)
        except PortTakenError:
            process.kill()
            continue
        except ServerStartError as error:
            process.kill()
            raise ServerStartError(f"{options_as_call(options)}: {error}") from None
        except BaseException:
            process.kill()
            raise
        return MockServer(settings, process, options)
    taken = f"{PORT_ATTEMPTS} free ports in a row were taken before the server could bind them"
    raise ServerStartError(f"{options_as_call(options)}: {taken}")


# `mock_server_factory(**options)`.
MockServerFactory = Callable[..., MockServer]


class MockServerPool:
    """The session's servers, one per distinct option set; a failed start is remembered, not retried."""

    def __init__(self, *, start_timeout_s: float = DEFAULT_START_TIMEOUT_S) -> None:
        self._start_timeout_s = start_timeout_s
        self._servers: dict[Settings, MockServer] = {}
        self._failures: dict[Settings, ServerStartError] = {}

    def server(self, **options: Any) -> MockServer:
        """The session's server with `options`, started on first use.

        Options that resolve to the same Settings (`ttft=0` and `ttft=0.0`) share a server.
        """
        key = resolve(options, server_environ())
        if key in self._failures:
            raise self._failures[key]
        if key not in self._servers:
            try:
                self._servers[key] = start_mock_server(options, start_timeout_s=self._start_timeout_s)
            except ServerStartError as error:
                self._failures[key] = error
                raise
        return self._servers[key]

    def close(self) -> None:
        """Stop every server this pool started."""
        servers, self._servers = list(self._servers.values()), {}
        with contextlib.ExitStack() as stack:  # every one is closed, even if one close fails
            for server in servers:
                stack.callback(server.close)
