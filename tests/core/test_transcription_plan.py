"""The transcription plan (`mockcore.media.transcription`) and its form, without a server.

Pure functions of (duration, digest, request): the same inputs give the same answer, the
transcript grows with the duration at the documented speaking rate, and the segments and
words tile the audio from 0 to its end, in order. The form's rules name the field at fault.
"""

import itertools
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockcore import Settings
from mockcore.errors import RequestError
from mockcore.media.transcript_captions import caption_timestamp, srt_text, vtt_text
from mockcore.media.transcription import (
    WORDS_PER_SECOND,
    audio_digest,
    plan_transcription,
    transcript_word_count,
)
from mockcore.media.transcription_plan import TranscriptionPlan
from mockcore.media.transcription_request import TranscriptionRequest, transcription_request

SETTINGS = Settings(transcription_real_time_factor=0.05)
durations = st.floats(min_value=0.01, max_value=240.0, allow_nan=False, allow_infinity=False)
digests = st.binary(min_size=32, max_size=32)
VERBOSE_WORDS = TranscriptionRequest(
    model="whisper-1", response_format="verbose_json", timestamp_granularities=("word", "segment")
)


def plan(
    duration_s: float, digest: bytes, request: TranscriptionRequest = VERBOSE_WORDS
) -> TranscriptionPlan:
    return plan_transcription(request, duration_s, digest, SETTINGS)


@given(durations, digests)
def test_a_plan_is_a_function_of_its_inputs(duration_s: float, digest: bytes) -> None:
    assert plan(duration_s, digest) == plan(duration_s, digest)


@given(durations, durations, digests)
def test_the_word_count_never_falls_as_the_audio_grows(first: float, second: float, digest: bytes) -> None:
    short, long = sorted((first, second))
    assert len(plan(short, digest).words) <= len(plan(long, digest).words)


@given(durations, digests)
def test_the_speaker_talks_at_the_documented_rate(duration_s: float, digest: bytes) -> None:
    words = plan(duration_s, digest).words
    assert (
        len(words) == transcript_word_count(duration_s) == max(1, math.floor(duration_s * WORDS_PER_SECOND))
    )


@given(durations, digests)
def test_segments_and_words_tile_the_audio_in_order(duration_s: float, digest: bytes) -> None:
    planned = plan(duration_s, digest)
    for spans in (planned.segments, planned.words):
        assert spans[0].start == 0.0
        assert spans[-1].end == duration_s
        for span, after in itertools.pairwise(spans):
            assert span.start <= span.end == after.start
    assert [segment.id for segment in planned.segments] == list(range(len(planned.segments)))
    assert planned.text == "".join(segment.text for segment in planned.segments).strip()
    assert [word.word for word in planned.words] == re.findall(r"[A-Za-z]+", planned.text)


@given(durations, digests)
def test_streamed_pieces_spell_the_text_by_the_deadline(duration_s: float, digest: bytes) -> None:
    request = TranscriptionRequest(model="gpt-4o-transcribe", stream=True)
    planned = plan(duration_s, digest, request)
    assert planned.stream
    assert "".join(piece.text for piece in planned.pieces) == planned.text
    offsets = [piece.offset_s for piece in planned.pieces]
    assert offsets == sorted(offsets)
    assert offsets[-1] == pytest.approx(planned.response_offset_s)
    assert planned.response_offset_s == pytest.approx(0.05 * duration_s)
    assert planned.usage.billing == "tokens"
    assert planned.usage.output_tokens == len(planned.pieces)


def test_other_audio_reads_differently() -> None:
    texts = {plan(10.0, audio_digest(bytes([seed]) * 100)).text for seed in range(20)}
    assert len(texts) == 20


def test_whisper_bills_seconds_and_ignores_stream() -> None:
    planned = plan(61.4, audio_digest(b"x"), TranscriptionRequest(model="whisper-1", stream=True))
    assert not planned.stream
    assert not planned.pieces
    assert planned.usage.billing == "duration"
    assert planned.usage.seconds == 61


def test_verbose_json_bills_seconds_whatever_the_model() -> None:
    request = TranscriptionRequest(model="gpt-4o-transcribe", response_format="verbose_json")
    assert plan(3.0, audio_digest(b"x"), request).usage.billing == "duration"


def test_a_translation_is_english() -> None:
    request = transcription_request({"model": ["whisper-1"], "language": ["de"]}, "translate")
    assert request.language is None  # not a field of translations
    translated = plan_transcription(request, 3.0, audio_digest(b"x"), SETTINGS, "translate")
    assert translated.language == "english"


@pytest.mark.parametrize(
    ("seconds", "srt", "vtt"),
    [(0.0, "00:00:00,000", "00:00:00.000"), (3725.0456, "01:02:05,046", "01:02:05.046")],
)
def test_caption_timestamps(seconds: float, srt: str, vtt: str) -> None:
    assert caption_timestamp(seconds, ",") == srt
    assert caption_timestamp(seconds, ".") == vtt


def test_captions_have_one_cue_per_segment() -> None:
    planned = plan(30.0, audio_digest(b"captions"))
    srt = srt_text(planned.segments)
    vtt = vtt_text(planned.segments)
    assert srt.count(" --> ") == vtt.count(" --> ") == len(planned.segments)
    assert srt.endswith(".\n")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> ")
    assert "00:00:30.000\n" in vtt


def test_form_fields_are_converted_from_text() -> None:
    request = transcription_request(
        {
            "model": ["gpt-4o-transcribe"],
            "language": ["EN"],
            "temperature": ["0.4"],
            "stream": ["true"],
            "include[]": ["logprobs"],
            "prompt": [""],
            "chunking_strategy": ["auto"],
        }
    )
    assert request == TranscriptionRequest(
        model="gpt-4o-transcribe", language="en", temperature=0.4, stream=True, include=("logprobs",)
    )


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({}, "model"),
        ({"model": [""]}, "model"),
        ({"model": ["m"], "response_format": ["diarized_json"]}, "response_format"),
        ({"model": ["m"], "temperature": ["-0.1"]}, "temperature"),
        ({"model": ["m"], "temperature": ["warm"]}, "temperature"),
        ({"model": ["m"], "stream": ["maybe"]}, "stream"),
        ({"model": ["m"], "language": ["xx"]}, "language"),
        ({"model": ["m"], "timestamp_granularities[]": ["segment"]}, "timestamp_granularities"),
        (
            {"model": ["m"], "response_format": ["verbose_json"], "timestamp_granularities[]": ["line"]},
            "timestamp_granularities[0]",
        ),
        ({"model": ["m"], "stream": ["1"], "response_format": ["vtt"]}, "stream"),
        ({"model": ["m"], "include[]": ["tokens"]}, "include[0]"),
        ({"model": ["m"], "include[]": ["logprobs"], "response_format": ["srt"]}, "include"),
    ],
)
def test_a_bad_form_names_its_field(fields: dict[str, list[str]], param: str) -> None:
    with pytest.raises(RequestError) as caught:
        transcription_request(fields)
    assert caught.value.param == param
