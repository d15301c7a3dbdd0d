"""The form of `POST /v1/audio/transcriptions` (and `/translations`), typed and checked.

The fields arrive as multipart text. They are converted as a JSON body would be (numbers and
booleans from their text, `true`/`false`/`1`/`0`), an empty field counts as absent (except
`model`, which must name something), and the rules OpenAI states between fields are checked
here, each failure naming the field it is about. Fields this server does not use
(`chunking_strategy`, `keywords`, ...) are ignored.
"""

from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

import msgspec

from mockcore.errors import RequestError, error_from_validation
from mockcore.media.transcription_languages import LANGUAGE_NAMES

ResponseFormat = Literal["json", "text", "srt", "verbose_json", "vtt"]
Granularity = Literal["word", "segment"]
Include = Literal["logprobs"]
Task = Literal["transcribe", "translate"]

STREAMED_FORMATS: frozenset[str] = frozenset({"json", "text"})

# Form names of the fields each route reads. The SDK sends lists as `name[]`, one part each.
_TRANSCRIPTION_FIELDS = ("model", "language", "prompt", "response_format", "temperature", "stream")
_TRANSCRIPTION_LISTS = ("timestamp_granularities", "include")
_TRANSLATION_FIELDS = ("model", "prompt", "response_format", "temperature")


class TranscriptionRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A transcription (or translation) request's fields, in the order of OpenAI's reference."""

    model: Annotated[str, msgspec.Meta(min_length=1)]
    language: str | None = None
    prompt: str | None = None
    response_format: ResponseFormat = "json"
    temperature: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0
    timestamp_granularities: tuple[Granularity, ...] = ()
    stream: bool = False
    include: tuple[Include, ...] = ()


def bills_by_duration(model: str) -> bool:
    """Whisper models (`whisper-1`, ...) report usage in seconds and ignore `stream`.

    Every other model name (`gpt-4o-transcribe`, `mock-model`, ...) is treated as one of the
    GPT-4o transcribe models: usage in tokens, and streaming honoured.
    """
    return model.lower().startswith("whisper")


def transcription_request(
    fields: Mapping[str, Sequence[str]], task: Task = "transcribe"
) -> TranscriptionRequest:
    """The request of a form's text fields; RequestError naming the field that is wrong."""
    scalars = _TRANSCRIPTION_FIELDS if task == "transcribe" else _TRANSLATION_FIELDS
    lists = _TRANSCRIPTION_LISTS if task == "transcribe" else ()
    values: dict[str, object] = {}
    for name in scalars:
        given = fields.get(name)
        if given and (given[-1] or name == "model"):
            values[name] = given[-1]
    for name in lists:
        items = [*fields.get(f"{name}[]", ()), *fields.get(name, ())]
        if items:
            values[name] = [item for item in items if item]
    try:
        request = msgspec.convert(values, TranscriptionRequest, strict=False)
    except msgspec.ValidationError as exc:
        raise error_from_validation(exc) from None
    return _checked(request)


def _checked(request: TranscriptionRequest) -> TranscriptionRequest:
    """The request with its language code normalised, once the rules between fields hold."""
    language = request.language
    if language is not None:
        language = language.strip().lower()
        if language not in LANGUAGE_NAMES:
            msg = (
                f"Invalid language '{request.language}'. "
                "Language parameter must be specified in ISO-639-1 format."
            )
            raise RequestError(msg, "language")
    if request.timestamp_granularities and request.response_format != "verbose_json":
        msg = "timestamp_granularities is only supported with response_format 'verbose_json'."
        raise RequestError(msg, "timestamp_granularities")
    if (
        request.stream
        and request.response_format not in STREAMED_FORMATS
        and not bills_by_duration(request.model)
    ):
        msg = (
            f"Streaming is supported with response_format 'json' or 'text', not '{request.response_format}'."
        )
        raise RequestError(msg, "stream")
    if request.include and request.response_format != "json":
        msg = "include[]=logprobs is only supported with response_format 'json'."
        raise RequestError(msg, "include")
    return msgspec.structs.replace(request, language=language)
