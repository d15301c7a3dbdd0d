"""Transport-agnostic orchestration of one inference request.

Order matters and mirrors `mockcore.predict`: validate and plan (a 400 draws no sequence
number), then draw n and ask the fault model, then answer at the plan's deadlines.
"""

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator

import msgspec

from mockcore import ErrorInfo, GenerationPlan, RequestError, ResponsePlan, fault_for, plan_request
from mockcore.engine import Rejection
from mockcore.engine.served import served_plan, served_usage
from mockcore.errors import invalid_request_info
from mockcore.faults import ANSWER_BREAKING_KINDS, RETRY_AFTER_S, InjectedFault
from mockcore.generation.planner import latency_shape
from mockcore.generation.prompt_cache import with_cache_usage
from mockcore.metrics.outcome import stream_outcome
from mockcore.overrides import NO_OVERRIDES, RequestOverrides
from mockcore.plan import EmbeddingPlan
from mockcore.requests import Route
from mockcore.rerank import RERANK_ROUTES, plan_rerank_request
from mockcore.service import admitted_schedule, needs_sequence_number
from mockcore.settings import Settings
from mockhttp.access_log import AccessRecord
from mockhttp.engine.pacing import send_engine_paced
from mockhttp.engine.port import EngineRejectedError, EngineTicket
from mockhttp.metrics_recorder import RequestFacts
from mockhttp.pacing import StreamProgress, send_paced, sleep_until
from mockhttp.protocols.registry import WIRE_FORMATS
from mockhttp.render_json import embedding_body, ranking_body
from mockhttp.services import Services

_LOGGER = logging.getLogger("mockhttp")


class RejectedError(Exception):
    """The request ends in an error envelope (400, 429, 503 or an injected error fault)."""

    def __init__(
        self,
        status_code: int,
        info: ErrorInfo,
        headers: tuple[tuple[bytes, bytes], ...] = (),
        *,
        stream: bool = False,
        fault: InjectedFault | None = None,
    ) -> None:
        super().__init__(info.message)
        self.status_code = status_code
        self.info = info
        self.headers = headers
        self.stream = stream
        self.fault = fault


class InjectedAbort(BaseException):
    """Raised out of the ASGI app so that the server drops the connection mid-answer.

    A BaseException, so that no `except Exception` on the way turns it into a 500 envelope.
    """


# An admitted request: its plan, the transport fault that breaks it, and its number; the last
# two are None when none struck and nothing needed a number. A plain tuple: it is built on
# every request.
Admission = tuple[ResponsePlan, InjectedFault | None, int | None]


def fault_headers(fault: InjectedFault) -> tuple[tuple[bytes, bytes], ...]:
    """The fault's extra response headers, as ASGI wants them."""
    return tuple((name.encode(), value.encode()) for name, value in fault.headers)


