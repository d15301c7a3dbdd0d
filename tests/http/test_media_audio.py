"""`POST /v1/audio/transcriptions` and `/translations` through the official `openai` SDK.

The audio is real: a sine tone of known length, encoded here with PyAV in each container
OpenAI accepts. The server must read each file's true duration, answer every response
format in the shape the SDK parses (subtitles well-formed and covering the audio), stream
`transcript.text.*` events, be deterministic in the bytes, take its real-time factor of the
duration, and refuse bad uploads with 4xx envelopes naming the field.
"""

import array
import io
import itertools
import math
import random
import re
import time
import warnings
from collections.abc import Iterator

import httpx
import msgspec
import openai
import pytest
from openai.types.audio import Transcription, TranscriptionVerbose, TranslationVerbose
from tests.http.conftest import INSTANT, StartServer

from mockcore.errors import RequestError
from mockcore.media.transcription import WORDS_PER_SECOND
from mockhttp.media.audio_decode import read_audio

av = pytest.importorskip("av")

pytestmark = pytest.mark.e2e

TONE_S = 2.5
SLOW = msgspec.structs.replace(INSTANT, transcription_real_time_factor=0.2, media_max_upload_bytes=256 * 1024)


class Container(msgspec.Struct, frozen=True):
    """How a test file is encoded: FFmpeg's muxer and encoder, the rate, the file's name."""

    muxer: str
    codec: str
    rate: int
    filename: str


CONTAINERS = {
    "wav": Container("wav", "pcm_s16le", 16_000, "tone.wav"),
    "mp3": Container("mp3", "libmp3lame", 16_000, "tone.mp3"),
    "flac": Container("flac", "flac", 16_000, "tone.flac"),
    "ogg": Container("ogg", "libopus", 48_000, "tone.ogg"),  # this PyAV has no Vorbis encoder
    "webm": Container("webm", "libopus", 48_000, "tone.webm"),
    "m4a": Container("ipod", "aac", 16_000, "tone.m4a"),
}


def encode_tone(container: Container, seconds: float, frequency_hz: float = 440.0) -> tuple[bytes, float]:
    """A mono sine tone of `seconds` in `container`, and the length of one codec frame in seconds."""
    rate = container.rate
    total = round(seconds * rate)
    output = io.BytesIO()
    with av.open(output, "w", format=container.muxer) as muxer:
        stream = muxer.add_stream(container.codec, rate=rate, layout="mono")
        step = 2 * math.pi * frequency_hz / rate
        for first in range(0, total, 4096):
            count = min(4096, total - first)
            pcm = array.array("h", (int(8000 * math.sin(step * (first + k))) for k in range(count)))
            frame = av.AudioFrame(format="s16", layout="mono", samples=count)
            frame.planes[0].update(pcm.tobytes())
            frame.sample_rate = rate
            frame.pts = first
            for packet in stream.encode(frame):
                muxer.mux(packet)
        for packet in stream.encode(None):
            muxer.mux(packet)
        frame_s = (stream.codec_context.frame_size or 1) / rate  # known once the encoder opened
    return output.getvalue(), frame_s


@pytest.fixture(scope="module")
def tones() -> dict[str, tuple[bytes, float]]:
    """A 2.5 s tone in every container."""
    return {name: encode_tone(container, TONE_S) for name, container in CONTAINERS.items()}


@pytest.fixture(scope="module")
def wav_tone(tones: dict[str, tuple[bytes, float]]) -> bytes:
    return tones["wav"][0]


@pytest.fixture(scope="module")
def client(instant_server: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{instant_server}/v1", api_key="x", max_retries=0, timeout=30.0) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def slow_server(start_server: StartServer) -> str:
    """Real-time factor 0.2 and a 256 KiB upload limit."""
    return start_server(SLOW)


def transcribe(client: openai.OpenAI, data: bytes, filename: str = "tone.wav", **options: object) -> object:
    """The SDK's parsed answer for `data` uploaded as `filename`."""
    arguments: dict[str, object] = {"model": "whisper-1", **options}
    return client.audio.transcriptions.create(file=(filename, data), **arguments)  # type: ignore[call-overload]


def cue_times(text: str, decimal_mark: str) -> list[tuple[float, float]]:
    """The (start, end) of every cue of a subtitle file, in seconds."""
    stamp = rf"(\d\d):(\d\d):(\d\d){re.escape(decimal_mark)}(\d\d\d)"
    pattern = f"{stamp} --> {stamp}"
    times = []
    for match in re.finditer(pattern, text):
        h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(part) for part in match.groups())
        times.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000))
    return times


