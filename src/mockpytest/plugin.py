"""The pytest plugin: `mock_server`, `mock_server_factory`, `mock_app` and `mock_app_factory`.

Registered through the `pytest11` entry point, so it is loaded by every pytest run of an
environment where the package is installed: importing it must stay cheap (the server, the
app and the core are imported inside the fixtures) and it does nothing until a test asks for
one of its fixtures. Each pytest process (each xdist worker) has its own session, and so its
own servers on its own free ports.
"""

from collections.abc import Iterator
from typing import Any, NoReturn

import pytest

from mockpytest.app import MockApp, MockAppFactory, build_mock_app
from mockpytest.options import MARKER_NAME, MockServerOptionError
from mockpytest.process import ServerStartError
from mockpytest.server import DEFAULT_START_TIMEOUT_S, MockServer, MockServerFactory, MockServerPool

START_TIMEOUT_INI = "mock_server_start_timeout"


def pytest_addoption(parser: pytest.Parser) -> None:
    """The one setting of the plugin itself: how long a server may take to come up."""
    parser.addini(
        START_TIMEOUT_INI,
        "seconds an aiperf-mock-server may take to come up before the test fails",
        default=str(DEFAULT_START_TIMEOUT_S),
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, so that `--strict-markers` suites accept it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER_NAME}(**options): options of the aiperf-mock-server that the mock_server and "
        "mock_app fixtures give this test (Settings field names, e.g. ttft=0, itl=0, error_rate=5)",
    )


def _marker_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker(MARKER_NAME)
    if marker is None:
        return {}
    if marker.args:
        _fail(f"@pytest.mark.{MARKER_NAME} takes keyword options only (ttft=0), not {marker.args!r}")
    return dict(marker.kwargs)


def _fail(message: str) -> NoReturn:
    """Fail the test with `message` alone: the reason is in it, a traceback would only hide it."""
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def mock_server_factory(pytestconfig: pytest.Config) -> Iterator[MockServerFactory]:
    """`mock_server_factory(**options)`: the session's server with those options, started once.

    Every server it started is stopped when the session ends.
    """
    pool = MockServerPool(start_timeout_s=float(pytestconfig.getini(START_TIMEOUT_INI)))

    def server(**options: Any) -> MockServer:
        try:
            return pool.server(**options)
        except (MockServerOptionError, ServerStartError) as error:
            reason = str(error)
        _fail(reason)  # outside the handler: the message alone, not a chain of two tracebacks

    try:
        yield server
    finally:
        pool.close()


@pytest.fixture
def mock_server(request: pytest.FixtureRequest, mock_server_factory: MockServerFactory) -> MockServer:
    """A real server for the session, with the options of the test's `mock_server` marker."""
    return mock_server_factory(**_marker_options(request))


@pytest.fixture
def mock_app_factory() -> MockAppFactory:
    """`mock_app_factory(**options)`: a fresh in-process app with those options."""

    def app(**options: Any) -> MockApp:
        try:
            return build_mock_app(options)
        except MockServerOptionError as error:
            reason = str(error)
        _fail(reason)

    return app


@pytest.fixture
def mock_app(request: pytest.FixtureRequest, mock_app_factory: MockAppFactory) -> MockApp:
    """A fresh in-process ASGI app with the options of the test's `mock_server` marker."""
    return mock_app_factory(**_marker_options(request))
