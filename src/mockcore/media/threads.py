"""How many media threads a worker runs by default: as many as it has cores beyond its loop's.

A media thread busy on a core the event loop needs makes the loop wait for the operating
system (docs/performance.md, media routes); one core per worker is the loop's. The adapter
reads the cores this process may use and hands them in.
"""

from mockcore.settings import Settings

# A worker with this many cores of its own gets a second media thread by default.
CORES_FOR_TWO_THREADS = 3


def media_threads_for(settings: Settings, cores: int) -> int:
    """`--media-threads`, or one thread per worker, two when it has three or more of `cores` to itself."""
    if settings.media_threads:
        return settings.media_threads
    return 2 if cores // settings.workers >= CORES_FOR_TWO_THREADS else 1
