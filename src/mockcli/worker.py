"""The target Granian imports in every worker process.

Workers may be spawned rather than forked, so nothing is inherited: logging and the app are
built here from the environment the CLI prepared.
"""

import gc
import os
import signal

from mockcli.logs import configure_logging, wants_json
from mockhttp import ASGIApp, create_app_from_env, settings_from_environ

# Objects alive beyond the last collection that start the next young one (Python's default: 700).
YOUNG_COLLECTION_THRESHOLD = 10_000


def create_worker_app() -> ASGIApp:
    """Configure this worker's logging, then build the app from the environment."""
    # A forked worker inherits the master's SIGINT/SIGTERM handler, which only flags the
    # master's copy of the server: a stop signal that arrives while this worker is still
    # starting would be lost and Granian would wait its whole kill timeout (30 s) for it.
    # Until Granian installs the worker's own handlers (once the app is loaded), a stop
    # signal simply ends this worker; it serves nothing yet.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, signal.SIG_DFL)
    settings = settings_from_environ(os.environ)
    configure_logging(settings.effective_log_level, wants_json())
    app = create_app_from_env()
    # Everything alive now (modules, the app, its routes and schemas: some 60,000 objects)
    # lives as long as the worker: out of the collector's sight, a full collection scans only
    # what requests left behind. It runs in whichever thread allocates, holding the GIL, so its
    # length is a stall of the event loop: 14-19 ms before, 4.5-6 ms after (bench.media_stall).
    gc.freeze()
    # A young collection starts when 700 more objects are alive than at the last one: 64
    # requests in flight hold several thousand between them, so their comings and goings
    # alone started one every few requests (1.2-1.3 us of collector per request engine off,
    # 2.2-2.9 with the engine, measured in process; none in steady load at 10,000). Garbage
    # in cycles still starts one once 10,000 objects are left behind, a pass of a millisecond.
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
    return app
