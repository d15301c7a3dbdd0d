"""The inference routes of every protocol as raw ASGI handlers inside the Litestar app.

Why raw: these routes carry the benchmark load, and Litestar's request/response machinery
(signature parsing, `Request`, `Response`) costs about 50 us per request, several times the
work of planning the answer. The handlers below only read the body, ask the inference
service, and send bytes; `mockhttp.fast_path` calls them before Litestar's router, and they
stay registered with Litestar for every path the fast path does not take. One
`EndpointSpec` per path says how it differs: its route (how the body is planned), its error
envelope, a header it requires, and how its stream travels.
"""

import asyncio
import contextlib
import hmac
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, NamedTuple

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
from mockhttp.engine.port import EngineTicket
from mockhttp.inference import Admission, InferenceService, InjectedAbort, RejectedError
from mockhttp.metrics_recorder import MetricsRecorder, RequestFacts
from mockhttp.pacing import sleep_until
from mockhttp.protocols.eventstream import EVENTSTREAM_CONTENT_TYPE, payload_parts
from mockhttp.protocols.registry import ErrorRenderer, error_renderer, openai_error
from mockhttp.render_json import cohere_error, error_body, tei_error

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
RawEndpoint = Callable[[Scope, Receive, Send], Awaitable[None]]
TGI_ROOT = "/"
SAGEMAKER_PREFIX = "/endpoints/"
SAGEMAKER_INVOCATIONS = "/endpoints/{endpoint_name:str}/invocations"
SAGEMAKER_RESPONSE_STREAM = "/endpoints/{endpoint_name:str}/invocations-response-stream"

_JSON_HEADERS = [(b"content-type", b"application/json")]
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_EVENTSTREAM_HEADERS = [
    (b"content-type", EVENTSTREAM_CONTENT_TYPE.encode()),
    (b"x-amzn-sagemaker-content-type", b"text/event-stream"),
]


class EndpointSpec(NamedTuple):
    """How one path serves its route: its errors' envelope, and how its stream travels.

    `stream` True or False streams or not whatever the body says (None: the body decides);
    `frame_chunk` wraps each stream write
    (SageMaker's event-stream frames); `required_header` must be present (Anthropic's
    `anthropic-version`); `key_header` is a second header the API key may come in.
    """

    route: Route
    path: str
    metrics_route: str
    errors: ErrorRenderer = openai_error
    stream: bool | None = None
    stream_headers: list[tuple[bytes, bytes]] = _SSE_HEADERS
    frame_chunk: Callable[[bytes], bytes] | None = None
    required_header: str | None = None
    key_header: str | None = None


ENDPOINT_SPECS: tuple[EndpointSpec, ...] = (
    EndpointSpec("chat", "/v1/chat/completions", "chat"),
    EndpointSpec("completions", "/v1/completions", "completions"),
    EndpointSpec("embeddings", "/v1/embeddings", "embeddings"),
    EndpointSpec("ranking", "/v1/ranking", "ranking"),
    # Hugging Face TEI's and Cohere's rerankers count as `ranking` in the metrics, as NIM's does.
    EndpointSpec("tei_rerank", "/rerank", "ranking", errors=tei_error),
    EndpointSpec("cohere_rerank", "/v2/rerank", "ranking", errors=cohere_error),
    EndpointSpec("responses", "/v1/responses", "responses"),
    EndpointSpec(
        "messages",
        "/v1/messages",
        "messages",
        errors=error_renderer("messages"),
        required_header="anthropic-version",
        key_header="x-api-key",
    ),
    EndpointSpec("generate", "/generate", "generate", errors=error_renderer("generate"), stream=False),
    EndpointSpec(
        "generate_stream", "/generate_stream", "generate", errors=error_renderer("generate"), stream=True
    ),
    # TGI serves `POST /` too (streaming when the body says `"stream": true`); GET / stays ours.
    EndpointSpec("generate", TGI_ROOT, "generate", errors=error_renderer("generate")),
    EndpointSpec("chat", SAGEMAKER_INVOCATIONS, "chat", stream=False),
    EndpointSpec(
        "chat",
        SAGEMAKER_RESPONSE_STREAM,
        "chat",
        stream=True,
        stream_headers=_EVENTSTREAM_HEADERS,
        frame_chunk=payload_parts,
    ),
)
# Each route's own path (the first spec that serves it).
ROUTE_PATHS: dict[Route, str] = {}
for _spec in ENDPOINT_SPECS:
    ROUTE_PATHS.setdefault(_spec.route, _spec.path)
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
    spec: EndpointSpec | None = None,
) -> None:
    """Start the SSE response and run the paced stream; stop at once on disconnect.

    `hold_headers` (a `slow_headers` fault) is awaited before the status line goes out;
    `spec` gives the stream's headers and framing (plain SSE without it).
    """
    task = asyncio.current_task()
    assert task is not None  # noqa: S101 - always inside a task under ASGI
    if hold_headers is not None:
        await hold_headers()
    headers = _SSE_HEADERS if spec is None else spec.stream_headers
    frame_chunk = None if spec is None else spec.frame_chunk
    try:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
    except OSError:
        return

    def send_chunk(chunk: bytes) -> Awaitable[None]:
        if frame_chunk is not None:
            chunk = frame_chunk(chunk)
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
    """`--api-key` on the header `--auth-header-name`: the key itself or `Bearer <key>`.

    `also_header` is a second header the key may come in (Anthropic's `x-api-key`).
    """

    def __init__(self, settings: Settings, also_header: str | None = None) -> None:
        self._key = settings.api_key.encode() if settings.api_key is not None else None
        self._header = settings.auth_header_name.lower().encode("latin-1")
        self._also = also_header.encode("latin-1") if also_header is not None else None
        self._display = settings.auth_header_name

    def error(self, scope: Scope) -> ErrorInfo | None:
        """None when the request may pass: no key configured, or the right key."""
        if self._key is None:
            return None
        token = _presented_key(scope, self._header)
        if token is None and self._also is not None:
            token = _presented_key(scope, self._also)
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
    spec: EndpointSpec,
    body_bytes: int,
    record: AccessRecord | None,
) -> None:
    """Answer a refused request in the route's envelope; count it; name its fault in the access log."""
    fault = rejected.fault
    if fault is not None and record is not None:
        record.sequence_number = fault.sequence_number
        record.fault = fault.kind
    status, body = spec.errors(rejected.status_code, rejected.info)
    metrics.answered(spec.metrics_route, rejected.stream, status, body_bytes, len(body))
    await send_bytes(send, status, body, [*_JSON_HEADERS, *rejected.headers])


