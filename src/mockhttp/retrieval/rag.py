"""SOLIDO RAG: `POST /rag/api/prompt`, answered in JSON or streamed as Server-Sent Events.

JSON: `{"content", "sources", "inference_model", "usage"}`. Stream (when the body says
`"stream": true`, or says nothing and the client accepts `text/event-stream`, as aiperf's
`--streaming` does): one `data: {"content": "<token>"}` event per token at the plan's
deadlines (TTFT, then ITL), the first also carrying `sources`. The plan is the core's
(`mockcore.rag`); this only paces and frames it.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, post
from litestar.handlers import HTTPRouteHandler
from litestar.response import Stream

from mockcore.generation.planner import latency_shape
from mockcore.rag import RagPlan, RagSource, plan_rag_request
from mockhttp.errors import error_response
from mockhttp.pacing import sleep_until
from mockhttp.ports import LoadTracker
from mockhttp.render_json import usage_body
from mockhttp.responses import UsageBody
from mockhttp.retrieval.admission import RetrievalAdmission
from mockhttp.services import Services

RAG_PATH = "/rag/api/prompt"
EVENT_STREAM = "text/event-stream"
_STREAM_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
_encode = msgspec.json.encode


class RagBody(msgspec.Struct, kw_only=True):
    """The JSON answer."""

    content: str
    sources: tuple[RagSource, ...]
    inference_model: str
    usage: UsageBody


def rag_body(plan: RagPlan) -> bytes:
    """The whole answer as one JSON object."""
    generation = plan.generation
    return _encode(
        RagBody(
            content=generation.choices[0].content_text,
            sources=plan.sources,
            inference_model=generation.model,
            usage=usage_body(generation.usage),
        )
    )


def rag_events(plan: RagPlan) -> list[tuple[float, bytes]]:
    """(offset from arrival, SSE frame) per token; the first frame carries the sources too.

    An answer without tokens still sends one frame, with the sources and empty content.
    """
    generation = plan.generation
    offset_of = generation.schedule.event_offsets()
    sources = b',"sources":' + _encode(plan.sources)
    frames = []
    for index, piece in enumerate(generation.choices[0].content):
        extra = sources if index == 0 else b""
        frames.append((offset_of(index), b'data: {"content":' + _encode(piece) + extra + b"}\n\n"))
    if not frames:
        frames.append((offset_of(0), b'data: {"content":""' + sources + b"}\n\n"))
    return frames


async def _paced(
    frames: list[tuple[float, bytes]], t0: float, clock: Callable[[], float], load: LoadTracker
) -> AsyncIterator[bytes]:
    """Each frame at its deadline; counted as one request in flight while it runs."""
    load.request_started()
    sent = 0
    try:
        for offset_s, frame in frames:
            await sleep_until(t0 + offset_s, clock, asyncio.sleep)
            yield frame
            sent += 1
    finally:
        load.request_finished(sent)


def build_rag_handlers(services: Services) -> list[HTTPRouteHandler]:
    """`POST /rag/api/prompt`."""
    admission = RetrievalAdmission(services.settings)
    clock = services.clock
    load = services.load

    @post(RAG_PATH, status_code=200, request_max_body_size=services.settings.max_request_bytes, name="rag")
    async def rag_prompt(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
        """A generated answer to `query` over the documents `filters` select, with its sources."""
        t0 = clock()  # on arrival, before the body is read
        unauthorized = admission.unauthorized(request)
        if unauthorized is not None:
            return error_response(401, unauthorized)
        settings = services.live.current()
        overrides = admission.overrides(request, settings)
        plan = plan_rag_request(
            await request.body(),
            settings,
            accepts_event_stream=EVENT_STREAM in request.headers.get("accept", ""),
            shape=latency_shape(settings),
            overrides=overrides,
        )
        if plan.generation.stream:
            return Stream(
                _paced(rag_events(plan), t0, clock, load), media_type=EVENT_STREAM, headers=_STREAM_HEADERS
            )
        load.request_started()
        try:
            await sleep_until(t0 + plan.generation.response_offset_s, clock, asyncio.sleep)
        finally:
            load.request_finished(plan.generation.usage.completion_tokens)
        return Response(rag_body(plan), media_type=MediaType.JSON)

    return [rag_prompt]
