"""The control-plane routes benchmark clients call around a run, and the log that shows them.

`POST /reset_prefix_cache` (vLLM), `POST /flush_cache` (SGLang; a `timeout` query is
accepted), `POST /start_profile` and `POST /stop_profile` (vLLM's profiler) each answer 200
and are recorded; `GET /control/events` lists them. There is no prefix cache or profiler to
act on yet: the calls are what a test wants to see.
"""

import time

import msgspec
from litestar import MediaType, Response, get, post
from litestar.handlers import HTTPRouteHandler

from mockcore.control import CONTROL_KINDS, ControlKind
from mockhttp.services import Services


def build_control_handlers(services: Services) -> list[HTTPRouteHandler]:
    """One POST route per control call, and `GET /control/events`."""
    log = services.control

    def control_route(kind: ControlKind) -> HTTPRouteHandler:
        def record() -> Response[bytes]:
            event = log.record(kind, time.time())
            return Response(msgspec.json.encode(event), media_type=MediaType.JSON)

        record.__doc__ = f"Record a `{kind}` call (counted and listed at /control/events)."
        return post(f"/{kind}", status_code=200, sync_to_thread=False, name=f"control_{kind}")(record)

    @get("/control/events", sync_to_thread=False)
    def control_events() -> Response[bytes]:
        """Counts of every control call by kind, whether profiling, and the newest calls."""
        return Response(msgspec.json.encode(log.report()), media_type=MediaType.JSON)

    return [*(control_route(kind) for kind in CONTROL_KINDS), control_events]
