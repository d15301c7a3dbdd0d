"""`--access-logs`: one structured line per request, with its tokens.

A raw ASGI wrapper sees the status and the true end of a response (a stream ends when its
last frame is sent or the client leaves); handlers add the token count to the record it
puts in the scope.
"""

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

RawScope = MutableMapping[str, Any]
RawMessage = MutableMapping[str, Any]
RawReceive = Callable[[], Awaitable[RawMessage]]
RawSend = Callable[[RawMessage], Awaitable[None]]
RawASGIApp = Callable[[RawScope, RawReceive, RawSend], Awaitable[None]]

ACCESS_RECORD_KEY = "aiperf_mock_server.access"
_LOGGER = logging.getLogger("mockhttp.access")


class AccessRecord:
    """What a handler knows and the middleware does not."""

    __slots__ = ("fault", "sequence_number", "tokens", "ttft_ms")

    def __init__(self) -> None:
        self.tokens = 0
        self.fault: str | None = None
        self.sequence_number: int | None = None
        self.ttft_ms: float | None = None


def access_record(scope: RawScope) -> AccessRecord | None:
    """The record of this request, when access logs are on."""
    record: AccessRecord | None = scope.get(ACCESS_RECORD_KEY)
    return record


def _optional_fields(record: AccessRecord) -> dict[str, object]:
    """The request's number, planned TTFT and injected fault, when it has them."""
    fields: dict[str, object] = {}
    if record.sequence_number is not None:
        fields["sequence_number"] = record.sequence_number
    if record.ttft_ms is not None:
        fields["ttft_ms"] = round(record.ttft_ms, 3)
    if record.fault is not None:
        fields["fault"] = record.fault
    return fields


def access_log_middleware(app: RawASGIApp) -> RawASGIApp:
    """Wrap `app` so that every HTTP request logs method, path, status, duration, tokens."""

    async def logged(scope: RawScope, receive: RawReceive, send: RawSend) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        record = AccessRecord()
        scope[ACCESS_RECORD_KEY] = record
        status = 0

        async def tracking_send(message: RawMessage) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, tracking_send)
        finally:
            _LOGGER.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "tokens": record.tokens,
                    **_optional_fields(record),
                },
            )

    return logged
