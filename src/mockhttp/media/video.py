"""OpenAI's Videos API: `POST /v1/videos`, `GET /v1/videos[/{id}[/content]]`, `DELETE /v1/videos/{id}`.

A job is a record in the media store (`video_<hex>`, every worker sees it); its status is
computed from the record and the clock at each request (`mockcore.media.video_timeline`).
The files are made on the first download of each (in a worker thread, one render per file
and worker at a time, as a media job: `mockhttp.media_jobs`) and kept in the store beside the
record (`videofile_`, `videothumb_`, `videosprite_` + the same hex), so a second download,
from any worker, is a read. Deleting a job deletes its files.
"""

import asyncio
import functools
import importlib
import importlib.util
import secrets
import time
import urllib.parse
from typing import Any, Literal

import msgspec
from litestar import HttpMethod, MediaType, Request, Response, get, route
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from mockcore.errors import ErrorInfo, RequestError
from mockcore.media.video import (
    VIDEO_ID_PREFIX,
    VideoJob,
    VideoSpec,
    decode_video_job,
    encode_video_job,
    is_video_id,
    new_video_job,
    video_spec_from_form,
    video_spec_from_json,
)
from mockcore.media.video_pages import video_list_query, video_page
from mockcore.media.video_timeline import VideoState, poll_after_ms, video_state
from mockhttp.errors import error_response
from mockhttp.media.uploads import read_upload_form
from mockhttp.media_jobs import MediaJobs
from mockhttp.ports import MediaStore
from mockhttp.render_json import encode_json
from mockhttp.services import Services

VIDEOS_PATH = "/v1/videos"
POLL_AFTER_HEADER = "openai-poll-after-ms"
_ID_HEX_BYTES = 24

Variant = Literal["video", "thumbnail", "spritesheet"]

_MEDIA_MISSING = ErrorInfo(
    message="Video files need PyAV and Pillow, which this server lacks: "
    'pip install "aiperf-mock-server[media]".',
    type="server_error",
    param=None,
    code="media_extra_missing",
)


class VideoBody(msgspec.Struct, kw_only=True):
    """OpenAI's `Video` object (every field of the openai SDK's type; nulls sent explicitly)."""

    id: str
    object: Literal["video"] = "video"
    model: str
    status: str
    progress: int
    created_at: int
    completed_at: int | None
    expires_at: int | None
    size: str
    seconds: str
    prompt: str
    remixed_from_video_id: None = None
    error: None = None


class VideoListBody(msgspec.Struct, kw_only=True):
    """A page of `GET /v1/videos`."""

    object: Literal["list"] = "list"
    data: list[VideoBody]
    first_id: str | None
    last_id: str | None
    has_more: bool


class VideoDeletedBody(msgspec.Struct, kw_only=True):
    """The answer of `DELETE /v1/videos/{id}`."""

    id: str
    object: Literal["video.deleted"] = "video.deleted"
    deleted: bool = True


class _Asset(msgspec.Struct, frozen=True):
    """A downloadable file of a job: its store kind, its media type, and the renderer's name in `mp4`."""

    kind: str
    media_type: str
    renderer: str


_ASSETS: dict[Variant, _Asset] = {
    "video": _Asset("videofile", "video/mp4", "encode_mp4"),
    "thumbnail": _Asset("videothumb", "image/webp", "thumbnail_webp"),
    "spritesheet": _Asset("videosprite", "image/jpeg", "spritesheet_jpeg"),
}


@functools.cache
def media_libraries_installed() -> bool:
    """Whether PyAV and Pillow (the `media` extra) can be imported."""
    return importlib.util.find_spec("av") is not None and importlib.util.find_spec("PIL") is not None


def video_body(job: VideoJob, state: VideoState) -> VideoBody:
    """The `Video` object of `job` in `state`."""
    return VideoBody(
        id=job.id,
        model=job.model,
        status=state.status,
        progress=state.progress,
        created_at=state.created_at,
        completed_at=state.completed_at,
        expires_at=state.expires_at,
        size=job.size,
        seconds=str(job.seconds),
        prompt=job.prompt,
    )