def assert_cues_cover(times: list[tuple[float, float]], duration_s: float) -> None:
    assert times, "no cues"
    assert times[0][0] == 0.0
    assert times[-1][1] == pytest.approx(duration_s, abs=0.0015)
    for (start, end), (next_start, _) in itertools.pairwise(times):
        assert start < end == next_start


@pytest.mark.parametrize("name", CONTAINERS)
def test_every_container_is_read_at_its_real_duration(
    client: openai.OpenAI, tones: dict[str, tuple[bytes, float]], name: str
) -> None:
    data, frame_s = tones[name]
    answer = transcribe(client, data, CONTAINERS[name].filename, response_format="verbose_json")
    assert isinstance(answer, TranscriptionVerbose)
    assert answer.duration == pytest.approx(TONE_S, abs=frame_s)
    assert answer.usage is not None
    assert answer.usage.type == "duration"
    assert answer.usage.seconds == 3  # 2.5 s, to the nearest second


def test_json_is_a_transcription_with_duration_usage_for_whisper(
    client: openai.OpenAI, wav_tone: bytes
) -> None:
    answer = transcribe(client, wav_tone)
    assert isinstance(answer, Transcription)
    assert answer.text.endswith(".")
    assert answer.usage is not None
    assert answer.usage.type == "duration"
    assert answer.logprobs is None


def test_json_reports_token_usage_and_logprobs_for_gpt_4o_transcribe(
    client: openai.OpenAI, wav_tone: bytes
) -> None:
    answer = transcribe(client, wav_tone, model="gpt-4o-transcribe", prompt="A tone.", include=["logprobs"])
    assert isinstance(answer, Transcription)
    assert answer.usage is not None
    assert answer.usage.type == "tokens"
    details = answer.usage.input_token_details
    assert details is not None
    assert details.audio_tokens == math.ceil(TONE_S * 10)
    assert details.text_tokens == 2  # "A tone." is 7 characters: two tokens of four
    assert answer.usage.total_tokens == answer.usage.input_tokens + answer.usage.output_tokens
    assert answer.logprobs is not None
    assert "".join(entry.token or "" for entry in answer.logprobs) == answer.text
    assert all((entry.logprob or 0.0) < 0 for entry in answer.logprobs)


def test_text_is_the_plain_transcript(client: openai.OpenAI, wav_tone: bytes) -> None:
    text = transcribe(client, wav_tone, response_format="text")
    assert isinstance(text, str)
    assert text.strip() == transcribe(client, wav_tone).text  # type: ignore[attr-defined]


def test_srt_cues_are_numbered_and_cover_the_audio(client: openai.OpenAI, wav_tone: bytes) -> None:
    srt = transcribe(client, wav_tone, response_format="srt")
    assert isinstance(srt, str)
    blocks = srt.strip().split("\n\n")
    assert [block.split("\n")[0] for block in blocks] == [str(number) for number in range(1, len(blocks) + 1)]
    assert all(len(block.split("\n")) == 3 for block in blocks)
    assert_cues_cover(cue_times(srt, ","), TONE_S)


def test_vtt_starts_with_its_signature_and_covers_the_audio(client: openai.OpenAI, wav_tone: bytes) -> None:
    vtt = transcribe(client, wav_tone, response_format="vtt")
    assert isinstance(vtt, str)
    assert vtt.startswith("WEBVTT\n\n")
    assert_cues_cover(cue_times(vtt, "."), TONE_S)
    assert not cue_times(vtt, ",")


