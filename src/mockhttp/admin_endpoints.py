"""`GET` and `PATCH /admin/config`: read and change latency and faults while the server runs.

Off unless `--admin-key` is set (the routes then do not exist: 404). With a key, a request
must carry it as `X-Admin-Key: <key>` (or `Authorization: Bearer <key>`), else 403. A change
goes through the same validation as the command line and reaches every worker on its next
request (`SettingsSource`).
"""

import hmac
from typing import Any

import msgspec
from litestar import HttpMethod, MediaType, Request, Response, route
from litestar.handlers import HTTPRouteHandler

from mockcore.errors import ErrorInfo, RequestError, invalid_request_info
from mockcore.tuning import tunables
from mockhttp.errors import error_response
from mockhttp.services import Services

ADMIN_CONFIG_PATH = "/admin/config"
ADMIN_KEY_HEADER = "x-admin-key"


def _presented_admin_key(request: Request[Any, Any, Any]) -> str | None:
    key = request.headers.get(ADMIN_KEY_HEADER)
    if key is not None:
        return key.strip()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _config_body(services: Services) -> bytes:
    return msgspec.json.encode({"config": tunables(services.live.current())})


def build_admin_handlers(services: Services) -> list[HTTPRouteHandler]:
    """The two admin routes, or none when no `--admin-key` is set."""
    admin_key = services.settings.admin_key
    if admin_key is None:
        return []
    expected = admin_key.encode()

    def forbidden(request: Request[Any, Any, Any]) -> Response[bytes] | None:
        presented = _presented_admin_key(request)
        if presented is not None and hmac.compare_digest(presented.encode(), expected):
            return None
        message = (
            "This route needs the admin key: send `X-Admin-Key: <key>` (--admin-key)."
            if presented is None
            else "Incorrect admin key."
        )
        return error_response(
            403, ErrorInfo(message=message, type="permission_error", param=None, code="invalid_admin_key")
        )

    # One handler for both methods: Litestar's automatic OPTIONS answer of a path lists only
    # the methods of the handler registered there first.
    @route(ADMIN_CONFIG_PATH, http_method=[HttpMethod.GET, HttpMethod.PATCH], status_code=200)
    async def admin_config(request: Request[Any, Any, Any]) -> Response[bytes]:
        """`GET`: the latency and fault settings in effect now; `PATCH`: change them."""
        refusal = forbidden(request)
        if refusal is not None:
            return refusal
        if request.method == HttpMethod.PATCH:
            return await change_config(request)
        return Response(_config_body(services), media_type=MediaType.JSON)

    async def change_config(request: Request[Any, Any, Any]) -> Response[bytes]:
        """Apply a JSON object of changes for every worker; answer the settings now in effect."""
        try:
            changes = msgspec.json.decode(await request.body())
        except msgspec.DecodeError as exc:
            changes = exc
        if not isinstance(changes, dict) or not changes:
            info = ErrorInfo(
                message="The body must be a non-empty JSON object of settings to change, "
                'such as {"ttft": 50, "error_rate": 5}.',
                type="invalid_request_error",
                param=None,
                code=None,
            )
            return error_response(400, info)
        try:
            services.live.update(changes)
        except RequestError as error:
            return error_response(400, invalid_request_info(error))
        return Response(_config_body(services), media_type=MediaType.JSON)

    return [admin_config]
