"""`POST /v1/audio/transcriptions` and `POST /v1/audio/translations`: real audio, mock words.

The upload is decoded for real (`audio_decode`, PyAV) to learn its duration; the core plans
the text, segments, words, usage and latency from that duration and the digest of the bytes
(`mockcore.media.transcription`); this module lays the plan out in the requested format:
`json`, `text`, `srt`, `verbose_json`, `vtt`, or an SSE stream of `transcript.text.delta`
events and one `transcript.text.done`. Decoding, planning and encoding run in a worker
thread; the answer (or each streamed event) is released at its deadline from arrival.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import msgspec
from litestar import MediaType, Request, Response, post
from litestar.handlers import HTTPRouteHandler
from litestar.response import Stream

from mockcore import Settings
from mockcore.errors import ErrorInfo, RequestError
from mockcore.media.transcript_captions import srt_text, vtt_text
from mockcore.media.transcription import plan_transcription
from mockcore.media.transcription_plan import (
    TranscriptionPlan,
    TranscriptionUsage,
    TranscriptPiece,
    TranscriptSegment,
    TranscriptWord,
)
from mockcore.media.transcription_request import Task, TranscriptionRequest, transcription_request
from mockhttp.errors import error_response
from mockhttp.media.audio_decode import pyav_installed, read_audio
from mockhttp.media.uploads import read_upload_form
from mockhttp.pacing import sleep_until
from mockhttp.services import Services

_encode = msgspec.json.encode
_TEXT_PLAIN = "text/plain"  # Litestar adds the charset
_CONTENT_TYPES = {
    "json": MediaType.JSON,
    "verbose_json": MediaType.JSON,
    "text": _TEXT_PLAIN,
    "srt": _TEXT_PLAIN,
}
_VTT = "text/vtt"
_PYAV_MISSING = ErrorInfo(
    message='The audio routes need PyAV, which this server lacks: pip install "aiperf-mock-server[media]".',
    type="server_error",
    param=None,
    code="media_extra_missing",
)


class DurationUsage(msgspec.Struct, frozen=True, kw_only=True):
    """Usage of a model billed by the second (Whisper)."""

    type: Literal["duration"]
    seconds: int


class InputTokenDetails(msgspec.Struct, frozen=True, kw_only=True):
    """The input tokens split into audio and prompt text."""

    audio_tokens: int
    text_tokens: int


class TokenUsage(msgspec.Struct, frozen=True, kw_only=True):
    """Usage of a model billed by the token (the GPT-4o transcribe models)."""

    type: Literal["tokens"]
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_token_details: InputTokenDetails


class TokenLogprobBody(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One token's log-probability, as `include[]=logprobs` returns it."""

    token: str
    bytes: list[int]
    logprob: float


