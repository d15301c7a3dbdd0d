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
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from litestar import asgi
from litestar.handlers import ASGIRouteHandler

from mockcore import ErrorInfo, GenerationPlan
from mockcore.metrics import LAYOUT
from mockcore.requests import Route
from mockcore.settings import Settings
from mockhttp.access_log import access_record
from mockhttp.inference import InferenceService, RejectedError
from mockhttp.metrics_recorder import MetricsRecorder, RequestFacts
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
    send: Send, receive: Receive, run: Callable[[Callable[[bytes], Awaitable[None]]], Awaitable[None]]
) -> None:
    """Start the SSE response and run the paced stream; stop at once on disconnect."""
    try:
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
    except OSError:
        return
    task = asyncio.current_task()
    assert task is not None  # noqa: S101 - always inside a task under ASGI

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


def _bearer_token(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = bytes(value).partition(b" ")
            return token.strip() if scheme.lower() == b"bearer" else None
    return None


def api_key_error(scope: Scope, api_key: bytes | None) -> ErrorInfo | None:
    """None when the request may pass: no key configured, or the right bearer token."""
    if api_key is None:
        return None
    token = _bearer_token(scope)
    if token is not None and hmac.compare_digest(token, api_key):
        return None
    message = (
        "You didn't provide an API key. Send it as `Authorization: Bearer <key>`."
        if token is None
        else "Incorrect API key provided."
    )
    return ErrorInfo(message=message, type="invalid_request_error", param=None, code="invalid_api_key")


def inference_endpoint(
    route: Route,
    inference: InferenceService,
    clock: Callable[[], float],
    settings: Settings,
    metrics: MetricsRecorder,
) -> RawEndpoint:
    """The raw ASGI callable of one inference route (see `mockhttp.fast_path`)."""
    path = ROUTE_PATHS[route]
    max_body_bytes = settings.max_request_bytes
    api_key = settings.api_key.encode() if settings.api_key is not None else None
    ok_cells = {stream: LAYOUT.request_cell(route, stream, 200) for stream in (False, True)}

    async def refuse(
        send: Send,
        status: int,
        info: ErrorInfo,
        headers: tuple[tuple[bytes, bytes], ...] = (),
        *,
        stream: bool = False,
        body_bytes: int = 0,
    ) -> None:
        body = error_body(info)
        metrics.answered(route, stream, status, body_bytes, len(body))
        await send_bytes(send, status, body, [*_JSON_HEADERS, *headers])

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        t0 = clock()  # on arrival, before the body is read: SPEC section 11
        if scope["method"] != "POST":
            message = f"Method {scope['method']} is not allowed on {path}."
            await refuse(send, 405, _invalid_request(message), ((b"allow", b"POST"),))
            return
        unauthorized = api_key_error(scope, api_key)
        if unauthorized is not None:
            await refuse(send, 401, unauthorized)
            return
        try:
            body = await _read_body(receive, max_body_bytes)
        except _BodyTooLargeError:
            message = f"The request body exceeds {max_body_bytes} bytes (--max-request-bytes)."
            await refuse(send, 413, _invalid_request(message))
            return
        try:
            plan = inference.admit(route, body)
        except RejectedError as rejected:
            await refuse(
                send,
                rejected.status_code,
                rejected.info,
                rejected.headers,
                stream=rejected.stream,
                body_bytes=len(body),
            )
            return
        record = access_record(scope)
        streaming = isinstance(plan, GenerationPlan) and plan.stream
        facts = RequestFacts(streaming, len(body), ok_cells[streaming])
        if isinstance(plan, GenerationPlan) and plan.stream:
            try:
                await _stream(
                    send, receive, lambda send_chunk: inference.stream(plan, t0, send_chunk, facts, record)
                )
            finally:
                inference.release_stream()
            return
        await send_bytes(send, 200, await inference.complete(plan, t0, facts, record))

    endpoint.__name__ = f"{route}_endpoint"
    endpoint.__doc__ = f"POST {path}"
    return endpoint


def litestar_inference_route(path: str, endpoint: RawEndpoint) -> ASGIRouteHandler:
    """The same endpoint as a Litestar route, for paths the fast path does not take."""
    return asgi(path, copy_scope=False)(endpoint)
