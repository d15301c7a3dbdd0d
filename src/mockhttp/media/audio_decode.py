"""The real duration of an uploaded audio file, read by decoding it with PyAV (FFmpeg).

Every sample of the first audio stream is decoded and counted, so the duration is what a
player would play: encoder padding (MP3, AAC) trimmed where the container says so, and a
file cut short counts only what decodes before the cut. A plain PCM WAV file is the
exception: its samples cannot fail to decode, so its header says how many there are
(`mockcore.media.wav`). Containers are those OpenAI accepts
(wav, mp3, flac, ogg, webm/matroska, mp4/m4a); anything else, bytes FFmpeg cannot read, or a
file without a single decodable sample is a 400 naming `file`. Decoding takes about 12-80 ms
per minute of audio, so callers run `read_audio` in a worker thread, never on the event loop.
PyAV is imported here only, when the first audio arrives.
"""

import importlib.util
import io
from functools import cache
from typing import TYPE_CHECKING

import msgspec

from mockcore.errors import RequestError
from mockcore.media.transcription import MAX_AUDIO_SECONDS, audio_digest
from mockcore.media.wav import read_pcm_wav

if TYPE_CHECKING:
    import av

# FFmpeg's demuxer names (`container.format.name`) of the formats OpenAI accepts.
ACCEPTED_CONTAINERS = frozenset({"wav", "mp3", "flac", "ogg", "matroska,webm", "mov,mp4,m4a,3gp,3g2,mj2"})
_FORMATS_TEXT = "flac, m4a, mp3, mp4, mpeg, mpga, oga, ogg, wav, webm"


class DecodedAudio(msgspec.Struct, frozen=True, kw_only=True):
    """What the core needs of an upload: its playing time and the digest of its bytes."""

    duration_s: float
    digest: bytes
    container: str


@cache
def pyav_installed() -> bool:
    """Whether PyAV (the `media` extra) can be imported, without importing it."""
    return importlib.util.find_spec("av") is not None


def _invalid(reason: str) -> RequestError:
    return RequestError(
        f"The audio file could not be decoded or its format is not supported ({reason}). "
        f"Supported formats: {_FORMATS_TEXT}.",
        "file",
    )


def read_audio(data: bytes, max_seconds: float = MAX_AUDIO_SECONDS) -> DecodedAudio:
    """Measure `data` (RequestError, param `file`, if it is not audio or is too long).

    A plain PCM WAV file is measured from its header (`mockcore.media.wav`: the same count
    of samples, without decoding 15-20 ms per 30 s through PyAV with the GIL held for much of
    it); every other file is decoded to its end.
    """
    if not data:
        raise _invalid("the file is empty")
    wav = read_pcm_wav(data)
    if wav is None:
        duration_s, container = decode_with_pyav(data, max_seconds)
    else:
        duration_s, container = wav.duration_s, "wav"
        if duration_s > max_seconds:
            raise _too_long(max_seconds)
    return DecodedAudio(duration_s=duration_s, digest=audio_digest(data), container=container)


def decode_with_pyav(data: bytes, max_seconds: float = MAX_AUDIO_SECONDS) -> tuple[float, str]:
    """Seconds of audio in `data` and FFmpeg's name of its container, by decoding every sample."""
    import av  # noqa: PLC0415 - the media extra, imported on first use

    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, ValueError, OSError, EOFError) as exc:
        raise _invalid("not a recognised audio container") from exc
    with container:
        name = container.format.name
        if name not in ACCEPTED_CONTAINERS:
            raise _invalid(f"container {name!r}")
        if not container.streams.audio:
            raise _invalid("no audio stream")
        duration_s = _decoded_seconds(container, container.streams.audio[0], max_seconds)
    if duration_s <= 0:
        raise _invalid("no audio samples")
    return duration_s, name


def _too_long(max_seconds: float) -> RequestError:
    return RequestError(
        f"The audio is longer than {max_seconds:.0f} s, the longest this server transcribes.", "file"
    )


def _decoded_seconds(
    container: "av.container.InputContainer", stream: "av.AudioStream", max_seconds: float
) -> float:
    """Seconds of audio that decode before the end of the stream or the first broken packet.

    The last frame of an AAC stream carries padding the decoder does not trim; where the
    stream declares a duration (MP4's edit list) that ends inside that frame, it is the end.
    """
    import av  # noqa: PLC0415

    samples_by_rate: dict[int, int] = {}
    seconds = 0.0
    last_frame_s = 0.0
    try:
        for frame in container.decode(stream):
            rate = frame.sample_rate
            if not rate:
                continue
            samples_by_rate[rate] = samples_by_rate.get(rate, 0) + frame.samples
            last_frame_s = frame.samples / rate
            seconds = sum(samples / rate for rate, samples in samples_by_rate.items())
            if seconds > max_seconds:
                raise _too_long(max_seconds)
    except (av.FFmpegError, ValueError, OSError, EOFError) as exc:
        # A file cut short or damaged part way: what decoded before the damage is the audio.
        if seconds <= 0:
            raise _invalid("no decodable audio") from exc
        return seconds
    declared_s = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
    if seconds - last_frame_s < declared_s < seconds:
        return declared_s
    return seconds
