"""OpenAI's image routes: `POST /v1/images/generations`, `POST /v1/images/edits`, and the files they serve.

A route validates the request and asks `mockcore.media.images` for the plan, then has
Pillow (`mockhttp.media.imaging`, imported on first use) render every planned picture in a
worker thread, and answers at the plan's deadline from arrival: an `ImagesResponse`, or an
SSE stream of partial images and one `completed` event per image. An image answered with
`response_format=url` is kept in the media store (every worker sees it) and served at
`GET /v1/files/images/{id}`.
"""

import asyncio
import base64
import binascii
import functools
import importlib.util
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Stream

from mockcore.errors import ErrorInfo, RequestError
from mockcore.media.image_requests import decode_generation_request, edit_request_from_fields
from mockcore.media.image_usage import ImageUsage
from mockcore.media.images import ImagePlan, InputImage, input_image, plan_image_edit, plan_image_generation
from mockhttp.errors import error_response
from mockhttp.media.uploads import UploadedForm, read_upload_form
from mockhttp.pacing import sleep_until
from mockhttp.ports import MediaStore
from mockhttp.services import Services

if TYPE_CHECKING:
    from PIL import Image

IMAGE_FILES_PATH = "/v1/files/images"
IMAGE_KEY_PREFIX = "image_"
PILLOW_MISSING = 'The image routes need Pillow: pip install "aiperf-mock-server[media]".'
_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
_ENCODER = msgspec.json.Encoder()
# What each operation's stream events are called.
_EVENT_PREFIXES = {"generation": "image_generation", "edit": "image_edit"}
# (partial images' files, final file) of each planned image.
RenderedImages = list[tuple[list[bytes], bytes]]
# A stream event: its offset from arrival (seconds) and its SSE frame.
Frame = tuple[float, bytes]


class ImageDatum(msgspec.Struct, omit_defaults=True):
    """One image of `data`: its file in base64, or the URL it is served at."""

    b64_json: str | None = None
    url: str | None = None


class ImagesResponseBody(msgspec.Struct, omit_defaults=True):
    """OpenAI's `ImagesResponse`."""

    created: int
    data: list[ImageDatum]
    background: str
    output_format: str
    quality: str
    size: str
    usage: ImageUsage
    safety_identifier: str | None = None


class PartialImageEvent(msgspec.Struct):
    """`image_generation.partial_image` / `image_edit.partial_image`."""

    type: str
    b64_json: str
    created_at: int
    size: str
    quality: str
    background: str
    output_format: str
    partial_image_index: int


class CompletedImageEvent(msgspec.Struct, omit_defaults=True):
    """`image_generation.completed` / `image_edit.completed`: the final image and the usage."""

    type: str
    b64_json: str
    created_at: int
    size: str
    quality: str
    background: str
    output_format: str
    usage: ImageUsage
    safety_identifier: str | None = None


@functools.cache
def _pillow_installed() -> bool:
    return importlib.util.find_spec("PIL") is not None


def _require_pillow() -> None:
    """501 in the OpenAI envelope when the `media` extra is not installed."""
    if not _pillow_installed():
        raise HTTPException(status_code=501, detail=PILLOW_MISSING)


def _b64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


def sniffed_media_type(content: bytes) -> str:
    """The media type of an image file the renderer wrote, from its first bytes."""
    if content.startswith(b"\x89PNG"):
        return "image/png"
    if content.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def _json_body(
    plan: ImagePlan, rendered: RenderedImages, created: int, base_url: str, store: MediaStore
) -> bytes:
    """The `ImagesResponse`; a `url` answer stores each file first (in the worker thread)."""
    data = []
    for _, final in rendered:
        if plan.response_format == "url":
            key = f"{IMAGE_KEY_PREFIX}{uuid.uuid4().hex}"
            store.put(key, final)
            data.append(ImageDatum(url=f"{base_url}{IMAGE_FILES_PATH}/{key}"))
        else:
            data.append(ImageDatum(b64_json=_b64(final)))
    body = ImagesResponseBody(
        created=created,
        data=data,
        background=plan.background,
        output_format=plan.output_format,
        quality=plan.quality,
        size=plan.size.name,
        usage=plan.usage,
        safety_identifier=plan.safety_identifier,
    )
    return _ENCODER.encode(body)


