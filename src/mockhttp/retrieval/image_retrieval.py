"""NIM image retrieval: `POST /v1/infer` and `POST /v1/image/infer` (the same handler).

The core reads and plans (`mockcore.image_retrieval`); this decodes the images' pixels
(`mockhttp.retrieval.pixels`), holds the answer until its deadline and renders it in NIM's
page-elements shape: `{"data": [{"index", "bounding_boxes": {class: [box, ...]}}], "usage":
{"images_size_mb"}}`.
"""

import asyncio
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, post
from litestar.handlers import HTTPRouteHandler

from mockcore.errors import ErrorInfo
from mockcore.image_retrieval import ImageDetections, ImageRetrievalPlan, plan_image_retrieval_request
from mockcore.overrides import RequestOverrides
from mockcore.settings import Settings
from mockhttp.errors import error_response
from mockhttp.pacing import sleep_until
from mockhttp.retrieval.admission import RetrievalAdmission
from mockhttp.retrieval.pixels import INSTALL_HINT, ImageLibraryMissingError, check_pixels
from mockhttp.services import Services

IMAGE_RETRIEVAL_PATHS = ["/v1/infer", "/v1/image/infer"]


class ImageRetrievalUsage(msgspec.Struct, kw_only=True):
    """`usage` of an image retrieval answer."""

    images_size_mb: float


class ImageRetrievalBody(msgspec.Struct, kw_only=True):
    """The answer: one entry per image, in request order."""

    data: tuple[ImageDetections, ...]
    usage: ImageRetrievalUsage


def image_retrieval_body(plan: ImageRetrievalPlan) -> bytes:
    """NIM's page-elements JSON."""
    body = ImageRetrievalBody(
        data=plan.detections, usage=ImageRetrievalUsage(images_size_mb=plan.images_size_mb)
    )
    return msgspec.json.encode(body)


_NO_PILLOW = ErrorInfo(
    message=f"Image retrieval decodes images with Pillow, which is not installed: {INSTALL_HINT}",
    type="server_error",
    param=None,
    code="not_implemented",
)


def _checked_plan(body: bytes, settings: Settings, overrides: RequestOverrides) -> ImageRetrievalPlan:
    """The core's plan, once every image decodes: base64, hashing and pixels, off the event loop."""
    plan, images = plan_image_retrieval_request(body, settings, overrides)
    check_pixels(images)
    return plan


def build_image_retrieval_handlers(services: Services) -> list[HTTPRouteHandler]:
    """The one handler, on both of NIM's paths."""
    admission = RetrievalAdmission(services.settings)
    clock = services.clock
    load = services.load

    @post(
        IMAGE_RETRIEVAL_PATHS,
        status_code=200,
        request_max_body_size=services.settings.max_request_bytes,
        name="image_retrieval",
    )
    async def image_retrieval(request: Request[Any, Any, Any]) -> Response[bytes]:
        """Page elements (tables, charts, titles) in each image, as NIM's page-elements models answer."""
        t0 = clock()  # on arrival, before the body is read
        unauthorized = admission.unauthorized(request)
        if unauthorized is not None:
            return error_response(401, unauthorized)
        settings = services.live.current()
        overrides = admission.overrides(request, settings)
        body = await request.body()
        try:
            plan = await services.media_jobs.run(_checked_plan, body, settings, overrides)
        except ImageLibraryMissingError:
            return error_response(501, _NO_PILLOW)
        load.request_started()
        try:
            await sleep_until(t0 + plan.response_offset_s, clock, asyncio.sleep)
        finally:
            load.request_finished(0)
        return Response(image_retrieval_body(plan), media_type=MediaType.JSON)

    return [image_retrieval]
