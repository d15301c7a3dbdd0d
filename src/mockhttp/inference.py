"""Transport-agnostic orchestration of one inference request.

Order matters and mirrors `mockcore.predict`: validate and plan (a 400 draws no sequence
number), then draw n and ask the fault model, then answer at the plan's deadlines.
"""

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from mockcore import ErrorInfo, GenerationPlan, RequestError, ResponsePlan, fault_for, plan_request
from mockcore.errors import invalid_request_info
from mockcore.metrics.outcome import answer_outcome, stream_outcome
from mockcore.plan import EmbeddingPlan
from mockcore.requests import Route
from mockcore.service import faults_enabled
from mockhttp.access_log import AccessRecord
from mockhttp.metrics_recorder import RequestFacts
from mockhttp.pacing import StreamProgress, send_paced, sleep_until
from mockhttp.render_json import embedding_body, generation_body, ranking_body
from mockhttp.render_sse import stream_events
from mockhttp.services import Services

_LOGGER = logging.getLogger("mockhttp")
_ID_PREFIX = {"chat": "chatcmpl-", "completions": "cmpl-"}


RETRY_AFTER_S = 1


class RejectedError(Exception):
    """The request ends in an error envelope (400, 429 or an injected 500)."""

    def __init__(
        self,
        status_code: int,
        info: ErrorInfo,
        headers: tuple[tuple[bytes, bytes], ...] = (),
        *,
        stream: bool = False,
    ) -> None:
        super().__init__(info.message)
        self.status_code = status_code
        self.info = info
        self.headers = headers
        self.stream = stream


class InferenceService:
    """Plans requests and paces their responses for one app instance."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._settings = services.settings
        self._clock = services.clock
        self._faults_injected = 0
        self._open_streams = 0
        # Response ids need uniqueness, not secrecy: a per-worker generator seeded from the
        # OS avoids a system call per request (uuid4 reads os.urandom each time).
        self._ids = random.Random()  # noqa: S311
        self._metrics = services.metrics.recorder

    @property
    def open_streams(self) -> int:
        """Streams of this worker admitted and not yet released."""
        return self._open_streams

    def admit(self, route: Route, body: bytes) -> ResponsePlan:
        """Validate, plan, check capacity, draw the sequence number and the fault.

        Raises `RejectedError`. Neither a 400 nor a 429 draws a sequence number, so they do
        not shift the fault sequence. A streaming plan holds one of this worker's stream
        slots until `release_stream` is called.
        """
        try:
            plan = plan_request(route, body, self._settings)
        except RequestError as error:
            raise RejectedError(400, invalid_request_info(error)) from None
        streaming = isinstance(plan, GenerationPlan) and plan.stream
        if streaming:
            self._reserve_stream()
        if not faults_enabled(self._settings):
            return plan
        # The shared sequence costs a cross-process lock: only draw it when n matters.
        sequence_number = self._services.sequence.next_sequence_number()
        fault = fault_for(self._settings, self._services.fault_seed, sequence_number)
        if fault is not None:
            if streaming:
                self.release_stream()
            self._faults_injected += 1
            self._metrics.fault_injected()
            _LOGGER.warning(
                "injected fault on request %d (%d injected by this worker)",
                sequence_number,
                self._faults_injected,
            )
            info = ErrorInfo(message=fault.message, type=fault.type, param=None, code=fault.code)
            raise RejectedError(fault.status_code, info, stream=streaming)
        return plan

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

    def _new_id(self, endpoint: str) -> str:
        return f"{_ID_PREFIX[endpoint]}{self._ids.getrandbits(128):032x}"

    def release_stream(self) -> None:
        """Give back the slot of a stream that ended, however it ended."""
        self._open_streams -= 1

    async def complete(
        self, plan: ResponsePlan, t0: float, request: RequestFacts, record: AccessRecord | None = None
    ) -> bytes:
        """The whole JSON body, released at the plan's response deadline."""
        load = self._services.load
        metrics = self._metrics
        kv_tokens = plan.usage.prompt_tokens + plan.usage.completion_tokens
        load.request_started()
        metrics.request_started(kv_tokens, stream=False)
        tokens = 0
        body = b""
        now = t0
        try:
            now = await sleep_until(t0 + plan.response_offset_s, self._clock, asyncio.sleep)
            if isinstance(plan, GenerationPlan):
                tokens = plan.usage.completion_tokens
                body = generation_body(plan, self._new_id(plan.endpoint), int(time.time()))
            elif isinstance(plan, EmbeddingPlan):
                body = embedding_body(plan)
            else:
                body = ranking_body(plan)
            return body
        finally:
            load.request_finished(tokens)
            outcome = answer_outcome(plan, now - t0, answered=bool(body))
            metrics.request_finished(outcome, kv_tokens, request, len(body))
            if record is not None:
                record.tokens = tokens

    async def stream(
        self,
        plan: GenerationPlan,
        t0: float,
        send_chunk: Callable[[bytes], Awaitable[None]],
        request: RequestFacts,
        record: AccessRecord | None = None,
    ) -> None:
        """Send the SSE frames through `send_chunk`, each at t0 + TTFT + k * ITL or later.

        Cancelling the call (the client left) stops it at once; the tokens counted are those
        handed to the transport.
        """
        load = self._services.load
        metrics = self._metrics
        usage = plan.usage
        kv_tokens = usage.prompt_tokens + usage.completion_tokens
        load.request_started()
        metrics.request_started(kv_tokens, stream=True)
        progress = StreamProgress(usage.completion_tokens, metrics.observe_gap)
        schedule = plan.schedule
        events = (
            (schedule.event_offset_s(index), frame)
            for index, frame in stream_events(plan, self._new_id(plan.endpoint), int(time.time()))
        )
        finished = False
        try:
            await send_paced(
                events, t0, clock=self._clock, sleep=asyncio.sleep, send_chunk=send_chunk, progress=progress
            )
            finished = True
        finally:
            tokens = min(progress.frames_sent, usage.completion_tokens)
            load.request_finished(tokens)
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
