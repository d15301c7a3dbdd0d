"""The app's outer ASGI layer: the four inference routes skip Litestar's router.

Routing, the exception middleware and the scope state Litestar builds cost about a fifth of
the Python time of a small chat request. The inference endpoints are raw ASGI already and
need none of it, so an exact path match sends them straight there; everything else (other
routes, odd spellings of these paths, lifespan) goes to Litestar, which also has the
endpoints registered. An unexpected exception still answers in the OpenAI envelope.
"""

import contextlib
import logging

from litestar import Litestar

from mockcore import ErrorInfo
from mockhttp.inference_endpoints import RawEndpoint, Receive, Scope, Send, send_error

_LOGGER = logging.getLogger("mockhttp")
_INTERNAL_ERROR = ErrorInfo(
    message="The server had an internal error.", type="server_error", param=None, code=None
)


class MockServerApp:
    """The ASGI application `create_app` returns; `litestar` is the app behind it."""

    def __init__(self, litestar: Litestar, endpoints: dict[str, RawEndpoint]) -> None:
        self.litestar = litestar
        self._endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] == "http":
            endpoint = self._endpoints.get(scope["path"])
            if endpoint is not None:
                await _guarded(endpoint, scope, receive, send)
                return
        await self.litestar(scope, receive, send)  # type: ignore[arg-type]


async def _guarded(endpoint: RawEndpoint, scope: Scope, receive: Receive, send: Send) -> None:
    """Run `endpoint`; a bug is logged and answered with a 500 envelope when still possible."""
    try:
        await endpoint(scope, receive, send)
    except Exception:
        _LOGGER.exception("unhandled exception on %s %s", scope["method"], scope["path"])
        # When the response has started, the server closes the connection instead.
        with contextlib.suppress(Exception):
            await send_error(send, 500, _INTERNAL_ERROR)