class TranscriptionBody(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """`response_format=json` (the SDK's `Transcription`, or `Translation` without usage)."""

    text: str
    logprobs: list[TokenLogprobBody] | None = None
    usage: DurationUsage | TokenUsage | None = None


class VerboseBody(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """`response_format=verbose_json` (`TranscriptionVerbose`, `TranslationVerbose`)."""

    task: str
    language: str
    duration: float
    text: str
    segments: tuple[TranscriptSegment, ...] | None = None
    words: tuple[TranscriptWord, ...] | None = None
    usage: DurationUsage | None = None


class TextDeltaEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """`transcript.text.delta`: one more token of the text."""

    type: Literal["transcript.text.delta"]
    delta: str
    logprobs: list[TokenLogprobBody] | None = None


class TextDoneEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """`transcript.text.done`: the whole text, with token usage."""

    type: Literal["transcript.text.done"]
    text: str
    logprobs: list[TokenLogprobBody] | None = None
    usage: TokenUsage | None = None


def _usage_body(usage: TranscriptionUsage) -> DurationUsage | TokenUsage:
    if usage.billing == "duration":
        return DurationUsage(type="duration", seconds=usage.seconds)
    return _token_usage(usage)


def _token_usage(usage: TranscriptionUsage) -> TokenUsage:
    return TokenUsage(
        type="tokens",
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        input_token_details=InputTokenDetails(audio_tokens=usage.audio_tokens, text_tokens=usage.text_tokens),
    )


def _logprob_body(piece: TranscriptPiece) -> TokenLogprobBody:
    return TokenLogprobBody(token=piece.text, bytes=list(piece.text.encode()), logprob=piece.logprob)


def _logprobs(plan: TranscriptionPlan) -> list[TokenLogprobBody] | None:
    return [_logprob_body(piece) for piece in plan.pieces] if plan.logprobs else None


def answer_body(plan: TranscriptionPlan) -> tuple[bytes, str]:
    """The body of a non-streamed answer and its content type."""
    response_format = plan.response_format
    translation = plan.task == "translate"
    if response_format == "json":
        usage = None if translation else _usage_body(plan.usage)
        return _encode(
            TranscriptionBody(text=plan.text, logprobs=_logprobs(plan), usage=usage)
        ), MediaType.JSON
    if response_format == "verbose_json":
        body = VerboseBody(
            task=plan.task,
            language=plan.language,
            duration=plan.duration_s,
            text=plan.text,
            segments=plan.segments if plan.show_segments else None,
            words=plan.words or None,
            usage=None if translation else DurationUsage(type="duration", seconds=plan.usage.seconds),
        )
        return _encode(body), MediaType.JSON
    if response_format == "srt":
        return srt_text(plan.segments).encode(), _TEXT_PLAIN
    if response_format == "vtt":
        return vtt_text(plan.segments).encode(), _VTT
    return (plan.text + "\n").encode(), _TEXT_PLAIN


def stream_events(plan: TranscriptionPlan) -> list[tuple[float, bytes]]:
    """The SSE frames of a streamed answer, each with its offset from arrival."""
    frames: list[tuple[float, bytes]] = []
    for piece in plan.pieces:
        event = TextDeltaEvent(
            type="transcript.text.delta",
            delta=piece.text,
            logprobs=[_logprob_body(piece)] if plan.logprobs else None,
        )
        frames.append((piece.offset_s, b"data: " + _encode(event) + b"\n\n"))
    done = TextDoneEvent(
        type="transcript.text.done", text=plan.text, logprobs=_logprobs(plan), usage=_token_usage(plan.usage)
    )
    frames.append((plan.response_offset_s, b"data: " + _encode(done) + b"\n\n"))
    return frames


async def paced_frames(
    events: list[tuple[float, bytes]], t0: float, clock: Callable[[], float]
) -> AsyncIterator[bytes]:
    """Each frame no earlier than t0 + its offset; frames already due go out in one chunk."""
    index = 0
    while index < len(events):
        now = await sleep_until(t0 + events[index][0], clock, asyncio.sleep)
        end = index + 1
        while end < len(events) and t0 + events[end][0] <= now:
            end += 1
        yield b"".join(frame for _, frame in events[index:end])
        index = end


class _Prepared(msgspec.Struct, frozen=True):
    plan: TranscriptionPlan
    body: bytes
    content_type: str
    events: list[tuple[float, bytes]]


def _prepare(data: bytes, request: TranscriptionRequest, settings: Settings, task: Task) -> _Prepared:
    """Decode, plan and encode: the blocking part of a request, for a worker thread."""
    audio = read_audio(data)
    plan = plan_transcription(request, audio.duration_s, audio.digest, settings, task)
    if plan.stream:
        return _Prepared(plan, b"", "text/event-stream", stream_events(plan))
    body, content_type = answer_body(plan)
    return _Prepared(plan, body, content_type, [])


def build_audio_handlers(services: Services) -> list[HTTPRouteHandler]:
    """`POST /v1/audio/transcriptions` and `POST /v1/audio/translations`."""
    clock = services.clock
    max_upload = services.settings.media_max_upload_bytes

    async def answer(request: Request[Any, Any, Any], task: Task) -> Response[Any]:
        t0 = clock()  # on arrival, before the upload is read
        if not pyav_installed():
            return error_response(501, _PYAV_MISSING)
        form = await read_upload_form(request, services.media_jobs)
        fields = transcription_request(form.fields, task)
        upload = form.file("file")
        if upload is None:
            raise RequestError("The request has no audio: send it as the multipart file part `file`.", "file")
        settings = services.live.current()
        prepared = await services.media_jobs.run(_prepare, upload.data, fields, settings, task)
        if prepared.plan.stream:
            return Stream(
                paced_frames(prepared.events, t0, clock),
                media_type="text/event-stream",
                headers={"cache-control": "no-cache"},
            )
        await sleep_until(t0 + prepared.plan.response_offset_s, clock, asyncio.sleep)
        return Response(prepared.body, media_type=prepared.content_type)

    @post("/v1/audio/transcriptions", request_max_body_size=max_upload, status_code=200)
    async def create_transcription(request: Request[Any, Any, Any]) -> Response[Any]:
        """Transcribe the uploaded audio (OpenAI's form fields; see docs/api.md)."""
        return await answer(request, "transcribe")

    @post("/v1/audio/translations", request_max_body_size=max_upload, status_code=200)
    async def create_translation(request: Request[Any, Any, Any]) -> Response[Any]:
        """Translate the uploaded audio into English text (the transcription's plan, in English)."""
        return await answer(request, "translate")

    return [create_transcription, create_translation]
