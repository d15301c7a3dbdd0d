"""What a transcription answer holds, decided before any byte is written.

Times are seconds from the start of the audio; `response_offset_s` and each piece's
`offset_s` are seconds from the request's arrival.
"""

from typing import Literal

import msgspec

from mockcore.media.transcription_request import ResponseFormat, Task


class TranscriptWord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One word as verbose_json lists it: no punctuation, with its time span."""

    word: str
    start: float
    end: float


class TranscriptSegment(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One segment (a sentence) with the statistics Whisper reports for it."""

    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: tuple[int, ...]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float


class TranscriptPiece(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One token of the text: a streamed delta, with its log-probability and when it is due."""

    text: str
    logprob: float
    offset_s: float


class TranscriptionUsage(msgspec.Struct, frozen=True, kw_only=True):
    """Usage both ways OpenAI bills audio; `billing` says which one the answer reports."""

    billing: Literal["duration", "tokens"]
    seconds: int
    audio_tokens: int
    text_tokens: int
    output_tokens: int

    @property
    def input_tokens(self) -> int:
        """Audio plus prompt tokens."""
        return self.audio_tokens + self.text_tokens

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


class TranscriptionPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a client of the transcription (or translation) route can observe.

    `pieces` are filled only when the answer streams or carries log-probabilities; `words`
    only when verbose_json asks for word timestamps. `stream` is whether the answer streams
    (a Whisper model ignores the request's `stream`).
    """

    task: Task
    model: str
    response_format: ResponseFormat
    language: str
    duration_s: float
    text: str
    segments: tuple[TranscriptSegment, ...]
    show_segments: bool
    words: tuple[TranscriptWord, ...]
    usage: TranscriptionUsage
    pieces: tuple[TranscriptPiece, ...]
    logprobs: bool
    stream: bool
    response_offset_s: float
