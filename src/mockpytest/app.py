"""The mock in-process: the ASGI app of `mockhttp`, for clients with an ASGI transport.

No socket and no process: `httpx.ASGITransport(app=mock_app.app)` talks to it directly, and
an `openai.AsyncOpenAI(http_client=...)` built on that transport uses it as a server. A new
app has fresh state (its fault sequence starts at request 1), so each test gets its own.
"""

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mockpytest.options import resolve, server_environ
from mockpytest.prediction import predict_answer

if TYPE_CHECKING:
    from mockcore.predict import Prediction
    from mockcore.settings import Settings
    from mockhttp import ASGIApp

# Any host does: requests never leave the process.
IN_PROCESS_BASE_URL = "http://mock-server"


class MockApp:
    """The ASGI app of a mock with `settings`, and the answers it gives."""

    def __init__(self, settings: "Settings", app: "ASGIApp", options: Mapping[str, Any]) -> None:
        self.settings = settings
        self.app = app
        self.options = dict(options)
        self.base_url = IN_PROCESS_BASE_URL
        self.openai_base_url = f"{IN_PROCESS_BASE_URL}/v1"

    def predict(self, route: str, body: Mapping[str, Any] | bytes, **keywords: Any) -> "Prediction":
        """What this app answers to `body` on `route` ("chat" or "/v1/chat/completions").

        `keywords` are those of `mockcore.predict.predict` (`sequence_number`, `headers`, ...).
        """
        return predict_answer(self.settings, route, body, **keywords)


# `mock_app_factory(**options)`.
MockAppFactory = Callable[..., MockApp]


def build_mock_app(options: Mapping[str, Any]) -> MockApp:
    """A fresh app with `options`; raises `MockServerOptionError` for a bad option."""
    from mockhttp import create_app  # noqa: PLC0415 - the plugin imports nothing until used

    settings = resolve(options, server_environ())
    return MockApp(settings, create_app(settings), options)
