"""A video job (`POST /v1/videos`, OpenAI's Videos API): the request, its checks and the job's record.

The request comes as JSON or as a multipart form (the openai SDK and aiperf send a form);
both become one `VideoCreateRequest`. `seconds` is one of OpenAI's strings "4", "8", "12"
(the integers 4, 8, 12 are accepted too, as some clients send them); `size` is one of the four
sizes Sora renders. `input_reference` and fields OpenAI does not define (aiperf's `seed`,
`fps`, ...) are accepted and ignored. The record (`VideoJob`) holds everything the status
and the content follow from, timing included, so any worker answers for any job.
"""

from typing import Annotated

import msgspec

from mockcore.decoding import decode_strictly
from mockcore.errors import RequestError, error_from_validation
from mockcore.settings import Settings

DEFAULT_VIDEO_MODEL = "sora-2"
DEFAULT_VIDEO_SECONDS = 4
DEFAULT_VIDEO_SIZE = "720x1280"
VIDEO_SECONDS: tuple[int, ...] = (4, 8, 12)
VIDEO_SIZES: dict[str, tuple[int, int]] = {
    "720x1280": (720, 1280),
    "1280x720": (1280, 720),
    "1024x1792": (1024, 1792),
    "1792x1024": (1792, 1024),
}
MAX_PROMPT_CHARS = 32_000
VIDEO_ID_PREFIX = "video_"
_MAX_ID_CHARS = 128  # the media store's longest key
_PIXELS_PER_MEGAPIXEL = 1_000_000


class VideoCreateRequest(msgspec.Struct, kw_only=True):
    """The body of `POST /v1/videos`, as sent (unknown fields ignored)."""

    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PROMPT_CHARS)]
    model: Annotated[str, msgspec.Meta(min_length=1)] = DEFAULT_VIDEO_MODEL
    seconds: str | int = str(DEFAULT_VIDEO_SECONDS)
    size: str = DEFAULT_VIDEO_SIZE


class VideoSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A checked request: what the video will be."""

    prompt: str
    model: str
    seconds: int
    width: int
    height: int

    @property
    def size(self) -> str:
        """`WIDTHxHEIGHT`, as the API writes a size."""
        return f"{self.width}x{self.height}"


class VideoJob(msgspec.Struct, frozen=True, kw_only=True):
    """The stored record of one job; its status at any moment follows from it and the clock.

    `render_ms` is fixed when the job is created (with the settings then in effect), so a
    later `PATCH /admin/config` does not move a job already under way.
    """

    id: str
    prompt: str
    model: str
    seconds: int
    width: int
    height: int
    created_at_unix: float
    render_ms: float

    @property
    def size(self) -> str:
        """`WIDTHxHEIGHT`."""
        return f"{self.width}x{self.height}"


_JSON_DECODER = msgspec.json.Decoder(VideoCreateRequest)
_JOB_ENCODER = msgspec.json.Encoder()
_JOB_DECODER = msgspec.json.Decoder(VideoJob)


def _checked_seconds(value: str | int) -> int:
    seconds = value if isinstance(value, int) else _integer_or_none(value)
    if seconds not in VIDEO_SECONDS:
        allowed = ", ".join(f"'{choice}'" for choice in VIDEO_SECONDS)
        msg = f"Invalid value {value!r} for `seconds`: expected one of {allowed}."
        raise RequestError(msg, "seconds", "invalid_value")
    return seconds


def _integer_or_none(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _checked_size(size: str) -> tuple[int, int]:
    dimensions = VIDEO_SIZES.get(size)
    if dimensions is None:
        allowed = ", ".join(f"'{choice}'" for choice in VIDEO_SIZES)
        msg = f"Invalid value {size!r} for `size`: expected one of {allowed}."
        raise RequestError(msg, "size", "invalid_value")
    return dimensions


def video_spec(request: VideoCreateRequest) -> VideoSpec:
    """Check `seconds` and `size`; RequestError (400, naming the field) when one is not OpenAI's."""
    seconds = _checked_seconds(request.seconds)
    width, height = _checked_size(request.size)
    return VideoSpec(prompt=request.prompt, model=request.model, seconds=seconds, width=width, height=height)


def video_spec_from_json(body: bytes) -> VideoSpec:
    """A JSON body's request, checked."""
    return video_spec(decode_strictly(_JSON_DECODER, body))


def video_spec_from_form(fields: dict[str, str]) -> VideoSpec:
    """A multipart form's request (each field's last value), checked; form values are text."""
    try:
        request = msgspec.convert(fields, VideoCreateRequest)
    except msgspec.ValidationError as exc:
        raise error_from_validation(exc) from exc
    return video_spec(request)


def video_render_ms(seconds: int, width: int, height: int, settings: Settings) -> float:
    """The simulated render time: `video_render_latency` x seconds of video x megapixels."""
    return settings.video_render_latency * seconds * width * height / _PIXELS_PER_MEGAPIXEL


def new_video_job(spec: VideoSpec, *, job_id: str, created_at_unix: float, settings: Settings) -> VideoJob:
    """The record of a job created at `created_at_unix` (Unix seconds) under `settings`."""
    return VideoJob(
        id=job_id,
        prompt=spec.prompt,
        model=spec.model,
        seconds=spec.seconds,
        width=spec.width,
        height=spec.height,
        created_at_unix=created_at_unix,
        render_ms=video_render_ms(spec.seconds, spec.width, spec.height, settings),
    )


def is_video_id(text: str) -> bool:
    """Whether `text` can name a job: `video_`, then letters, digits, `_` or `-` (128 in all at most)."""
    rest = text.removeprefix(VIDEO_ID_PREFIX)
    return (
        rest != text
        and len(rest) > 0
        and len(text) <= _MAX_ID_CHARS
        and all(char.isascii() and (char.isalnum() or char in "_-") for char in rest)
    )


def encode_video_job(job: VideoJob) -> bytes:
    """The record as stored (JSON)."""
    return _JOB_ENCODER.encode(job)


def decode_video_job(data: bytes) -> VideoJob:
    """A stored record back (ValueError if it is not one)."""
    try:
        return _JOB_DECODER.decode(data)
    except msgspec.DecodeError as exc:
        msg = "not a video job record"
        raise ValueError(msg) from exc
