"""The four inference routes as raw ASGI handlers inside the Litestar app.

Why raw: these routes carry the benchmark load, and Litestar's request/response machinery
(signature parsing, `Request`, `Response`) costs about 50 us per request, several times the
work of planning the answer. The handlers below only read the body, ask the inference
service, and send bytes; `mockhttp.fast_path` calls them before Litestar's router, and they
stay registered with Litestar for every path the fast path does not take.
"""

import asyncio
import contextlib
import hmac
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from litestar import asgi
from litestar.handlers import ASGIRouteHandler

from mockcore import ErrorInfo, GenerationPlan, RequestError
from mockcore.errors import invalid_request_info
from mockcore.faults import ANSWER_BREAKING_KINDS, InjectedFault
from mockcore.metrics import LAYOUT
from mockcore.overrides import CONTROL_HEADER_PREFIX, NO_OVERRIDES, RequestOverrides, parse_overrides
from mockcore.readiness import not_ready_info, retry_after_s
from mockcore.requests import Route
from mockcore.settings import Settings
from mockhttp.access_log import AccessRecord, access_record
from mockhttp.inference import Admission, InferenceService, InjectedAbort, RejectedError
from mockhttp.metrics_recorder import MetricsRecorder, RequestFacts
from mockhttp.pacing import sleep_until
from mockhttp.render_json import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
RawEndpoint = Callable[[Scope, Receive, Send], Awaitable[None]]

ROUTE_PATHS: dict[Route, str] = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "embeddings": "/v1/embeddings",
    "ranking": "/v1/ranking",
}
_JSON_HEADERS = [(b"content-type", b"application/json")]
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_END_OF_BODY: Message = {"type": "http.response.body", "body": b"", "more_body": False}


class _BodyTooLargeError(Exception):
    pass


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body; raises `_BodyTooLargeError` past `limit` bytes."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        if len(body) > limit:
            raise _BodyTooLargeError
        return body
    parts = [body]
    size = len(body)
    while message.get("more_body"):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLargeError
        parts.append(chunk)
    return b"".join(parts)


async def send_bytes(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] = _JSON_HEADERS
) -> None:
    """One complete response."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_error(
    send: Send, status: int, info: ErrorInfo, extra_headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    """An OpenAI error envelope."""
    await send_bytes(send, status, error_body(info), [*_JSON_HEADERS, *extra_headers])


def _invalid_request(message: str) -> ErrorInfo:
    return ErrorInfo(message=message, type="invalid_request_error", param=None, code=None)


async def _cancel_on_disconnect(receive: Receive, stream_task: asyncio.Task[Any]) -> None:
    """Cancel the streaming task the moment the client goes away."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            stream_task.cancel()
            return


async def _stream(
    send: Send,
    receive: Receive,
    run: Callable[[Callable[[bytes], Awaitable[None]]], Awaitable[None]],
    hold_headers: Callable[[], Awaitable[float]] | None = None,
) -> None:
    """Start the SSE response and run the paced stream; stop at once on disconnect.

    `hold_headers` (a `slow_headers` fault) is awaited before the status line goes out.
    """
    task = asyncio.current_task()
    assert task is not None  # noqa: S101 - always inside a task under ASGI
    if hold_headers is not None:
        await hold_headers()
    try:
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
    except OSError:
        return

    def send_chunk(chunk: bytes) -> Awaitable[None]:
        return send({"type": "http.response.body", "body": chunk, "more_body": True})

    watcher = asyncio.ensure_future(_cancel_on_disconnect(receive, task))
    try:
        await run(send_chunk)
        await send(_END_OF_BODY)
    except asyncio.CancelledError:
        if not watcher.done():
            raise
        task.uncancel()  # the client left: a normal end for us
    except OSError:
        pass  # the transport closed under a send: the same, seen from the other side
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


def _presented_key(scope: Scope, header_name: bytes) -> bytes | None:
    """The key in header `header_name` (lower case): its value, or what follows `Bearer `."""
    for name, value in scope["headers"]:
        if name == header_name:
            presented = bytes(value).strip()
            scheme, _, token = presented.partition(b" ")
            return token.strip() if scheme.lower() == b"bearer" else presented
    return None