def test_verbose_json_has_segments_and_words_when_asked(client: openai.OpenAI, wav_tone: bytes) -> None:
    answer = transcribe(
        client,
        wav_tone,
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="fr",
        temperature=0.3,
    )
    assert isinstance(answer, TranscriptionVerbose)
    assert answer.language == "french"
    assert answer.segments is not None
    assert answer.words is not None
    assert answer.text == "".join(segment.text for segment in answer.segments).strip()
    assert [word.word for word in answer.words] == re.findall(r"[A-Za-z]+", answer.text)
    assert all(segment.temperature == 0.3 and segment.tokens for segment in answer.segments)
    assert_cues_cover([(segment.start, segment.end) for segment in answer.segments], answer.duration)
    starts = [word.start for word in answer.words]
    assert starts == sorted(starts)
    assert answer.words[-1].end == answer.duration


def test_word_timestamps_alone_leave_out_the_segments(client: openai.OpenAI, wav_tone: bytes) -> None:
    answer = transcribe(client, wav_tone, response_format="verbose_json", timestamp_granularities=["word"])
    assert isinstance(answer, TranscriptionVerbose)
    assert answer.segments is None
    assert answer.words


def test_the_same_bytes_give_the_same_text_and_other_audio_another(
    client: openai.OpenAI, tones: dict[str, tuple[bytes, float]]
) -> None:
    wav, _ = tones["wav"]
    other, _ = encode_tone(CONTAINERS["wav"], TONE_S, frequency_hz=523.25)
    first = transcribe(client, wav, response_format="text")
    assert transcribe(client, wav, response_format="text") == first
    assert transcribe(client, other, response_format="text") != first
    assert transcribe(client, tones["flac"][0], "tone.flac", response_format="text") != first


def test_the_transcript_grows_with_the_duration(client: openai.OpenAI) -> None:
    counts = []
    for seconds in (1.0, 6.0, 20.0):
        data, _ = encode_tone(CONTAINERS["mp3"], seconds)
        text = transcribe(client, data, "tone.mp3", response_format="text")
        assert isinstance(text, str)
        counts.append(len(text.split()))
        assert len(text.split()) == max(1, math.floor(seconds * WORDS_PER_SECOND))
    assert counts == sorted(counts)
    assert counts[0] < counts[-1]


def test_a_stream_sends_deltas_then_the_done_event(client: openai.OpenAI, wav_tone: bytes) -> None:
    stream = client.audio.transcriptions.create(
        file=("tone.wav", wav_tone), model="gpt-4o-transcribe", stream=True, include=["logprobs"]
    )
    events = list(stream)
    deltas = [event for event in events if event.type == "transcript.text.delta"]
    done = events[-1]
    assert done.type == "transcript.text.done"
    assert len(deltas) == len(events) - 1 > 1
    assert "".join(delta.delta for delta in deltas) == done.text
    assert done.text == transcribe(client, wav_tone, model="gpt-4o-transcribe").text  # type: ignore[attr-defined]
    assert done.usage is not None
    assert done.usage.output_tokens == len(deltas)
    assert all(delta.logprobs and delta.logprobs[0].token == delta.delta for delta in deltas)


