"""mockpytest: the aiperf-mock-server inside a pytest suite, as fixtures.

`mock_server` is a real server process on a free port, `mock_app` the same mock in-process as
an ASGI app; both take their options from `@pytest.mark.mock_server(...)` and predict their
own answers exactly (`.predict`). The fixtures live in `mockpytest.plugin`, which pytest loads
through this distribution's `pytest11` entry point; this package exports their types.
"""

from mockpytest.app import MockApp, MockAppFactory
from mockpytest.options import MockServerOptionError
from mockpytest.process import ServerStartError
from mockpytest.server import MockServer, MockServerFactory

__all__ = [
    "MockApp",
    "MockAppFactory",
    "MockServer",
    "MockServerFactory",
    "MockServerOptionError",
    "ServerStartError",
]
