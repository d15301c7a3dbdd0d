"""A transcript as subtitles: SubRip (`srt`) and WebVTT (`vtt`), one cue per segment.

SubRip numbers its cues from 1 and writes `HH:MM:SS,mmm`; WebVTT starts with `WEBVTT` and
writes `HH:MM:SS.mmm`. Both separate cues by a blank line, as Whisper's files do.
"""

from collections.abc import Iterable

from mockcore.media.transcription_plan import TranscriptSegment


def caption_timestamp(seconds: float, decimal_mark: str) -> str:
    """`seconds` as `HH:MM:SS<mark>mmm`, rounded to the millisecond."""
    total_ms = round(seconds * 1000)
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{decimal_mark}{millis:03d}"


def srt_text(segments: Iterable[TranscriptSegment]) -> str:
    """The segments as a SubRip file."""
    cues = (
        f"{number}\n{caption_timestamp(segment.start, ',')} --> {caption_timestamp(segment.end, ',')}\n"
        f"{segment.text.strip()}\n"
        for number, segment in enumerate(segments, start=1)
    )
    return "\n".join(cues)


def vtt_text(segments: Iterable[TranscriptSegment]) -> str:
    """The segments as a WebVTT file."""
    cues = (
        f"{caption_timestamp(segment.start, '.')} --> {caption_timestamp(segment.end, '.')}\n"
        f"{segment.text.strip()}\n"
        for segment in segments
    )
    return "WEBVTT\n\n" + "\n".join(cues)
