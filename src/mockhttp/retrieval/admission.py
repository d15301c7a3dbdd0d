"""What a retrieval request goes through before it is planned: its key and its `X-Mock-*` headers.

The same checks as the inference routes' (`mockhttp.inference_endpoints`), for routes that
Litestar serves.
"""

from typing import Any

from litestar import Request

from mockcore.errors import ErrorInfo
from mockcore.overrides import NO_OVERRIDES, RequestOverrides
from mockcore.settings import Settings
from mockhttp.inference_endpoints import ApiKeyCheck, request_overrides


class RetrievalAdmission:
    """The API key check of an app's settings, and the request's overrides."""

    def __init__(self, settings: Settings) -> None:
        self._api_key = ApiKeyCheck(settings)

    def unauthorized(self, request: Request[Any, Any, Any]) -> ErrorInfo | None:
        """None when the request may pass (no `--api-key`, or the right one)."""
        return self._api_key.error(request.scope)  # type: ignore[arg-type]

    @staticmethod
    def overrides(request: Request[Any, Any, Any], settings: Settings) -> RequestOverrides:
        """The request's `X-Mock-*` headers (a malformed one raises `RequestError`, a 400)."""
        if not settings.control_headers:
            return NO_OVERRIDES
        return request_overrides(request.scope, settings.max_output_tokens)  # type: ignore[arg-type]
