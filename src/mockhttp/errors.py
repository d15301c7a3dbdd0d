"""Every error leaves in the OpenAI envelope `{"error": {message, type, param, code}}`."""

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException

from mockcore.errors import ErrorInfo, RequestError, invalid_request_info
from mockhttp.render_json import error_body

_LOGGER = logging.getLogger("mockhttp")


def error_response(
    status_code: int, info: ErrorInfo, headers: dict[str, str] | None = None
) -> Response[bytes]:
    """A JSON error response."""
    return Response(error_body(info), status_code=status_code, media_type=MediaType.JSON, headers=headers)


def http_exception_response(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    """404, 405, 413 and other framework errors: `invalid_request_error`, param null."""
    message = exc.detail or "The request could not be served."
    if exc.status_code == 404:  # noqa: PLR2004
        message = f"Unknown route: {request.method} {request.url.path}"
    elif exc.status_code == 405:  # noqa: PLR2004
        message = f"Method {request.method} is not allowed on {request.url.path}."
    elif exc.status_code == 413:  # noqa: PLR2004
        message = "The request body is larger than the server accepts."
    info = ErrorInfo(message=message, type="invalid_request_error", param=None, code=None)
    return error_response(exc.status_code, info, headers=exc.headers)


def request_error_response(request: Request[Any, Any, Any], exc: RequestError) -> Response[bytes]:
    """A bad request found by a Litestar route (the media routes): 400 in the envelope."""
    return error_response(400, invalid_request_info(exc))


def unexpected_exception_response(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """A bug, never a client error: log it with its traceback and answer in the envelope."""
    _LOGGER.error("unhandled exception on %s %s", request.method, request.url.path, exc_info=exc)
    info = ErrorInfo(message="The server had an internal error.", type="server_error", param=None, code=None)
    return error_response(500, info)