def _not_found(video_id: str) -> Response[bytes]:
    info = ErrorInfo(
        message=f"No video found with id {video_id!r}.",
        type="invalid_request_error",
        param="video_id",
        code=None,
    )
    return error_response(404, info)


def _not_ready(job: VideoJob, state: VideoState) -> Response[bytes]:
    message = (
        f"Video {job.id} is not ready: its status is {state.status} ({state.progress}% done). "
        f"Download it once GET {VIDEOS_PATH}/{job.id} reports `completed`."
    )
    info = ErrorInfo(message=message, type="invalid_request_error", param=None, code="video_not_ready")
    return error_response(400, info)


def _asset_key(asset: _Asset, video_id: str) -> str:
    return f"{asset.kind}_{video_id.removeprefix(VIDEO_ID_PREFIX)}"


def _variant(params: dict[str, str]) -> Variant:
    variant = params.get("variant", "video")
    for known in _ASSETS:
        if variant == known:
            return known
    msg = f"Invalid value {variant!r} for `variant`: expected 'video', 'thumbnail' or 'spritesheet'."
    raise RequestError(msg, "variant", "invalid_value")


def _query(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The query parameters, each name's last value."""
    return {name: values[-1] for name, values in request.query_params.dict().items() if values}


async def _video_spec(request: Request[Any, Any, Any], media_jobs: MediaJobs) -> VideoSpec:
    """The request from a multipart form (the SDK, aiperf), a urlencoded form or JSON."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == "multipart/form-data":
        form = await read_upload_form(request, media_jobs)
        return video_spec_from_form({name: values[-1] for name, values in form.fields.items() if values})
    body = await request.body()
    if media_type == "application/x-www-form-urlencoded":
        return video_spec_from_form(dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"))))
    return video_spec_from_json(body)


class _JobStore:
    """Job records in the media store, read and written as the core's `VideoJob`."""

    def __init__(self, media: MediaStore) -> None:
        self._media = media

    def put(self, job: VideoJob) -> None:
        self._media.put(job.id, encode_video_job(job))

    def get(self, video_id: str) -> VideoJob | None:
        """The job, or None (no such id, or not a job's record)."""
        if not is_video_id(video_id):
            return None
        data = self._media.get(video_id)
        if data is None:
            return None
        try:
            return decode_video_job(data)
        except ValueError:
            return None

    def all(self) -> list[VideoJob]:
        """Every job in the store (one deleted meanwhile by another worker is left out)."""
        jobs = []
        for key in self._media.keys("video"):
            job = self.get(key)
            if job is not None:
                jobs.append(job)
        return jobs

    def delete(self, video_id: str) -> bool:
        """Delete the job and its files; False if there was no such job."""
        if self.get(video_id) is None:
            return False
        for asset in _ASSETS.values():
            self._media.delete(_asset_key(asset, video_id))
        return self._media.delete(video_id)


class _AssetRenders:
    """Files made on demand in worker threads: one render per file at a time, the result kept."""

    def __init__(self, media: MediaStore, jobs: _JobStore, media_jobs: MediaJobs) -> None:
        self._media = media
        self._jobs = jobs
        self._media_jobs = media_jobs
        self._pending: dict[str, asyncio.Future[bytes]] = {}

    async def content(self, job: VideoJob, asset: _Asset) -> bytes:
        """The file's bytes: from the store, or rendered now (and stored while the job exists)."""
        key = _asset_key(asset, job.id)
        kept = self._media.get(key)
        if kept is not None:
            return kept
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._render(job, asset, key))
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        return await asyncio.shield(pending)

    async def _render(self, job: VideoJob, asset: _Asset, key: str) -> bytes:
        content = await self._media_jobs.run(_rendered, job, asset)
        # The store is used from the event loop only (the local one is a plain dict).
        if self._jobs.get(job.id) is not None:  # not deleted while it rendered
            self._media.put(key, content)
        return content


def _rendered(job: VideoJob, asset: _Asset) -> bytes:
    """In a worker thread: import the renderers (PyAV loads here, not on the event loop) and run one."""
    mp4 = importlib.import_module("mockhttp.media.mp4")
    content: bytes = getattr(mp4, asset.renderer)(job)
    return content


