"""Plan a transcription from the audio's duration, its digest and the request.

The rules a client can observe (docs/api.md, "Audio transcription"):
- The speaker talks at `WORDS_PER_SECOND` (2.5, 150 words a minute): `floor(2.5 x duration)`
  words, at least one. Words and sentence breaks come from the digest of the audio bytes
  (`transcript_text`), so the same file always reads the same and another file differently.
- Word k of n spans `[d k / n, d (k + 1) / n]`, on Whisper's 10 ms grid and never past the
  end; a segment is a sentence, so the segments cover `[0, d]` end to end, in order.
- `language` is the requested one's name, else `english` (a translation is always English).
- Usage: Whisper models report `{"type": "duration", "seconds"}` (the duration rounded to the
  nearest second, at least 1); others report tokens: `AUDIO_TOKENS_PER_SECOND` (10) audio
  tokens per second rounded up, the prompt's tokens as text tokens, the text's tokens as
  output. `verbose_json` reports duration usage whatever the model, as OpenAI's type has it.
- Latency: `transcription_real_time_factor` x duration after arrival; a stream sends one
  delta per token of the text, the k-th of m at latency x k / m, then the done event.
"""

import hashlib
import math
import zlib
from itertools import accumulate

from mockcore.digest import derived_unit
from mockcore.generation.logprobs import token_id, token_logprob
from mockcore.media.transcript_text import sentence_lengths, sentence_text, spoken_words
from mockcore.media.transcription_languages import DEFAULT_LANGUAGE, LANGUAGE_NAMES
from mockcore.media.transcription_plan import (
    TranscriptionPlan,
    TranscriptionUsage,
    TranscriptPiece,
    TranscriptSegment,
    TranscriptWord,
)
from mockcore.media.transcription_request import Task, TranscriptionRequest, bills_by_duration
from mockcore.settings import Settings
from mockcore.tokenizer import count_tokens, split_tokens

WORDS_PER_SECOND = 2.5
AUDIO_TOKENS_PER_SECOND = 10
MAX_AUDIO_SECONDS = 7200.0  # longer audio is refused (it would take minutes to decode)
TIMESTAMP_STEP_DECIMALS = 2  # Whisper's timestamps fall on a 10 ms grid
SEEK_WINDOW_S = 30  # Whisper reads audio in 30 s windows; `seek` is a window's start in 10 ms frames

_SEGMENT_SALT = b"transcript-seg"
_NO_SPEECH_SALT = b"transcript-quiet"
_LOGPROB_SALT = b"transcript-lp"


def audio_digest(data: bytes) -> bytes:
    """The digest every derived choice of a transcription starts from: the audio's bytes."""
    return hashlib.blake2b(data, digest_size=32, person=b"mock-audio").digest()


def transcript_word_count(duration_s: float) -> int:
    """How many words are spoken in `duration_s` seconds: at least one in any audio at all."""
    if duration_s <= 0:
        return 0
    return max(1, math.floor(duration_s * WORDS_PER_SECOND))


def plan_transcription(
    request: TranscriptionRequest,
    duration_s: float,
    digest: bytes,
    settings: Settings,
    task: Task = "transcribe",
) -> TranscriptionPlan:
    """Everything the answer to `request` for audio of `duration_s` seconds and `digest` holds."""
    word_count = transcript_word_count(duration_s)
    words = spoken_words(digest, word_count)
    lengths = sentence_lengths(digest, word_count)
    segments = _segments(words, lengths, duration_s, request.temperature, digest)
    text = "".join(segment.text for segment in segments).strip()
    granularities = request.timestamp_granularities
    verbose = request.response_format == "verbose_json"
    stream = request.stream and task == "transcribe" and not bills_by_duration(request.model)
    logprobs = "logprobs" in request.include
    latency_s = settings.transcription_real_time_factor * duration_s
    return TranscriptionPlan(
        task=task,
        model=request.model,
        response_format=request.response_format,
        language=_language_name(request.language, task),
        duration_s=duration_s,
        text=text,
        segments=segments,
        show_segments=verbose and (not granularities or "segment" in granularities),
        words=_words(words, lengths, duration_s) if verbose and "word" in granularities else (),
        usage=_usage(request, duration_s, text, verbose=verbose),
        pieces=_pieces(text, digest, latency_s) if stream or logprobs else (),
        logprobs=logprobs,
        stream=stream,
        response_offset_s=latency_s,
    )


def _language_name(code: str | None, task: Task) -> str:
    if task == "translate" or code is None:
        return DEFAULT_LANGUAGE
    return LANGUAGE_NAMES[code]


def word_time(duration_s: float, index: int, count: int) -> float:
    """When word boundary `index` of `count` falls: on the 10 ms grid, the last exactly at the end."""
    if index >= count:
        return duration_s
    return min(round(duration_s * index / count, TIMESTAMP_STEP_DECIMALS), duration_s)


def _segments(
    words: tuple[str, ...], lengths: tuple[int, ...], duration_s: float, temperature: float, digest: bytes
) -> tuple[TranscriptSegment, ...]:
    count = len(words)
    segments: list[TranscriptSegment] = []
    first = 0
    for number, length in enumerate(lengths):
        text = " " + sentence_text(words[first : first + length])
        start = word_time(duration_s, first, count)
        key = digest + number.to_bytes(8, "little")
        encoded = text.encode()
        segments.append(
            TranscriptSegment(
                id=number,
                seek=int(start // SEEK_WINDOW_S) * SEEK_WINDOW_S * 100,
                start=start,
                end=word_time(duration_s, first + length, count),
                text=text,
                tokens=tuple(token_id(piece) for piece in split_tokens(text)),
                temperature=temperature,
                avg_logprob=round(-0.15 - 0.35 * derived_unit(key, _SEGMENT_SALT), 6),
                compression_ratio=round(len(encoded) / len(zlib.compress(encoded)), 6),
                no_speech_prob=round(0.05 * derived_unit(key, _NO_SPEECH_SALT), 6),
            )
        )
        first += length
    return tuple(segments)


def _words(words: tuple[str, ...], lengths: tuple[int, ...], duration_s: float) -> tuple[TranscriptWord, ...]:
    """The words as the text spells them (a sentence's first capitalised), without punctuation."""
    count = len(words)
    sentence_starts = set(accumulate(lengths, initial=0))
    return tuple(
        TranscriptWord(
            word=word.capitalize() if index in sentence_starts else word,
            start=word_time(duration_s, index, count),
            end=word_time(duration_s, index + 1, count),
        )
        for index, word in enumerate(words)
    )


def _usage(
    request: TranscriptionRequest, duration_s: float, text: str, *, verbose: bool
) -> TranscriptionUsage:
    by_duration = verbose or bills_by_duration(request.model)
    return TranscriptionUsage(
        billing="duration" if by_duration else "tokens",
        seconds=max(1, math.floor(duration_s + 0.5)),
        audio_tokens=math.ceil(duration_s * AUDIO_TOKENS_PER_SECOND),
        text_tokens=count_tokens(request.prompt or ""),
        output_tokens=count_tokens(text),
    )


def _pieces(text: str, digest: bytes, latency_s: float) -> tuple[TranscriptPiece, ...]:
    pieces = split_tokens(text)
    count = len(pieces)
    key = digest + _LOGPROB_SALT
    return tuple(
        TranscriptPiece(
            text=piece,
            logprob=token_logprob(key, index, piece, 0).logprob,
            offset_s=latency_s * (index + 1) / count,
        )
        for index, piece in enumerate(pieces)
    )
