"""Media work off the event loop, a few jobs at a time per worker process.

Pillow and PyAV release the GIL for most of their work, not all of it (PNG tiles, decoders'
set-up, the Python between calls). With many threads doing media work at once, the event
loop waits for the GIL behind them: eight image edits at once stalled it for 22 ms. So every
media job of a worker (drawing and encoding images, decoding audio, rendering video,
decoding retrieval images) runs on one pool of `MEDIA_JOBS_AT_ONCE` threads; more would not
finish sooner on a worker's one core anyway. The pool's threads live as long as the process:
a pool that starts threads as it goes (anyio's) blocks the loop in `Thread.start` until the
new thread gets the GIL, which it waits for behind the busy ones.
"""

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, TypeVarTuple

MEDIA_JOBS_AT_ONCE = 2
_T = TypeVar("_T")
_Args = TypeVarTuple("_Args")


@functools.cache
def _media_pool() -> ThreadPoolExecutor:
    """The process's media threads (made on first use; apps of one process share them)."""
    return ThreadPoolExecutor(max_workers=MEDIA_JOBS_AT_ONCE, thread_name_prefix="media")


async def run_media_job(function: Callable[[*_Args], _T], *args: *_Args) -> _T:
    """`function(*args)` on one of the process's media threads, once one is free."""
    return await asyncio.get_running_loop().run_in_executor(_media_pool(), function, *args)