def _video_response(job: VideoJob, now_unix: float) -> Response[bytes]:
    state = video_state(job, now_unix)
    wait_ms = poll_after_ms(job, now_unix)
    headers = {POLL_AFTER_HEADER: str(wait_ms)} if wait_ms is not None else None
    return Response(encode_json(video_body(job, state)), media_type=MediaType.JSON, headers=headers)


def build_video_handlers(services: Services) -> list[HTTPRouteHandler]:
    """The five routes of the Videos API over the app's media store."""
    jobs = _JobStore(services.media)
    renders = _AssetRenders(services.media, jobs, services.media_jobs)

    # One handler per path, several methods: Litestar's automatic OPTIONS answer of a path
    # lists only the methods of the handler registered there first.
    @route(
        VIDEOS_PATH,
        http_method=[HttpMethod.GET, HttpMethod.POST],
        status_code=200,
        request_max_body_size=services.settings.media_max_upload_bytes,
    )
    async def videos(request: Request[Any, Any, Any]) -> Response[bytes]:
        """`POST`: start a job; `GET`: a page of jobs."""
        if request.method == HttpMethod.GET:
            return list_videos(request)
        return await create_video(request)

    async def create_video(request: Request[Any, Any, Any]) -> Response[bytes]:
        """Start a job; it renders for `video_render_latency` x seconds x megapixels."""
        spec = await _video_spec(request, services.media_jobs)
        now_unix = time.time()
        job_id = VIDEO_ID_PREFIX + secrets.token_hex(_ID_HEX_BYTES)
        job = new_video_job(spec, job_id=job_id, created_at_unix=now_unix, settings=services.live.current())
        jobs.put(job)
        return _video_response(job, now_unix)

    def list_videos(request: Request[Any, Any, Any]) -> Response[bytes]:
        """A page of jobs (`limit`, `after`, `order`), each with its status now."""
        query = video_list_query(_query(request))
        page = video_page(jobs.all(), query)
        now_unix = time.time()
        data = [video_body(job, video_state(job, now_unix)) for job in page.jobs]
        body = VideoListBody(
            data=data,
            first_id=data[0].id if data else None,
            last_id=data[-1].id if data else None,
            has_more=page.has_more,
        )
        return Response(encode_json(body), media_type=MediaType.JSON)

    @route(
        f"{VIDEOS_PATH}/{{video_id:str}}", http_method=[HttpMethod.GET, HttpMethod.DELETE], status_code=200
    )
    async def video(request: Request[Any, Any, Any], video_id: FromPath[str]) -> Response[bytes]:
        """`GET`: the job now; `DELETE`: forget it."""
        if request.method == HttpMethod.DELETE:
            return delete_video(video_id)
        return retrieve_video(video_id)

    def retrieve_video(video_id: str) -> Response[bytes]:
        """The job with its status now, and when to ask again (`openai-poll-after-ms`)."""
        job = jobs.get(video_id)
        if job is None:
            return _not_found(video_id)
        return _video_response(job, time.time())

    def delete_video(video_id: str) -> Response[bytes]:
        """Forget the job and its files."""
        if not jobs.delete(video_id):
            return _not_found(video_id)
        return Response(encode_json(VideoDeletedBody(id=video_id)), media_type=MediaType.JSON)

    @get(f"{VIDEOS_PATH}/{{video_id:str}}/content")
    async def video_content(request: Request[Any, Any, Any], video_id: FromPath[str]) -> Response[bytes]:
        """The MP4 (`variant=video`), a WebP thumbnail or a JPEG spritesheet of a completed job."""
        asset = _ASSETS[_variant(_query(request))]
        job = jobs.get(video_id)
        if job is None:
            return _not_found(video_id)
        state = video_state(job, time.time())
        if state.status != "completed":
            return _not_ready(job, state)
        if not media_libraries_installed():
            return error_response(501, _MEDIA_MISSING)
        content = await renders.content(job, asset)
        return Response(content, media_type=asset.media_type)

    return [videos, video, video_content]