class InferenceService:
    """Plans requests and paces their responses for one app instance."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._live = services.live
        self._clock = services.clock
        self._faults_injected = 0
        self._open_streams = 0
        # Response ids need uniqueness, not secrecy: a per-worker generator seeded from the
        # OS avoids a system call per request (uuid4 reads os.urandom each time).
        self._ids = random.Random()  # noqa: S311
        self._metrics = services.metrics.recorder
        self._engine = services.engine
        self._adopt(services.settings)

    def _adopt(self, settings: Settings) -> None:
        """Serve with `settings` from now on (at start, and after `PATCH /admin/config`)."""
        self._settings = settings
        shape = latency_shape(settings)
        self._shape = shape
        # The planner adds the prompt and output terms; a shape without them plans faster.
        self._planning_shape = (
            shape if shape.ttft_per_isl_token_ms > 0 or shape.itl_per_osl_token_ms > 0 else None
        )
        self._retimed_at_admission = shape.jittered or shape.load_dependent
        self._draws_sequence_number = needs_sequence_number(settings)

    @property
    def clock(self) -> Callable[[], float]:
        """The clock deadlines are kept on."""
        return self._clock

    @property
    def has_engine(self) -> bool:
        """Whether generations are timed by the batching engine (`--engine`)."""
        return self._engine is not None

    @property
    def open_streams(self) -> int:
        """Streams of this worker admitted and not yet released."""
        return self._open_streams

    def admit(
        self,
        route: Route,
        body: bytes,
        overrides: RequestOverrides = NO_OVERRIDES,
        *,
        stream: bool | None = None,
    ) -> Admission:
        """Validate, plan, check capacity, draw the sequence number and the fault.

        Returns the plan and a transport fault to break its answer with, if one struck.
        Raises `RejectedError`. Neither a 400 nor a 429 draws a sequence number, so they do
        not shift the fault sequence. A streaming plan holds one of this worker's stream
        slots until `release_stream` is called. `stream` True or False overrides what the body
        says (TGI's `/generate_stream` and `/generate`, SageMaker's two routes).
        """
        settings = self._live.current()
        if settings is not self._settings:
            self._adopt(settings)
        try:
            plan = self._plan(route, body, settings, overrides, stream)
        except RequestError as error:
            raise RejectedError(400, invalid_request_info(error)) from None
        streaming = isinstance(plan, GenerationPlan) and plan.stream
        if streaming:
            self._reserve_stream()
        retime = (
            self._retimed_at_admission
            and isinstance(plan, GenerationPlan)
            and (overrides is NO_OVERRIDES or not overrides.timing_forced)
        )
        if not self._draws_sequence_number and overrides.fault is None:
            if retime:
                plan = self._retimed(plan, 0)
            if isinstance(plan, GenerationPlan) and plan.cache_points:
                plan = self._cached(plan)
            return plan, None, None
        # The shared sequence costs a cross-process lock: only draw it when n matters.
        sequence_number = self._services.sequence.next_sequence_number()
        fault = fault_for(settings, self._services.fault_seed, sequence_number, plan, forced=overrides.fault)
        if fault is not None:
            self._count_fault(fault)
            if not fault.is_transport:
                if streaming:
                    self.release_stream()
                info = ErrorInfo(message=fault.message, type=fault.type, param=fault.param, code=fault.code)
                raise RejectedError(
                    fault.status_code, info, fault_headers(fault), stream=streaming, fault=fault
                )
        if retime:
            plan = self._retimed(plan, sequence_number)
        if isinstance(plan, GenerationPlan) and plan.cache_points:
            plan = self._cached(plan)
        return plan, fault, sequence_number

    def _plan(
        self, route: Route, body: bytes, settings: Settings, overrides: RequestOverrides, stream: bool | None
    ) -> ResponsePlan:
        """The core's plan (`RequestError` for a bad request); the rerankers have their own entry point."""
        if route in RERANK_ROUTES:
            return plan_rerank_request(route, body, settings, overrides)
        return plan_request(
            route, body, settings, shape=self._planning_shape, overrides=overrides, stream=stream
        )

    def _retimed(self, plan: ResponsePlan, sequence_number: int) -> ResponsePlan:
        assert isinstance(plan, GenerationPlan)  # noqa: S101 - callers check
        in_flight = self._services.load.in_flight() + 1 if self._shape.load_dependent else 0
        schedule = admitted_schedule(
            plan,
            self._shape,
            in_flight=in_flight,
            seed=self._services.fault_seed,
            sequence_number=sequence_number,
        )
        return msgspec.structs.replace(plan, schedule=schedule)

    def _cached(self, plan: GenerationPlan) -> GenerationPlan:
        """The plan's prompt-cache usage: read what the server's cache holds, write the rest."""
        longest = self._services.prompt_cache.lookup_and_store(plan.cache_points, time.time())
        return with_cache_usage(plan, longest)

    def _count_fault(self, fault: InjectedFault) -> None:
        self._faults_injected += 1
        self._metrics.fault_injected(fault.kind)
        _LOGGER.warning(
            "injected %s fault on request %d (%d injected by this worker)",
            fault.kind,
            fault.sequence_number,
            self._faults_injected,
        )

    def _reserve_stream(self) -> None:
        limit = self._settings.max_concurrent_streams
        if self._open_streams >= limit:
            info = ErrorInfo(
                message=f"This worker is serving its maximum of {limit} streams (--max-concurrent-streams); "
                f"retry after {RETRY_AFTER_S} s.",
                type="rate_limit_error",
                param=None,
                code="too_many_streams",
            )
            raise RejectedError(429, info, ((b"retry-after", str(RETRY_AFTER_S).encode()),), stream=True)
        self._open_streams += 1

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{self._ids.getrandbits(128):032x}"

    def _new_uuid(self) -> str:
        """A version-4 UUID in its usual spelling (Cohere's response ids)."""
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    async def enter_engine(self, plan: ResponsePlan, *, streaming: bool) -> EngineTicket | None:
        """Queue a generation in the engine (None without `--engine`, or for other plans).

        Raises `RejectedError`: 429 with Retry-After when the engine's waiting queue is full,
        400 when the request can never fit in its KV cache. A refused stream gives its slot back.
        """
        engine = self._engine
        if engine is None or not isinstance(plan, GenerationPlan):
            return None
        try:
            return await engine.admit(
                plan.usage.prompt_tokens, plan.event_count, plan.prompt_blocks, streaming=streaming
            )
        except EngineRejectedError as error:
            if streaming:
                self.release_stream()
            raise engine_refusal(error.rejection, stream=streaming) from None
        except OSError:
            # The engine process is gone (the server is stopping, or it was killed).
            if streaming:
                self.release_stream()
            info = ErrorInfo(
                message="The engine simulation is not reachable.", type="server_error", param=None, code=None
            )
            raise RejectedError(
                503, info, ((b"retry-after", str(RETRY_AFTER_S).encode()),), stream=streaming
            ) from None

    async def _stream_engine(
        self,
        plan: GenerationPlan,
        t0: float,
        *,
        ticket: EngineTicket,
        send_chunk: Callable[[bytes], Awaitable[None]],
        progress: StreamProgress,
        fault: InjectedFault | None,
    ) -> None:
        """The engine's half of `stream`: frames at the engine's token times."""
        await ticket.token_time(0)
        # The prefix-cache hit is known once the first step ran; the usage chunk reports it.
        plan = msgspec.structs.replace(plan, usage=served_usage(plan, ticket.cached_tokens))
        wire = WIRE_FORMATS[plan.endpoint]
        frames = wire.events(plan, self._new_id(wire.id_prefix), int(time.time()))
        shape = None
        if fault is not None:
            strike = fault.strike_after(plan.event_count)

            def shape(index: int, offset: float) -> float | None:
                return fault.shaped_offset(index, offset, strike)

        await send_engine_paced(
            frames, ticket, t0, clock=self._clock, send_chunk=send_chunk, progress=progress, shape=shape
        )

    def _engine_done(self, ticket: EngineTicket, *, finished: bool) -> None:
        """Record what the engine measured of a finished request; drop an unfinished one from it."""
        engine = self._engine
        if not finished:
            if engine is not None:
                engine.cancel(ticket)
            return
        times = ticket.engine_times()
        if times is not None:
            self._metrics.engine_times(*times)

    def release_stream(self) -> None:
        """Give back the slot of a stream that ended, however it ended."""
        self._open_streams -= 1

    async def complete(
        self,
        plan: ResponsePlan,
        t0: float,
        request: RequestFacts,
        *,
        record: AccessRecord | None = None,
        fault: InjectedFault | None = None,
        ticket: EngineTicket | None = None,
    ) -> bytes:
        """The whole JSON body, released at the plan's response deadline.

        With an engine `ticket` the deadline is when the engine samples the last token. A
        `stall` or `slow_headers` fault holds it `delay_s` longer; after an `abort` or a
        `truncate` the caller breaks the answer (the body is still returned, to cut).
        """
        load = self._services.load
        metrics = self._metrics
        kv_tokens = plan.usage.prompt_tokens + plan.usage.completion_tokens
        load.request_started()
        metrics.request_started(kv_tokens, stream=False)
        tokens = 0
        body = b""
        now = t0
        delay_s = fault.delay_s if fault is not None else 0.0
        try:
            if ticket is None:
                due = t0 + plan.response_offset_s
            else:
                assert isinstance(plan, GenerationPlan)  # noqa: S101 - only generations get tickets
                due = await ticket.finish_time()
                plan = engine_timed(plan, ticket, t0)
            now = await sleep_until(due + delay_s, self._clock, asyncio.sleep)
            if isinstance(plan, GenerationPlan):
                tokens = plan.usage.completion_tokens
                wire = WIRE_FORMATS[plan.endpoint]
                body = wire.body(plan, self._new_id(wire.id_prefix), int(time.time()))
            elif isinstance(plan, EmbeddingPlan):
                body = embedding_body(plan)
            else:
                body = ranking_body(plan, self._new_uuid() if plan.protocol == "cohere" else "")
            return body
        finally:
            if ticket is not None:
                self._engine_done(ticket, finished=bool(body))
            broken = fault is not None and fault.kind in ANSWER_BREAKING_KINDS
            load.request_finished(0 if broken else tokens)
            metrics.answer_finished(
                plan, now - t0, bool(body) and not broken, kv_tokens, request, 0 if broken else len(body)
            )
            if record is not None:
                record.tokens = 0 if broken else tokens
                record.fault = fault.kind if fault is not None else None

    async def stream(
        self,
        plan: GenerationPlan,
        t0: float,
        send_chunk: Callable[[bytes], Awaitable[None]],
        request: RequestFacts,
        *,
        record: AccessRecord | None = None,
        fault: InjectedFault | None = None,
        ticket: EngineTicket | None = None,
    ) -> None:
        """Send the SSE frames through `send_chunk`, each at t0 + TTFT + k * ITL or later.

        With an engine `ticket`, each at the time the engine samples its token instead.

        Cancelling the call (the client left) stops it at once; the tokens counted are those
        handed to the transport. A transport fault breaks the stream after its k-th token
        event: `abort` drops the connection when event k is due (raises `InjectedAbort`),
        `truncate` ends the stream cleanly without the rest, the usage and `[DONE]`, `stall`
        sends nothing for `delay_s` and then goes on, `slow_headers` shifts everything by
        `delay_s` (the caller holds the status line).
        """
        load = self._services.load
        metrics = self._metrics
        usage = plan.usage
        kv_tokens = usage.prompt_tokens + usage.completion_tokens
        load.request_started()
        metrics.request_started(kv_tokens, stream=True)
        progress = StreamProgress(usage.completion_tokens, metrics.observe_gap)
        offset_of = plan.schedule.event_offsets()
        wire = WIRE_FORMATS[plan.endpoint]
        finished = False
        try:
            if ticket is None:
                frames = wire.events(plan, self._new_id(wire.id_prefix), int(time.time()))
                if fault is None:
                    events: Iterator[tuple[float, bytes]] = (
                        (offset_of(index), frame) for index, frame in frames
                    )
                else:
                    events = _faulted_events(frames, offset_of, fault, plan.event_count)
                await send_paced(
                    events,
                    t0,
                    clock=self._clock,
                    sleep=asyncio.sleep,
                    send_chunk=send_chunk,
                    progress=progress,
                )
            else:
                await self._stream_engine(
                    plan, t0, ticket=ticket, send_chunk=send_chunk, progress=progress, fault=fault
                )
            if fault is not None and fault.kind == "abort":
                strike = fault.strike_after(plan.event_count)
                if ticket is None:
                    await sleep_until(t0 + offset_of(strike), self._clock, asyncio.sleep)
                else:
                    await sleep_until(await ticket.token_time(strike), self._clock, asyncio.sleep)
                raise InjectedAbort
            finished = fault is None or fault.kind not in ANSWER_BREAKING_KINDS
        finally:
            if ticket is not None:
                self._engine_done(ticket, finished=finished)
            tokens = min(progress.frames_sent, usage.completion_tokens)
            load.request_finished(tokens)
            if ticket is not None and ticket.times:
                plan = engine_timed(plan, ticket, t0)
            first = progress.first_write_at
            outcome = stream_outcome(
                plan,
                tokens_sent=tokens,
                first_write_s=None if first is None else first - t0,
                end_s=(progress.last_write_at if finished else self._clock()) - t0,
                finished=finished,
            )
            metrics.request_finished(outcome, kv_tokens, request, progress.bytes_sent)
            if record is not None:
                record.tokens = tokens
                record.fault = fault.kind if fault is not None else None


