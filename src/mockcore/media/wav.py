"""The playing time of a plain PCM WAV file, read from its chunks without decoding it.

Uncompressed samples cannot fail to decode: a WAV file of integer or float PCM plays
`data bytes // block align` sample frames, which is what FFmpeg's decoder counts too. Reading
the RIFF chunks takes microseconds where decoding through PyAV takes 15-20 ms for 30 s of
audio, most of it holding the GIL the event loop needs. Anything this reader is not sure of
(another codec, an odd layout, a damaged header) answers None, and the caller decodes the
file for real.
"""

import struct

_PCM = 1
_IEEE_FLOAT = 3
_EXTENSIBLE = 0xFFFE
_INTEGER_WIDTHS = frozenset({8, 16, 24, 32})
_FLOAT_WIDTHS = frozenset({32, 64})
_MAX_CHANNELS = 8
_MAX_RATE = 768_000
_RIFF_HEADER = 12  # "RIFF", the file size, "WAVE"
_FMT_SIZE = 16  # format tag, channels, rate, byte rate, block align, bits per sample
_EXTENSIBLE_FMT_SIZE = 40  # ... and the extension, its sub-format GUID at byte 24
_MAX_CHUNKS = 64  # chunks read before the samples; a file with more is left to the decoder


class PcmWav:
    """What the header says of a PCM WAV file: sample frames present and frames per second."""

    __slots__ = ("frames", "sample_rate")

    def __init__(self, frames: int, sample_rate: int) -> None:
        self.frames = frames
        self.sample_rate = sample_rate

    @property
    def duration_s(self) -> float:
        """Seconds of audio."""
        return self.frames / self.sample_rate


def read_pcm_wav(data: bytes) -> PcmWav | None:
    """The frames of a plain PCM WAV file (None: not one this reader is sure of).

    The `fmt ` chunk must come before `data`; a `data` chunk that claims more bytes than the
    file holds (a file cut short, or a stream's placeholder size) plays what is there.
    """
    if len(data) < _RIFF_HEADER or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    offset = _RIFF_HEADER
    block_align = 0
    sample_rate = 0
    for _ in range(_MAX_CHUNKS):
        if offset + 8 > len(data):
            break
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        body = offset + 8
        if chunk_id == b"fmt ":
            layout = _pcm_layout(data[body : body + min(size, _EXTENSIBLE_FMT_SIZE)])
            if layout is None:
                return None
            sample_rate, block_align = layout
        elif chunk_id == b"data":
            if not block_align:
                return None
            present = min(size, len(data) - body)
            frames = present // block_align
            return PcmWav(frames, sample_rate) if frames > 0 else None
        offset = body + size + (size & 1)
    return None


def _pcm_layout(fmt: bytes) -> tuple[int, int] | None:
    """(sample rate, block align) of a `fmt ` chunk of integer or float PCM, else None."""
    if len(fmt) < _FMT_SIZE:
        return None
    tag, channels, rate, byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _EXTENSIBLE:
        # WAVE_FORMAT_EXTENSIBLE: the codec is the first two bytes of the sub-format GUID.
        if len(fmt) < _EXTENSIBLE_FMT_SIZE:
            return None
        (tag,) = struct.unpack_from("<H", fmt, 24)
    widths = _INTEGER_WIDTHS if tag == _PCM else _FLOAT_WIDTHS if tag == _IEEE_FLOAT else None
    if widths is None or bits not in widths:
        return None
    if not 1 <= channels <= _MAX_CHANNELS or not 1 <= rate <= _MAX_RATE:
        return None
    if block_align != channels * bits // 8 or byte_rate != rate * block_align:
        return None
    return rate, block_align
