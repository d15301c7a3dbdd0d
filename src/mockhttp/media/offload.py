"""Media work off the event loop, a few jobs at a time per worker.

Pillow and PyAV release the GIL for most of their work, not all of it (PNG tiles, decoders'
set-up, the Python between calls). With many threads doing media work at once, the event
loop waits for the GIL behind them: eight image edits at once stalled it for 22 ms. So every
media job of a worker (drawing and encoding images, decoding audio, rendering video,
decoding retrieval images) goes through one limiter per event loop, `MEDIA_JOBS_AT_ONCE`
at a time; more would not finish sooner on a worker's one core anyway.
"""

import asyncio
from collections.abc import Callable
from typing import TypeVar, TypeVarTuple
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread

MEDIA_JOBS_AT_ONCE = 2
_T = TypeVar("_T")
_Args = TypeVarTuple("_Args")
_LIMITERS: WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = WeakKeyDictionary()


def _limiter() -> anyio.CapacityLimiter:
    """This event loop's limiter (made on first use: a limiter belongs to one loop)."""
    loop = asyncio.get_running_loop()
    limiter = _LIMITERS.get(loop)
    if limiter is None:
        limiter = _LIMITERS[loop] = anyio.CapacityLimiter(MEDIA_JOBS_AT_ONCE)
    return limiter


async def run_media_job(function: Callable[[*_Args], _T], *args: *_Args) -> _T:
    """`function(*args)` in a worker thread, once one of the worker's media slots is free."""
    return await anyio.to_thread.run_sync(function, *args, limiter=_limiter())
