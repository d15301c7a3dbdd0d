"""Where a video job stands at a moment: `queued`, then `in_progress` with `progress`, then `completed`.

A job renders for `render_ms` from its creation. The first `QUEUED_SHARE` of that time it is
`queued` (progress 0); then `in_progress`, its progress growing linearly from 0 to 99; at
`created + render_ms` it is `completed` (progress 100), with `completed_at` then and
`expires_at` an hour later, as OpenAI reports it (this server keeps the files until the job
is deleted or the media store evicts them). With no render time (`--fast`), a job is complete
as soon as it exists. Timestamps are whole Unix seconds, as the API writes them.
"""

import math
from typing import Literal

import msgspec

from mockcore.media.video import VideoJob

VideoStatus = Literal["queued", "in_progress", "completed"]

QUEUED_SHARE = 0.1
EXPIRES_AFTER_S = 3600
MAX_POLL_AFTER_MS = 1000
_IN_PROGRESS_MAX = 99


class VideoState(msgspec.Struct, frozen=True, kw_only=True):
    """A job's status at one moment."""

    status: VideoStatus
    progress: int
    created_at: int
    completed_at: int | None
    expires_at: int | None


def completion_unix(job: VideoJob) -> float:
    """When the job completes, Unix seconds."""
    return job.created_at_unix + job.render_ms / 1000.0


def video_state(job: VideoJob, now_unix: float) -> VideoState:
    """The status of `job` at `now_unix` (a moment before its creation reads as its creation)."""
    created_at = math.floor(job.created_at_unix)
    done_at = completion_unix(job)
    if now_unix >= done_at or job.render_ms <= 0:
        completed_at = math.floor(done_at)
        return VideoState(
            status="completed",
            progress=100,
            created_at=created_at,
            completed_at=completed_at,
            expires_at=completed_at + EXPIRES_AFTER_S,
        )
    elapsed_s = max(now_unix - job.created_at_unix, 0.0)
    render_s = job.render_ms / 1000.0
    queued_s = render_s * QUEUED_SHARE
    if elapsed_s < queued_s:
        return VideoState(
            status="queued", progress=0, created_at=created_at, completed_at=None, expires_at=None
        )
    share = (elapsed_s - queued_s) / (render_s - queued_s)
    progress = min(math.floor(share * 100), _IN_PROGRESS_MAX)
    return VideoState(
        status="in_progress", progress=progress, created_at=created_at, completed_at=None, expires_at=None
    )


def poll_after_ms(job: VideoJob, now_unix: float) -> int | None:
    """How long a client should wait before it asks again (`openai-poll-after-ms`); None once done.

    The time left until completion, at least 1 ms and at most `MAX_POLL_AFTER_MS`, so the
    openai SDK's `poll` sees the completion as soon as it happens.
    """
    left_ms = (completion_unix(job) - now_unix) * 1000.0
    if left_ms <= 0:
        return None
    return max(1, min(math.ceil(left_ms), MAX_POLL_AFTER_MS))