async def _answer_stream(
    send: Send,
    receive: Receive,
    inference: InferenceService,
    admitted: Admission,
    *,
    t0: float,
    facts: RequestFacts,
    record: AccessRecord | None,
    spec: EndpointSpec,
    ticket: EngineTicket | None = None,
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
            lambda send_chunk: inference.stream(
                plan, t0, send_chunk, facts, record=record, fault=fault, ticket=ticket
            ),
            hold,
            spec,
        )
    finally:
        inference.release_stream()


def _has_header(scope: Scope, name: bytes) -> bool:
    return any(header == name for header, _ in scope["headers"])


def _gate(
    spec: EndpointSpec, settings: Settings, ready_at: float
) -> Callable[[Scope, float], RejectedError | None]:
    """What refuses a request before its body is read: method, key, a required header, readiness."""
    api_key = ApiKeyCheck(settings, spec.key_header)
    path = spec.path
    required = spec.required_header.encode() if spec.required_header is not None else None

    def gate(scope: Scope, t0: float) -> RejectedError | None:
        if scope["method"] != "POST":
            message = f"Method {scope['method']} is not allowed on {scope['path']}."
            return RejectedError(405, _invalid_request(message), ((b"allow", b"POST"),))
        unauthorized = api_key.error(scope)
        if unauthorized is not None:
            return RejectedError(401, unauthorized)
        if required is not None and not _has_header(scope, required):
            message = f"{spec.required_header}: header is required on {path}."
            return RejectedError(400, _invalid_request(message))
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
    spec: EndpointSpec,
    inference: InferenceService,
    settings: Settings,
    metrics: MetricsRecorder,
    *,
    ready_at: float = -math.inf,
) -> RawEndpoint:
    """The raw ASGI callable of one inference path (see `mockhttp.fast_path`).

    Until `ready_at` on the inference clock, the route answers 503
    (`--inference-ready-delay-seconds`). The non-streaming answer is sent inline: an extra
    coroutine per request is measurable on the s1 benchmark.
    """
    route = spec.route
    forced_stream = spec.stream
    clock = inference.clock
    max_body_bytes = settings.max_request_bytes
    gate = _gate(spec, settings, ready_at)
    overrides_of = _override_reader(settings)
    ok_cells = {stream: LAYOUT.request_cell(spec.metrics_route, stream, 200) for stream in (False, True)}
    engine_on = inference.has_engine
    # Without a key, a loading delay or a required header only the method can refuse a
    # request: skip the call.
    always_gate = settings.api_key is not None or ready_at > -math.inf or spec.required_header is not None

    def refuse(
        send: Send, rejected: RejectedError, body_bytes: int = 0, record: AccessRecord | None = None
    ) -> Awaitable[None]:
        return _send_refusal(send, rejected, metrics, spec, body_bytes, record)

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
            admitted = inference.admit(route, body, overrides_of(scope), stream=forced_stream)
        except RejectedError as rejected:
            await refuse(send, rejected, len(body), access_record(scope))
            return
        plan, fault, sequence_number = admitted
        streaming = isinstance(plan, GenerationPlan) and plan.stream
        ticket = None
        if engine_on:
            try:
                ticket = await inference.enter_engine(plan, streaming=streaming)
            except RejectedError as rejected:
                await refuse(send, rejected, len(body), access_record(scope))
                return
        facts = RequestFacts(streaming, len(body), ok_cells[streaming])
        record = access_record(scope)
        if record is not None:
            record.sequence_number = sequence_number
            if isinstance(plan, GenerationPlan):
                record.ttft_ms = plan.schedule.ttft_ms
        if streaming:
            await _answer_stream(
                send,
                receive,
                inference,
                admitted,
                t0=t0,
                facts=facts,
                record=record,
                spec=spec,
                ticket=ticket,
            )
            return
        answer = await inference.complete(plan, t0, facts, record=record, fault=fault, ticket=ticket)
        if fault is not None and fault.kind in ANSWER_BREAKING_KINDS:
            await _send_broken(send, answer, fault)
        await send_bytes(send, 200, answer)

    endpoint.__name__ = f"{route}_endpoint"
    endpoint.__doc__ = f"POST {spec.path}"
    return endpoint


def litestar_inference_route(path: str, endpoint: RawEndpoint) -> ASGIRouteHandler:
    """The same endpoint as a Litestar route, for paths the fast path does not take."""
    return asgi(path, copy_scope=False)(endpoint)
