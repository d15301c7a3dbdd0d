"""Litestar route handlers: translate HTTP to the inference service and back.

Handlers are built per app by `build_route_handlers`, closing over that app's services, so
two apps in one process (a mounted one, say) never share state by accident.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from litestar import MediaType, Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.response import Stream

from mockcore import GenerationPlan
from mockcore.models import ADVERTISED_MODEL_IDS, MODEL_OWNER
from mockcore.requests import Route
from mockcore.settings import settings_as_config
from mockhttp.access_log import access_record
from mockhttp.errors import error_response
from mockhttp.inference import InferenceService, RejectedError
from mockhttp.render_json import encode_json
from mockhttp.responses import ModelCard, ModelListBody
from mockhttp.services import Services

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
AnyRequest = Request[Any, Any, Any]


def package_version() -> str:
    """The installed version of aiperf-mock-server."""
    try:
        return version("aiperf-mock-server")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0+unknown"


def _json(content: bytes) -> Response[bytes]:
    return Response(content, media_type=MediaType.JSON)


def build_route_handlers(services: Services) -> list[HTTPRouteHandler]:
    """Every route of SPEC section 2 except the DCGM pair."""
    inference = InferenceService(services)
    config = settings_as_config(services.settings)
    health_body = encode_json_value({"status": "healthy", "config": config})
    root_body = encode_json_value(
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

    async def serve(route: Route, request: AnyRequest) -> Response[Any]:
        t0 = clock()  # before the body is read: SPEC section 11
        body = await request.body()
        try:
            plan = inference.admit(route, body)
        except RejectedError as rejected:
            return error_response(rejected.status_code, rejected.info)
        record = access_record(request.scope)  # type: ignore[arg-type]
        if isinstance(plan, GenerationPlan) and plan.stream:
            return Stream(
                inference.stream(plan, t0, record), media_type="text/event-stream", headers=SSE_HEADERS
            )
        return _json(await inference.complete(plan, t0, record))

    @post("/v1/chat/completions", status_code=200)
    async def chat_completions(request: AnyRequest) -> Response[Any]:
        """OpenAI chat completions, streaming or not."""
        return await serve("chat", request)

    @post("/v1/completions", status_code=200)
    async def completions(request: AnyRequest) -> Response[Any]:
        """OpenAI text completions, single or batched prompts."""
        return await serve("completions", request)

    @post("/v1/embeddings", status_code=200)
    async def embeddings(request: AnyRequest) -> Response[Any]:
        """Deterministic unit vectors."""
        return await serve("embeddings", request)

    @post("/v1/ranking", status_code=200)
    async def ranking(request: AnyRequest) -> Response[Any]:
        """Deterministic passage ranking."""
        return await serve("ranking", request)

    @get("/v1/models")
    async def models() -> Response[bytes]:
        """The advertised models (every name is accepted)."""
        return _json(models_body)

    @get("/health")
    async def health() -> Response[bytes]:
        """Liveness and the effective configuration."""
        return _json(health_body)

    @get("/")
    async def root() -> Response[bytes]:
        """Server name, version and configuration."""
        return _json(root_body)

    return [chat_completions, completions, embeddings, ranking, models, health, root]


def encode_json_value(value: dict[str, Any]) -> bytes:
    """Encode plain values once, at app creation."""
    import msgspec  # noqa: PLC0415 - keep the module's public imports about HTTP

    return msgspec.json.encode(value)
