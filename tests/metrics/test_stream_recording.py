"""A stream's writes become inter-token latencies: one per token after the first."""

from mockhttp.pacing import StreamProgress


def test_gaps_are_reported_per_write_and_coalesced_frames_count_as_zero_gaps() -> None:
    gaps: list[tuple[float, int]] = []
    progress = StreamProgress(5, lambda gap, frames: gaps.append((round(gap, 9), frames)))
    progress.wrote(10.0, 2, 100)  # the first token and one more, late, in one write
    progress.wrote(10.5, 1, 50)
    progress.wrote(10.75, 4, 80)  # two tokens, then the usage chunk and [DONE]
    assert gaps == [(0.0, 1), (0.5, 1), (0.25, 2)]
    assert sum(frames for _, frames in gaps) == 5 - 1
    assert (progress.first_write_at, progress.last_write_at) == (10.0, 10.75)
    assert (progress.frames_sent, progress.bytes_sent) == (7, 230)


def test_a_stream_of_one_token_reports_no_gap() -> None:
    gaps: list[tuple[float, int]] = []
    progress = StreamProgress(1, lambda gap, frames: gaps.append((gap, frames)))
    progress.wrote(1.0, 3, 30)
    assert gaps == []
    assert progress.first_write_at == 1.0
