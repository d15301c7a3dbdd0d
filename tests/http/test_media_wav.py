"""A PCM WAV file is measured from its header: the same duration FFmpeg decodes, every time.

`mockcore.media.wav` reads the RIFF chunks instead of decoding (microseconds against 15-20 ms
of PyAV per 30 s, much of it holding the GIL the event loop needs). Whatever WAV it accepts,
decoding the file with PyAV must give exactly its duration; whatever it is unsure of goes to
PyAV as before.
"""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockcore.errors import RequestError
from mockcore.media.wav import read_pcm_wav
from mockhttp.media.audio_decode import decode_with_pyav, read_audio

pytest.importorskip("av")

PCM, IEEE_FLOAT, EXTENSIBLE = 1, 3, 0xFFFE
# The sub-format GUID of WAVE_FORMAT_EXTENSIBLE after its two leading bytes (the codec).
GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")


def chunk(chunk_id: bytes, body: bytes) -> bytes:
    return chunk_id + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def fmt_chunk(codec: int, channels: int, rate: int, bits: int, *, extensible: bool) -> bytes:
    block_align = channels * bits // 8
    head = struct.pack(
        "<HHIIHH", EXTENSIBLE if extensible else codec, channels, rate, rate * block_align, block_align, bits
    )
    if extensible:
        head += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", codec) + GUID_TAIL
    return chunk(b"fmt ", head)


@st.composite
def wav_files(draw: st.DrawFn) -> bytes:
    """PCM WAV files as tools write them, with the oddities real files have."""
    codec, bits = draw(
        st.sampled_from([(PCM, 8), (PCM, 16), (PCM, 24), (PCM, 32), (IEEE_FLOAT, 32), (IEEE_FLOAT, 64)])
    )
    channels = draw(st.integers(1, 4))
    rate = draw(st.sampled_from([8_000, 16_000, 22_050, 44_100, 48_000, 96_000]))
    frames = draw(st.integers(1, 6_000))
    samples = draw(st.binary(min_size=1, max_size=64)) * (frames * channels * bits // 8)
    samples = samples[: frames * channels * bits // 8]
    chunks = [fmt_chunk(codec, channels, rate, bits, extensible=draw(st.booleans()))]
    if draw(st.booleans()):  # metadata between the format and the samples, odd-sized
        chunks.append(chunk(b"LIST", b"INFOISFT" + draw(st.binary(min_size=1, max_size=33))))
    data = chunk(b"data", samples)
    if draw(st.booleans()):  # a size the file does not have: a stream's placeholder, or a lie
        data = (
            data[:4] + struct.pack("<I", draw(st.sampled_from([0xFFFFFFFF, len(samples) + 1000]))) + data[8:]
        )
    chunks.append(data)
    if draw(st.booleans()):  # metadata after the samples
        chunks.append(chunk(b"id3 ", draw(st.binary(min_size=1, max_size=40))))
    body = b"WAVE" + b"".join(chunks)
    wav = b"RIFF" + struct.pack("<I", len(body)) + body
    cut = draw(st.integers(0, len(samples) // 2))  # a file cut short
    return wav[: len(wav) - cut] if cut else wav


@given(wav_files())
@settings(max_examples=150, deadline=None)
def test_the_header_gives_the_duration_ffmpeg_decodes(wav: bytes) -> None:
    header = read_pcm_wav(wav)
    try:
        decoded_s, container = decode_with_pyav(wav)
    except RequestError:
        assert header is None  # nothing decodes: the header must not claim samples either
        return
    assert header is not None, "a plain PCM WAV file went the slow way"
    assert (header.duration_s, container) == (decoded_s, "wav")


def test_a_file_of_another_codec_or_damaged_header_is_decoded_for_real() -> None:
    plain = b"WAVE" + fmt_chunk(PCM, 1, 16_000, 16, extensible=False) + chunk(b"data", b"\1\2" * 800)
    riff = b"RIFF" + struct.pack("<I", len(plain)) + plain
    assert read_pcm_wav(riff) is not None
    adpcm = riff.replace(struct.pack("<HH", PCM, 1), struct.pack("<HH", 2, 1), 1)  # MS ADPCM
    samples_first = b"RIFF" + struct.pack("<I", len(plain)) + b"WAVE" + chunk(b"data", b"\1\2" * 800)
    bad_block_align = riff.replace(struct.pack("<HH", 2, 16), struct.pack("<HH", 3, 16), 1)
    for wav in (adpcm, samples_first, bad_block_align, riff[:30], b"RIFX" + riff[4:]):
        assert read_pcm_wav(wav) is None


def test_a_long_wav_is_refused_by_its_header_as_by_decoding() -> None:
    body = b"WAVE" + fmt_chunk(PCM, 1, 8_000, 8, extensible=False) + chunk(b"data", b"\x80" * 8_000 * 3)
    wav = b"RIFF" + struct.pack("<I", len(body)) + body
    assert read_audio(wav).duration_s == 3.0
    with pytest.raises(RequestError, match="longer than 2 s") as by_header:
        read_audio(wav, max_seconds=2.0)
    with pytest.raises(RequestError, match="longer than 2 s") as by_decoding:
        decode_with_pyav(wav, max_seconds=2.0)
    assert str(by_header.value) == str(by_decoding.value)


def test_a_file_of_many_small_chunks_is_left_to_the_decoder() -> None:
    """The header reader stops after a few dozen chunks: a hostile file cannot keep it busy."""
    fmt = fmt_chunk(PCM, 1, 16_000, 16, extensible=False)
    padding = chunk(b"JUNK", b"") * 100
    body = b"WAVE" + fmt + padding + chunk(b"data", b"\1\2" * 800)
    wav = b"RIFF" + struct.pack("<I", len(body)) + body
    assert read_pcm_wav(wav) is None
    assert read_audio(wav).duration_s == 0.05  # decoded for real instead
