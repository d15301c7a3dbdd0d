"""Litestar route handlers: translate HTTP to the inference service and back.

Handlers are built per app by `build_route_handlers`, closing over that app's services, so
two apps in one process (a mounted one, say) never share state by accident.
"""

import math
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, get
from litestar.handlers import ASGIRouteHandler, HTTPRouteHandler

from mockcore.errors import ErrorInfo
from mockcore.gpu import DCGM_CONTENT_TYPE
from mockcore.models import ADVERTISED_MODEL_IDS, MODEL_OWNER
from mockcore.readiness import readiness_report, retry_after_s
from mockcore.replica import replica_identity
from mockcore.settings import settings_as_config
from mockhttp.admin_endpoints import build_admin_handlers
from mockhttp.control_endpoints import build_control_handlers
from mockhttp.errors import error_response
from mockhttp.inference import InferenceService
from mockhttp.inference_endpoints import (
    ENDPOINT_SPECS,
    TGI_ROOT,
    ApiKeyCheck,
    RawEndpoint,
    inference_endpoint,
    litestar_inference_route,
)
from mockhttp.media import build_media_handlers
from mockhttp.metrics_endpoints import build_metrics_handlers
from mockhttp.openapi import OPENAPI_PATH, openapi_document
from mockhttp.render_json import encode_json
from mockhttp.responses import ModelCard, ModelListBody
from mockhttp.retrieval import build_retrieval_handlers
from mockhttp.services import Services
from mockhttp.telemetry import GpuTelemetry


def package_version() -> str:
    """The installed version of aiperf-mock-server."""
    try:
        return version("aiperf-mock-server")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0+unknown"


def _json(content: bytes) -> Response[bytes]:
    return Response(content, media_type=MediaType.JSON)


def ready_at(services: Services, delay_s: float) -> float:
    """When, on the services' clock, `delay_s` after the server started will have passed."""
    if delay_s <= 0:
        return -math.inf
    return services.clock() + (services.started_at_unix + delay_s - time.time())


def build_inference_endpoints(services: Services) -> dict[str, RawEndpoint]:
    """The raw ASGI endpoint of each inference route, by path, sharing one inference service."""
    inference = InferenceService(services)
    inference_ready_at = ready_at(services, services.settings.inference_ready_delay_seconds)
    return {
        spec.path: inference_endpoint(
            spec, inference, services.settings, services.metrics.recorder, ready_at=inference_ready_at
        )
        for spec in ENDPOINT_SPECS
    }


def _model_ids(default_model: str) -> tuple[str, ...]:
    """`--default-model` first, then the other advertised names."""
    return (default_model, *(model_id for model_id in ADVERTISED_MODEL_IDS if model_id != default_model))


def build_route_handlers(
    services: Services, inference_endpoints: dict[str, RawEndpoint]
) -> list[HTTPRouteHandler | ASGIRouteHandler]:
    """Every route of SPEC section 2; the inference routes are the given raw endpoints."""
    settings = services.settings
    config = settings_as_config(settings)
    health_body = msgspec.json.encode(
        {"status": "healthy", "config": config, "replica": replica_identity(settings)}
    )
    root_body = msgspec.json.encode(
        {"message": "AIPerf Mock Server", "version": package_version(), "config": config}
    )
    models_body = encode_json(
        ModelListBody(
            data=[
                ModelCard(id=model_id, created=int(services.started_at_unix), owned_by=MODEL_OWNER)
                for model_id in _model_ids(settings.default_model)
            ]
        )
    )
    no_models_body = encode_json(ModelListBody(data=[]))
    models_ready_at = ready_at(services, settings.models_ready_delay_seconds)
    inference_ready_at = ready_at(services, settings.inference_ready_delay_seconds)
    api_key = ApiKeyCheck(settings)
    clock = services.clock

    @get("/v1/models")
    async def models(request: Request[Any, Any, Any]) -> Response[bytes]:
        """The advertised models (every name is accepted); none while the models load."""
        unauthorized = api_key.error(request.scope)  # type: ignore[arg-type]
        if unauthorized is not None:
            return error_response(401, unauthorized)
        if settings.disable_models_endpoint:
            info = ErrorInfo(
                message="Unknown route: GET /v1/models (--disable-models-endpoint).",
                type="invalid_request_error",
                param=None,
                code=None,
            )
            return error_response(404, info)
        return _json(models_body if clock() >= models_ready_at else no_models_body)

    @get("/health/ready")
    async def health_ready() -> Response[bytes]:
        """200 once inference and the model list are ready, else 503 saying how long to wait."""
        now = clock()
        report = readiness_report(inference_ready_at - now, models_ready_at - now)
        if report.status == "ready":
            return _json(msgspec.json.encode(report))
        longest = max(inference_ready_at, models_ready_at) - now
        return Response(
            msgspec.json.encode(report),
            status_code=503,
            media_type=MediaType.JSON,
            headers={"retry-after": str(retry_after_s(longest))},
        )

    telemetry = GpuTelemetry(services)
    engine = services.engine

    async def dcgm_scrape(instance: int) -> Response[bytes]:
        """With `--engine` the GPUs run at the engine's busy fraction, so read its stats first."""
        stats = await engine.stats() if engine is not None else None
        return Response(telemetry.scrape(instance, engine=stats), media_type=DCGM_CONTENT_TYPE)

    @get("/dcgm1/metrics")
    async def dcgm1_metrics() -> Response[bytes]:
        """The first simulated dcgm-exporter."""
        return await dcgm_scrape(1)

    @get("/dcgm2/metrics")
    async def dcgm2_metrics() -> Response[bytes]:
        """The second simulated dcgm-exporter (its own GPUs, same configuration)."""
        return await dcgm_scrape(2)

    openapi_body = msgspec.json.encode(openapi_document(package_version()))

    @get(OPENAPI_PATH)
    async def openapi() -> Response[bytes]:
        """This server's OpenAPI document."""
        return _json(openapi_body)

    @get("/health")
    async def health() -> Response[bytes]:
        """Liveness, the effective configuration and which replica answered."""
        return _json(health_body)

    @get("/")
    async def root() -> Response[bytes]:
        """Server name, version and configuration."""
        return _json(root_body)

    # `POST /` (TGI's) is served by the fast path only: Litestar's `/` is the GET below.
    inference_handlers = [
        litestar_inference_route(path, endpoint)
        for path, endpoint in inference_endpoints.items()
        if path != TGI_ROOT
    ]
    return [
        *inference_handlers,
        models,
        dcgm1_metrics,
        dcgm2_metrics,
        *build_media_handlers(services),
        *build_retrieval_handlers(services),
        *build_metrics_handlers(services),
        *build_control_handlers(services),
        *build_admin_handlers(services),
        health_ready,
        openapi,
        health,
        root,
    ]