def _sse_frame(event_type: str, event: msgspec.Struct) -> bytes:
    return b"event: " + event_type.encode() + b"\ndata: " + _ENCODER.encode(event) + b"\n\n"


def _stream_frames(plan: ImagePlan, rendered: RenderedImages, created: int) -> list[Frame]:
    """Every event of the stream with its offset from arrival, in order."""
    prefix = _EVENT_PREFIXES[plan.operation]
    size = plan.size.name
    frames = []
    for planned, (partials, final) in zip(plan.images, rendered, strict=True):
        for index, (offset_s, content) in enumerate(zip(planned.partial_offsets_s, partials, strict=True)):
            partial = PartialImageEvent(
                type=f"{prefix}.partial_image",
                b64_json=_b64(content),
                created_at=created,
                size=size,
                quality=plan.quality,
                background=plan.background,
                output_format=plan.output_format,
                partial_image_index=index,
            )
            frames.append((offset_s, _sse_frame(partial.type, partial)))
        completed = CompletedImageEvent(
            type=f"{prefix}.completed",
            b64_json=_b64(final),
            created_at=created,
            size=size,
            quality=plan.quality,
            background=plan.background,
            output_format=plan.output_format,
            usage=plan.usage,
            safety_identifier=plan.safety_identifier,
        )
        frames.append((planned.ready_offset_s, _sse_frame(completed.type, completed)))
    return frames


