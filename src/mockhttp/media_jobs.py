"""Media work off the event loop, a few jobs at a time per worker process.

Pillow and PyAV release the GIL for most of their work, not all of it (PNG tiles, decoders'
set-up, the Python between calls). With many threads doing media work at once, the event
loop waits for the GIL behind them: eight image edits at once stalled it for 22 ms. And a
media thread busy on a core the loop needs makes the loop wait for the operating system
instead: with two media jobs on a 2-core machine the loop's thread waited up to 5 ms for a
core (its run-queue time, read from /proc). So every media job of a worker (drawing and
encoding images, decoding audio, rendering video, decoding retrieval images) runs on one
pool of `--media-threads` threads, by default one, or two when the worker has three or more
cores to itself. The pool's threads live as long as the process: a pool that starts threads
as it goes (anyio's) blocks the loop in `Thread.start` until the new thread gets the GIL,
which it waits for behind the busy ones.
"""

import asyncio
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar, TypeVarTuple

from mockcore import Settings
from mockcore.media.threads import media_threads_for

_T = TypeVar("_T")
_Args = TypeVarTuple("_Args")


def _cores_available() -> int:
    """The cores this process may run on (its CPU affinity where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def media_thread_count(settings: Settings, cores: int | None = None) -> int:
    """The worker's media threads (`mockcore.media.threads`), over this process's cores by default."""
    return media_threads_for(settings, _cores_available() if cores is None else cores)


@functools.cache
def _media_pool(threads: int) -> ThreadPoolExecutor:
    """The process's media threads (made on first use; apps of one process share them)."""
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="media")


@dataclass(frozen=True)
class MediaJobs:
    """Runs media work on the process's pool of `threads` media threads."""

    threads: int

    async def run(self, function: Callable[[*_Args], _T], *args: *_Args) -> _T:
        """`function(*args)` on one of the media threads, once one is free."""
        pool = _media_pool(self.threads)
        return await asyncio.get_running_loop().run_in_executor(pool, function, *args)