class ApiKeyCheck:
    """`--api-key` on the header `--auth-header-name`: the key itself or `Bearer <key>`."""

    def __init__(self, settings: Settings) -> None:
        self._key = settings.api_key.encode() if settings.api_key is not None else None
        self._header = settings.auth_header_name.lower().encode("latin-1")
        self._display = settings.auth_header_name

    def error(self, scope: Scope) -> ErrorInfo | None:
        """None when the request may pass: no key configured, or the right key."""
        if self._key is None:
            return None
        token = _presented_key(scope, self._header)
        if token is not None and hmac.compare_digest(token, self._key):
            return None
        message = (
            f"You didn't provide an API key. Send it as `{self._display}: Bearer <key>`."
            if token is None
            else "Incorrect API key provided."
        )
        return ErrorInfo(message=message, type="invalid_request_error", param=None, code="invalid_api_key")


_CONTROL_PREFIX = CONTROL_HEADER_PREFIX.encode()
_CONTROL_PREFIX_LENGTH = len(_CONTROL_PREFIX)


def request_overrides(scope: Scope, max_output_tokens: int) -> RequestOverrides:
    """The request's `X-Mock-*` headers; raises `RequestError` on a malformed one.

    Hot path: a plain loop over the few headers of a request, no dict built unless one matches.
    """
    found: dict[str, str] | None = None
    for name, value in scope["headers"]:
        if name[:_CONTROL_PREFIX_LENGTH] == _CONTROL_PREFIX:
            if found is None:
                found = {}
            found[bytes(name).decode("latin-1")] = bytes(value).decode("latin-1")
    return NO_OVERRIDES if found is None else parse_overrides(found, max_output_tokens)


async def _send_broken(send: Send, body: bytes, fault: InjectedFault) -> None:
    """Break a non-streaming answer: headers only (`abort`) or part of the body (`truncate`)."""
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    cut = fault.truncated_length(len(body)) if fault.kind == "truncate" else 0
    # At least one body message: a server may hold the status line until the body starts,
    # and answer 500 itself if the app fails before.
    await send({"type": "http.response.body", "body": body[:cut], "more_body": True})
    await asyncio.sleep(0)
    raise InjectedAbort


async def _send_refusal(  # noqa: PLR0917 - the refusal and where it is counted
    send: Send,
    rejected: RejectedError,
    metrics: MetricsRecorder,
    route: Route,
    body_bytes: int,
    record: AccessRecord | None,
) -> None:
    """Answer a refused request in the envelope; count it; name its fault in the access log."""
    fault = rejected.fault
    if fault is not None and record is not None:
        record.sequence_number = fault.sequence_number
        record.fault = fault.kind
    body = error_body(rejected.info)
    metrics.answered(route, rejected.stream, rejected.status_code, body_bytes, len(body))
    await send_bytes(send, rejected.status_code, body, [*_JSON_HEADERS, *rejected.headers])


async def _answer_stream(
    send: Send,
    receive: Receive,
    inference: InferenceService,
    admitted: Admission,
    *,
    t0: float,
    facts: RequestFacts,
    record: AccessRecord | None,
) -> None:
    """Send an admitted streaming plan as paced SSE, broken as its transport fault says."""
    plan, fault, _ = admitted
    assert isinstance(plan, GenerationPlan)  # noqa: S101 - only streaming plans come here
    hold = None
    if fault is not None and fault.kind == "slow_headers":
        delay_s = fault.delay_s
        clock = inference.clock

        def hold() -> Awaitable[float]:
            return sleep_until(t0 + delay_s, clock, asyncio.sleep)

    try:
        await _stream(
            send,
            receive,
            lambda send_chunk: inference.stream(plan, t0, send_chunk, facts, record=record, fault=fault),
            hold,
        )
    finally:
        inference.release_stream()