class ImageRoutes:
    """The image routes of one app: plan, render in a thread, answer at the deadline."""

    def __init__(self, services: Services) -> None:
        self._live = services.live
        self._clock = services.clock
        self._store = services.media
        self._jobs = services.media_jobs

    async def generate(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """`POST /v1/images/generations`."""
        t0 = self._clock()
        settings = self._live.current()
        plan = plan_image_generation(decode_generation_request(await request.body()), settings)
        _require_pillow()
        return await self._answer(plan, t0, request, functools.partial(_render, plan))

    async def edit(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """`POST /v1/images/edits` (multipart)."""
        t0 = self._clock()
        settings = self._live.current()
        form = await read_upload_form(request, self._jobs)
        edit = edit_request_from_fields({name: value for name in form.fields if (value := form.field(name))})
        uploads = self._uploaded_images(form, edit.url)
        mask = form.file("mask")
        _require_pillow()
        images, region, inputs = await self._jobs.run(
            _decode_edit, uploads, mask.data if mask is not None else None
        )
        plan = plan_image_edit(edit, inputs, settings)
        return await self._answer(plan, t0, request, functools.partial(_render, plan, images, region))

    def image_file(self, image_id: str) -> Response[bytes]:
        """`GET /v1/files/images/{id}`: an image this server answered by URL."""
        content = None
        if image_id.startswith(IMAGE_KEY_PREFIX):
            try:
                content = self._store.get(image_id)
            except ValueError:  # not a store key at all
                content = None
        if content is None:
            info = ErrorInfo(
                message=f"No image with id '{image_id}' (images answered by URL are kept for a while).",
                type="invalid_request_error",
                param="id",
                code="not_found",
            )
            return error_response(404, info)
        return Response(content, media_type=sniffed_media_type(content))

    async def _answer(
        self,
        plan: ImagePlan,
        t0: float,
        request: Request[Any, Any, Any],
        render: Callable[[], RenderedImages],
    ) -> Response[Any]:
        created = int(time.time())
        if plan.stream:
            frames = functools.partial(_frames_of, plan, render, created)
            return Stream(self._paced(frames, t0), media_type="text/event-stream", headers=_SSE_HEADERS)
        base_url = str(request.base_url).rstrip("/")
        body = await self._jobs.run(_body_of, plan, render, created, base_url, self._store)
        await sleep_until(t0 + plan.latency_s, self._clock, asyncio.sleep)
        return Response(body, media_type=MediaType.JSON)

    async def _paced(self, frames: Callable[[], list[Frame]], t0: float) -> AsyncIterator[bytes]:
        """Render every event in a thread, then release each at its deadline."""
        for offset_s, frame in await self._jobs.run(frames):
            await sleep_until(t0 + offset_s, self._clock, asyncio.sleep)
            yield frame

    def _uploaded_images(self, form: UploadedForm, url: str | None) -> list[bytes]:
        """The bytes of every image to edit: the `image` and `image[]` parts, then `url`'s image."""
        uploads = [part.data for name in ("image", "image[]") for part in form.files.get(name, [])]
        if url:
            uploads.append(self._image_at(url))
        return uploads

    def _image_at(self, url: str) -> bytes:
        """The image a `url` field names: a base64 `data:` URL, or one of this server's image files."""
        if url.startswith("data:"):
            header, comma, payload = url.partition(",")
            if not comma or not header.endswith(";base64"):
                raise RequestError("A data URL image must be base64: data:image/png;base64,...", "url")
            try:
                return base64.b64decode(payload, validate=True)
            except binascii.Error as exc:
                raise RequestError(f"The data URL's base64 is not valid: {exc}.", "url") from None
        path = urlsplit(url).path
        prefix = f"{IMAGE_FILES_PATH}/"
        if path.startswith(prefix):
            key = path.removeprefix(prefix)
            try:
                content = self._store.get(key) if key.startswith(IMAGE_KEY_PREFIX) else None
            except ValueError:
                content = None
            if content is None:
                raise RequestError(f"This server has no image '{key}'.", "url")
            return content
        msg = "This server fetches no remote images: upload the file as `image`, or pass a data: URL."
        raise RequestError(msg, "url")


def _decode_edit(
    uploads: Sequence[bytes], mask: bytes | None
) -> tuple[list["Image.Image"], "Image.Image | None", list[InputImage]]:
    """Decode the uploads (in a worker thread): the images, the edit region, the core's view."""
    from mockhttp.media.imaging import decode_edit_uploads  # noqa: PLC0415 - Pillow loads on first use

    images, region = decode_edit_uploads(uploads, mask)
    inputs = [
        input_image(image.width, image.height, content)
        for image, content in zip(images, uploads, strict=True)
    ]
    return images, region, inputs


def _render(
    plan: ImagePlan, images: Sequence["Image.Image"] = (), region: "Image.Image | None" = None
) -> RenderedImages:
    from mockhttp.media.imaging import render_images  # noqa: PLC0415 - Pillow loads on first use

    return render_images(plan, images, region)


def _body_of(
    plan: ImagePlan, render: Callable[[], RenderedImages], created: int, base_url: str, store: MediaStore
) -> bytes:
    return _json_body(plan, render(), created, base_url, store)


def _frames_of(plan: ImagePlan, render: Callable[[], RenderedImages], created: int) -> list[Frame]:
    return _stream_frames(plan, render(), created)


def build_image_handlers(services: Services) -> list[HTTPRouteHandler]:
    """The two image routes and the route that serves images answered by URL."""
    routes = ImageRoutes(services)

    @post("/v1/images/generations", status_code=200)
    async def create_image(request: Request[Any, Any, Any]) -> Response[Any]:
        """Generate images from a prompt (OpenAI's Images API)."""
        return await routes.generate(request)

    @post(
        "/v1/images/edits",
        status_code=200,
        request_max_body_size=services.settings.media_max_upload_bytes,
    )
    async def edit_image(request: Request[Any, Any, Any]) -> Response[Any]:
        """Edit uploaded images with a prompt (multipart form)."""
        return await routes.edit(request)

    @get(f"{IMAGE_FILES_PATH}/{{image_id:str}}", sync_to_thread=False)
    def image_file(image_id: FromPath[str]) -> Response[bytes]:
        """An image answered with `response_format=url`."""
        return routes.image_file(image_id)

    return [create_image, edit_image, image_file]