def test_whisper_answers_a_stream_request_in_one_piece(instant_server: str, wav_tone: bytes) -> None:
    response = httpx.post(
        f"{instant_server}/v1/audio/transcriptions",
        files={"file": ("tone.wav", wav_tone)},
        data={"model": "whisper-1", "stream": "true"},
        timeout=30.0,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["text"]


def test_translations_answer_in_english(client: openai.OpenAI, wav_tone: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK marks the translations API deprecated
        answer = client.audio.translations.create(
            file=("tone.wav", wav_tone), model="whisper-1", response_format="verbose_json"
        )
        plain = client.audio.translations.create(file=("tone.wav", wav_tone), model="whisper-1")
    assert isinstance(answer, TranslationVerbose)
    assert answer.language == "english"
    assert answer.duration == TONE_S
    assert answer.segments
    assert plain.text == answer.text


def test_the_answer_takes_the_real_time_factor_of_the_duration(slow_server: str, wav_tone: bytes) -> None:
    with openai.OpenAI(base_url=f"{slow_server}/v1", api_key="x", max_retries=0, timeout=30.0) as slow:
        started = time.perf_counter()
        transcribe(slow, wav_tone)
        elapsed = time.perf_counter() - started
        assert elapsed >= 0.9 * SLOW.transcription_real_time_factor * TONE_S
        started = time.perf_counter()
        events = list(slow.audio.transcriptions.create(file=("t.wav", wav_tone), model="m", stream=True))
        elapsed = time.perf_counter() - started
    assert events[-1].type == "transcript.text.done"
    assert elapsed >= 0.9 * SLOW.transcription_real_time_factor * TONE_S


def post_form(
    base_url: str, data: dict[str, str], file: bytes | None, filename: str = "a.wav"
) -> httpx.Response:
    """A multipart form of `data`'s fields and, unless None, the file part."""
    parts: dict[str, tuple[str | None, bytes | str]] = {name: (None, value) for name, value in data.items()}
    if file is not None:
        parts["file"] = (filename, file)
    return httpx.post(f"{base_url}/v1/audio/transcriptions", files=parts, timeout=30.0)


def assert_envelope(response: httpx.Response, status: int, param: str | None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"]


def test_random_bytes_are_not_audio(instant_server: str) -> None:
    noise = random.Random(14).randbytes(20_000)  # noqa: S311 - reproducible noise, not a secret
    assert_envelope(post_form(instant_server, {"model": "whisper-1"}, noise), 400, "file")


def test_an_empty_file_is_not_audio(instant_server: str) -> None:
    assert_envelope(post_form(instant_server, {"model": "whisper-1"}, b""), 400, "file")


def test_a_truncated_wav_or_mp3_is_the_audio_before_the_cut(
    instant_server: str, tones: dict[str, tuple[bytes, float]]
) -> None:
    for name in ("wav", "mp3"):
        data, _ = tones[name]
        response = post_form(
            instant_server,
            {"model": "whisper-1", "response_format": "verbose_json"},
            data[: len(data) // 2],
            f"a.{name}",
        )
        assert response.status_code == 200, response.text
        assert 0.3 * TONE_S < response.json()["duration"] < 0.7 * TONE_S


def test_a_truncated_m4a_is_refused(instant_server: str, tones: dict[str, tuple[bytes, float]]) -> None:
    data, _ = tones["m4a"]
    # MP4 writes its index (moov) last: without it nothing can be played.
    assert_envelope(
        post_form(instant_server, {"model": "whisper-1"}, data[: len(data) // 2], "a.m4a"), 400, "file"
    )


def test_audio_longer_than_the_limit_is_refused(wav_tone: bytes) -> None:
    with pytest.raises(RequestError) as caught:
        read_audio(wav_tone, max_seconds=1.0)
    assert caught.value.param == "file"
    assert read_audio(wav_tone).duration_s == TONE_S


def test_a_missing_file_or_model_is_named(instant_server: str, wav_tone: bytes) -> None:
    assert_envelope(post_form(instant_server, {"model": "whisper-1"}, None), 400, "file")
    assert_envelope(post_form(instant_server, {"language": "en"}, wav_tone), 400, "model")


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"response_format": "diarized_json"}, "response_format"),
        ({"response_format": "xml"}, "response_format"),
        ({"temperature": "1.5"}, "temperature"),
        ({"language": "english"}, "language"),
        ({"timestamp_granularities[]": "word"}, "timestamp_granularities"),
        ({"stream": "true", "response_format": "srt", "model": "gpt-4o-transcribe"}, "stream"),
        ({"include[]": "logprobs", "response_format": "text"}, "include"),
    ],
)
def test_a_bad_field_is_named(
    instant_server: str, wav_tone: bytes, fields: dict[str, str], param: str
) -> None:
    assert_envelope(post_form(instant_server, {"model": "whisper-1", **fields}, wav_tone), 400, param)


def test_a_body_that_is_not_a_form_is_refused(instant_server: str) -> None:
    response = httpx.post(
        f"{instant_server}/v1/audio/transcriptions", json={"model": "whisper-1"}, timeout=30.0
    )
    assert_envelope(response, 400, None)


def test_an_upload_over_the_limit_is_413(slow_server: str) -> None:
    big, _ = encode_tone(CONTAINERS["wav"], 10.0)  # 320 kB of PCM, over the 256 KiB limit
    assert len(big) > SLOW.media_max_upload_bytes
    assert_envelope(post_form(slow_server, {"model": "whisper-1"}, big), 413, None)