def engine_refusal(rejection: Rejection, *, stream: bool) -> RejectedError:
    """The error envelope of an engine refusal: 429 (queue full) or 400 (never fits)."""
    if rejection.reason == "queue_full":
        info = ErrorInfo(message=rejection.message, type="rate_limit_error", param=None, code="queue_full")
        return RejectedError(429, info, ((b"retry-after", str(RETRY_AFTER_S).encode()),), stream=stream)
    info = ErrorInfo(
        message=rejection.message,
        type="invalid_request_error",
        param="messages",
        code="context_length_exceeded",
    )
    return RejectedError(400, info, stream=stream)


def engine_timed(plan: GenerationPlan, ticket: EngineTicket, t0: float) -> GenerationPlan:
    """`plan` as the engine served it (`mockcore.engine.served_plan`), from its ticket's times.

    Call once the first token's time is known: the last token is the final one if the engine
    finished the request, else the last published.
    """
    times = ticket.times
    finished_at = ticket.finished_at
    if finished_at is None:
        last, last_index = times[-1], len(times) - 1
    else:
        last, last_index = finished_at, ticket.output_tokens - 1
    return served_plan(
        plan, ticket.cached_tokens, ttft_s=times[0] - t0, last_token_s=last - t0, last_token_index=last_index
    )


def _faulted_events(
    frames: Iterator[tuple[int, bytes]],
    offset_of: Callable[[int], float],
    fault: InjectedFault,
    event_count: int,
) -> Iterator[tuple[float, bytes]]:
    """The stream's events as the transport fault shapes them (see `InferenceService.stream`)."""
    strike = fault.strike_after(event_count)
    for index, frame in frames:
        offset = fault.shaped_offset(index, offset_of(index), strike)
        if offset is None:
            return
        yield offset, frame
