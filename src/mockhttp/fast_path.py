"""The app's outer ASGI layer: the inference routes skip Litestar's router.

Routing, the exception middleware and the scope state Litestar builds cost about a fifth of
the Python time of a small chat request. The inference endpoints are raw ASGI already and
need none of it, so an exact path match (or SageMaker's `/endpoints/{name}/...`, or TGI's
`POST /`) sends them straight there; everything else (other routes, odd spellings of these
paths, lifespan) goes to Litestar, which also has the endpoints registered. An unexpected
exception still answers in the OpenAI envelope.
"""

import contextlib
import logging

from litestar import Litestar

from mockcore import ErrorInfo
from mockhttp.inference_endpoints import (
    SAGEMAKER_INVOCATIONS,
    SAGEMAKER_PREFIX,
    SAGEMAKER_RESPONSE_STREAM,
    TGI_ROOT,
    RawEndpoint,
    Receive,
    Scope,
    Send,
    send_error,
)

_LOGGER = logging.getLogger("mockhttp")
_ROOT_ALLOW = (b"allow", b"GET, OPTIONS, POST")
# Litestar serves GET (and HEAD) /; POST / is TGI's, served by the fast path.
_ROOT_LITESTAR = frozenset({"GET", "HEAD", "POST"})
_INTERNAL_ERROR = ErrorInfo(
    message="The server had an internal error.", type="server_error", param=None, code=None
)


class MockServerApp:
    """The ASGI application `create_app` returns; `litestar` is the app behind it."""

    def __init__(self, litestar: Litestar, endpoints: dict[str, RawEndpoint]) -> None:
        self.litestar = litestar
        self._endpoints = endpoints
        self._sagemaker = {
            "invocations": endpoints.get(SAGEMAKER_INVOCATIONS),
            "invocations-response-stream": endpoints.get(SAGEMAKER_RESPONSE_STREAM),
        }

    def _endpoint(self, path: str, method: str) -> RawEndpoint | None:
        """The raw endpoint of `path`: an exact match, or SageMaker's `/endpoints/{name}/...`.

        `/` is an inference route for POST only (TGI's); any other method goes to Litestar.
        """
        if path == TGI_ROOT and method != "POST":
            return None
        endpoint = self._endpoints.get(path)
        if endpoint is None and path.startswith(SAGEMAKER_PREFIX):
            name, _, action = path[len(SAGEMAKER_PREFIX) :].partition("/")
            if name and "/" not in action:
                return self._sagemaker.get(action)
        return endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] == "http" and scope["path"] == TGI_ROOT and scope["method"] not in _ROOT_LITESTAR:
            await _root_methods(scope, send)
            return
        if scope["type"] == "http":
            endpoint = self._endpoint(scope["path"], scope["method"])
            if endpoint is not None:
                await _guarded(endpoint, scope, receive, send)
                return
        await self.litestar(scope, receive, send)  # type: ignore[arg-type]


async def _root_methods(scope: Scope, send: Send) -> None:
    """OPTIONS and wrong methods on `/`: Litestar knows only its GET, the POST is TGI's."""
    if scope["method"] == "OPTIONS":
        await send({"type": "http.response.start", "status": 204, "headers": [_ROOT_ALLOW]})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    info = ErrorInfo(
        message=f"Method {scope['method']} is not allowed on /.",
        type="invalid_request_error",
        param=None,
        code=None,
    )
    await send_error(send, 405, info, (_ROOT_ALLOW,))


async def _guarded(endpoint: RawEndpoint, scope: Scope, receive: Receive, send: Send) -> None:
    """Run `endpoint`; a bug is logged and answered with a 500 envelope when still possible."""
    try:
        await endpoint(scope, receive, send)
    except Exception:
        _LOGGER.exception("unhandled exception on %s %s", scope["method"], scope["path"])
        # When the response has started, the server closes the connection instead.
        with contextlib.suppress(Exception):
            await send_error(send, 500, _INTERNAL_ERROR)
