"""Release stream events at absolute deadlines, never early.

Each event is due at t0 + offset. A late event goes out at once and never shifts the
deadlines after it, so lateness cannot accumulate over a long stream or under load. Events
that are already due when one is sent travel in the same write: a stream that fell behind
catches up in one step instead of paying one write per overdue event, which is what keeps
an overloaded worker's backlog from growing.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable

# uvloop rounds timer delays to whole milliseconds against a cached loop time, so a timer
# can fire up to about 1 ms before its deadline. A wake-up that comes early sleeps again for
# at least one timer tick instead of spinning through the event loop.
TIMER_TICK_S = 0.001
# At most this many overdue events share one write.
MAX_FRAMES_PER_WRITE = 64
# A stream that writes this many times in a row without sleeping yields to the event loop.
WRITES_PER_YIELD = 32


class StreamProgress:
    """What of a stream has been handed to the transport, and when (read after a cancel too).

    The first `token_frames` frames carry tokens (the usage chunk and `[DONE]` follow). Each
    write of token frames after the first is reported to `on_gap(gap_s, frames)`: its first
    frame came `gap_s` after the previous write, the others with it; the first write reports
    only the frames that came with the first token, as gaps of 0.
    """

    __slots__ = ("bytes_sent", "first_write_at", "frames_sent", "last_write_at", "on_gap", "token_frames")

    def __init__(self, token_frames: int = 0, on_gap: Callable[[float, int], None] | None = None) -> None:
        self.frames_sent = 0
        self.bytes_sent = 0
        self.first_write_at: float | None = None
        self.last_write_at = 0.0
        self.token_frames = token_frames
        self.on_gap = on_gap

    def wrote(self, now: float, frames: int, size: int) -> None:
        """`frames` frames of `size` bytes in total went out in one write at `now`."""
        tokens = min(frames, self.token_frames - self.frames_sent)
        on_gap = self.on_gap
        if self.first_write_at is None:
            self.first_write_at = now
            if on_gap is not None and tokens > 1:
                on_gap(0.0, tokens - 1)
        elif on_gap is not None and tokens > 0:
            on_gap(now - self.last_write_at, tokens)
        self.last_write_at = now
        self.frames_sent += frames
        self.bytes_sent += size


async def sleep_until(
    deadline: float, clock: Callable[[], float], sleep: Callable[[float], Awaitable[None]]
) -> float:
    """Sleep until `deadline` on `clock` has passed and return the clock's reading then."""
    now = clock()
    while now < deadline:
        await sleep(max(deadline - now, TIMER_TICK_S))
        now = clock()
    return now


async def send_paced(
    events: Iterable[tuple[float, bytes]],
    t0: float,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    send_chunk: Callable[[bytes], Awaitable[None]],
    progress: StreamProgress,
) -> None:
    """Send each `(offset_s, frame)` no earlier than `t0 + offset_s` on `clock`.

    `events` is read one event ahead of the one being sent (to see whether it is due too);
    `progress` counts the frames handed to `send_chunk` and when they went (the time the
    write was due to start), so a caller can tell after a cancellation how many went out.
    """
    iterator = iter(events)
    pending = next(iterator, None)
    writes_without_sleep = 0
    while pending is not None:
        offset_s, frame = pending
        deadline = t0 + offset_s
        now = clock()
        if now < deadline:
            writes_without_sleep = 0
            now = await sleep_until(deadline, clock, sleep)
        elif writes_without_sleep == WRITES_PER_YIELD:
            # Nothing sleeps with ITL 0 or a late schedule, and a write into a closed
            # connection neither fails nor waits: let other tasks (the disconnect watcher)
            # run now and then.
            writes_without_sleep = 0
            await asyncio.sleep(0)
        writes_without_sleep += 1
        pending = next(iterator, None)
        if pending is None or t0 + pending[0] > now:
            await send_chunk(frame)
            progress.wrote(now, 1, len(frame))
            continue
        frames = [frame]
        while pending is not None and t0 + pending[0] <= now and len(frames) < MAX_FRAMES_PER_WRITE:
            frames.append(pending[1])
            pending = next(iterator, None)
        chunk = b"".join(frames)
        await send_chunk(chunk)
        progress.wrote(now, len(frames), len(chunk))
