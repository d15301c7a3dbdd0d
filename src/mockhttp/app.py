"""The app factories: the composition root of one server process.

`create_app(settings)` builds everything eagerly (a host that mounts the app gives it no
lifespan); `create_app_from_env()` is the zero-argument target Granian workers import.
"""

import os
from collections.abc import Mapping

import msgspec
from litestar import Litestar
from litestar.exceptions import HTTPException

from mockcore import Settings
from mockcore.settings import settings_from_mapping, settings_values_from_environ
from mockhttp.errors import http_exception_response, unexpected_exception_response
from mockhttp.routes import build_route_handlers
from mockhttp.services import Services, local_services

SETTINGS_ENV = "MOCK_SERVER_SETTINGS_JSON"


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> Litestar:
    """A Litestar app serving the OpenAI routes for `settings` (defaults if None)."""
    effective = services or local_services(settings or Settings())
    return Litestar(
        route_handlers=build_route_handlers(effective),
        exception_handlers={
            HTTPException: http_exception_response,
            Exception: unexpected_exception_response,
        },
        logging_config=None,
        openapi_config=None,
        debug=False,
    )


def settings_from_environ(environ: Mapping[str, str]) -> Settings:
    """The settings a worker runs with: the CLI's JSON, else the `MOCK_SERVER_*` variables."""
    encoded = environ.get(SETTINGS_ENV)
    if encoded:
        return msgspec.json.decode(encoded, type=Settings)
    return settings_from_mapping(settings_values_from_environ(environ))


def create_app_from_env() -> Litestar:
    """Factory for worker processes: configuration arrives through the environment."""
    return create_app(settings_from_environ(os.environ))
