"""Send a stream's frames at the times the engine sampled their tokens.

Frame k of a plan is token k's event (the trailing usage and `[DONE]` frames share the last
token's index). The engine publishes token k's time once the step that samples it starts,
so a frame waits first for its time to be known, then until that time: the same
absolute-deadline rule as `mockhttp.pacing`, with the deadlines coming from the engine.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterator

from mockhttp.engine.port import EngineTicket
from mockhttp.pacing import MAX_FRAMES_PER_WRITE, StreamProgress, sleep_until

# (event index, offset from t0) -> the offset a transport fault moves it to, or None to stop.
OffsetShaper = Callable[[int, float], float | None]


async def send_engine_paced(
    frames: Iterator[tuple[int, bytes]],
    ticket: EngineTicket,
    t0: float,
    *,
    clock: Callable[[], float],
    send_chunk: Callable[[bytes], Awaitable[None]],
    progress: StreamProgress,
    shape: OffsetShaper | None = None,
) -> None:
    """Send every frame no earlier than its token's engine time (moved by `shape`, if given).

    Frames whose times have passed when one is sent go out in the same write.
    """
    times = ticket.times
    pending = next(frames, None)
    while pending is not None:
        index, frame = pending
        due = await ticket.token_time(index)
        if shape is not None:
            offset = shape(index, due - t0)
            if offset is None:
                return
            due = t0 + offset
        now = await sleep_until(due, clock, asyncio.sleep)
        batch = [frame]
        pending = next(frames, None)
        while pending is not None and len(batch) < MAX_FRAMES_PER_WRITE:
            next_index = pending[0]
            if next_index != index and (
                shape is not None or next_index >= len(times) or times[next_index] > now
            ):
                break
            index = next_index
            batch.append(pending[1])
            pending = next(frames, None)
        chunk = batch[0] if len(batch) == 1 else b"".join(batch)
        await send_chunk(chunk)
        progress.wrote(now, len(batch), len(chunk))