def _gate(path: str, settings: Settings, ready_at: float) -> Callable[[Scope, float], RejectedError | None]:
    """What refuses a request before its body is read: method, key, readiness."""
    api_key = ApiKeyCheck(settings)

    def gate(scope: Scope, t0: float) -> RejectedError | None:
        if scope["method"] != "POST":
            message = f"Method {scope['method']} is not allowed on {path}."
            return RejectedError(405, _invalid_request(message), ((b"allow", b"POST"),))
        unauthorized = api_key.error(scope)
        if unauthorized is not None:
            return RejectedError(401, unauthorized)
        if t0 < ready_at:
            retry = str(retry_after_s(ready_at - t0)).encode()
            return RejectedError(503, not_ready_info(ready_at - t0), ((b"retry-after", retry),))
        return None

    return gate


def _override_reader(settings: Settings) -> Callable[[Scope], RequestOverrides]:
    """The request's `X-Mock-*` headers as overrides; a malformed one is a 400 refusal."""
    max_output_tokens = settings.max_output_tokens
    if not settings.control_headers:
        return lambda _scope: NO_OVERRIDES

    def overrides_of(scope: Scope) -> RequestOverrides:
        try:
            return request_overrides(scope, max_output_tokens)
        except RequestError as error:
            raise RejectedError(400, invalid_request_info(error)) from None

    return overrides_of


def inference_endpoint(
    route: Route,
    inference: InferenceService,
    settings: Settings,
    metrics: MetricsRecorder,
    *,
    ready_at: float = -math.inf,
) -> RawEndpoint:
    """The raw ASGI callable of one inference route (see `mockhttp.fast_path`).

    Until `ready_at` on the inference clock, the route answers 503
    (`--inference-ready-delay-seconds`). The non-streaming answer is sent inline: an extra
    coroutine per request is measurable on the s1 benchmark.
    """
    path = ROUTE_PATHS[route]
    clock = inference.clock
    max_body_bytes = settings.max_request_bytes
    gate = _gate(path, settings, ready_at)
    overrides_of = _override_reader(settings)
    ok_cells = {stream: LAYOUT.request_cell(route, stream, 200) for stream in (False, True)}
    # Without a key or a loading delay only the method can refuse a request: skip the call.
    always_gate = settings.api_key is not None or ready_at > -math.inf

    def refuse(
        send: Send, rejected: RejectedError, body_bytes: int = 0, record: AccessRecord | None = None
    ) -> Awaitable[None]:
        return _send_refusal(send, rejected, metrics, route, body_bytes, record)

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        t0 = clock()  # on arrival, before the body is read: SPEC section 11
        if always_gate or scope["method"] != "POST":
            refusal = gate(scope, t0)
            if refusal is not None:
                await refuse(send, refusal)
                return
        try:
            body = await _read_body(receive, max_body_bytes)
        except _BodyTooLargeError:
            message = f"The request body exceeds {max_body_bytes} bytes (--max-request-bytes)."
            await refuse(send, RejectedError(413, _invalid_request(message)))
            return
        try:
            admitted = inference.admit(route, body, overrides_of(scope))
        except RejectedError as rejected:
            await refuse(send, rejected, len(body), access_record(scope))
            return
        plan, fault, sequence_number = admitted
        streaming = isinstance(plan, GenerationPlan) and plan.stream
        facts = RequestFacts(streaming, len(body), ok_cells[streaming])
        record = access_record(scope)
        if record is not None:
            record.sequence_number = sequence_number
            if isinstance(plan, GenerationPlan):
                record.ttft_ms = plan.schedule.ttft_ms
        if streaming:
            await _answer_stream(send, receive, inference, admitted, t0=t0, facts=facts, record=record)
            return
        answer = await inference.complete(plan, t0, facts, record=record, fault=fault)
        if fault is not None and fault.kind in ANSWER_BREAKING_KINDS:
            await _send_broken(send, answer, fault)
        await send_bytes(send, 200, answer)

    endpoint.__name__ = f"{route}_endpoint"
    endpoint.__doc__ = f"POST {path}"
    return endpoint


def litestar_inference_route(path: str, endpoint: RawEndpoint) -> ASGIRouteHandler:
    """The same endpoint as a Litestar route, for paths the fast path does not take."""
    return asgi(path, copy_scope=False)(endpoint)
