"""The app factories: the composition root of one server process.

`create_app(settings)` builds everything eagerly (a host that mounts the app gives it no
lifespan); `create_app_from_env()` is the zero-argument target Granian workers import.
"""

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec
from litestar import Litestar
from litestar.exceptions import HTTPException

from mockcore import Settings
from mockcore.errors import RequestError
from mockcore.settings import settings_from_mapping, settings_values_from_environ
from mockhttp.access_log import RawASGIApp, access_log_middleware
from mockhttp.engine.remote import ENGINE_SOCKET_ENV
from mockhttp.errors import http_exception_response, request_error_response, unexpected_exception_response
from mockhttp.fast_path import MockServerApp
from mockhttp.media_store import SharedMediaStore, media_directory
from mockhttp.routes import build_inference_endpoints, build_route_handlers
from mockhttp.services import Services, local_services
from mockhttp.shared_state import (
    SharedBlobStore,
    SharedControlLog,
    SharedLoadTracker,
    SharedMetricsStore,
    SharedPromptCache,
    SharedSequence,
    SharedSettingsSource,
    SharedStateFile,
)

# The worker contract: the CLI sets these before Granian starts the workers.
SETTINGS_ENV = "MOCK_SERVER_SETTINGS_JSON"
STATE_FILE_ENV = "MOCK_SERVER_STATE_FILE"
FAULT_SEED_ENV = "MOCK_SERVER_FAULT_SEED"
GPU_SEED_ENV = "MOCK_SERVER_GPU_SEED"
STARTED_AT_ENV = "MOCK_SERVER_STARTED_AT"


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> RawASGIApp:
    """An ASGI app serving the OpenAI routes for `settings` (defaults if None).

    It is a `MockServerApp` (the Litestar app is its `litestar`), wrapped in the access log
    when `access_logs` is on, so that every request is logged, routed or not.
    """
    effective = services or local_services(settings or Settings())
    endpoints = build_inference_endpoints(effective)
    litestar = Litestar(
        route_handlers=build_route_handlers(effective, endpoints),
        exception_handlers={
            HTTPException: http_exception_response,
            RequestError: request_error_response,
            Exception: unexpected_exception_response,
        },
        logging_config=None,
        openapi_config=None,
        debug=False,
    )
    app = MockServerApp(litestar, endpoints)
    return access_log_middleware(app) if effective.settings.access_logs else app


def settings_from_environ(environ: Mapping[str, str]) -> Settings:
    """The settings a worker runs with: the CLI's JSON, else the `MOCK_SERVER_*` variables."""
    encoded = environ.get(SETTINGS_ENV)
    if encoded:
        return msgspec.json.decode(encoded, type=Settings)
    return settings_from_mapping(settings_values_from_environ(environ))


def services_from_environ(environ: Mapping[str, str]) -> Services:
    """Services of a worker: shared across workers when the CLI made a state file."""
    settings = settings_from_environ(environ)
    local = local_services(settings, engine_socket=environ.get(ENGINE_SOCKET_ENV))
    state_path = environ.get(STATE_FILE_ENV)
    if not state_path:
        return local
    state = SharedStateFile(Path(state_path))
    load = SharedLoadTracker(state)
    return Services(
        settings=settings,
        sequence=SharedSequence(state),
        load=load,
        gpu_states=SharedBlobStore(state),
        metrics=SharedMetricsStore(state, load.slot_index),
        control=SharedControlLog(state),
        fault_seed=int(environ.get(FAULT_SEED_ENV, local.fault_seed)),
        gpu_seed=int(environ.get(GPU_SEED_ENV, local.gpu_seed)),
        started_at_unix=float(environ.get(STARTED_AT_ENV, local.started_at_unix)),
        live_source=SharedSettingsSource(state, settings),
        prompt_cache=SharedPromptCache(state),
        media=SharedMediaStore(media_directory(Path(state_path))),
        engine=local.engine,
    )


def create_app_from_env() -> RawASGIApp:
    """Factory for worker processes: configuration arrives through the environment."""
    return create_app(services=services_from_environ(os.environ))
