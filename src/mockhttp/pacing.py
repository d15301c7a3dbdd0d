"""Release stream events at absolute deadlines.

Each event is due at t0 + offset. A late event goes out at once and never shifts the
deadlines after it, so lateness cannot accumulate over a long stream or under load.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable


async def paced_events(
    events: Iterable[tuple[float, bytes]],
    t0: float,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> AsyncIterator[bytes]:
    """Yield each `(offset_s, frame)` no earlier than `t0 + offset_s` on `clock`."""
    for offset_s, frame in events:
        delay_s = t0 + offset_s - clock()
        if delay_s > 0:
            await sleep(delay_s)
        yield frame


async def wait_until(
    deadline: float, clock: Callable[[], float], sleep: Callable[[float], Awaitable[None]]
) -> None:
    """Sleep until `deadline` on `clock`; return at once if it has passed."""
    delay_s = deadline - clock()
    if delay_s > 0:
        await sleep(delay_s)
