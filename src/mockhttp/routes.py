"""Litestar route handlers: translate HTTP to the inference service and back.

Handlers are built per app by `build_route_handlers`, closing over that app's services, so
two apps in one process (a mounted one, say) never share state by accident.
"""

from importlib.metadata import PackageNotFoundError, version

import msgspec
from litestar import MediaType, Response, get
from litestar.handlers import ASGIRouteHandler, HTTPRouteHandler

from mockcore.gpu import DCGM_CONTENT_TYPE
from mockcore.models import ADVERTISED_MODEL_IDS, MODEL_OWNER
from mockcore.settings import settings_as_config
from mockhttp.inference import InferenceService
from mockhttp.inference_endpoints import ROUTE_PATHS, inference_endpoint
from mockhttp.render_json import encode_json
from mockhttp.responses import ModelCard, ModelListBody
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


def build_route_handlers(services: Services) -> list[HTTPRouteHandler | ASGIRouteHandler]:
    """Every route of SPEC section 2."""
    inference = InferenceService(services)
    config = settings_as_config(services.settings)
    health_body = msgspec.json.encode({"status": "healthy", "config": config})
    root_body = msgspec.json.encode(
        {"message": "AIPerf Mock Server", "version": package_version(), "config": config}
    )
    models_body = encode_json(
        ModelListBody(
            data=[
                ModelCard(id=model_id, created=services.started_at_unix, owned_by=MODEL_OWNER)
                for model_id in ADVERTISED_MODEL_IDS
            ]
        )
    )
    clock = services.clock

    @get("/v1/models")
    async def models() -> Response[bytes]:
        """The advertised models (every name is accepted)."""
        return _json(models_body)

    telemetry = GpuTelemetry(services)

    @get("/dcgm1/metrics")
    async def dcgm1_metrics() -> Response[bytes]:
        """The first simulated dcgm-exporter."""
        return Response(telemetry.scrape(1), media_type=DCGM_CONTENT_TYPE)

    @get("/dcgm2/metrics")
    async def dcgm2_metrics() -> Response[bytes]:
        """The second simulated dcgm-exporter (its own GPUs, same configuration)."""
        return Response(telemetry.scrape(2), media_type=DCGM_CONTENT_TYPE)

    @get("/health")
    async def health() -> Response[bytes]:
        """Liveness and the effective configuration."""
        return _json(health_body)

    @get("/")
    async def root() -> Response[bytes]:
        """Server name, version and configuration."""
        return _json(root_body)

    inference_handlers = [inference_endpoint(route, inference, clock) for route in ROUTE_PATHS]
    return [*inference_handlers, models, dcgm1_metrics, dcgm2_metrics, health, root]
